package layers

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/paulmach/orb"

	"troopmap/geo"
)

func TestNearQuery(t *testing.T) {
	l := NewLayer(Meta{ID: "near", TimeKeys: ReportTimeKeys()})
	_ = l.Load([]*Feature{
		pointFeature("n01", 30, 50.1, "2021-04-01T00:00:00Z"), // 0.1° north: 11.12 km
		pointFeature("n05", 30, 50.5, "2021-04-02T00:00:00Z"), // 55.60 km
		pointFeature("n10", 30, 51, "2021-04-03T00:00:00Z"),   // 111.20 km
		// Half a degree east and west at 50°N: 0.5·111.195·cos 50° = 35.74
		// km each, an exact tie.
		pointFeature("w05", 29.5, 50, "2021-04-04T00:00:00Z"),
		pointFeature("e05", 30.5, 50, "2021-04-04T00:00:00Z"),
		NewFeature("line", orb.LineString{{29, 50.2}, {31, 50.2}}, nil),                                                // passes 0.2° north: 22.24 km
		NewFeature("poly", orb.Polygon{{{29.9, 49.9}, {30.1, 49.9}, {30.1, 50.05}, {29.9, 50.05}, {29.9, 49.9}}}, nil), // holds the centre: 0
		NewFeature("nogeom", nil, nil),
		pointFeature("far", 40, 50, "2021-04-01T00:00:00Z"),
	})
	deg := oneDegreeKm
	ew := 0.5 * deg * math.Cos(50*math.Pi/180)
	for _, c := range []struct {
		name    string
		q       Query
		want    []string
		dists   []float64
		matched int
	}{
		{"within 60 km, nearest first, ties by id", Query{Near: &Near{Center: orb.Point{30, 50}, RadiusKm: 60}},
			[]string{"poly", "n01", "line", "e05", "w05", "n05"}, []float64{0, 0.1 * deg, 0.2 * deg, ew, ew, 0.5 * deg}, 6},
		{"nothing beyond the radius", Query{Near: &Near{Center: orb.Point{30, 50}, RadiusKm: 20}},
			[]string{"poly", "n01"}, []float64{0, 0.1 * deg}, 2},
		{"paged", Query{Near: &Near{Center: orb.Point{30, 50}, RadiusKm: 200}, Offset: 2, Limit: 2},
			[]string{"line", "e05"}, []float64{0.2 * deg, ew}, 7},
		// Features without time match every interval (OGC), so the line
		// and the polygon stay.
		{"with a time filter", Query{Near: &Near{Center: orb.Point{30, 50}, RadiusKm: 200}, Time: mustInterval(t, "2021-04-02/2021-04-03")},
			[]string{"poly", "line", "n05", "n10"}, []float64{0, 0.2 * deg, 0.5 * deg, deg}, 4},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := l.Snapshot().Query(context.Background(), c.q)
			if err != nil {
				t.Fatal(err)
			}
			got := ids(p)
			if !slices.Equal(got, c.want) || p.Matched != c.matched {
				t.Fatalf("got %v (matched %d), want %v (%d)", got, p.Matched, c.want, c.matched)
			}
			for i, d := range p.DistancesKm {
				if math.Abs(d-c.dists[i]) > 0.01 {
					t.Errorf("%s at %.3f km, want %.3f", got[i], d, c.dists[i])
				}
			}
		})
	}
}

func mustInterval(t *testing.T, s string) geo.Interval {
	t.Helper()
	iv, err := geo.ParseInterval(s)
	if err != nil {
		t.Fatal(err)
	}
	return iv
}

// With Show, distances are those of the geometry the reader sees: a reader
// shown a report moved 1° north measures it there.
func TestNearMeasuresWhatTheReaderSees(t *testing.T) {
	l := NewLayer(Meta{ID: "near"})
	_ = l.Load([]*Feature{pointFeature("a", 30, 50.1, ""), pointFeature("b", 30, 50.2, ""), pointFeature("hidden", 30, 50.05, "")})
	show := func(f *Feature) *Feature {
		switch f.ID {
		case "hidden":
			return nil
		case "a":
			return NewFeature("a", orb.Point{30, 50.5}, nil)
		}
		return f
	}
	p, err := l.Snapshot().Query(context.Background(), Query{Near: &Near{Center: orb.Point{30, 50}, RadiusKm: 100, Show: show, SlackKm: 60}})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(p); !slices.Equal(got, []string{"b", "a"}) || math.Abs(p.DistancesKm[1]-0.5*oneDegreeKm) > 0.01 {
		t.Errorf("got %v at %v km, want b then a at %.2f km", got, p.DistancesKm, 0.5*oneDegreeKm)
	}
}
