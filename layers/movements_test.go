package layers

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"troopmap/geo"
)

// oneDegreeKm is the length of one degree of a great circle (a meridian, or
// the equator) on the mean Earth: π·6371.0088/180.
const oneDegreeKm = 111.19508

func tcReport(id, side, unit string, lon, lat float64, observed string) *Feature {
	props := map[string]any{ObservedAt: observed, "side": side}
	if unit != "" {
		props["unit_designation"] = unit
	}
	return NewFeature(id, orb.Point{lon, lat}, props, ReportTimeKeys()...)
}

func newTC(t testing.TB, fs ...*Feature) (*Layer, *MovementsDeriver) {
	t.Helper()
	src := NewLayer(ReportMetas()[0])
	if err := src.Load(fs); err != nil {
		t.Fatal(err)
	}
	m, err := NewMovements(src, 0)
	if err != nil {
		t.Fatal(err)
	}
	return src, m
}

func segments(t *testing.T, f *Feature) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, s := range f.Props.Get("segments").([]any) {
		out = append(out, s.(map[string]any))
	}
	return out
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestMovementSegments(t *testing.T) {
	// Reports given out of time order and out of id order: the track
	// follows observed_at.
	_, m := newTC(t,
		tcReport("r3", "ru", "1st Guards Tank Army", 30, 49, "2021-04-01T03:00:00Z"),
		tcReport("r1", "ru", "1st Guards Tank Army", 30, 50, "2021-04-01T00:00:00Z"),
		tcReport("r2", "ru", "1ST guards tank  army.", 30, 51, "2021-04-01T02:00:00Z"),
		tcReport("r4", "ru", "1st Guards Tank Army", 30, 49, "2021-04-01T05:00:00Z"),
		tcReport("r5", "ru", "1st Guards Tank Army", 31, 49, "2021-04-01T05:00:00Z"),
		tcReport("e1", "ua", "Equator unit", 0, 0, "2021-04-01T00:00:00Z"),
		tcReport("e2", "ua", "Equator unit", 1, 0, "2021-04-02T00:00:00Z"),
		tcReport("lone", "ru", "", 33, 48, "2021-04-01T00:00:00Z"),
	)
	s := m.Layer().Snapshot()
	if s.Len() != 2 {
		t.Fatalf("got %d tracks, want 2 (the report without a unit has none)", s.Len())
	}
	f, ok := s.Get("ru:1st-guards-tank-army")
	if !ok {
		t.Fatal("no track for ru:1st-guards-tank-army")
	}
	if got := f.Props.Get("report_ids"); !slices.Equal(got.([]any), []any{"r1", "r2", "r3", "r4", "r5"}) {
		t.Errorf("report_ids = %v", got)
	}
	if f.Props.Get("first_observed_at") != "2021-04-01T00:00:00Z" || f.Props.Get("last_observed_at") != "2021-04-01T05:00:00Z" {
		t.Errorf("time extent = %v .. %v", f.Props.Get("first_observed_at"), f.Props.Get("last_observed_at"))
	}
	want := []struct {
		from, to    string
		km          float64
		speed       any // float64, or nil when undefined
		bearing     any
		implausible bool
	}{
		// 1° north along a meridian in 2 h.
		{"r1", "r2", oneDegreeKm, oneDegreeKm / 2, 0.0, false},
		// 2° south in 1 h: 222 km/h, over the 120 km/h default.
		{"r2", "r3", 2 * oneDegreeKm, 2 * oneDegreeKm, 180.0, true},
		// Stayed put for 2 h.
		{"r3", "r4", 0, 0.0, nil, false},
		// Two places at the same instant: infinite speed, flagged, kept.
		{"r4", "r5", oneDegreeKm * math.Cos(49*math.Pi/180), nil, 89.6, true},
	}
	segs := segments(t, f)
	if len(segs) != len(want) {
		t.Fatalf("got %d segments, want %d", len(segs), len(want))
	}
	total := 0.0
	for i, w := range want {
		s := segs[i]
		if s["from_id"] != w.from || s["to_id"] != w.to {
			t.Errorf("segment %d: %v→%v, want %s→%s", i, s["from_id"], s["to_id"], w.from, w.to)
		}
		// r4→r5 is 1° of longitude at 49°N: the parallel's length,
		// 111.195·cos 49° = 72.95 km, is within metres of the great
		// circle; its initial bearing is 90° − ½·sin 49° ≈ 89.6°.
		if km := s["distance_km"].(float64); !near(km, w.km, 0.05) {
			t.Errorf("segment %d: distance %.3f km, want %.3f", i, km, w.km)
		}
		total += s["distance_km"].(float64)
		switch ws := w.speed.(type) {
		case nil:
			if s["speed_kmh"] != nil {
				t.Errorf("segment %d: speed %v, want null", i, s["speed_kmh"])
			}
		case float64:
			if v, ok := s["speed_kmh"].(float64); !ok || !near(v, ws, 0.01) {
				t.Errorf("segment %d: speed %v, want %.2f", i, s["speed_kmh"], ws)
			}
		}
		switch wb := w.bearing.(type) {
		case nil:
			if s["bearing_deg"] != nil {
				t.Errorf("segment %d: bearing %v, want null", i, s["bearing_deg"])
			}
		case float64:
			if v, ok := s["bearing_deg"].(float64); !ok || !near(v, wb, 0.1) {
				t.Errorf("segment %d: bearing %v, want %.1f", i, s["bearing_deg"], wb)
			}
		}
		if got := s["implausible_speed"] == true; got != w.implausible {
			t.Errorf("segment %d: implausible_speed %v, want %v", i, got, w.implausible)
		}
	}
	if d := f.Props.Get("distance_km").(float64); !near(d, total, 0.002) {
		t.Errorf("distance_km %.3f, want the sum of the legs %.3f", d, total)
	}
	if n := len(f.Geometry.(orb.LineString)); n != 5 {
		t.Errorf("track has %d positions, want 5 (no report dropped)", n)
	}

	eq, _ := s.Get("ua:equator-unit")
	seg := segments(t, eq)[0]
	if !near(seg["distance_km"].(float64), oneDegreeKm, 0.001) || !near(seg["bearing_deg"].(float64), 90, 0.05) ||
		!near(seg["speed_kmh"].(float64), oneDegreeKm/24, 0.01) {
		t.Errorf("equator leg = %v, want %.3f km due east at %.2f km/h", seg, oneDegreeKm, oneDegreeKm/24)
	}
}

func TestMovementsMaxSpeedIsConfigurable(t *testing.T) {
	src := NewLayer(ReportMetas()[0])
	_ = src.Load([]*Feature{
		tcReport("a", "ru", "X", 30, 50, "2021-04-01T00:00:00Z"),
		tcReport("b", "ru", "X", 30, 51, "2021-04-01T02:00:00Z"), // 55.6 km/h
	})
	for _, c := range []struct {
		max  float64
		want bool
	}{{0, false}, {120, false}, {50, true}} {
		m, err := NewMovements(src, c.max)
		if err != nil {
			t.Fatal(err)
		}
		f, _ := m.Layer().Snapshot().Get("ru:x")
		if got := segments(t, f)[0]["implausible_speed"] == true; got != c.want {
			t.Errorf("max %v km/h: implausible %v, want %v", c.max, got, c.want)
		}
	}
}

func TestUnitSlug(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"58th Combined Arms Army", "58th-combined-arms-army"},
		{"  58TH combined-arms  army. ", "58th-combined-arms-army"},
		{"1-я гвардейская танковая армия", "1-я-гвардейская-танковая-армия"},
		{"---", ""},
		{"", ""},
	} {
		if got := UnitSlug(c.in); got != c.want {
			t.Errorf("UnitSlug(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// Every write to troop concentrations updates the tracks of the units it
// touches: create, move to another unit, retract, delete.
func TestMovementsFollowWrites(t *testing.T) {
	src, m := newTC(t,
		tcReport("a1", "ru", "Unit A", 30, 50, "2021-04-01T00:00:00Z"),
		tcReport("a2", "ru", "Unit A", 30, 51, "2021-04-02T00:00:00Z"),
		tcReport("b1", "ru", "Unit B", 35, 48, "2021-04-01T00:00:00Z"),
	)
	out := m.Layer()
	trackIDs := func(id string) []any {
		f, ok := out.Snapshot().Get(id)
		if !ok {
			return nil
		}
		return f.Props.Get("report_ids").([]any)
	}
	put := func(fs ...*Feature) {
		t.Helper()
		if err := src.Update(func(w *Writer) error {
			for _, f := range fs {
				if err := w.Put(f); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		name   string
		do     func()
		wantA  []any
		wantB  []any
		tracks int
	}{
		{"insert in the middle of A", func() { put(tcReport("a3", "ru", "unit a", 31, 50, "2021-04-01T12:00:00Z")) },
			[]any{"a1", "a3", "a2"}, []any{"b1"}, 2},
		{"a2 re-attributed to B", func() { put(tcReport("a2", "ru", "Unit B", 30, 51, "2021-04-02T00:00:00Z")) },
			[]any{"a1", "a3"}, []any{"b1", "a2"}, 2},
		{"a1 retracted", func() {
			put(NewFeature("a1", orb.Point{30, 50}, map[string]any{ObservedAt: "2021-04-01T00:00:00Z", "side": "ru",
				"unit_designation": "Unit A", "verification": "retracted"}, ReportTimeKeys()...))
		}, []any{"a3"}, []any{"b1", "a2"}, 2},
		{"a3 deleted: A has no track left", func() {
			_ = src.Update(func(w *Writer) error { w.Delete("a3"); return nil })
		}, nil, []any{"b1", "a2"}, 1},
		{"same unit on the other side is another track", func() { put(tcReport("u1", "ua", "Unit B", 36, 48, "2021-04-03T00:00:00Z")) },
			nil, []any{"b1", "a2"}, 2},
	}
	for _, st := range steps {
		st.do()
		if got := trackIDs("ru:unit-a"); !slices.Equal(got, st.wantA) {
			t.Errorf("%s: unit A = %v, want %v", st.name, got, st.wantA)
		}
		if got := trackIDs("ru:unit-b"); !slices.Equal(got, st.wantB) {
			t.Errorf("%s: unit B = %v, want %v", st.name, got, st.wantB)
		}
		if n := out.Snapshot().Len(); n != st.tracks {
			t.Errorf("%s: %d tracks, want %d", st.name, n, st.tracks)
		}
	}
	// Incremental updates give exactly what a rebuild from scratch gives.
	fresh, err := NewMovements(src, 0)
	if err != nil {
		t.Fatal(err)
	}
	out.Snapshot().All(func(f *Feature) bool {
		g, ok := fresh.Layer().Snapshot().Get(f.ID)
		if !ok || fmt.Sprint(g.Props.Map()) != fmt.Sprint(f.Props.Map()) || !orb.Equal(g.Geometry, f.Geometry) {
			t.Errorf("track %s differs from a rebuild:\n%v\n%v", f.ID, f.Props.Map(), g)
		}
		return true
	})
}

func TestMovementsTimeWindow(t *testing.T) {
	_, m := newTC(t,
		tcReport("r1", "ru", "U", 30, 50, "2021-04-01T00:00:00Z"),
		tcReport("r2", "ru", "U", 30, 51, "2021-04-02T00:00:00Z"),
		tcReport("r3", "ru", "U", 30, 52, "2021-04-03T00:00:00Z"),
		tcReport("r4", "ru", "U", 30, 53, "2021-04-04T00:00:00Z"),
	)
	s := m.Layer().Snapshot()
	iv := func(str string) geo.Interval {
		v, err := geo.ParseInterval(str)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct {
		window  string
		ids     []any
		km      float64
		matched int
	}{
		{"2021-04-02/2021-04-03", []any{"r2", "r3"}, oneDegreeKm, 1},
		{"2021-04-02T00:00:00Z/..", []any{"r2", "r3", "r4"}, 2 * oneDegreeKm, 1},
		{"2021-04-03", []any{"r3"}, 0, 1},
		{"../..", []any{"r1", "r2", "r3", "r4"}, 3 * oneDegreeKm, 1},
		// Inside the track's time span but between two reports: nothing.
		{"2021-04-02T06:00:00Z/2021-04-02T18:00:00Z", nil, 0, 0},
		{"2021-05-01", nil, 0, 0},
	} {
		t.Run(c.window, func(t *testing.T) {
			p, err := s.Query(context.Background(), Query{Time: iv(c.window)})
			if err != nil {
				t.Fatal(err)
			}
			if p.Matched != c.matched || len(p.Features) != c.matched {
				t.Fatalf("matched %d, returned %d, want %d", p.Matched, len(p.Features), c.matched)
			}
			if c.matched == 0 {
				return
			}
			f := p.Features[0]
			if got := f.Props.Get("report_ids").([]any); !slices.Equal(got, c.ids) {
				t.Errorf("report_ids = %v, want %v", got, c.ids)
			}
			if d := f.Props.Get("distance_km").(float64); !near(d, c.km, 0.002) {
				t.Errorf("distance_km = %.3f, want %.3f", d, c.km)
			}
			if n := len(segments(t, f)); n != len(c.ids)-1 {
				t.Errorf("%d segments for %d reports", n, len(c.ids))
			}
			if ls := f.Geometry.(orb.LineString); len(ls) < 2 || ls[0][1] != 49+float64(c.ids[0].(string)[1]-'0') {
				t.Errorf("track starts at %v", ls)
			}
			if f.Start.Format(time.RFC3339) != f.Props.Get("first_observed_at") {
				t.Errorf("feature time %v does not follow first_observed_at %v", f.Start, f.Props.Get("first_observed_at"))
			}
		})
	}
	// The published track is not changed by cutting.
	f, _ := s.Get("ru:u")
	if n := len(f.Props.Get("report_ids").([]any)); n != 4 {
		t.Errorf("published track changed: %d reports", n)
	}
}

// A reader's view of a track: hidden reports leave it, coarsened positions
// are used as shown, and a unit whose name the reader may not see is not
// shown at all.
func TestMovementsForReader(t *testing.T) {
	src, m := newTC(t,
		tcReport("a1", "ru", "A", 30, 50, "2021-04-01T00:00:00Z"),
		tcReport("a2", "ru", "A", 30, 51, "2021-04-02T00:00:00Z"),
		tcReport("a3", "ru", "A", 30, 52, "2021-04-03T00:00:00Z"),
		tcReport("b1", "ru", "B", 35, 48, "2021-04-01T00:00:00Z"),
		tcReport("b2", "ru", "B", 35, 49, "2021-04-02T00:00:00Z"),
	)
	s := m.Layer().Snapshot()
	track := func(id string) *Feature { f, _ := s.Get(id); return f }
	everything := func(_ *Layer, f *Feature) *Feature { return f }
	if got := m.Layer().ForReader(track("ru:a"), everything); got != track("ru:a") {
		t.Error("a reader who sees every report does not get the published track")
	}
	view := func(l *Layer, f *Feature) *Feature {
		if l != src {
			t.Fatalf("view called for layer %s", l.ID)
		}
		switch f.ID {
		case "a2":
			return nil
		case "a3": // snapped half a degree south
			return tcReport("a3", "ru", "A", 30, 51.5, "2021-04-03T00:00:00Z")
		case "b2": // name withheld
			return tcReport("b2", "ru", "", 35, 49, "2021-04-02T00:00:00Z")
		}
		return f
	}
	a := m.Layer().ForReader(track("ru:a"), view)
	if a == nil || !slices.Equal(a.Props.Get("report_ids").([]any), []any{"a1", "a3"}) {
		t.Fatalf("track A for the reader = %v", a)
	}
	if d := a.Props.Get("distance_km").(float64); !near(d, 1.5*oneDegreeKm, 0.002) {
		t.Errorf("track A is %.3f km, want %.3f (measured to the shown position)", d, 1.5*oneDegreeKm)
	}
	if b := m.Layer().ForReader(track("ru:b"), view); b != nil {
		t.Errorf("track B shown although the reader may not see its unit: %v", b.Props.Map())
	}
	if n := len(track("ru:a").Props.Get("report_ids").([]any)); n != 3 {
		t.Errorf("the published track changed: %d reports", n)
	}
}
