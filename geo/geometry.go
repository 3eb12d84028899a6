package geo

import (
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
)

// IntersectsPolygonal reports whether g shares at least one point with the
// polygon or multipolygon area (edges included). Both are in lon/lat and
// treated as planar, which is what GeoJSON's RFC 7946 asks of consumers.
func IntersectsPolygonal(g orb.Geometry, area orb.Geometry) bool {
	if g == nil || area == nil || !g.Bound().Intersects(area.Bound()) {
		return false
	}
	var polys []orb.Polygon
	switch a := area.(type) {
	case orb.Polygon:
		polys = []orb.Polygon{a}
	case orb.MultiPolygon:
		polys = a
	default:
		return false
	}
	for _, p := range polys {
		if geometryIntersectsPolygon(g, p) {
			return true
		}
	}
	return false
}

func geometryIntersectsPolygon(g orb.Geometry, p orb.Polygon) bool {
	if !g.Bound().Intersects(p.Bound()) {
		return false
	}
	switch g := g.(type) {
	case orb.Point:
		return planar.PolygonContains(p, g) || onBoundary(p, g)
	case orb.MultiPoint:
		for _, pt := range g {
			if geometryIntersectsPolygon(pt, p) {
				return true
			}
		}
	case orb.LineString:
		return lineIntersectsPolygon(g, p)
	case orb.MultiLineString:
		for _, ls := range g {
			if lineIntersectsPolygon(ls, p) {
				return true
			}
		}
	case orb.Polygon:
		if lineIntersectsPolygon(orb.LineString(g[0]), p) {
			return true
		}
		// p may lie wholly inside g.
		return len(p) > 0 && len(p[0]) > 0 && planar.PolygonContains(g, p[0][0])
	case orb.MultiPolygon:
		for _, q := range g {
			if geometryIntersectsPolygon(q, p) {
				return true
			}
		}
	case orb.Collection:
		for _, c := range g {
			if geometryIntersectsPolygon(c, p) {
				return true
			}
		}
	}
	return false
}

func lineIntersectsPolygon(ls orb.LineString, p orb.Polygon) bool {
	for _, pt := range ls {
		if planar.PolygonContains(p, pt) {
			return true
		}
	}
	for _, r := range p {
		for i := 1; i < len(r); i++ {
			for j := 1; j < len(ls); j++ {
				if SegmentsIntersect(r[i-1], r[i], ls[j-1], ls[j]) {
					return true
				}
			}
		}
	}
	return false
}

// onBoundary reports whether pt lies on one of p's rings: a point exactly on
// a zone's edge belongs to the zone.
func onBoundary(p orb.Polygon, pt orb.Point) bool {
	for _, r := range p {
		for i := 1; i < len(r); i++ {
			if SegmentsIntersect(r[i-1], r[i], pt, pt) {
				return true
			}
		}
	}
	return false
}

// SegmentsIntersect reports whether segments a–b and c–d share a point.
func SegmentsIntersect(a, b, c, d orb.Point) bool {
	o1, o2 := orient(a, b, c), orient(a, b, d)
	o3, o4 := orient(c, d, a), orient(c, d, b)
	if o1 != o2 && o3 != o4 {
		return true
	}
	return (o1 == 0 && onSegment(a, b, c)) || (o2 == 0 && onSegment(a, b, d)) ||
		(o3 == 0 && onSegment(c, d, a)) || (o4 == 0 && onSegment(c, d, b))
}

func orient(a, b, c orb.Point) int {
	v := (b[0]-a[0])*(c[1]-a[1]) - (b[1]-a[1])*(c[0]-a[0])
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}

func onSegment(a, b, p orb.Point) bool {
	return min(a[0], b[0]) <= p[0] && p[0] <= max(a[0], b[0]) && min(a[1], b[1]) <= p[1] && p[1] <= max(a[1], b[1])
}

// RepresentativePoint returns a point that lies on g: the point itself, the
// middle of a line by length, or a point inside a polygon (its centroid when
// that is inside, else the middle of the widest inside run of the horizontal
// line through the centroid). Multi-geometries use their largest part.
func RepresentativePoint(g orb.Geometry) (orb.Point, bool) {
	switch g := g.(type) {
	case orb.Point:
		return g, true
	case orb.MultiPoint:
		if len(g) > 0 {
			return g[0], true
		}
	case orb.LineString:
		return lineMiddle(g)
	case orb.MultiLineString:
		best, bl := -1, -1.0
		for i, ls := range g {
			if l := planar.Length(ls); l > bl {
				best, bl = i, l
			}
		}
		if best >= 0 {
			return lineMiddle(g[best])
		}
	case orb.Polygon:
		return polygonPoint(g)
	case orb.MultiPolygon:
		best, ba := -1, -1.0
		for i, p := range g {
			if a := planar.Area(p); a > ba {
				best, ba = i, a
			}
		}
		if best >= 0 {
			return polygonPoint(g[best])
		}
	case orb.Collection:
		if len(g) > 0 {
			return RepresentativePoint(g[0])
		}
	}
	return orb.Point{}, false
}

func lineMiddle(ls orb.LineString) (orb.Point, bool) {
	if len(ls) == 0 {
		return orb.Point{}, false
	}
	half, acc := planar.Length(ls)/2, 0.0
	for i := 1; i < len(ls); i++ {
		d := planar.Distance(ls[i-1], ls[i])
		if acc+d >= half && d > 0 {
			t := (half - acc) / d
			return orb.Point{ls[i-1][0] + t*(ls[i][0]-ls[i-1][0]), ls[i-1][1] + t*(ls[i][1]-ls[i-1][1])}, true
		}
		acc += d
	}
	return ls[0], true
}

func polygonPoint(p orb.Polygon) (orb.Point, bool) {
	if len(p) == 0 || len(p[0]) == 0 {
		return orb.Point{}, false
	}
	c, _ := planar.CentroidArea(p)
	if planar.PolygonContains(p, c) {
		return c, true
	}
	// Scan the horizontal line through the centroid for crossings and take
	// the middle of the widest run that is inside.
	y := c[1]
	var xs []float64
	for _, r := range p {
		for i := 1; i < len(r); i++ {
			a, b := r[i-1], r[i]
			if (a[1] <= y) != (b[1] <= y) {
				xs = append(xs, a[0]+(y-a[1])*(b[0]-a[0])/(b[1]-a[1]))
			}
		}
	}
	sortFloats(xs)
	best, bw := orb.Point{}, -1.0
	for i := 0; i+1 < len(xs); i += 2 {
		if w := xs[i+1] - xs[i]; w > bw {
			best, bw = orb.Point{(xs[i] + xs[i+1]) / 2, y}, w
		}
	}
	if bw < 0 {
		return p[0][0], true
	}
	return best, true
}

func sortFloats(xs []float64) {
	for i := 1; i < len(xs); i++ {
		for j := i; j > 0 && xs[j] < xs[j-1]; j-- {
			xs[j], xs[j-1] = xs[j-1], xs[j]
		}
	}
}
