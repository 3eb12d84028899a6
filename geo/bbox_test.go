package geo

import (
	"testing"
	"time"

	"github.com/paulmach/orb"
)

func TestParseBBox(t *testing.T) {
	for _, c := range []struct {
		in      string
		want    BBox
		wantErr bool
	}{
		{"30,45,40,52", BBox{West: 30, South: 45, East: 40, North: 52}, false},
		{" 30 , 45 ,40,52", BBox{West: 30, South: 45, East: 40, North: 52}, false},
		{"30,45,-100,40,52,900", BBox{West: 30, South: 45, East: 40, North: 52, HasZ: true, MinZ: -100, MaxZ: 900}, false},
		{"170,-10,-170,10", BBox{West: 170, South: -10, East: -170, North: 10}, false},
		{"30,45,40", BBox{}, true},
		{"30,45,40,52,1", BBox{}, true},
		{"30,x,40,52", BBox{}, true},
		{"30,NaN,40,52", BBox{}, true},
		{"30,52,40,45", BBox{}, true},
		{"30,45,200,52", BBox{}, true},
		{"30,-95,40,52", BBox{}, true},
		{"30,45,9,40,52,1", BBox{}, true},
	} {
		t.Run(c.in, func(t *testing.T) {
			got, err := ParseBBox(c.in)
			if (err != nil) != c.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, c.wantErr)
			}
			if err == nil && got != c.want {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestBBoxIntersectsAntimeridian(t *testing.T) {
	b, err := ParseBBox("170,-10,-170,10")
	if err != nil {
		t.Fatal(err)
	}
	pt := func(x, y float64) orb.Bound { return orb.Point{x, y}.Bound() }
	for _, c := range []struct {
		b    orb.Bound
		want bool
	}{
		{pt(175, 0), true},
		{pt(-175, 0), true},
		{pt(180, 0), true},
		{pt(0, 0), false},
		{pt(160, 0), false},
		{pt(175, 20), false},
	} {
		if got := b.Intersects(c.b); got != c.want {
			t.Errorf("Intersects(%v) = %v, want %v", c.b.Min, got, c.want)
		}
	}
	if n := len(b.Bounds()); n != 2 {
		t.Errorf("antimeridian box split into %d parts, want 2", n)
	}
}

func TestParseInterval(t *testing.T) {
	ts := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct {
		in      string
		want    Interval
		wantErr bool
	}{
		{"2021-04-06T00:00:00Z", Interval{ts("2021-04-06T00:00:00Z"), ts("2021-04-06T00:00:00Z")}, false},
		{"2021-04-06", Interval{ts("2021-04-06T00:00:00Z"), ts("2021-04-06T23:59:59.999999999Z")}, false},
		{"2021-04-01T00:00:00Z/2021-04-30T00:00:00Z", Interval{ts("2021-04-01T00:00:00Z"), ts("2021-04-30T00:00:00Z")}, false},
		{"../2021-04-30T00:00:00Z", Interval{End: ts("2021-04-30T00:00:00Z")}, false},
		{"2021-04-01T00:00:00Z/..", Interval{Start: ts("2021-04-01T00:00:00Z")}, false},
		{"2021-04-01T00:00:00Z/", Interval{Start: ts("2021-04-01T00:00:00Z")}, false},
		{"/2021-04-01", Interval{End: ts("2021-04-01T23:59:59.999999999Z")}, false},
		{"../..", Interval{}, false},
		{"2021-04-30T00:00:00Z/2021-04-01T00:00:00Z", Interval{}, true},
		{"yesterday", Interval{}, true},
		{"2021-04-01/2021-04-02/2021-04-03", Interval{}, true},
		{"", Interval{}, true},
	} {
		t.Run(c.in, func(t *testing.T) {
			got, err := ParseInterval(c.in)
			if (err != nil) != c.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, c.wantErr)
			}
			if err == nil && (!got.Start.Equal(c.want.Start) || !got.End.Equal(c.want.End)) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
		})
	}
}

func TestIntervalOverlaps(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2021, 4, d, 0, 0, 0, 0, time.UTC) }
	iv := Interval{Start: day(10), End: day(20)}
	for _, c := range []struct {
		name       string
		start, end time.Time
		want       bool
	}{
		{"no time matches", time.Time{}, time.Time{}, true},
		{"instant inside", day(15), time.Time{}, true},
		{"instant on start", day(10), time.Time{}, true},
		{"instant before", day(9), time.Time{}, false},
		{"instant after", day(21), time.Time{}, false},
		{"period straddling start", day(5), day(10), true},
		{"period before", day(1), day(9), false},
		{"period covering", day(1), day(30), true},
	} {
		if got := iv.Overlaps(c.start, c.end); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
	open := Interval{Start: day(10)}
	if !open.Overlaps(day(30), time.Time{}) || open.Overlaps(day(1), day(9)) {
		t.Error("open-ended interval misbehaves")
	}
}

func FuzzParseBBox(f *testing.F) {
	for _, s := range []string{"30,45,40,52", "170,-10,-170,10", "1,2,3,4,5,6", "", ",,,", "1e400,0,0,0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := ParseBBox(s)
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("%q: refused without saying why", s)
			}
			return
		}
		// Anything accepted round-trips through its string form.
		b2, err := ParseBBox(b.String())
		if err != nil || b2 != b {
			t.Fatalf("round trip of %q: %v / %+v != %+v", s, err, b2, b)
		}
	})
}

func FuzzParseInterval(f *testing.F) {
	for _, s := range []string{"2021-04-06T00:00:00Z", "2021-04-06", "../2021-04-30T00:00:00Z", "2021-04-01T00:00:00Z/..", "../..", "/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		iv, err := ParseInterval(s)
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("%q: refused without saying why", s)
			}
			return
		}
		if !iv.Start.IsZero() && !iv.End.IsZero() && iv.End.Before(iv.Start) {
			t.Fatalf("%q gave an inverted interval %v", s, iv)
		}
	})
}

func TestBBoxGrow(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   BBox
		km   float64
	}{
		{"donbas", BBox{West: 37, South: 47, East: 39, North: 49}, 10},
		{"point box", BBox{West: 36.2, South: 50, East: 36.2, North: 50}, 10},
		{"near antimeridian", BBox{West: 179.99, South: 60, East: 180, North: 61}, 10},
		{"crossing", BBox{West: 179, South: -10, East: -179, North: 10}, 50},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := tc.in.Grow(tc.km)
			// Every point within km of the box's corners and edges is inside.
			for _, p := range []orb.Point{
				{tc.in.West, tc.in.South}, {tc.in.East, tc.in.North},
				{tc.in.West, tc.in.North}, {tc.in.East, tc.in.South},
			} {
				dLon, dLat := KmToDegrees(tc.km*0.999, p[1])
				for _, q := range []orb.Point{{p[0] - dLon, p[1]}, {p[0] + dLon, p[1]}, {p[0], p[1] - dLat}, {p[0], p[1] + dLat}} {
					if q[0] > 180 {
						q[0] -= 360
					} else if q[0] < -180 {
						q[0] += 360
					}
					// Only points outside the box on the far side of an edge
					// need the margin; inside points are trivially covered.
					if !g.Intersects(orb.Bound{Min: q, Max: q}) {
						near := tc.in.Intersects(orb.Bound{Min: q, Max: q})
						if near || DistanceKm(p, q) <= tc.km {
							t.Errorf("grown box %v misses %v, %.2f km from %v", g, q, DistanceKm(p, q), p)
						}
					}
				}
			}
		})
	}
	if g := (BBox{West: -179, South: 0, East: 179, North: 1}).Grow(500); g.West != -180 || g.East != 180 {
		t.Errorf("a box grown round the globe = %v", g)
	}
}
