package gpkg

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"troopmap/layers"
)

// TestStoreRoundTripAndAllOrNothing commits reports, reads them back equal,
// and checks that a commit failing part way leaves no trace.
func TestStoreRoundTripAndAllOrNothing(t *testing.T) {
	ctx := context.Background()
	schema, _ := layers.ReportSchema(layers.Incidents)
	s, err := Open(ctx, filepath.Join(t.TempDir(), "t.gpkg"), []layers.Schema{schema})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !s.Created() {
		t.Error("new store not reported as created")
	}
	props := map[string]any{"id": "a", "version": 1, "observed_at": "2021-04-01T00:00:00Z", "event_type": "battles",
		"civilian_targeting": true, "ce_m": 250.0, "zones": []any{"donbas"},
		"fatalities": map[string]any{"low": 1.0, "best": 2.0}, "sources": []any{map[string]any{"url": "https://example.org"}}}
	f := layers.NewFeature("a", orb.Polygon{{{37, 48}, {38, 48}, {38, 49}, {37, 48}}}, props, layers.ReportTimeKeys()...)
	rev := layers.Revision{Collection: layers.Incidents, ID: "a", Version: 1, Op: layers.OpCreate, Actor: "t", Time: time.Unix(0, 0), Feature: f}
	if err := s.Commit(ctx, layers.Commit{Revisions: []layers.Revision{rev}}); err != nil {
		t.Fatal(err)
	}
	fs, err := s.LoadReports(ctx, layers.Incidents)
	if err != nil || len(fs) != 1 {
		t.Fatalf("load: %v, %d", err, len(fs))
	}
	if fs[0].Props != f.Props || !orb.Equal(fs[0].Geometry, f.Geometry) {
		t.Fatalf("read back\n%s\nwant\n%s", fs[0].Props.JSON(), f.Props.JSON())
	}
	// The second revision names an unknown collection, so the commit fails
	// after the first was written: neither may remain.
	good := rev
	good.ID, good.Feature = "b", layers.NewFeature("b", orb.Point{37, 48}, map[string]any{"id": "b"})
	badRev := good
	badRev.Collection = "nope"
	if err := s.Commit(ctx, layers.Commit{Revisions: []layers.Revision{good, badRev}}); err == nil {
		t.Fatal("commit with a bad revision succeeded")
	}
	fs, _ = s.LoadReports(ctx, layers.Incidents)
	if len(fs) != 1 {
		t.Fatalf("failed commit left %d reports", len(fs))
	}
	if h, err := s.History(ctx, layers.Incidents, "b"); err == nil || len(h) > 0 {
		t.Fatalf("failed commit left history %v", h)
	}
}
