package geo

import (
	"math"
	"testing"

	"github.com/paulmach/orb"
)

func TestDistanceAndBearing(t *testing.T) {
	kyiv, kharkiv := orb.Point{30.5234, 50.4501}, orb.Point{36.2304, 49.9935}
	// Kyiv–Kharkiv is about 410 km on the great circle.
	if d := DistanceKm(kyiv, kharkiv); math.Abs(d-409) > 5 {
		t.Errorf("Kyiv–Kharkiv = %.1f km, want about 409", d)
	}
	for _, c := range []struct {
		a, b orb.Point
		want float64
	}{
		{orb.Point{30, 50}, orb.Point{30, 51}, 0},
		{orb.Point{30, 50}, orb.Point{31, 50}, 89.6},
		{orb.Point{30, 50}, orb.Point{30, 49}, 180},
		{orb.Point{30, 50}, orb.Point{29, 50}, 270.4},
	} {
		if got := BearingDeg(c.a, c.b); math.Abs(got-c.want) > 0.5 {
			t.Errorf("bearing %v→%v = %.1f, want %.1f", c.a, c.b, got, c.want)
		}
	}
	// One degree of latitude from a segment's interior.
	if d := SegmentDistanceKm(orb.Point{30.5, 51}, orb.Point{30, 50}, orb.Point{31, 50}); math.Abs(d-KmPerDegree) > 0.5 {
		t.Errorf("segment distance = %.2f, want %.2f", d, KmPerDegree)
	}
}
