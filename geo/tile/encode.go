package tile

import (
	"bytes"
	"fmt"
	"math"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/clip"
	"github.com/paulmach/orb/maptile"
	"github.com/paulmach/orb/simplify"
)

// Default budgets, after tippecanoe's 500 KB cap.
const (
	DefaultMaxBytes    = 500 * 1024
	DefaultMaxFeatures = 50_000
	// DefaultTolerance is the simplification tolerance in tile units: half a
	// pixel of a 512-pixel tile. Being in tile units, it is tied to each
	// zoom's pixel size: it halves on the ground with every zoom level.
	DefaultTolerance = Extent / 512 / 2
)

// MetaKey marks the one metadata feature a layer gets when the budget made
// it drop features; DroppedKey on it says how many were dropped.
const (
	MetaKey    = "tile_meta"
	DroppedKey = "dropped"
)

// Feature is one feature to draw, in lon/lat. Geometry is read, never
// changed. Props must hold only strings, numbers and booleans.
type Feature struct {
	ID       any // an unsigned integer for MVT's id field, or nil
	Geometry orb.Geometry
	Props    map[string]any
}

// Layer is one MVT layer. Features come in priority order: when a budget
// forces drops, the features at the end go first.
type Layer struct {
	Name     string
	Features []Feature
	// Dropped counts features the caller left out already (for example
	// by its own budget); it is added to the layer's dropped count.
	Dropped int
}

// Options are the tile's budgets and simplification.
type Options struct {
	MaxBytes    int     // 0: DefaultMaxBytes
	MaxFeatures int     // 0: DefaultMaxFeatures, over all layers
	Tolerance   float64 // tile units; 0: DefaultTolerance; <0: none
}

func (o Options) withDefaults() Options {
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxFeatures <= 0 {
		o.MaxFeatures = DefaultMaxFeatures
	}
	if o.Tolerance == 0 {
		o.Tolerance = DefaultTolerance
	}
	return o
}

// Result is an encoded tile.
type Result struct {
	Data     []byte         // uncompressed MVT; empty when no layer has features
	Features int            // features written, metadata features excluded
	Dropped  map[string]int // per layer, only layers that dropped something
}

// Encode builds the tile: each feature is projected (into a copy), clipped
// to the buffered tile, simplified with the tolerance, snapped to the grid
// and wound as MVT 2.1 requires. Identical input gives identical bytes.
// If the tile would exceed the budgets, the lowest-priority features (the
// end of each layer) are dropped and the layer gets one metadata feature
// {tile_meta: true, dropped: N} at the tile's centre.
func Encode(t maptile.Tile, ls []Layer, o Options) (Result, error) {
	return NewEncoder().Encode(t, ls, o)
}

// Encoder is Encode with buffers kept from tile to tile, so that a busy
// server makes little garbage. It is not safe for concurrent use: keep one
// per goroutine, or a sync.Pool of them.
type Encoder struct {
	w     *layerWriter
	built [][]Feature
}

// NewEncoder returns an Encoder.
func NewEncoder() *Encoder { return &Encoder{w: newLayerWriter()} }

// Encode is the package's Encode. The Data of the result is the caller's.
func (e *Encoder) Encode(t maptile.Tile, ls []Layer, o Options) (Result, error) {
	o = o.withDefaults()
	p := NewProjector(t)
	box := orb.Bound{Min: orb.Point{-Buffer, -Buffer}, Max: orb.Point{Extent + Buffer, Extent + Buffer}}
	var dp *simplify.DouglasPeuckerSimplifier
	if o.Tolerance > 0 {
		dp = simplify.DouglasPeucker(o.Tolerance)
	}
	for len(e.built) < len(ls) {
		e.built = append(e.built, nil)
	}
	built := e.built[:len(ls)]
	defer func() {
		for i := range built {
			clear(built[i]) // drop the references to geometries and props
			built[i] = built[i][:0]
		}
	}()
	for i, l := range ls {
		out := built[i][:0]
		for _, f := range l.Features {
			g := prepare(p, box, dp, f.Geometry)
			if g == nil {
				continue
			}
			out = append(out, Feature{ID: f.ID, Geometry: g, Props: f.Props})
		}
		built[i] = out
	}
	keep := make([]int, len(ls))
	total := 0
	for i := range built {
		keep[i] = min(len(built[i]), max(0, o.MaxFeatures-total))
		total += keep[i]
	}
	for {
		data, n, err := marshal(e.w, ls, built, keep)
		if err != nil {
			return Result{}, fmt.Errorf("encode tile %d/%d/%d: %w", t.Z, t.X, t.Y, err)
		}
		if len(data) <= o.MaxBytes || n == 0 {
			return result(ls, built, keep, bytes.Clone(data), n), nil
		}
		// Shrink the layer with most features in proportion to the excess.
		big := 0
		for i := range keep {
			if keep[i] > keep[big] {
				big = i
			}
		}
		shrunk := int(float64(keep[big]) * float64(o.MaxBytes) / float64(len(data)) * 0.95)
		keep[big] = max(0, min(shrunk, keep[big]-1))
	}
}

func result(ls []Layer, built [][]Feature, keep []int, data []byte, n int) Result {
	r := Result{Data: data, Features: n}
	for i, l := range ls {
		if d := l.Dropped + len(built[i]) - keep[i]; d > 0 {
			if r.Dropped == nil {
				r.Dropped = map[string]int{}
			}
			r.Dropped[l.Name] = d
		}
	}
	return r
}

// marshal writes the tile into the writer's buffer: valid until its next
// use.
func marshal(w *layerWriter, ls []Layer, built [][]Feature, keep []int) ([]byte, int, error) {
	out := w.tile[:0]
	n := 0
	for i, l := range ls {
		fs := built[i][:keep[i]]
		n += len(fs)
		d := l.Dropped + len(built[i]) - keep[i]
		if len(fs) == 0 && d <= 0 {
			continue
		}
		w.reset()
		for _, f := range fs {
			if err := w.add(f.ID, f.Geometry, f.Props); err != nil {
				return nil, 0, err
			}
		}
		if d > 0 {
			if err := w.add(nil, orb.Point{Extent / 2, Extent / 2}, map[string]any{MetaKey: true, DroppedKey: d}); err != nil {
				return nil, 0, err
			}
		}
		out = w.appendLayer(out, l.Name, 2, Extent)
	}
	w.tile = out
	if len(out) == 0 {
		return nil, n, nil
	}
	return out, n, nil
}

// prepare returns g projected, clipped, simplified and snapped, or nil when
// nothing of it is left in the buffered tile.
func prepare(p Projector, box orb.Bound, dp *simplify.DouglasPeuckerSimplifier, g orb.Geometry) orb.Geometry {
	if g == nil {
		return nil
	}
	g = p.Geometry(g) // a fresh copy: clip and simplify may now work in place
	if g == nil {
		return nil
	}
	g = clip.Geometry(box, g)
	if g == nil {
		return nil
	}
	if dp != nil && g.Dimensions() > 0 {
		g = dp.Simplify(g)
		if g == nil {
			return nil
		}
	}
	return snap(g)
}

// snap rounds to whole tile units, drops repeated points and degenerate
// parts, and winds rings: exterior rings get positive area in tile
// coordinates (clockwise on screen), holes negative, as MVT 2.1 says.
func snap(g orb.Geometry) orb.Geometry {
	switch g := g.(type) {
	case orb.Point:
		return round(g)
	case orb.MultiPoint:
		out := make(orb.MultiPoint, 0, len(g))
		for _, q := range g {
			out = append(out, round(q))
		}
		if len(out) == 1 {
			return out[0]
		}
		return out
	case orb.LineString:
		if ls := snapLine(g); ls != nil {
			return ls
		}
	case orb.MultiLineString:
		var out orb.MultiLineString
		for _, ls := range g {
			if s := snapLine(ls); s != nil {
				out = append(out, s)
			}
		}
		switch len(out) {
		case 0:
			return nil
		case 1:
			return out[0]
		}
		return out
	case orb.Ring:
		return snapPolygon(orb.Polygon{g})
	case orb.Polygon:
		if pg := snapPolygon(g); pg != nil {
			return pg
		}
	case orb.MultiPolygon:
		var out orb.MultiPolygon
		for _, pg := range g {
			if s := snapPolygon(pg); s != nil {
				out = append(out, s)
			}
		}
		switch len(out) {
		case 0:
			return nil
		case 1:
			return out[0]
		}
		return out
	}
	return nil
}

func round(q orb.Point) orb.Point { return orb.Point{math.Round(q[0]), math.Round(q[1])} }

func dedupe(ls []orb.Point) []orb.Point {
	out := make([]orb.Point, 0, len(ls))
	for _, q := range ls {
		q = round(q)
		if len(out) > 0 && out[len(out)-1] == q {
			continue
		}
		out = append(out, q)
	}
	return out
}

func snapLine(ls orb.LineString) orb.LineString {
	out := dedupe(ls)
	if len(out) < 2 {
		return nil
	}
	return out
}

func snapPolygon(pg orb.Polygon) orb.Polygon {
	var out orb.Polygon
	for i, r := range pg {
		s := orb.Ring(dedupe(r))
		if len(s) > 1 && s[0] != s[len(s)-1] {
			s = append(s, s[0])
		}
		a := area2(s)
		if len(s) < 4 || a == 0 {
			if i == 0 {
				return nil // no exterior left
			}
			continue
		}
		if (i == 0) != (a > 0) {
			reverse(s)
		}
		out = append(out, s)
	}
	return out
}

// area2 is twice the signed area by the surveyor's formula.
func area2(r orb.Ring) float64 {
	var a float64
	for i := 0; i+1 < len(r); i++ {
		a += r[i][0]*r[i+1][1] - r[i+1][0]*r[i][1]
	}
	return a
}

func reverse(r orb.Ring) {
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
}
