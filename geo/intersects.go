package geo

import (
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
)

// IntersectsBound reports whether geometry g shares at least one point with
// the bound b (edges included). Unlike comparing bounds, it is exact: a
// diagonal line whose bound overlaps b but which passes beside it does not
// intersect. A nil geometry intersects nothing.
func IntersectsBound(g orb.Geometry, b orb.Bound) bool {
	if g == nil || !g.Bound().Intersects(b) {
		return false
	}
	switch g := g.(type) {
	case orb.Point:
		return b.Contains(g)
	case orb.MultiPoint:
		for _, p := range g {
			if b.Contains(p) {
				return true
			}
		}
		return false
	case orb.LineString:
		return lineIntersectsBound(g, b)
	case orb.MultiLineString:
		for _, ls := range g {
			if lineIntersectsBound(ls, b) {
				return true
			}
		}
		return false
	case orb.Ring:
		return polygonIntersectsBound(orb.Polygon{g}, b)
	case orb.Polygon:
		return polygonIntersectsBound(g, b)
	case orb.MultiPolygon:
		for _, p := range g {
			if polygonIntersectsBound(p, b) {
				return true
			}
		}
		return false
	case orb.Collection:
		for _, c := range g {
			if IntersectsBound(c, b) {
				return true
			}
		}
		return false
	case orb.Bound:
		return g.Intersects(b)
	}
	return true
}

func polygonIntersectsBound(p orb.Polygon, b orb.Bound) bool {
	for _, r := range p {
		if lineIntersectsBound(orb.LineString(r), b) {
			return true
		}
	}
	// No edge touches the box: either the box lies inside the polygon
	// (outside its holes) or they are apart.
	return planar.PolygonContains(p, b.Center())
}

func lineIntersectsBound(ls orb.LineString, b orb.Bound) bool {
	for i, p := range ls {
		if b.Contains(p) {
			return true
		}
		if i > 0 && segmentCrossesBound(ls[i-1], p, b) {
			return true
		}
	}
	return false
}

// segmentCrossesBound clips the segment a–p against the box (Liang–Barsky).
func segmentCrossesBound(a, p orb.Point, b orb.Bound) bool {
	t0, t1 := 0.0, 1.0
	dx, dy := p[0]-a[0], p[1]-a[1]
	ps := [4]float64{-dx, dx, -dy, dy}
	qs := [4]float64{a[0] - b.Min[0], b.Max[0] - a[0], a[1] - b.Min[1], b.Max[1] - a[1]}
	for i := range ps {
		if ps[i] == 0 {
			if qs[i] < 0 {
				return false
			}
			continue
		}
		t := qs[i] / ps[i]
		if ps[i] < 0 {
			if t > t1 {
				return false
			}
			t0 = max(t0, t)
		} else {
			if t < t0 {
				return false
			}
			t1 = min(t1, t)
		}
	}
	return t0 <= t1
}
