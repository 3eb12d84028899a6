package layers_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/paulmach/orb"

	"troopmap/layers"
	"troopmap/layers/gpkg"
)

// After an area change, Relocate commits the re-derived zones to the store,
// with a history entry, and publishes them: a restart reads them back.
func TestRelocatePersists(t *testing.T) {
	ctx := context.Background()
	var schemas []layers.Schema
	var reports []*layers.Layer
	for _, m := range layers.ReportMetas() {
		s, _ := layers.ReportSchema(m.ID)
		schemas = append(schemas, s)
		reports = append(reports, layers.NewLayer(m))
	}
	path := filepath.Join(t.TempDir(), "relocate.gpkg")
	store, err := gpkg.Open(ctx, path, schemas)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	zone := layers.NewLayer(layers.Meta{ID: "east", Kind: layers.KindArea, Zone: true})
	square := orb.Polygon{{{32, 50}, {34, 50}, {34, 52}, {32, 52}, {32, 50}}}
	if err := zone.Load([]*layers.Feature{layers.NewFeature("E", square, nil)}); err != nil {
		t.Fatal(err)
	}
	places := layers.NewPlaces([]*layers.Layer{zone}, nil, nil)
	rs := layers.NewReports(layers.ReportsConfig{Store: store, Layers: reports, Places: places})
	if err := rs.Load(ctx); err != nil {
		t.Fatal(err)
	}
	actor := layers.Actor{Name: "alice", Role: layers.Role{Name: "analyst", Write: true}}
	created, err := rs.Create(ctx, actor, layers.Incidents, []layers.Draft{
		{Geometry: orb.Point{33, 51}, Properties: map[string]any{"observed_at": "2021-04-01T00:00:00Z", "event_type": "battles"}},
		{Geometry: orb.Point{30, 51}, Properties: map[string]any{"observed_at": "2021-04-01T00:00:00Z", "event_type": "battles"}},
	}, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	in, out := created.IDs[0], created.IDs[1]
	zonesOf := func(f *layers.Feature) []any { z, _ := f.Props.Get(layers.PropZones).([]any); return z }
	if f := created.Features[0]; !slices.Equal(zonesOf(f), []any{"east"}) {
		t.Fatalf("zones on write = %v", zonesOf(f))
	}

	// The zone moves west: the first report leaves it, the second enters.
	if err := zone.Update(func(w *layers.Writer) error {
		return w.Put(layers.NewFeature("E", orb.Polygon{{{29, 50}, {31, 50}, {31, 52}, {29, 52}, {29, 50}}}, nil))
	}); err != nil {
		t.Fatal(err)
	}
	n, err := rs.Relocate(ctx)
	if err != nil || n != 2 {
		t.Fatalf("relocate changed %d (%v), want 2", n, err)
	}
	if n, _ := rs.Relocate(ctx); n != 0 {
		t.Errorf("a second pass changed %d, want 0", n)
	}
	l := reports[1]
	fIn, _ := l.Snapshot().Get(in)
	fOut, _ := l.Snapshot().Get(out)
	if len(zonesOf(fIn)) != 0 || !slices.Equal(zonesOf(fOut), []any{"east"}) || layers.VersionOf(fIn) != 2 {
		t.Errorf("published: %s zones %v v%d, %s zones %v", in, zonesOf(fIn), layers.VersionOf(fIn), out, zonesOf(fOut))
	}
	hist, err := rs.History(ctx, layers.Incidents, out)
	if err != nil || len(hist) != 2 || hist[0].Actor != layers.RelocateActor || hist[0].Op != layers.OpUpdate {
		t.Errorf("history of %s = %+v (%v)", out, hist, err)
	}

	// What a restart loads from the file.
	stored, err := store.LoadReports(ctx, layers.Incidents)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range stored {
		want := []any{}
		if f.ID == out {
			want = []any{"east"}
		}
		if got := zonesOf(f); !slices.Equal(got, want) {
			t.Errorf("stored %s zones %v, want %v", f.ID, got, want)
		}
	}
}
