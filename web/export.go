package web

import (
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"troopmap/layers"
	"troopmap/layers/formats"
	"troopmap/layers/gpkg"
)

// The download formats of the items route, in one table: each is chosen by
// ?f=NAME or by its media type in Accept, and written by one function. The
// GeoJSON default and HTML stay with negotiate.

// maxDownload bounds a download without a limit parameter; beyond it the
// client pages with limit and offset.
const maxDownload = 1_000_000

// formatDownload marks a response that is one of the downloads below.
const formatDownload format = 100

type download struct {
	name, mime, ext string
	write           func(cx context.Context, w io.Writer, l *layers.Layer, fs []*layers.Feature) error
}

func downloads() []download {
	return []download{
		{"csv", "text/csv", "csv", func(cx context.Context, w io.Writer, l *layers.Layer, fs []*layers.Feature) error {
			return formats.WriteCSV(cx, w, schemaOf(l), fs)
		}},
		{"kml", "application/vnd.google-earth.kml+xml", "kml", func(cx context.Context, w io.Writer, l *layers.Layer, fs []*layers.Feature) error {
			return formats.WriteKML(cx, w, l.ID, schemaOf(l), fs)
		}},
		{"gpkg", "application/geopackage+sqlite3", "gpkg", nil}, // built on disk: see serveGeoPackage
	}
}

func schemaOf(l *layers.Layer) *layers.Schema {
	if s, ok := l.Schema(); ok {
		return &s
	}
	return nil
}

// negotiateItems picks the items route's representation: a download (f=csv,
// kml or gpkg, or its media type preferred in Accept), else GeoJSON or HTML
// as negotiate decides. f=geojson names the default.
func negotiateItems(c echo.Context) (format, *download, error) {
	ds := downloads()
	if v, ok := c.QueryParams()["f"]; ok {
		for i := range ds {
			if v[0] == ds[i].name {
				c.Response().Header().Add("Vary", "Accept")
				return formatDownload, &ds[i], nil
			}
		}
		switch v[0] {
		case "geojson", "json":
			c.Response().Header().Add("Vary", "Accept")
			return formatJSON, nil, nil
		case "html":
			c.Response().Header().Add("Vary", "Accept")
			return formatHTML, nil, nil
		}
		names := []string{"geojson", "json", "html"}
		for _, d := range ds {
			names = append(names, d.name)
		}
		return 0, nil, layers.Errorf(layers.EINVALID, "parameter f: %q is not one of %s", v[0], strings.Join(names, ", "))
	}
	if d := acceptDownload(c.Request().Header.Get("Accept"), ds); d != nil {
		c.Response().Header().Add("Vary", "Accept")
		return formatDownload, d, nil
	}
	f, err := negotiate(c, mimeGeoJSON)
	return f, nil, err
}

// acceptDownload returns the download whose media type the Accept header
// names exactly with the highest quality, when no other range is preferred.
func acceptDownload(accept string, ds []download) *download {
	var best *download
	bestQ, otherQ := 0.0, 0.0
	for _, r := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(r))
		if err != nil {
			continue
		}
		q := 1.0
		if s, ok := params["q"]; ok {
			if v, err := strconv.ParseFloat(s, 64); err == nil {
				q = v
			}
		}
		matched := false
		for i := range ds {
			if mt == ds[i].mime {
				matched = true
				if q > bestQ {
					best, bestQ = &ds[i], q
				}
			}
		}
		if !matched && q > otherQ && mt != "*/*" {
			otherQ = q
		}
	}
	if best != nil && bestQ > otherQ {
		return best
	}
	return nil
}

// serveDownload writes the selected features as a file download. fs have
// been through the reader's view already.
func (s *Server) serveDownload(c echo.Context, d *download, l *layers.Layer, fs []*layers.Feature) error {
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, d.mime)
	h.Set(echo.HeaderContentDisposition, fmt.Sprintf("attachment; filename=%q", l.ID+"."+d.ext))
	if c.Request().Method == http.MethodHead {
		c.Response().WriteHeader(http.StatusOK)
		return nil
	}
	if d.write == nil {
		return s.serveGeoPackage(c, l, fs)
	}
	c.Response().WriteHeader(http.StatusOK)
	return d.write(ctx(c), c.Response(), l, fs)
}

// serveGeoPackage builds the GeoPackage (an SQLite file) in a temporary
// directory, then sends it with its length and removes it.
func (s *Server) serveGeoPackage(c echo.Context, l *layers.Layer, fs []*layers.Feature) error {
	dir, err := os.MkdirTemp("", "troopmap-export-")
	if err != nil {
		return fmt.Errorf("export %s: %w", l.ID, err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, l.ID+".gpkg")
	if err := gpkg.Export(ctx(c), path, l.Meta, schemaOf(l), fs); err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("export %s: %w", l.ID, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("export %s: %w", l.ID, err)
	}
	c.Response().Header().Set(echo.HeaderContentLength, strconv.FormatInt(st.Size(), 10))
	c.Response().WriteHeader(http.StatusOK)
	_, err = io.Copy(c.Response(), f)
	return err
}

// downloadPage sets the page of a download: everything that matches (up to
// maxDownload) unless the request gives limit, which may then exceed the
// page limit of GeoJSON answers.
func downloadPage(c echo.Context, q layers.Query) (layers.Query, error) {
	q.Limit = maxDownload
	if v, ok := c.QueryParams()["limit"]; ok {
		n, err := strconv.Atoi(v[0])
		if err != nil || n < 1 {
			return q, layers.Errorf(layers.EINVALID, "parameter limit: %q is not a positive integer", v[0])
		}
		q.Limit = min(n, maxDownload)
	}
	return q, nil
}

// itemsFormatParam documents the items route's f parameter: the GeoJSON
// default, HTML and every download.
func itemsFormatParam() obj {
	enum := []any{"geojson", "json", "html"}
	desc := "the representation; overrides Accept: geojson or json (the default), html"
	for _, d := range downloads() {
		enum = append(enum, d.name)
		desc += ", " + d.name + " (" + d.mime + ", a file download of every match unless limit is given)"
	}
	return obj{"name": "f", "in": "query", "required": false, "description": desc, "schema": obj{"type": "string", "enum": enum}}
}

// itemsContent lists the media types of the items route's answers.
func itemsContent() obj {
	c := obj{mimeGeoJSON: obj{"schema": ref("featureCollectionGeoJSON")}, mimeHTML: obj{"schema": obj{"type": "string"}}}
	for _, d := range downloads() {
		c[d.mime] = obj{"schema": obj{"type": "string", "format": "binary"}}
	}
	return c
}
