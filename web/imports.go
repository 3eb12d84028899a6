package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"

	"github.com/labstack/echo/v4"

	"troopmap/layers"
	"troopmap/layers/formats"
)

// Import formats of POST /collections/{id}/items besides GeoJSON. Each is
// decoded into the GeoJSON FeatureCollection an analyst could have sent
// instead, which then goes through the very same validation and
// all-or-nothing batch commit; errors are placed back in the file.
const (
	mimeCSV = "text/csv"
	mimeKML = "application/vnd.google-earth.kml+xml"
	mimeKMZ = "application/vnd.google-earth.kmz"
)

func importTypes() []string { return []string{mimeCSV, mimeKML, mimeKMZ} }

// importBody returns the GeoJSON body to validate for a request: the body
// itself, still unread, for GeoJSON (it is decoded as it streams in), or the
// decoded import with the batch that places its features in the file.
func (s *Server) importBody(c echo.Context, body io.Reader, schema layers.Schema) (io.Reader, *formats.Batch, error) {
	mt, _, _ := mime.ParseMediaType(c.Request().Header.Get("Content-Type"))
	switch mt {
	case mimeCSV, mimeKML, mimeKMZ:
	default:
		return body, nil, nil
	}
	// Files are read whole (within the body limit) before decoding, so that
	// a body over the limit is a 413 rather than a broken file.
	raw, err := io.ReadAll(body)
	if err != nil {
		return nil, nil, err
	}
	var b *formats.Batch
	cx := ctx(c)
	switch mt {
	case mimeCSV:
		b, err = formats.DecodeCSV(cx, bytes.NewReader(raw), schema)
	case mimeKML:
		b, err = formats.DecodeKML(cx, bytes.NewReader(raw), schema)
	case mimeKMZ:
		b, err = formats.DecodeKMZ(cx, bytes.NewReader(raw), int64(len(raw)), s.limits.MaxBodyBytes, schema)
	}
	if err != nil {
		return nil, nil, err
	}
	gj, err := json.Marshal(b.FeatureCollection())
	if err != nil {
		return nil, nil, fmt.Errorf("import to GeoJSON: %w", err)
	}
	return bytes.NewReader(gj), b, nil
}

// placeErrors rewrites the JSON pointers of a refused import's errors as
// places in the analyst's file: "row 17, column echelon".
func placeErrors(_ context.Context, err error, b *formats.Batch) error {
	var de *layers.Error
	if b == nil || !errors.As(err, &de) {
		return err
	}
	probs, ok := de.Details.([]layers.FieldError)
	if !ok {
		return err
	}
	placed := make([]formats.Problem, len(probs))
	for i, p := range probs {
		placed[i] = b.Relabel(p.Pointer, p.Message)
	}
	msg := de.Message
	if len(placed) > 0 {
		msg = fmt.Sprintf("%s import: %s; first: %s", strings.ToUpper(b.Format), msg, placed[0])
	}
	return &layers.Error{Code: de.Code, Message: msg, Details: placed}
}
