package layers

import (
	"context"
	"slices"
	"testing"

	"github.com/paulmach/orb"
)

// A square zone from 30°E to 32°E and 50°N to 52°N with a square hole from
// 30.5° to 31° both ways, beside a second zone sharing its eastern edge.
func squarePlaces(t *testing.T) *Places {
	t.Helper()
	west := NewLayer(Meta{ID: "west", Kind: KindArea})
	east := NewLayer(Meta{ID: "east", Kind: KindArea})
	ring := func(x0, y0, x1, y1 float64) orb.Ring {
		return orb.Ring{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}
	}
	if err := west.Load([]*Feature{NewFeature("W", orb.Polygon{ring(30, 50, 32, 52), ring(30.5, 50.5, 31, 51)}, nil)}); err != nil {
		t.Fatal(err)
	}
	if err := east.Load([]*Feature{NewFeature("E", orb.MultiPolygon{{ring(32, 50, 34, 52)}}, nil)}); err != nil {
		t.Fatal(err)
	}
	return NewPlaces([]*Layer{west, east}, nil, nil)
}

func TestZoneMembership(t *testing.T) {
	p := squarePlaces(t)
	for _, c := range []struct {
		name string
		g    orb.Geometry
		want []string
	}{
		{"inside", orb.Point{31.5, 51.5}, []string{"west"}},
		{"outside", orb.Point{29.9, 51}, nil},
		{"on the outer edge", orb.Point{30, 51.3}, []string{"west"}},
		{"on a vertex", orb.Point{30, 50}, []string{"west"}},
		{"on the shared edge: in both", orb.Point{32, 51}, []string{"east", "west"}},
		{"midpoint of an edge with inexact coordinates", orb.Point{30 + 1.0/3, 52}, []string{"west"}},
		{"a hair outside the edge", orb.Point{29.9999, 51}, nil},
		{"inside the hole", orb.Point{30.75, 50.75}, nil},
		{"on the hole's edge", orb.Point{30.5, 50.75}, []string{"west"}},
		{"line from outside into the east zone", orb.LineString{{35, 51}, {33, 51}}, []string{"east"}},
		{"line across the hole only touching nothing else", orb.LineString{{30.6, 50.6}, {30.9, 50.9}}, nil},
		{"polygon covering both", orb.Polygon{{{29, 49}, {35, 49}, {35, 53}, {29, 53}, {29, 49}}}, []string{"east", "west"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := p.Locate(c.g).Zones; !slices.Equal(got, c.want) {
				t.Errorf("zones = %v, want %v", got, c.want)
			}
		})
	}
}

// Editing an area layer re-locates every report: Watch runs a pass and the
// reports get new zones as new feature values.
func TestRelocateFollowsAreaChanges(t *testing.T) {
	p := squarePlaces(t)
	reports := NewLayer(ReportMetas()[1])
	r := NewFeature("r", orb.Point{33, 51}, map[string]any{ObservedAt: "2021-04-01T00:00:00Z"}, ReportTimeKeys()...)
	if err := reports.Load([]*Feature{r}); err != nil {
		t.Fatal(err)
	}
	if n, err := p.RelocateAll(context.Background(), reports); err != nil || n != 1 {
		t.Fatalf("first pass changed %d (%v), want 1", n, err)
	}
	zones := func() any { f, _ := reports.Snapshot().Get("r"); return f.Props.Get(PropZones) }
	if got := zones(); !slices.Equal(got.([]any), []any{"east"}) {
		t.Fatalf("zones = %v", got)
	}
	if r.Props.Get(PropZones) != nil {
		t.Fatal("the published feature was changed in place")
	}
	if n, _ := p.RelocateAll(context.Background(), reports); n != 0 {
		t.Errorf("a second pass changed %d reports, want 0", n)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	passes := make(chan int, 4)
	p.Watch(ctx, p.RelocateLayers(reports), func(n int, err error) {
		if err != nil {
			t.Error(err)
		}
		passes <- n
	})
	east := p.zones[1]
	_ = east.Update(func(w *Writer) error { w.Delete("E"); return nil })
	if n := <-passes; n != 1 {
		t.Errorf("pass after deleting the east zone changed %d reports, want 1", n)
	}
	if got := zones(); len(got.([]any)) != 0 {
		t.Errorf("zones after the east zone went = %v, want []", got)
	}
	_ = east.Update(func(w *Writer) error {
		return w.Put(NewFeature("E2", orb.Polygon{{{32.5, 50}, {34, 50}, {34, 52}, {32.5, 52}, {32.5, 50}}}, nil))
	})
	<-passes
	if got := zones(); !slices.Equal(got.([]any), []any{"east"}) {
		t.Errorf("zones after the east zone came back = %v", got)
	}
}
