package geo

import (
	"math"
	"testing"

	"github.com/paulmach/orb"
)

func TestSnapPoint(t *testing.T) {
	for _, tc := range []struct {
		name   string
		p      orb.Point
		cellKm float64
	}{
		{"kharkiv 10 km", orb.Point{36.2304, 49.9935}, 10},
		{"sevastopol 10 km", orb.Point{33.5224, 44.6166}, 10},
		{"belgorod 1 km", orb.Point{36.5983, 50.5997}, 1},
		{"crimea south coast 50 km", orb.Point{34.1, 44.4}, 50},
		{"southern hemisphere", orb.Point{-58.38, -34.6}, 5},
		{"antimeridian", orb.Point{179.999, 60}, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := SnapPoint(tc.p, tc.cellKm)
			// It never moves a point further than the half diagonal of a cell.
			if d, max := DistanceKm(tc.p, s), tc.cellKm*math.Sqrt2/2*1.01; d > max {
				t.Errorf("moved %.3f km, more than %.3f", d, max)
			}
			// Snapping is idempotent: a cell centre is its own cell's centre.
			if again := SnapPoint(s, tc.cellKm); math.Abs(again[0]-s[0]) > 1e-9 || math.Abs(again[1]-s[1]) > 1e-9 {
				t.Errorf("snap(snap(p)) = %v, want %v", again, s)
			}
			if s[0] < -180 || s[0] > 180 || s[1] < -90 || s[1] > 90 {
				t.Errorf("snapped point %v is off the globe", s)
			}
		})
	}
}

// Points in one cell share a centre, so a reader cannot tell them apart;
// points two cells apart do not.
func TestSnapPointSameCell(t *testing.T) {
	const cell = 10.0
	c := SnapPoint(orb.Point{37.8, 48.0}, cell)
	dLon, dLat := KmToDegrees(cell, c[1])
	for _, off := range [][2]float64{{-0.49, -0.49}, {0.49, 0.49}, {-0.49, 0.49}, {0.3, -0.2}, {0, 0}} {
		p := orb.Point{c[0] + off[0]*dLon, c[1] + off[1]*dLat}
		if s := SnapPoint(p, cell); s != c {
			t.Errorf("%v snapped to %v, want the cell centre %v", p, s, c)
		}
	}
	if far := SnapPoint(orb.Point{c[0] + 2*dLon, c[1]}, cell); far == c {
		t.Errorf("a point two cells east snapped to the same centre %v", c)
	}
	if SnapPoint(orb.Point{37.8, 48.0}, 0) != (orb.Point{37.8, 48.0}) {
		t.Error("a zero cell must leave the point alone")
	}
}

func TestSnapToGrid(t *testing.T) {
	small := orb.Polygon{{{37.80, 48.00}, {37.81, 48.00}, {37.81, 48.01}, {37.80, 48.01}, {37.80, 48.00}}}
	big := orb.Polygon{{{37.0, 47.5}, {38.5, 47.5}, {38.5, 48.5}, {37.0, 48.5}, {37.0, 47.5}}}
	line := orb.LineString{{37.0, 48.0}, {37.001, 48.0}, {38.0, 48.2}}
	for _, tc := range []struct {
		name     string
		g        orb.Geometry
		wantType string
	}{
		{"point", orb.Point{37.8, 48.0}, "Point"},
		{"small polygon collapses to a point", small, "Point"},
		{"large polygon stays a polygon", big, "Polygon"},
		{"line keeps its distinct cells", line, "LineString"},
		{"short line collapses", orb.LineString{{37.8, 48.0}, {37.8001, 48.0001}}, "Point"},
		{"multipoint in one cell", orb.MultiPoint{{37.8, 48.0}, {37.8001, 48.0}}, "Point"},
		{"multipolygon", orb.MultiPolygon{big, small}, "MultiPolygon"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := orb.Clone(tc.g)
			s := SnapToGrid(tc.g, 10)
			if !orb.Equal(before, tc.g) {
				t.Fatal("SnapToGrid changed its input")
			}
			if s.GeoJSONType() != tc.wantType {
				t.Fatalf("type %s, want %s", s.GeoJSONType(), tc.wantType)
			}
			// Every position of the result is a cell centre.
			for _, p := range positions(s) {
				if SnapPoint(p, 10) != p {
					t.Errorf("position %v is not a cell centre", p)
				}
			}
		})
	}
	if SnapToGrid(nil, 10) != nil {
		t.Error("nil geometry must stay nil")
	}
}

func positions(g orb.Geometry) []orb.Point {
	switch g := g.(type) {
	case orb.Point:
		return []orb.Point{g}
	case orb.MultiPoint:
		return g
	case orb.LineString:
		return g
	case orb.Polygon:
		var out []orb.Point
		for _, r := range g {
			out = append(out, r...)
		}
		return out
	case orb.MultiPolygon:
		var out []orb.Point
		for _, p := range g {
			out = append(out, positions(p)...)
		}
		return out
	}
	return nil
}

func BenchmarkSnapToGrid(b *testing.B) {
	big := orb.Polygon{{{37.0, 47.5}, {38.5, 47.5}, {38.5, 48.5}, {37.0, 48.5}, {37.0, 47.5}}}
	b.ReportAllocs()
	for b.Loop() {
		_ = SnapToGrid(big, 10)
	}
}
