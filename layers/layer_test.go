package layers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/paulmach/orb"

	"troopmap/geo"
)

func pointFeature(id string, lon, lat float64, observed string) *Feature {
	props := map[string]any{}
	if observed != "" {
		props[ObservedAt] = observed
	}
	return NewFeature(id, orb.Point{lon, lat}, props, ReportTimeKeys()...)
}

func testLayer(t testing.TB) *Layer {
	t.Helper()
	l := NewLayer(Meta{ID: "test", TimeKeys: ReportTimeKeys()})
	err := l.Load([]*Feature{
		pointFeature("a", 30, 50, "2021-04-01T00:00:00Z"),
		pointFeature("b", 35, 48, "2021-04-10T00:00:00Z"),
		pointFeature("c", 38, 47, "2021-04-20T00:00:00Z"),
		pointFeature("d", 179.5, 0, "2021-04-05T00:00:00Z"),
		pointFeature("e", -179.5, 0, ""),
		NewFeature("f", nil, map[string]any{ObservedAt: "2021-04-15T00:00:00Z"}, ReportTimeKeys()...),
		NewFeature("g", orb.LineString{{29, 49}, {36, 49}}, map[string]any{
			ObservedAt: "2021-03-01T00:00:00Z", ObservedUntil: "2021-03-31T00:00:00Z"}, ReportTimeKeys()...),
		NewFeature("h", orb.LineString{{20, 44.8}, {22, 46}}, map[string]any{ObservedAt: "2021-02-01T00:00:00Z"}, ReportTimeKeys()...),
	})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func ids(p Page) []string {
	out := make([]string, len(p.Features))
	for i, f := range p.Features {
		out[i] = f.ID
	}
	return out
}

func TestQuery(t *testing.T) {
	s := testLayer(t).Snapshot()
	bbox := func(str string) *geo.BBox {
		b, err := geo.ParseBBox(str)
		if err != nil {
			t.Fatal(err)
		}
		return &b
	}
	iv := func(str string) geo.Interval {
		v, err := geo.ParseInterval(str)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct {
		name        string
		q           Query
		want        []string
		wantMatched int
	}{
		{"everything in id order", Query{}, []string{"a", "b", "c", "d", "e", "f", "g", "h"}, 8},
		{"4-number bbox, no-geometry feature included", Query{BBox: bbox("34,46,39,48.9")}, []string{"b", "c", "f"}, 3},
		{"6-number bbox equals 4-number", Query{BBox: bbox("34,46,-10,39,48.9,10")}, []string{"b", "c", "f"}, 3},
		{"bbox touching a line's edge counts", Query{BBox: bbox("34,46,39,49")}, []string{"b", "c", "f", "g"}, 4},
		{"line whose bound overlaps but which passes beside", Query{BBox: bbox("21.5,44,22,44.5")}, []string{"f"}, 1},
		{"bbox touching a line", Query{BBox: bbox("32,48.5,33,49.5")}, []string{"f", "g"}, 2},
		{"antimeridian bbox", Query{BBox: bbox("179,-1,-179,1")}, []string{"d", "e", "f"}, 3},
		{"bbox not crossing excludes the far side", Query{BBox: bbox("179,-1,180,1")}, []string{"d", "f"}, 2},
		{"instant", Query{Time: iv("2021-04-10T00:00:00Z")}, []string{"b", "e"}, 2},
		{"closed interval", Query{Time: iv("2021-04-01T00:00:00Z/2021-04-10T00:00:00Z")}, []string{"a", "b", "d", "e"}, 4},
		{"open start", Query{Time: iv("../2021-03-15T00:00:00Z")}, []string{"e", "g", "h"}, 3},
		{"open end", Query{Time: iv("2021-04-12T00:00:00Z/..")}, []string{"c", "e", "f"}, 3},
		{"bbox and time", Query{BBox: bbox("20,40,40,55"), Time: iv("2021-04-12/..")}, []string{"c", "f"}, 2},
		{"limit", Query{Limit: 2}, []string{"a", "b"}, 8},
		{"offset and limit", Query{Offset: 2, Limit: 2}, []string{"c", "d"}, 8},
		{"offset past the end", Query{Offset: 10, Limit: 2}, []string{}, 8},
		{"paging over a bbox", Query{BBox: bbox("20,40,40,55"), Offset: 1, Limit: 2}, []string{"b", "c"}, 6},
		{"attribute match", Query{Match: func(f *Feature) bool { return f.ID != "a" }, Limit: 1}, []string{"b"}, 7},
		{"custom order", Query{Less: func(a, b *Feature) bool { return a.ID > b.ID }, Limit: 3}, []string{"h", "g", "f"}, 8},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := s.Query(context.Background(), c.q)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(p); !slices.Equal(got, c.want) {
				t.Errorf("ids = %v, want %v", got, c.want)
			}
			if p.Matched != c.wantMatched {
				t.Errorf("matched = %d, want %d", p.Matched, c.wantMatched)
			}
		})
	}
}

func TestPagesCoverEverythingOnce(t *testing.T) {
	l := NewLayer(Meta{ID: "many"})
	var fs []*Feature
	for i := range 1000 {
		fs = append(fs, pointFeature(fmt.Sprintf("f%04d", (i*7919)%1000), 30+float64(i%100)/10, 45+float64(i/100)/2, ""))
	}
	if err := l.Load(fs); err != nil {
		t.Fatal(err)
	}
	b, _ := geo.ParseBBox("30,45,40,55")
	seen := map[string]bool{}
	for off := 0; ; off += 37 {
		p, err := l.Snapshot().Query(context.Background(), Query{BBox: &b, Offset: off, Limit: 37})
		if err != nil {
			t.Fatal(err)
		}
		if p.Matched != 1000 {
			t.Fatalf("matched = %d, want 1000", p.Matched)
		}
		if len(p.Features) == 0 {
			break
		}
		for _, f := range p.Features {
			if seen[f.ID] {
				t.Fatalf("%s returned twice", f.ID)
			}
			seen[f.ID] = true
		}
	}
	if len(seen) != 1000 {
		t.Fatalf("saw %d features over all pages, want 1000", len(seen))
	}
}

func TestUpdate(t *testing.T) {
	l := testLayer(t)
	before := l.Snapshot()
	var changes []Change
	l.Subscribe(func(c Change) { changes = append(changes, c) })

	// A failing update publishes nothing.
	boom := errors.New("boom")
	err := l.Update(func(w *Writer) error {
		_ = w.Put(pointFeature("z", 30, 50, ""))
		w.Delete("a")
		return boom
	})
	if !errors.Is(err, boom) || l.Snapshot() != before || len(changes) != 0 {
		t.Fatalf("failed update leaked: err=%v changed=%v", err, l.Snapshot() != before)
	}

	// A successful one does, and the old snapshot is untouched.
	err = l.Update(func(w *Writer) error {
		if err := w.Put(pointFeature("a", 31, 51, "")); err != nil {
			return err
		}
		if !w.Delete("b") {
			return errors.New("b not found")
		}
		return w.Put(pointFeature("z", 30, 50, ""))
	})
	if err != nil {
		t.Fatal(err)
	}
	after := l.Snapshot()
	if after.Version() != before.Version()+1 {
		t.Errorf("version %d → %d", before.Version(), after.Version())
	}
	if _, ok := before.Get("b"); !ok {
		t.Error("old snapshot lost b")
	}
	if _, ok := after.Get("b"); ok {
		t.Error("new snapshot still has b")
	}
	if f, _ := after.Get("a"); f.Geometry.(orb.Point) != (orb.Point{31, 51}) {
		t.Error("a not replaced")
	}
	b, _ := geo.ParseBBox("29.9,49.9,30.1,50.1")
	p, _ := after.Query(context.Background(), Query{BBox: &b})
	if got := ids(p); !slices.Equal(got, []string{"f", "z"}) {
		t.Errorf("after move, bbox around old a = %v, want [f z]", got)
	}
	if len(changes) != 1 || len(changes[0].New) != 3 || changes[0].Old[0].ID != "a" || changes[0].New[1] != nil {
		t.Errorf("change notification wrong: %+v", changes)
	}
}

func TestExtent(t *testing.T) {
	e := testLayer(t).Snapshot().Extent()
	if !e.HasBound || e.Bound.Min != (orb.Point{-179.5, 0}) || e.Bound.Max != (orb.Point{179.5, 50}) {
		t.Errorf("bound = %+v", e.Bound)
	}
	if e.Start.Format("2006-01-02") != "2021-02-01" || e.End.Format("2006-01-02") != "2021-04-20" {
		t.Errorf("time extent = %v..%v", e.Start, e.End)
	}
}

func TestQueryHonoursContext(t *testing.T) {
	l := NewLayer(Meta{ID: "many"})
	var fs []*Feature
	for i := range 5000 {
		fs = append(fs, pointFeature(fmt.Sprintf("f%05d", i), 30, 50, ""))
	}
	_ = l.Load(fs)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.Snapshot().Query(ctx, Query{}); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

// TestConcurrentReadersAndWriter is meant for -race: readers query snapshots
// while a writer keeps publishing new ones.
func TestConcurrentReadersAndWriter(t *testing.T) {
	l := testLayer(t)
	b, _ := geo.ParseBBox("20,40,40,55")
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				s := l.Snapshot()
				p, err := s.Query(context.Background(), Query{BBox: &b, Limit: 5})
				if err != nil {
					t.Error(err)
					return
				}
				// Within one snapshot, counts are consistent.
				p2, _ := s.Query(context.Background(), Query{BBox: &b})
				if p.Matched != p2.Matched || len(p2.Features) != p2.Matched {
					t.Errorf("inconsistent snapshot: %d vs %d", p.Matched, p2.Matched)
					return
				}
				_ = s.Extent()
			}
		}()
	}
	for i := range 300 {
		err := l.Update(func(w *Writer) error {
			w.Delete(fmt.Sprintf("w%d", i-3))
			return w.Put(pointFeature(fmt.Sprintf("w%d", i), 30+float64(i%10), 50, ""))
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if n := l.Snapshot().Len(); n != 8+3 {
		t.Errorf("final len = %d, want 11", n)
	}
}

func BenchmarkQueryBBox(b *testing.B) {
	l := NewLayer(Meta{ID: "bench"})
	var fs []*Feature
	for i := range 100000 {
		fs = append(fs, pointFeature(fmt.Sprintf("f%06d", i), 22+float64(i%1000)*0.018, 44+float64(i/1000)*0.09, ""))
	}
	_ = l.Load(fs)
	bb, _ := geo.ParseBBox("36,47,38,49")
	s := l.Snapshot()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Query(context.Background(), Query{BBox: &bb, Limit: 100}); err != nil {
			b.Fatal(err)
		}
	}
}
