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
