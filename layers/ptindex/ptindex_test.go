package ptindex

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"troopmap/geo/tile"
	"troopmap/layers"
)

// testIndex builds an index over n points clumped around a few centres, so
// that cells hold from none to thousands of points; some have no time.
func testIndex(t testing.TB, n int) (*layers.Layer, *Index) {
	rng := rand.New(rand.NewPCG(uint64(n), 3))
	centres := []orb.Point{{37.8, 48.0}, {36.2, 50.0}, {34.1, 45.0}}
	fs := make([]*layers.Feature, n)
	for i := range fs {
		c := centres[rng.IntN(len(centres))]
		p := orb.Point{c[0] + rng.NormFloat64()*0.3, c[1] + rng.NormFloat64()*0.2}
		props := map[string]any{"w": float64(rng.IntN(500)), "cat": float64(rng.IntN(9)) - 1}
		f := layers.NewFeature(fmt.Sprintf("f%06d", i), p, props)
		if i%7 != 0 {
			f.Start = time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.IntN(1e6)) * time.Minute)
		}
		fs[i] = f
	}
	l := layers.NewLayer(layers.Meta{ID: "pts", Kind: layers.KindReports})
	if err := l.Load(fs); err != nil {
		t.Fatal(err)
	}
	ix, err := Build(context.Background(), l.Snapshot(), describe)
	if err != nil {
		t.Fatal(err)
	}
	return l, ix
}

func describe(f *layers.Feature) (float64, int8) {
	return f.Props.Get("w").(float64), int8(f.Props.Get("cat").(float64))
}

// addEach is the reference: every entry of the range added one by one.
func addEach(ix *Index, lo, hi uint64) tile.Agg {
	var a tile.Agg
	ix.Each(lo, hi, func(e *Entry) { e.AddTo(&a) })
	return a
}

// TestAggregateEqualsAddingEachPoint compares the prefix-sum aggregate with
// adding each point, for every cell of several grids at several zooms and
// for random code ranges.
func TestAggregateEqualsAddingEachPoint(t *testing.T) {
	_, ix := testIndex(t, 20000)
	check := func(name string, lo, hi uint64) {
		t.Helper()
		var got tile.Agg
		ix.Aggregate(lo, hi, &got)
		want := addEach(ix, lo, hi)
		if got.N != want.N || got.Sum != want.Sum || got.Counts != want.Counts ||
			got.HasLatest != want.HasLatest || got.Latest != want.Latest || got.First != want.First {
			t.Fatalf("%s [%d,%d]: got N=%d sum=%v counts=%v latest=%v/%d, want N=%d sum=%v counts=%v latest=%v/%d",
				name, lo, hi, got.N, got.Sum, got.Counts, got.HasLatest, got.Latest, want.N, want.Sum, want.Counts, want.HasLatest, want.Latest)
		}
		if got.N > 0 && got.Centroid() != want.Centroid() {
			t.Fatalf("%s: centroid %v, want %v", name, got.Centroid(), want.Centroid())
		}
	}
	cells := 0
	for _, z := range []uint32{0, 3, 5, 8, 11, 14} {
		for _, p := range []orb.Point{{37.8, 48.0}, {36.2, 50.0}, {30, 40}} {
			qx, qy := tile.Quantize(p)
			c := tile.CellOf(qx, qy, z)
			for dx := uint32(0); dx < 3; dx++ {
				for dy := uint32(0); dy < 3; dy++ {
					cell := tile.Cell{Z: z, X: min(c.X+dx, 1<<z-1), Y: min(c.Y+dy, 1<<z-1)}
					lo, hi := cell.Range()
					check(fmt.Sprintf("cell %v", cell), lo, hi)
					cells++
				}
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		a, b := ix.entries[rng.IntN(len(ix.entries))].Code, ix.entries[rng.IntN(len(ix.entries))].Code
		check(fmt.Sprintf("random range %d", i), min(a, b), max(a, b))
	}
	var whole tile.Agg
	ix.Aggregate(0, ^uint64(0), &whole)
	if whole.N != ix.Len() {
		t.Fatalf("the whole code range holds %d points, want %d", whole.N, ix.Len())
	}
}

// TestViewHidesAndMoves checks an audience view against filtering the base
// index by hand: hidden features are gone, moved ones are filed where they
// are shown, and aggregates agree with adding the shown points.
func TestViewHidesAndMoves(t *testing.T) {
	l, ix := testIndex(t, 5000)
	shown := map[string]*layers.Feature{}
	show := func(f *layers.Feature) *layers.Feature {
		switch {
		case f.Props.Get("cat").(float64) == 0:
			return nil // hidden
		case f.Props.Get("cat").(float64) == 1:
			c := *f
			p := f.Geometry.(orb.Point)
			c.Geometry = orb.Point{float64(int(p[0]*10)) / 10, float64(int(p[1]*10)) / 10}
			return &c
		}
		return f
	}
	l.Snapshot().All(func(f *layers.Feature) bool {
		if sf := show(f); sf != nil {
			shown[f.ID] = sf
		}
		return true
	})
	v, err := ix.View(context.Background(), show)
	if err != nil {
		t.Fatal(err)
	}
	if v.Len() != len(shown) {
		t.Fatalf("view holds %d points, want %d", v.Len(), len(shown))
	}
	prev := uint64(0)
	for _, e := range v.entries {
		sf := shown[e.F.ID]
		if sf == nil {
			t.Fatalf("%s is hidden but in the view", e.F.ID)
		}
		qx, qy := tile.Quantize(sf.Geometry.(orb.Point))
		if e.QX != qx || e.QY != qy || e.Code != tile.Morton(qx, qy) {
			t.Fatalf("%s filed at (%d,%d), shown at (%d,%d)", e.F.ID, e.QX, e.QY, qx, qy)
		}
		if e.Code < prev {
			t.Fatal("view is not in code order")
		}
		prev = e.Code
		if e.F.Geometry.(orb.Point) != sf.Geometry.(orb.Point) {
			t.Fatalf("%s: entry holds the hidden position", e.F.ID)
		}
	}
	for _, z := range []uint32{4, 9, 13} {
		qx, qy := tile.Quantize(orb.Point{37.8, 48.0})
		lo, hi := tile.CellOf(qx, qy, z).Range()
		var got tile.Agg
		v.Aggregate(lo, hi, &got)
		if want := addEach(v, lo, hi); got.N != want.N || got.Sum != want.Sum || got.Counts != want.Counts {
			t.Fatalf("z%d: view aggregate N=%d sum=%v, adding each N=%d sum=%v", z, got.N, got.Sum, want.N, want.Sum)
		}
	}
}

// TestViewsBuildOncePerAudience checks that the keeper shares one view per
// audience, answers nil (never a wrong view) until it is built, and follows
// later changes without rebuilding it.
func TestViewsBuildOncePerAudience(t *testing.T) {
	l, _ := testIndex(t, 1000)
	k := NewKeeper(l, describe)
	ctx := context.Background()
	if err := k.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int64
	show := func(f *layers.Feature) *layers.Feature { calls.Add(1); return f }
	a := k.BuildView(ctx, l.Snapshot(), "public-x", show)
	b := k.View(l.Snapshot(), "public-x", show)
	if a == nil || a != b || calls.Load() != 1000 {
		t.Fatalf("two calls gave %p and %p after %d shows; want one shared build of 1000", a, b, calls.Load())
	}
	if c := k.BuildView(ctx, l.Snapshot(), "public-y", show); c == a {
		t.Fatal("another audience got the same view")
	}
	if err := l.Update(func(w *layers.Writer) error {
		return w.Put(layers.NewFeature("new", orb.Point{37, 48}, map[string]any{"w": 1.0, "cat": 2.0}))
	}); err != nil {
		t.Fatal(err)
	}
	d := k.View(l.Snapshot(), "public-x", show)
	if d == nil || d == a || d.Len() != 1001 || d.Version != l.Snapshot().Version() {
		t.Fatalf("after a change the view did not follow it: %v", d)
	}
	if calls.Load() != 2001 {
		t.Fatalf("following one change took %d shows, want 1", calls.Load()-2000)
	}
}

// TestDeltasMatchARebuild applies random creates, moves, edits and deletes
// one by one and checks after each batch that the kept index and an
// audience's view of it give every cell what a fresh build gives.
func TestDeltasMatchARebuild(t *testing.T) {
	l, _ := testIndex(t, 3000)
	k := NewKeeper(l, describe)
	ctx := context.Background()
	if err := k.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	show := func(f *layers.Feature) *layers.Feature {
		switch f.Props.Get("cat").(float64) {
		case 0:
			return nil
		case 1:
			c := *f
			p := f.Geometry.(orb.Point)
			c.Geometry = orb.Point{float64(int(p[0]*10)) / 10, float64(int(p[1]*10)) / 10}
			return &c
		}
		return f
	}
	k.BuildView(ctx, l.Snapshot(), "v", show)
	rng := rand.New(rand.NewPCG(5, 6))
	var ids []string
	l.Snapshot().All(func(f *layers.Feature) bool { ids = append(ids, f.ID); return true })
	compare := func(round int) {
		t.Helper()
		snap := l.Snapshot()
		kept := k.For(snap)
		if kept == nil {
			t.Fatalf("round %d: no index for version %d", round, snap.Version())
		}
		if kept.delta == nil {
			t.Fatalf("round %d: the changes were not applied as a delta", round)
		}
		fresh, err := Build(ctx, snap, describe)
		if err != nil {
			t.Fatal(err)
		}
		keptView := k.View(snap, "v", show)
		freshView, _ := fresh.View(ctx, show)
		if keptView == nil {
			t.Fatalf("round %d: no view", round)
		}
		for _, pair := range [][2]*Index{{kept, fresh}, {keptView, freshView}} {
			if pair[0].Len() != pair[1].Len() {
				t.Fatalf("round %d: %d points kept, %d in a fresh build", round, pair[0].Len(), pair[1].Len())
			}
			for _, z := range []uint32{2, 6, 9, 12} {
				for _, c := range []orb.Point{{37.8, 48.0}, {36.2, 50.0}, {34.1, 45.0}} {
					qx, qy := tile.Quantize(c)
					cell := tile.CellOf(qx, qy, z)
					for dx := uint32(0); dx < 2; dx++ {
						lo, hi := tile.Cell{Z: z, X: cell.X + dx, Y: cell.Y}.Range()
						var got, want tile.Agg
						pair[0].Aggregate(lo, hi, &got)
						pair[1].Aggregate(lo, hi, &want)
						if got.N != want.N || got.Sum != want.Sum || got.Counts != want.Counts || got.Latest != want.Latest ||
							(got.N > 0 && got.Centroid() != want.Centroid()) {
							t.Fatalf("round %d z%d: kept N=%d sum=%v latest=%d, fresh N=%d sum=%v latest=%d",
								round, z, got.N, got.Sum, got.Latest, want.N, want.Sum, want.Latest)
						}
						if got.N == 1 && got.First.(*layers.Feature).ID != want.First.(*layers.Feature).ID {
							t.Fatalf("round %d: single point %v, fresh %v", round, got.First, want.First)
						}
					}
				}
			}
		}
	}
	for round := range 30 {
		if err := l.Update(func(w *layers.Writer) error {
			for range 1 + rng.IntN(20) {
				id := ids[rng.IntN(len(ids))]
				switch op := rng.IntN(4); op {
				case 0: // delete
					w.Delete(id)
				default: // create, or replace with a new position and weight
					if op == 1 {
						id = fmt.Sprintf("n%d-%d", round, rng.IntN(1e6))
						ids = append(ids, id)
					}
					p := orb.Point{37.8 + rng.NormFloat64()*0.5, 48.0 + rng.NormFloat64()*0.3}
					f := layers.NewFeature(id, p, map[string]any{"w": float64(rng.IntN(100)), "cat": float64(rng.IntN(9)) - 1})
					f.Start = time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.IntN(1e6)) * time.Minute)
					if err := w.Put(f); err != nil {
						return err
					}
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		compare(round)
	}
}

// BenchmarkClusterCell compares a z5 cluster cell's aggregate from prefix
// sums with adding each of its points (the baseline).
func BenchmarkClusterCell(b *testing.B) {
	_, ix := testIndex(b, 500_000)
	qx, qy := tile.Quantize(orb.Point{37.8, 48.0})
	lo, hi := tile.CellOf(qx, qy, 5+tile.CellShift).Range()
	b.Run("sums", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var a tile.Agg
			ix.Aggregate(lo, hi, &a)
		}
	})
	b.Run("each", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			addEach(ix, lo, hi)
		}
	})
}

// BenchmarkFollowWrite measures what one written report costs the index:
// "delta" applies the change as the keeper does after each write, "rebuild"
// is the baseline, building the index of the new snapshot from scratch.
func BenchmarkFollowWrite(b *testing.B) {
	l, ix := testIndex(b, 500_000)
	var f *layers.Feature
	l.Snapshot().All(func(x *layers.Feature) bool { f = x; return false })
	moved := *f
	moved.Geometry = orb.Point{37.5, 48.2}
	moved.Bound = moved.Geometry.Bound()
	ch := layers.Change{Layer: l.ID, Version: ix.Version + 1, Old: []*layers.Feature{f}, New: []*layers.Feature{&moved}}
	b.Run("delta", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := ix.apply(ch, describe); !ok {
				b.Fatal("not applied")
			}
		}
	})
	b.Run("rebuild", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Build(context.Background(), l.Snapshot(), describe); err != nil {
				b.Fatal(err)
			}
		}
	})
}
