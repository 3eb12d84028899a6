package geo

import (
	"testing"

	"github.com/paulmach/orb"
)

func TestIntersectsBound(t *testing.T) {
	box := orb.Bound{Min: orb.Point{0, 0}, Max: orb.Point{10, 10}}
	square := func(x0, y0, x1, y1 float64) orb.Ring {
		return orb.Ring{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}
	}
	for _, c := range []struct {
		name string
		g    orb.Geometry
		want bool
	}{
		{"point inside", orb.Point{5, 5}, true},
		{"point on edge", orb.Point{10, 5}, true},
		{"point outside", orb.Point{11, 5}, false},
		{"line crossing without vertex inside", orb.LineString{{-5, 5}, {15, 5}}, true},
		{"diagonal line passing beside", orb.LineString{{8, 20}, {20, 8}}, false},
		{"diagonal line cutting a corner", orb.LineString{{5, 15}, {15, 5}}, true},
		{"line touching a corner", orb.LineString{{10, 10}, {20, 20}}, true},
		{"polygon containing the box", orb.Polygon{square(-5, -5, 15, 15)}, true},
		{"box inside a hole", orb.Polygon{square(-5, -5, 15, 15), square(-1, -1, 11, 11)}, false},
		{"polygon beside", orb.Polygon{square(11, 11, 15, 15)}, false},
		{"polygon overlapping", orb.Polygon{square(5, 5, 15, 15)}, true},
		{"multipolygon one part in", orb.MultiPolygon{{square(20, 20, 30, 30)}, {square(1, 1, 2, 2)}}, true},
		{"nil", nil, false},
	} {
		if got := IntersectsBound(c.g, box); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

func TestIntersects(t *testing.T) {
	sq := orb.Polygon{{{0, 0}, {4, 0}, {4, 4}, {0, 4}, {0, 0}}}
	hole := orb.Polygon{{{0, 0}, {4, 0}, {4, 4}, {0, 4}, {0, 0}}, {{1, 1}, {3, 1}, {3, 3}, {1, 3}, {1, 1}}}
	for _, c := range []struct {
		name string
		a, b orb.Geometry
		want bool
	}{
		{"point in polygon", orb.Point{2, 2}, sq, true},
		{"polygon contains point (swapped)", sq, orb.Point{2, 2}, true},
		{"point in a hole", orb.Point{2, 2}, hole, false},
		{"point on the edge", orb.Point{4, 2}, sq, true},
		{"point outside", orb.Point{5, 2}, sq, false},
		{"same points", orb.Point{1, 1}, orb.MultiPoint{{0, 0}, {1, 1}}, true},
		{"different points", orb.Point{1, 1}, orb.Point{1, 1.0000001}, false},
		{"point on a line", orb.Point{1, 1}, orb.LineString{{0, 0}, {2, 2}}, true},
		{"point beside a line", orb.Point{1, 1.1}, orb.LineString{{0, 0}, {2, 2}}, false},
		{"crossing lines", orb.LineString{{0, 0}, {2, 2}}, orb.LineString{{0, 2}, {2, 0}}, true},
		{"parallel lines", orb.LineString{{0, 0}, {2, 2}}, orb.LineString{{0, 1}, {2, 3}}, false},
		{"line through a polygon", orb.LineString{{-1, 2}, {5, 2}}, sq, true},
		{"polygons overlapping", sq, orb.Polygon{{{3, 3}, {6, 3}, {6, 6}, {3, 6}, {3, 3}}}, true},
		{"polygon inside a hole", hole, orb.Polygon{{{1.5, 1.5}, {2.5, 1.5}, {2.5, 2.5}, {1.5, 2.5}, {1.5, 1.5}}}, false},
		{"collection", orb.Collection{orb.Point{9, 9}, orb.Point{2, 2}}, sq, true},
		{"nil", nil, sq, false},
	} {
		if got := Intersects(c.a, c.b); got != c.want {
			t.Errorf("%s: got %v", c.name, got)
		}
	}
}
