package main

import (
	"math"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"

	"troopmap/geo"
)

func TestBufferLines(t *testing.T) {
	line := orb.LineString{{30, 50}, {31, 50.5}, {32, 50}}
	mp := bufferLines([]orb.LineString{line}, 50, 0.02)
	if len(mp) != 1 || len(mp[0]) != 1 {
		t.Fatalf("want one polygon without holes, got %d polygons", len(mp))
	}
	ring := mp[0][0]
	if ring.Orientation() != orb.CCW {
		t.Errorf("exterior ring is not counter-clockwise")
	}
	// Every vertex of the outline lies 50 km from the line, within the grid's error.
	for _, p := range ring {
		d := math.Inf(1)
		for i := 1; i < len(line); i++ {
			d = math.Min(d, geo.SegmentDistanceKm(p, line[i-1], line[i]))
		}
		if math.Abs(d-50) > 0.5 {
			t.Fatalf("outline vertex %v is %.2f km from the line, want 50", p, d)
		}
	}
	for _, c := range []struct {
		p  orb.Point
		in bool
	}{
		{orb.Point{31, 50.5}, true},
		{orb.Point{31, 50.85}, true}, // ~39 km north
		{orb.Point{31, 51.0}, false}, // ~56 km north
		{orb.Point{29.4, 50}, true},  // ~43 km west of the end
		{orb.Point{29.2, 50}, false}, // ~57 km west
	} {
		if got := planar.MultiPolygonContains(mp, c.p); got != c.in {
			t.Errorf("contains(%v) = %v, want %v", c.p, got, c.in)
		}
	}
}
