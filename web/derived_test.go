package web

import (
	"slices"
	"testing"
	"time"

	"troopmap/layers"
)

// Through derivedView, a reader who may not see a report does not see it
// in a movement track either, and the unrestricted view leaves tracks as
// published.
func TestDerivedViewFollowsReports(t *testing.T) {
	tc := layers.NewLayer(layers.ReportMetas()[0])
	unit := map[string]any{"side": "ru", "unit_designation": "1st Army"}
	_ = tc.Load([]*layers.Feature{
		report("a1", 30, 50, time.Date(2021, 4, 1, 0, 0, 0, 0, time.UTC), unit),
		report("a2", 30, 51, time.Date(2021, 4, 2, 0, 0, 0, 0, time.UTC), map[string]any{"side": "ru", "unit_designation": "1st Army", "sensitivity": "restricted"}),
	})
	mv, err := layers.NewMovements(tc, 0)
	if err != nil {
		t.Fatal(err)
	}
	track, _ := mv.Layer().Snapshot().Get("ru:1st-army")
	open := derivedView(view{Key: "all", Show: func(_ *layers.Layer, f *layers.Feature) *layers.Feature { return f }})
	if got := open.Show(mv.Layer(), track); got != track {
		t.Error("the open view changed the track")
	}
	public := derivedView(view{Key: "public", Show: func(_ *layers.Layer, f *layers.Feature) *layers.Feature {
		if f.Props.Get("sensitivity") == "restricted" {
			return nil
		}
		return f
	}})
	got := public.Show(mv.Layer(), track)
	if got == nil || !slices.Equal(got.Props.Get("report_ids").([]any), []any{"a1"}) {
		t.Errorf("public track = %v, want a1 only", got)
	}
}
