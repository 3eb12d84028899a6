package layers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/paulmach/orb"

	"troopmap/geo"
)

// UploadRules are the operator's limits on uploaded reports.
type UploadRules struct {
	Geometry geo.GeometryRules
	// MaxBatch is the most features one FeatureCollection may hold.
	MaxBatch int
	// MaxFeatureBytes is the largest JSON text of one feature (of each
	// member of the body outside "features"); 0 means
	// DefaultMaxFeatureBytes.
	MaxFeatureBytes int64
}

// DefaultUploadRules: the default area of interest, 10,000 positions and
// 2 MiB per feature and batches of up to 50,000 features.
func DefaultUploadRules() UploadRules {
	return UploadRules{
		Geometry:        geo.GeometryRules{MaxVertices: 10000, Area: AreaOfInterest(), HasArea: true},
		MaxBatch:        50000,
		MaxFeatureBytes: DefaultMaxFeatureBytes,
	}
}

// Draft is one validated uploaded report before the server assigns its id
// and server-set properties. Properties may hold verification, which the
// caller must authorise.
type Draft struct {
	Geometry   orb.Geometry
	Properties map[string]any
}

// DecodeUpload parses and validates a POST body: a GeoJSON Feature or a
// FeatureCollection of reports. batch says which it was. A body that is not
// JSON gives an EINVALID error; a JSON body that breaks RFC 7946 or the schema
// gives EUNPROCESSABLE with one FieldError per defect (pointers into the
// body); a collection over rules.MaxBatch or a feature over
// rules.MaxFeatureBytes gives ETOOLARGE. Either every feature is returned or
// none. See DecodeUploadReader, which it calls.
func DecodeUpload(ctx context.Context, body []byte, schema Schema, rules UploadRules) (drafts []Draft, batch bool, err error) {
	return DecodeUploadReader(ctx, bytes.NewReader(body), schema, rules)
}

// DecodeFeatureBody parses and validates a single Feature (a PUT body).
func DecodeFeatureBody(body []byte, schema Schema, rules UploadRules) (Draft, error) {
	return DecodeFeatureReader(context.Background(), bytes.NewReader(body), schema, rules)
}

// DecodeJSON parses a request body as JSON, keeping numbers as json.Number
// until they are checked; a body that is not JSON gives EINVALID (400).
func DecodeJSON(body []byte) (any, error) { return decodeBody(body) }

// decodeBody parses JSON keeping numbers exact until they are checked. It
// refuses invalid UTF-8 (which encoding/json would silently replace) and
// objects that repeat a member name (of which it would keep the last), so
// that what is stored is exactly what was sent.
func decodeBody(body []byte) (any, error) {
	if at := invalidUTF8At(body); at >= 0 {
		return nil, Errorf(EINVALID, "request body is not valid UTF-8 (at byte %d); JSON must be UTF-8 encoded", at)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		msg := err.Error()
		var se *json.SyntaxError
		switch {
		case errors.As(err, &se):
			msg = fmt.Sprintf("%s (at byte %d)", se.Error(), se.Offset)
		case errors.Is(err, io.EOF):
			return nil, Errorf(EINVALID, "request body is empty; send a GeoJSON Feature or FeatureCollection")
		case errors.Is(err, io.ErrUnexpectedEOF):
			msg = fmt.Sprintf("the body ends in the middle of a value (at byte %d)", len(body))
		}
		return nil, Errorf(EINVALID, "request body is not valid JSON: %s", msg)
	}
	if dec.More() {
		return nil, Errorf(EINVALID, "request body is not valid JSON: unexpected data after the first value (at byte %d)", dec.InputOffset())
	}
	if ptr, dup := duplicateKey(body); dup {
		return nil, unprocessable(0, 0, []FieldError{{Pointer: ptr,
			Message: "this member appears more than once in its object; JSON members must have unique names (RFC 7493)"}})
	}
	return v, nil
}

func unprocessable(bad, total int, errs []FieldError) error {
	if len(errs) > maxErrors {
		errs = append(errs[:maxErrors:maxErrors], FieldError{Message: "more errors were found; fix these and upload again"})
	}
	msg := "the upload does not follow GeoJSON or the report schema; nothing was stored"
	switch {
	case total > 0:
		msg = fmt.Sprintf("%d of %d features failed validation; nothing was stored", bad, total)
	case bad == 1:
		msg = "the feature failed validation; nothing was stored"
	}
	return &Error{Code: EUNPROCESSABLE, Message: msg, Details: errs}
}

// decodeFeature validates one feature object (numbers as json.Number) found
// at ptr. The feature's id, if any, is ignored: the server assigns ids.
func decodeFeature(obj map[string]any, ptr string, schema Schema, rules UploadRules) (Draft, []FieldError) {
	var errs []FieldError
	if obj["type"] != "Feature" {
		errs = append(errs, FieldError{Pointer: ptr + "/type", Message: `type must be "Feature"`})
	}
	var d Draft
	gv, ok := obj["geometry"]
	if !ok || gv == nil {
		errs = append(errs, FieldError{Pointer: ptr + "/geometry", Message: "geometry is required: a report needs a location"})
	} else {
		g, probs := geo.CheckGeometry(gv, rules.Geometry)
		for _, p := range probs {
			errs = append(errs, FieldError{Pointer: ptr + "/geometry" + p.Pointer, Message: p.Message})
		}
		d.Geometry = g
	}
	pv, ok := obj["properties"].(map[string]any)
	if !ok {
		errs = append(errs, FieldError{Pointer: ptr + "/properties", Message: "properties must be an object"})
		return Draft{}, errs
	}
	var numErrs []FieldError
	pv = normalizeNumbers(cloneJSON(pv), ptr+"/properties", &numErrs).(map[string]any)
	errs = append(errs, numErrs...)
	props, perrs := schema.Validate(pv, ptr+"/properties")
	errs = append(errs, perrs...)
	if len(errs) > 0 {
		return Draft{}, errs
	}
	d.Properties = props
	return d, nil
}

// cloneJSON deep-copies a decoded JSON value, so that callers' values are
// never changed.
func cloneJSON[T any](v T) T {
	return any(cloneAny(v)).(T)
}

func cloneAny(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, y := range x {
			m[k] = cloneAny(y)
		}
		return m
	case []any:
		a := make([]any, len(x))
		for i, y := range x {
			a[i] = cloneAny(y)
		}
		return a
	}
	return v
}
