package web

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/paulmach/orb"

	"troopmap/layers"
)

// GeoJSON is written feature by feature straight into the response, so a
// 10,000-feature page never exists whole in memory: each feature is appended
// to one reused buffer and flushed through a bufio.Writer. The encoder is
// hand-written for the value types features hold (what JSON decoding gives:
// strings, float64, bool, nil, []any, map[string]any, plus time.Time);
// anything else falls back to encoding/json.

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
	b = appendString(b, h.TimeStamp.UTC().Format(time.RFC3339))
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
		b = appendString(b, l.Href)
		b = append(b, `,"rel":`...)
		b = appendString(b, l.Rel)
		if l.Type != "" {
			b = append(b, `,"type":`...)
			b = appendString(b, l.Type)
		}
		if l.Title != "" {
			b = append(b, `,"title":`...)
			b = appendString(b, l.Title)
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

// appendFeature appends a GeoJSON Feature without its closing brace, so that
// callers may add members (links).
func appendFeature(b []byte, f *layers.Feature, o *encodeOpts) []byte {
	b = append(b, `{"type":"Feature","id":`...)
	b = appendString(b, f.ID)
	b = append(b, `,"geometry":`...)
	if o.skipGeometry || f.Geometry == nil {
		b = append(b, "null"...)
	} else {
		b = appendGeometry(b, f.Geometry, o.project)
	}
	b = append(b, `,"properties":`...)
	return appendObject(b, f.Properties, o.props)
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
	b = appendFloat(b, pt[0])
	b = append(b, ',')
	b = appendFloat(b, pt[1])
	return append(b, ']')
}

// appendFloat formats like encoding/json: shortest representation, exponent
// only for very large or small magnitudes. NaN and infinities, which JSON
// cannot hold, become null.
func appendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	abs := math.Abs(f)
	fmt := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		fmt = 'e'
	}
	b = strconv.AppendFloat(b, f, fmt, -1, 64)
	if fmt == 'e' {
		// clean up e-09 to e-9, as encoding/json does
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// appendObject writes a map with its keys sorted; keep, when non-nil,
// selects the keys to write.
func appendObject(b []byte, m map[string]any, keep map[string]bool) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		if keep == nil || keep[k] {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		b = appendValue(b, m[k])
	}
	return append(b, '}')
}

func appendValue(b []byte, v any) []byte {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...)
	case string:
		return appendString(b, v)
	case bool:
		return strconv.AppendBool(b, v)
	case float64:
		return appendFloat(b, v)
	case int:
		return strconv.AppendInt(b, int64(v), 10)
	case int64:
		return strconv.AppendInt(b, v, 10)
	case json.Number:
		if _, err := strconv.ParseFloat(string(v), 64); err == nil {
			return append(b, v...)
		}
		return appendString(b, string(v))
	case time.Time:
		return appendString(b, v.UTC().Format(time.RFC3339Nano))
	case map[string]any:
		return appendObject(b, v, nil)
	case []any:
		b = append(b, '[')
		for i, x := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendValue(b, x)
		}
		return append(b, ']')
	case []string:
		b = append(b, '[')
		for i, x := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, x)
		}
		return append(b, ']')
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return append(b, "null"...)
	}
	return append(b, raw...)
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string: quotes, backslashes and control
// characters escaped, invalid UTF-8 replaced by U+FFFD, and U+2028/U+2029
// escaped so the output is also safe inside JavaScript.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
