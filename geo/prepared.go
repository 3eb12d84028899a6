package geo

import (
	"math"

	"github.com/paulmach/orb"
)

// EdgeTolerance is how close, in degrees (about 0.1 mm), a point must be to
// a polygon's edge to count as lying on it. Exact collinearity is hopeless
// in floating point: the midpoint of an edge is usually not exactly on it.
const EdgeTolerance = 1e-9

// Prepared is a polygon or multipolygon made ready for many point tests:
// the bounds of every part and ring are computed once, not on every call
// as orb's planar functions do. It is immutable and safe for concurrent use.
type Prepared struct {
	Geometry orb.Geometry // the original polygonal geometry
	Bound    orb.Bound
	polys    []preparedPolygon
}

type preparedPolygon struct {
	bound  orb.Bound
	rings  []orb.Ring
	bounds []orb.Bound
}

// Prepare returns g prepared, or false when g is not a Polygon or
// MultiPolygon.
func Prepare(g orb.Geometry) (*Prepared, bool) {
	var polys []orb.Polygon
	switch g := g.(type) {
	case orb.Polygon:
		polys = []orb.Polygon{g}
	case orb.MultiPolygon:
		polys = g
	default:
		return nil, false
	}
	p := &Prepared{Geometry: g, Bound: g.Bound()}
	for _, poly := range polys {
		if len(poly) == 0 || len(poly[0]) == 0 {
			continue
		}
		pp := preparedPolygon{rings: poly, bound: poly.Bound()}
		for _, r := range poly {
			pp.bounds = append(pp.bounds, r.Bound())
		}
		p.polys = append(p.polys, pp)
	}
	return p, true
}

// ContainsPoint reports whether pt lies inside the area or on its edge
// (within EdgeTolerance). Holes are outside, their edges inside.
func (p *Prepared) ContainsPoint(pt orb.Point) bool {
	if !expand(p.Bound).Contains(pt) {
		return false
	}
	for _, pp := range p.polys {
		if !expand(pp.bound).Contains(pt) {
			continue
		}
		in, edge := ringLocate(pp.rings[0], pt)
		if edge {
			return true
		}
		if !in {
			continue
		}
		inHole := false
		for i := 1; i < len(pp.rings) && !inHole; i++ {
			if !expand(pp.bounds[i]).Contains(pt) {
				continue
			}
			hin, hedge := ringLocate(pp.rings[i], pt)
			if hedge {
				return true
			}
			inHole = hin
		}
		if !inHole {
			return true
		}
	}
	return false
}

// Intersects reports whether g shares a point with the area: the fast path
// for points, IntersectsPolygonal otherwise.
func (p *Prepared) Intersects(g orb.Geometry) bool {
	if pt, ok := g.(orb.Point); ok {
		return p.ContainsPoint(pt)
	}
	return IntersectsPolygonal(g, p.Geometry)
}

func expand(b orb.Bound) orb.Bound {
	return orb.Bound{Min: orb.Point{b.Min[0] - EdgeTolerance, b.Min[1] - EdgeTolerance},
		Max: orb.Point{b.Max[0] + EdgeTolerance, b.Max[1] + EdgeTolerance}}
}

// ringLocate is the even-odd crossing test in one pass over the edges,
// noticing on the way whether pt lies on an edge. The ring may be open or
// closed.
func ringLocate(r orb.Ring, pt orb.Point) (inside, onEdge bool) {
	n := len(r)
	if n == 0 {
		return false, false
	}
	x, y := pt[0], pt[1]
	for i := range n {
		a, b := r[i], r[(i+1)%n]
		// Most edges are wholly above or below pt: skip them cheaply.
		if (a[1] < y-EdgeTolerance && b[1] < y-EdgeTolerance) || (a[1] > y+EdgeTolerance && b[1] > y+EdgeTolerance) {
			continue
		}
		if nearSegment(a, b, pt) {
			return false, true
		}
		if (a[1] > y) != (b[1] > y) {
			if cx := a[0] + (y-a[1])*(b[0]-a[0])/(b[1]-a[1]); cx > x {
				inside = !inside
			}
		}
	}
	return inside, false
}

// nearSegment reports whether p is within EdgeTolerance of segment a–b.
func nearSegment(a, b, p orb.Point) bool {
	if p[0] < math.Min(a[0], b[0])-EdgeTolerance || p[0] > math.Max(a[0], b[0])+EdgeTolerance ||
		p[1] < math.Min(a[1], b[1])-EdgeTolerance || p[1] > math.Max(a[1], b[1])+EdgeTolerance {
		return false
	}
	dx, dy := b[0]-a[0], b[1]-a[1]
	l2 := dx*dx + dy*dy
	if l2 == 0 {
		return math.Hypot(p[0]-a[0], p[1]-a[1]) <= EdgeTolerance
	}
	t := math.Max(0, math.Min(1, ((p[0]-a[0])*dx+(p[1]-a[1])*dy)/l2))
	return math.Hypot(p[0]-(a[0]+t*dx), p[1]-(a[1]+t*dy)) <= EdgeTolerance
}
