package geo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/paulmach/orb"
)

// Problem is one defect in uploaded data. Pointer is a JSON pointer (RFC
// 6901) relative to the value that was checked; callers prefix it with where
// that value sits in the request body.
type Problem struct {
	Pointer string `json:"pointer"`
	Message string `json:"message"`
}

// GeometryRules are the limits an uploaded geometry must meet beyond RFC 7946.
type GeometryRules struct {
	// MaxVertices caps the positions in one geometry; 0 means no limit.
	MaxVertices int
	// Area, when HasArea, is the box [west, south, east, north] every
	// position must lie in.
	Area    [4]float64
	HasArea bool
}

// maxProblems bounds the problems reported for one geometry, so that a huge
// broken polygon does not produce a huge error response.
const maxProblems = 20

// DecodeGeometry parses and checks a GeoJSON geometry object (RFC 7946):
// its type and nesting, that every number is finite, that positions have two
// or three numbers with lon in −180..180 and lat in −90..90, that
// LineStrings have at least 2 positions and polygon rings are closed with at
// least 4, and then the rules' vertex limit and area. A JSON null gives a
// nil geometry and no problem. The result is 2-D: a third number (altitude)
// is checked and dropped. DecodeGeometry is pure and safe for concurrent use.
func DecodeGeometry(raw []byte, rules GeometryRules) (orb.Geometry, []Problem) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	v, err := decodeNumbers(raw)
	if err != nil {
		return nil, []Problem{{"", "geometry is not valid JSON: " + err.Error()}}
	}
	return CheckGeometry(v, rules)
}

// CheckGeometry is DecodeGeometry for a geometry already decoded from JSON
// with numbers kept as json.Number (json.Decoder.UseNumber); nil gives nil.
func CheckGeometry(v any, rules GeometryRules) (orb.Geometry, []Problem) {
	if v == nil {
		return nil, nil
	}
	if rules.MaxVertices > 0 {
		// Count first, so that a huge geometry is refused before a pointer
		// and a point are built for each of its positions.
		if n := countPositions(v, 0); n > rules.MaxVertices {
			return nil, []Problem{{"/coordinates", fmt.Sprintf("geometry has %d positions; at most %d are allowed per feature", n, rules.MaxVertices)}}
		}
	}
	d := &geomDecoder{rules: rules}
	g := d.geometry(v, "", 0)
	if len(d.problems) > 0 {
		return nil, d.problems
	}
	if rules.MaxVertices > 0 && d.vertices > rules.MaxVertices {
		return nil, []Problem{{"/coordinates", fmt.Sprintf("geometry has %d positions; at most %d are allowed per feature", d.vertices, rules.MaxVertices)}}
	}
	if rules.HasArea {
		if p, ok := d.outsideArea(); ok {
			return nil, []Problem{p}
		}
	}
	return g, nil
}

// decodeNumbers decodes JSON keeping numbers as json.Number, so that a
// number too large for float64 is reported where it stands rather than
// failing the whole document.
func decodeNumbers(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("unexpected data after the geometry")
	}
	return v, nil
}

// countPositions counts the positions of a decoded geometry without
// checking it: arrays at the depth its type names, members of a collection
// summed. Anything malformed counts as 0; the full check reports it.
func countPositions(v any, level int) int {
	obj, ok := v.(map[string]any)
	if !ok || level > 1 {
		return 0
	}
	typ, _ := obj["type"].(string)
	if typ == "GeometryCollection" {
		gs, _ := obj["geometries"].([]any)
		n := 0
		for _, g := range gs {
			n += countPositions(g, level+1)
		}
		return n
	}
	depth, ok := coordDepth(typ)
	if !ok {
		return 0
	}
	var count func(x any, d int) int
	count = func(x any, d int) int {
		arr, ok := x.([]any)
		if !ok {
			return 0
		}
		if d == 1 {
			return 1
		}
		n := 0
		for _, y := range arr {
			n += count(y, d-1)
		}
		return n
	}
	return count(obj["coordinates"], depth)
}

type geomDecoder struct {
	rules     GeometryRules
	problems  []Problem
	vertices  int
	positions []posAt // every position with its pointer, for the area check
}

type posAt struct {
	p   orb.Point
	ptr string
}

func (d *geomDecoder) fail(ptr, format string, args ...any) {
	if len(d.problems) < maxProblems {
		d.problems = append(d.problems, Problem{ptr, fmt.Sprintf(format, args...)})
	}
}

// coordDepth is the array nesting of each geometry type's coordinates.
func coordDepth(typ string) (int, bool) {
	switch typ {
	case "Point":
		return 1, true
	case "MultiPoint", "LineString":
		return 2, true
	case "MultiLineString", "Polygon":
		return 3, true
	case "MultiPolygon":
		return 4, true
	}
	return 0, false
}

func (d *geomDecoder) geometry(v any, ptr string, level int) orb.Geometry {
	obj, ok := v.(map[string]any)
	if !ok {
		d.fail(ptr, "geometry must be a JSON object with type and coordinates")
		return nil
	}
	typ, ok := obj["type"].(string)
	if !ok {
		d.fail(ptr+"/type", "geometry type is missing or not a string")
		return nil
	}
	if typ == "GeometryCollection" {
		if level > 0 {
			d.fail(ptr+"/type", "a GeometryCollection must not contain another GeometryCollection")
			return nil
		}
		members, ok := obj["geometries"].([]any)
		if !ok {
			d.fail(ptr+"/geometries", "a GeometryCollection needs a geometries array")
			return nil
		}
		if len(members) == 0 {
			d.fail(ptr+"/geometries", "a GeometryCollection needs at least one geometry")
			return nil
		}
		c := make(orb.Collection, 0, len(members))
		for i, m := range members {
			if g := d.geometry(m, fmt.Sprintf("%s/geometries/%d", ptr, i), level+1); g != nil {
				c = append(c, g)
			}
		}
		return c
	}
	depth, ok := coordDepth(typ)
	if !ok {
		d.fail(ptr+"/type", "unknown geometry type %q; want Point, MultiPoint, LineString, MultiLineString, Polygon, MultiPolygon or GeometryCollection", typ)
		return nil
	}
	coords, ok := obj["coordinates"]
	if !ok || coords == nil {
		d.fail(ptr+"/coordinates", "%s needs coordinates", typ)
		return nil
	}
	cp := ptr + "/coordinates"
	switch typ {
	case "Point":
		p, _ := d.position(coords, cp)
		return p
	case "MultiPoint":
		arr := d.array(coords, cp, depth, typ)
		mp := make(orb.MultiPoint, 0, len(arr))
		for i, x := range arr {
			p, _ := d.position(x, fmt.Sprintf("%s/%d", cp, i))
			mp = append(mp, p)
		}
		if len(arr) == 0 && arr != nil {
			d.fail(cp, "a MultiPoint needs at least one position")
		}
		return mp
	case "LineString":
		return d.line(coords, cp)
	case "MultiLineString":
		arr := d.array(coords, cp, depth, typ)
		if len(arr) == 0 && arr != nil {
			d.fail(cp, "a MultiLineString needs at least one line")
		}
		ml := make(orb.MultiLineString, 0, len(arr))
		for i, x := range arr {
			ml = append(ml, d.line(x, fmt.Sprintf("%s/%d", cp, i)))
		}
		return ml
	case "Polygon":
		return d.polygon(coords, cp)
	default: // MultiPolygon
		arr := d.array(coords, cp, depth, typ)
		if len(arr) == 0 && arr != nil {
			d.fail(cp, "a MultiPolygon needs at least one polygon")
		}
		mp := make(orb.MultiPolygon, 0, len(arr))
		for i, x := range arr {
			mp = append(mp, d.polygon(x, fmt.Sprintf("%s/%d", cp, i)))
		}
		return mp
	}
}

// array returns v as an array, or reports that typ's coordinates must be
// nested depth deep. It returns nil (not empty) on failure.
func (d *geomDecoder) array(v any, ptr string, depth int, typ string) []any {
	arr, ok := v.([]any)
	if !ok {
		d.fail(ptr, "%s coordinates must be an array nested %d deep", typ, depth)
		return nil
	}
	if arr == nil {
		arr = []any{}
	}
	return arr
}

func (d *geomDecoder) line(v any, ptr string) orb.LineString {
	arr := d.array(v, ptr, 2, "LineString")
	if arr == nil {
		return nil
	}
	if len(arr) < 2 {
		d.fail(ptr, "a LineString needs at least 2 positions, got %d", len(arr))
	}
	ls := make(orb.LineString, 0, len(arr))
	for i, x := range arr {
		p, _ := d.position(x, fmt.Sprintf("%s/%d", ptr, i))
		ls = append(ls, p)
	}
	return ls
}

func (d *geomDecoder) polygon(v any, ptr string) orb.Polygon {
	arr := d.array(v, ptr, 3, "Polygon")
	if arr == nil {
		return nil
	}
	if len(arr) == 0 {
		d.fail(ptr, "a Polygon needs at least one ring")
	}
	poly := make(orb.Polygon, 0, len(arr))
	for i, x := range arr {
		rp := fmt.Sprintf("%s/%d", ptr, i)
		ra := d.array(x, rp, 2, "ring")
		if ra == nil {
			continue
		}
		ring := make(orb.Ring, 0, len(ra))
		ok := true
		for j, y := range ra {
			p, good := d.position(y, fmt.Sprintf("%s/%d", rp, j))
			ok = ok && good
			ring = append(ring, p)
		}
		switch {
		case len(ring) < 4:
			d.fail(rp, "a polygon ring needs at least 4 positions (closed), got %d", len(ring))
		case ok && ring[0] != ring[len(ring)-1]:
			d.fail(rp, "polygon ring is not closed: its last position must equal its first")
		}
		poly = append(poly, ring)
	}
	return poly
}

// position checks one position: 2 or 3 finite numbers, lon/lat in range.
func (d *geomDecoder) position(v any, ptr string) (orb.Point, bool) {
	arr, ok := v.([]any)
	if !ok {
		d.fail(ptr, "a position must be an array of 2 or 3 numbers [longitude, latitude(, altitude)]")
		return orb.Point{}, false
	}
	if len(arr) < 2 || len(arr) > 3 {
		d.fail(ptr, "a position must have 2 or 3 numbers, got %d", len(arr))
		return orb.Point{}, false
	}
	var xs [3]float64
	for i, x := range arr {
		n, ok := x.(json.Number)
		if !ok {
			d.fail(fmt.Sprintf("%s/%d", ptr, i), "coordinate must be a number")
			return orb.Point{}, false
		}
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			d.fail(fmt.Sprintf("%s/%d", ptr, i), "coordinate %s is not a finite number", n)
			return orb.Point{}, false
		}
		xs[i] = f
	}
	p := orb.Point{xs[0], xs[1]}
	d.vertices++
	if p[0] < -180 || p[0] > 180 || p[1] < -90 || p[1] > 90 {
		msg := fmt.Sprintf("position [%g, %g] is outside longitude -180..180, latitude -90..90", p[0], p[1])
		if d.rules.HasArea && inArea(d.rules.Area, orb.Point{p[1], p[0]}) {
			msg += swappedHint(p)
		}
		d.fail(ptr, "%s", msg)
		return orb.Point{}, false
	}
	d.positions = append(d.positions, posAt{p, ptr})
	return p, true
}

func inArea(a [4]float64, p orb.Point) bool {
	return p[0] >= a[0] && p[0] <= a[2] && p[1] >= a[1] && p[1] <= a[3]
}

func swappedHint(p orb.Point) string {
	return fmt.Sprintf("; it would fit with its two numbers swapped: GeoJSON wants [longitude, latitude], so write [%g, %g]", p[1], p[0])
}

// outsideArea returns a problem for the first position outside the area.
func (d *geomDecoder) outsideArea() (Problem, bool) {
	a := d.rules.Area
	for _, pa := range d.positions {
		if inArea(a, pa.p) {
			continue
		}
		msg := fmt.Sprintf("position [%g, %g] is outside the area of interest (longitude %g..%g, latitude %g..%g)",
			pa.p[0], pa.p[1], a[0], a[2], a[1], a[3])
		if inArea(a, orb.Point{pa.p[1], pa.p[0]}) {
			msg += swappedHint(pa.p)
		}
		return Problem{pa.ptr, msg}, true
	}
	return Problem{}, false
}
