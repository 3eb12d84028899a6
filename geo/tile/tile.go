// Package tile builds Mapbox Vector Tiles (MVT 2.1) from lon/lat features:
// tile addressing, projection to tile units, clipping to the buffered tile,
// per-zoom simplification, point clustering cells, size budgets and
// deterministic encoding. It is pure: no HTTP, no shared state.
package tile

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"
)

const (
	// Extent is the number of tile units along a tile's side.
	Extent = 4096
	// Buffer is how far, in tile units, geometry reaches beyond the tile's
	// edges so that lines and areas join up without seams.
	Buffer = 64
	// MaxZoom is the deepest zoom the grid accepts.
	MaxZoom = 24
	// maxLat is Web Mercator's latitude limit.
	maxLat = 85.05112877980659
)

// ParsePath reads the z, x and "y.ext" parts of a tile path. ext must be
// "mvt" (or "pbf"). The tile must lie on the grid: 0 <= z <= MaxZoom and
// 0 <= x, y < 2^z.
func ParsePath(zs, xs, ys string) (maptile.Tile, error) {
	y, ext, ok := strings.Cut(ys, ".")
	if !ok || (ext != "mvt" && ext != "pbf") {
		return maptile.Tile{}, fmt.Errorf("tile path must end in {y}.mvt, got %q", ys)
	}
	z, err := parseUint("z", zs, MaxZoom)
	if err != nil {
		return maptile.Tile{}, err
	}
	n := uint64(1)<<z - 1
	x, err := parseUint("x", xs, n)
	if err != nil {
		return maptile.Tile{}, err
	}
	yy, err := parseUint("y", y, n)
	if err != nil {
		return maptile.Tile{}, err
	}
	return maptile.New(uint32(x), uint32(yy), maptile.Zoom(z)), nil
}

func parseUint(name, s string, max uint64) (uint64, error) {
	if s == "" || len(s) > 10 || (len(s) > 1 && s[0] == '0') {
		return 0, fmt.Errorf("%s %q is not a tile number", name, s)
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s %q is not a tile number", name, s)
	}
	if v > max {
		return 0, fmt.Errorf("%s %d is outside the grid (0..%d)", name, v, max)
	}
	return v, nil
}

// BufferedBound returns the tile's lon/lat bound grown by Buffer tile units
// on every side: the area whose features a tile shows.
func BufferedBound(t maptile.Tile) orb.Bound {
	return t.Bound(float64(Buffer) / Extent)
}

// Projector maps lon/lat to this tile's units (float, not yet rounded).
type Projector struct {
	scale  float64 // tile units per world unit
	ox, oy float64
}

// NewProjector returns the projection for tile t.
func NewProjector(t maptile.Tile) Projector {
	s := float64(uint64(1)<<t.Z) * Extent
	return Projector{scale: s, ox: float64(t.X) * Extent, oy: float64(t.Y) * Extent}
}

// Point projects one lon/lat point.
func (p Projector) Point(q orb.Point) orb.Point {
	x, y := WorldXY(q)
	return orb.Point{x*p.scale - p.ox, y*p.scale - p.oy}
}

// WorldXY returns the Web Mercator position of a lon/lat point as fractions
// of the world, 0..1 from west and from north.
func WorldXY(q orb.Point) (float64, float64) {
	lat := math.Max(-maxLat, math.Min(maxLat, q[1]))
	x := (q[0] + 180) / 360
	s := math.Sin(lat * math.Pi / 180)
	y := 0.5 - math.Log((1+s)/(1-s))/(4*math.Pi)
	return math.Max(0, math.Min(1, x)), math.Max(0, math.Min(1, y))
}

// Geometry returns a projected copy of g; g itself is never changed, which
// matters because g is shared with the layer's index.
func (p Projector) Geometry(g orb.Geometry) orb.Geometry {
	switch g := g.(type) {
	case orb.Point:
		return p.Point(g)
	case orb.MultiPoint:
		out := make(orb.MultiPoint, len(g))
		for i, q := range g {
			out[i] = p.Point(q)
		}
		return out
	case orb.LineString:
		return p.line(g)
	case orb.MultiLineString:
		out := make(orb.MultiLineString, len(g))
		for i, ls := range g {
			out[i] = p.line(ls)
		}
		return out
	case orb.Ring:
		return orb.Ring(p.line(orb.LineString(g)))
	case orb.Polygon:
		return p.polygon(g)
	case orb.MultiPolygon:
		out := make(orb.MultiPolygon, len(g))
		for i, pg := range g {
			out[i] = p.polygon(pg)
		}
		return out
	case orb.Bound:
		return p.polygon(g.ToPolygon())
	}
	return nil // collections are not drawn in tiles
}

func (p Projector) line(ls orb.LineString) orb.LineString {
	out := make(orb.LineString, len(ls))
	for i, q := range ls {
		out[i] = p.Point(q)
	}
	return out
}

func (p Projector) polygon(pg orb.Polygon) orb.Polygon {
	out := make(orb.Polygon, len(pg))
	for i, r := range pg {
		out[i] = orb.Ring(p.line(orb.LineString(r)))
	}
	return out
}
