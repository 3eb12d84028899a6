package geo

import "github.com/paulmach/orb"

// Intersects reports whether geometries a and b share at least one point,
// treating lon/lat as planar (RFC 7946). Any geometry type may be given,
// collections and multi-geometries included; nil intersects nothing.
func Intersects(a, b orb.Geometry) bool {
	if a == nil || b == nil || !a.Bound().Intersects(b.Bound()) {
		return false
	}
	pa, la, ga := parts(a)
	pb, lb, gb := parts(b)
	for _, poly := range ga {
		if IntersectsPolygonal(b, poly) {
			return true
		}
	}
	for _, poly := range gb {
		if IntersectsPolygonal(a, poly) {
			return true
		}
	}
	for _, p := range pa {
		for _, q := range pb {
			if p == q {
				return true
			}
		}
		for _, l := range lb {
			if pointOnLine(p, l) {
				return true
			}
		}
	}
	for _, q := range pb {
		for _, l := range la {
			if pointOnLine(q, l) {
				return true
			}
		}
	}
	for _, l := range la {
		for _, m := range lb {
			if linesIntersect(l, m) {
				return true
			}
		}
	}
	return false
}

// parts splits g into its points, lines and polygons.
func parts(g orb.Geometry) (pts []orb.Point, lines []orb.LineString, polys []orb.Polygon) {
	switch g := g.(type) {
	case orb.Point:
		pts = append(pts, g)
	case orb.MultiPoint:
		pts = append(pts, g...)
	case orb.LineString:
		lines = append(lines, g)
	case orb.MultiLineString:
		lines = append(lines, g...)
	case orb.Ring:
		polys = append(polys, orb.Polygon{g})
	case orb.Polygon:
		polys = append(polys, g)
	case orb.MultiPolygon:
		polys = append(polys, g...)
	case orb.Bound:
		polys = append(polys, g.ToPolygon())
	case orb.Collection:
		for _, x := range g {
			p, l, q := parts(x)
			pts, lines, polys = append(pts, p...), append(lines, l...), append(polys, q...)
		}
	}
	return pts, lines, polys
}

func pointOnLine(p orb.Point, l orb.LineString) bool {
	if len(l) == 1 {
		return l[0] == p
	}
	for i := 1; i < len(l); i++ {
		if orient(l[i-1], l[i], p) == 0 && onSegment(l[i-1], l[i], p) {
			return true
		}
	}
	return false
}

func linesIntersect(a, b orb.LineString) bool {
	if !a.Bound().Intersects(b.Bound()) {
		return false
	}
	for i := 1; i < len(a); i++ {
		for j := 1; j < len(b); j++ {
			if SegmentsIntersect(a[i-1], a[i], b[j-1], b[j]) {
				return true
			}
		}
	}
	return false
}
