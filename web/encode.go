package web

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"strconv"
	"time"

	"github.com/paulmach/orb"

	"troopmap/layers"
	"troopmap/layers/props"
)

// GeoJSON is written feature by feature straight into the response, so a
// 10,000-feature page never exists whole in memory: each feature is appended
// to one reused buffer and flushed through a bufio.Writer. Properties are
// held as JSON text already and are copied.

func newJSONEncoder(w io.Writer) *json.Encoder {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc
}

// encodeOpts says how features are written.
type encodeOpts struct {
	// project maps CRS84 points to the output CRS; nil keeps lon/lat.
	project func(orb.Point) orb.Point
	// props, when non-nil, keeps only the named properties.
	props map[string]bool
	// skipGeometry writes "geometry": null.
	skipGeometry bool
}

// collectionHead is everything of a FeatureCollection but its features.
type collectionHead struct {
	Matched, Returned int
	TimeStamp         time.Time
	Links             []link
}

// writeFeatureCollection streams a FeatureCollection of fs to w. It checks
// ctx every few hundred features so an abandoned request stops early.
func writeFeatureCollection(ctx context.Context, w io.Writer, h collectionHead, fs []*layers.Feature, o *encodeOpts) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	b := make([]byte, 0, 4096)
	b = append(b, `{"type":"FeatureCollection","numberMatched":`...)
	b = strconv.AppendInt(b, int64(h.Matched), 10)
	b = append(b, `,"numberReturned":`...)
	b = strconv.AppendInt(b, int64(h.Returned), 10)
	b = append(b, `,"timeStamp":`...)
	b = props.AppendString(b, h.TimeStamp.UTC().Format(time.RFC3339))
	b = append(b, `,"links":`...)
	b = appendLinks(b, h.Links)
	b = append(b, `,"features":[`...)
	for i, f := range fs {
		if i&255 == 255 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = appendFeature(b, f, o)
		b = append(b, '}')
		if _, err := bw.Write(b); err != nil {
			return err
		}
		b = b[:0]
	}
	b = append(b, "]}\n"...)
	if _, err := bw.Write(b); err != nil {
		return err
	}
	return bw.Flush()
}

func appendLinks(b []byte, ls []link) []byte {
	b = append(b, '[')
	for i, l := range ls {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"href":`...)
		b = props.AppendString(b, l.Href)
		b = append(b, `,"rel":`...)
		b = props.AppendString(b, l.Rel)
		if l.Type != "" {
			b = append(b, `,"type":`...)
			b = props.AppendString(b, l.Type)
		}
		if l.Title != "" {
			b = append(b, `,"title":`...)
			b = props.AppendString(b, l.Title)
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

// appendFeature appends a GeoJSON Feature without its closing brace, so that
// callers may add members (links).
func appendFeature(b []byte, f *layers.Feature, o *encodeOpts) []byte {
	b = append(b, `{"type":"Feature","id":`...)
	b = props.AppendString(b, f.ID)
	b = append(b, `,"geometry":`...)
	if o.skipGeometry || f.Geometry == nil {
		b = append(b, "null"...)
	} else {
		b = appendGeometry(b, f.Geometry, o.project)
	}
	b = append(b, `,"properties":`...)
	if o.props == nil {
		return f.Props.AppendJSON(b, nil)
	}
	return f.Props.AppendJSON(b, func(k string) bool { return o.props[k] })
}

func appendGeometry(b []byte, g orb.Geometry, p func(orb.Point) orb.Point) []byte {
	typ := g.GeoJSONType()
	if r, ok := g.(orb.Ring); ok {
		g, typ = orb.Polygon{r}, "Polygon"
	}
	if bd, ok := g.(orb.Bound); ok {
		g, typ = bd.ToPolygon(), "Polygon"
	}
	b = append(b, `{"type":"`...)
	b = append(b, typ...)
	if c, ok := g.(orb.Collection); ok {
		b = append(b, `","geometries":[`...)
		for i, x := range c {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendGeometry(b, x, p)
		}
		return append(b, "]}"...)
	}
	b = append(b, `","coordinates":`...)
	switch g := g.(type) {
	case orb.Point:
		b = appendPoint(b, g, p)
	case orb.MultiPoint:
		b = appendPoints(b, g, p)
	case orb.LineString:
		b = appendPoints(b, g, p)
	case orb.MultiLineString:
		b = append(b, '[')
		for i, l := range g {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendPoints(b, l, p)
		}
		b = append(b, ']')
	case orb.Polygon:
		b = appendPolygon(b, g, p)
	case orb.MultiPolygon:
		b = append(b, '[')
		for i, pg := range g {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendPolygon(b, pg, p)
		}
		b = append(b, ']')
	default:
		b = append(b, "[]"...)
	}
	return append(b, '}')
}

func appendPolygon(b []byte, pg orb.Polygon, p func(orb.Point) orb.Point) []byte {
	b = append(b, '[')
	for i, r := range pg {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendPoints(b, r, p)
	}
	return append(b, ']')
}

func appendPoints(b []byte, ps []orb.Point, p func(orb.Point) orb.Point) []byte {
	b = append(b, '[')
	for i, pt := range ps {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendPoint(b, pt, p)
	}
	return append(b, ']')
}

func appendPoint(b []byte, pt orb.Point, p func(orb.Point) orb.Point) []byte {
	if p != nil {
		pt = p(pt)
	}
	b = append(b, '[')
	b = props.AppendFloat(b, pt[0])
	b = append(b, ',')
	b = props.AppendFloat(b, pt[1])
	return append(b, ']')
}
