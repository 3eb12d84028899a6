package web

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"troopmap/layers"
)

// statsServer serves two zones (east, north), an oblast layer and a small
// set of reports whose zones are given, as Places would set them.
func statsServer(t *testing.T) *Server {
	t.Helper()
	square := func(x0, y0, x1, y1 float64) orb.Polygon {
		return orb.Polygon{{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}}
	}
	east := layers.NewLayer(layers.Meta{ID: "east", Title: "East", Kind: layers.KindArea, Zone: true})
	north := layers.NewLayer(layers.Meta{ID: "north", Title: "North", Kind: layers.KindArea, Zone: true})
	oblasts := layers.NewLayer(layers.Meta{ID: "oblasts", Kind: layers.KindArea})
	_ = east.Load([]*layers.Feature{layers.NewFeature("E", square(33, 46, 40, 50), nil)})
	_ = north.Load([]*layers.Feature{layers.NewFeature("N", square(29, 50, 35, 53), nil)})
	_ = oblasts.Load([]*layers.Feature{layers.NewFeature("UA-63", square(37, 47, 39, 49), map[string]any{"name": "Kharkiv"})})
	tc := layers.NewLayer(layers.ReportMetas()[0])
	inc := layers.NewLayer(layers.ReportMetas()[1])
	day := func(d string) time.Time { v, _ := time.Parse("2006-01-02", d); return v }
	rep := func(id string, lon, lat float64, d string, zones []any, props map[string]any) *layers.Feature {
		if props == nil {
			props = map[string]any{}
		}
		props["zones"] = zones
		return report(id, lon, lat, day(d), props)
	}
	pers := func(m map[string]any) map[string]any {
		return map[string]any{"strength": map[string]any{"personnel": m}}
	}
	E, N := []any{"east"}, []any{"north"}
	_ = tc.Load([]*layers.Feature{
		rep("t1", 38, 48, "2021-04-01", E, pers(map[string]any{"low": 100.0, "best": 200.0, "high": 300.0})),
		rep("t2", 38, 48, "2021-04-06", E, pers(map[string]any{"low": 1000.0, "best": 2000.0, "high": 3000.0})),
		rep("t3", 34, 50, "2021-04-07", []any{"east", "north"}, pers(map[string]any{"best": 500.0})),
		rep("t4", 31, 51, "2021-04-13", N, pers(map[string]any{"low": 10.0, "high": 30.0})),
		rep("t5", 38, 48, "2021-04-14", E, nil),
		rep("t6", 38, 48, "2021-05-01", E, pers(map[string]any{"best": 9999.0})),
		rep("t7", 25, 48, "2021-04-06", []any{}, pers(map[string]any{"best": 9999.0})),
	})
	_ = inc.Load([]*layers.Feature{
		rep("i1", 38, 48, "2021-04-06", E, map[string]any{"event_type": "battles", "fatalities": map[string]any{"low": 1.0, "best": 2.0, "high": 5.0}}),
		rep("i2", 38.5, 48, "2021-04-13", E, map[string]any{"event_type": "explosions_remote_violence", "fatalities": map[string]any{"best": 3.0}}),
		rep("i3", 36, 48, "2021-04-13", E, map[string]any{"event_type": "battles"}),
		rep("i4", 31, 51, "2021-03-30", N, map[string]any{"event_type": "protests"}),
	})
	cat, err := layers.NewCatalog(east, north, oblasts, tc, inc)
	if err != nil {
		t.Fatal(err)
	}
	s := New(Config{})
	s.SetCatalog(cat)
	return s
}

type figs struct {
	Troops     int            `json:"troop_concentrations"`
	Personnel  layers.Range   `json:"personnel"`
	Incidents  int            `json:"incidents"`
	ByType     map[string]int `json:"incidents_by_event_type"`
	Fatalities layers.Range   `json:"fatalities"`
}

type statsInterval struct {
	Start time.Time `json:"start"`
	figs
	Change figs `json:"change"`
}

type statsBody struct {
	Interval string `json:"interval"`
	Zones    []struct {
		ID        string          `json:"id"`
		Intervals []statsInterval `json:"intervals"`
	} `json:"zones"`
	Area *struct {
		ID        string          `json:"id"`
		Intervals []statsInterval `json:"intervals"`
	} `json:"area"`
}

func sameFigs(t *testing.T, what string, got, want figs) {
	t.Helper()
	if got.Troops != want.Troops || got.Personnel != want.Personnel || got.Incidents != want.Incidents || got.Fatalities != want.Fatalities {
		t.Errorf("%s = %+v, want %+v", what, got, want)
	}
	for k, v := range want.ByType {
		if got.ByType[k] != v {
			t.Errorf("%s: %s = %d, want %d", what, k, got.ByType[k], v)
		}
	}
	for _, k := range layers.EventTypes() {
		if _, ok := got.ByType[k]; !ok {
			t.Errorf("%s: event type %s missing (every type is listed, zeros too)", what, k)
		}
	}
}

// The expected figures are worked out by hand from the fixture above: the
// weeks are Mon 5 April and Mon 12 April 2021; the week of 29 March is
// counted only for the first week's change.
func TestZoneStats(t *testing.T) {
	s := statsServer(t)
	rec := do(t, s.Handler(), "GET", "/stats/zones?from=2021-04-05&to=2021-04-18&interval=week")
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		t.Fatalf("got %d %s: %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	var body statsBody
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	r := func(l, b, h int64) layers.Range { return layers.Range{Low: l, Best: b, High: h} }
	want := map[string][2][2]figs{
		"east": {
			{ // week of 5 April: t2, t3 (t3 has only best: 500/500/500), i1
				{Troops: 2, Personnel: r(1500, 2500, 3500), Incidents: 1, ByType: map[string]int{"battles": 1}, Fatalities: r(1, 2, 5)},
				// against the week of 29 March: t1 only
				{Troops: 1, Personnel: r(1400, 2300, 3200), Incidents: 1, ByType: map[string]int{"battles": 1}, Fatalities: r(1, 2, 5)},
			},
			{ // week of 12 April: t5 (no strength), i2 (best 3 only), i3
				{Troops: 1, Personnel: r(0, 0, 0), Incidents: 2, ByType: map[string]int{"battles": 1, "explosions_remote_violence": 1}, Fatalities: r(3, 3, 3)},
				{Troops: -1, Personnel: r(-1500, -2500, -3500), Incidents: 1, ByType: map[string]int{"battles": 0, "explosions_remote_violence": 1}, Fatalities: r(2, 1, -2)},
			},
		},
		"north": {
			{ // t3; the week before had i4 (protests)
				{Troops: 1, Personnel: r(500, 500, 500), ByType: map[string]int{}},
				{Troops: 1, Personnel: r(500, 500, 500), Incidents: -1, ByType: map[string]int{"protests": -1}},
			},
			{ // t4 has low 10 and high 30: best is their mean, 20
				{Troops: 1, Personnel: r(10, 20, 30), ByType: map[string]int{}},
				{Troops: 0, Personnel: r(-490, -480, -470), ByType: map[string]int{}},
			},
		},
	}
	if body.Interval != "week" || len(body.Zones) != 2 {
		t.Fatalf("interval %q, %d zones: %s", body.Interval, len(body.Zones), rec.Body)
	}
	for _, z := range body.Zones {
		w, ok := want[z.ID]
		if !ok || len(z.Intervals) != 2 {
			t.Fatalf("zone %q with %d intervals", z.ID, len(z.Intervals))
		}
		for i, iv := range z.Intervals {
			if wantStart := time.Date(2021, 4, 5+7*i, 0, 0, 0, 0, time.UTC); !iv.Start.Equal(wantStart) {
				t.Errorf("%s interval %d starts %v, want %v", z.ID, i, iv.Start, wantStart)
			}
			sameFigs(t, z.ID+" week "+iv.Start.Format("01-02"), iv.figs, w[i][0])
			sameFigs(t, z.ID+" change "+iv.Start.Format("01-02"), iv.Change, w[i][1])
		}
	}

	// Days: 6 April alone in the east has t2 and i1; the day before had
	// nothing.
	rec = do(t, s.Handler(), "GET", "/stats/zones?from=2021-04-06&to=2021-04-06&interval=day&zone=east")
	body = statsBody{}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || len(body.Zones) != 1 || len(body.Zones[0].Intervals) != 1 {
		t.Fatalf("day stats: %d %s", rec.Code, rec.Body)
	}
	iv := body.Zones[0].Intervals[0]
	sameFigs(t, "east on 6 April", iv.figs, figs{Troops: 1, Personnel: r(1000, 2000, 3000), Incidents: 1, ByType: map[string]int{"battles": 1}, Fatalities: r(1, 2, 5)})
	sameFigs(t, "east change on 6 April", iv.Change, figs{Troops: 1, Personnel: r(1000, 2000, 3000), Incidents: 1, ByType: map[string]int{"battles": 1}, Fatalities: r(1, 2, 5)})
}

func TestZoneStatsCSV(t *testing.T) {
	s := statsServer(t)
	for _, target := range []string{"/stats/zones?from=2021-04-05&to=2021-04-11&zone=east&f=csv", "/stats/zones?from=2021-04-05&to=2021-04-11&zone=east"} {
		var hdr []string
		if !strings.Contains(target, "f=csv") {
			hdr = []string{"Accept", "text/csv"}
		}
		rec := do(t, s.Handler(), "GET", target, hdr...)
		if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/csv") {
			t.Fatalf("%s: %d %s", target, rec.Code, rec.Header().Get("Content-Type"))
		}
		want := "area,interval_start,interval_end,troop_concentrations,personnel_low,personnel_best,personnel_high,incidents," +
			"incidents_battles,incidents_explosions_remote_violence,incidents_violence_against_civilians,incidents_protests,incidents_riots,incidents_strategic_developments," +
			"fatalities_low,fatalities_best,fatalities_high," +
			"change_troop_concentrations,change_personnel_low,change_personnel_best,change_personnel_high,change_incidents," +
			"change_incidents_battles,change_incidents_explosions_remote_violence,change_incidents_violence_against_civilians,change_incidents_protests,change_incidents_riots,change_incidents_strategic_developments," +
			"change_fatalities_low,change_fatalities_best,change_fatalities_high\n" +
			"east,2021-04-05T00:00:00Z,2021-04-12T00:00:00Z,2,1500,2500,3500,1,1,0,0,0,0,0,1,2,5,1,1400,2300,3200,1,1,0,0,0,0,0,1,2,5\n"
		if got := rec.Body.String(); got != want {
			t.Errorf("%s:\n%s\nwant\n%s", target, got, want)
		}
	}
}

// The figures of one area feature count the reports meeting its polygon:
// UA-63 (37–39°E, 47–49°N) holds t2 and i1 in the week of 5 April; t3 lies
// outside.
func TestAreaFeatureStats(t *testing.T) {
	s := statsServer(t)
	rec := do(t, s.Handler(), "GET", "/collections/oblasts/items/UA-63/stats?from=2021-04-05&to=2021-04-18")
	var body statsBody
	if err := json.Unmarshal(rec.Body.Bytes(), &body); rec.Code != 200 || err != nil || body.Area == nil || len(body.Area.Intervals) != 2 {
		t.Fatalf("got %d %s", rec.Code, rec.Body)
	}
	r := func(l, b, h int64) layers.Range { return layers.Range{Low: l, Best: b, High: h} }
	sameFigs(t, "UA-63 week of 5 April", body.Area.Intervals[0].figs,
		figs{Troops: 1, Personnel: r(1000, 2000, 3000), Incidents: 1, ByType: map[string]int{"battles": 1}, Fatalities: r(1, 2, 5)})
	// i3 at 36°E is outside; t5 and i2 are inside.
	sameFigs(t, "UA-63 week of 12 April", body.Area.Intervals[1].figs,
		figs{Troops: 1, Incidents: 1, ByType: map[string]int{"explosions_remote_violence": 1}, Fatalities: r(3, 3, 3)})
}

func TestStatsErrors(t *testing.T) {
	s := statsServer(t)
	for _, c := range []struct {
		target string
		status int
		names  string
	}{
		{"/stats/zones?interval=month", 400, "interval"},
		{"/stats/zones?from=yesterday", 400, "from"},
		{"/stats/zones?to=2021-13-01", 400, "to"},
		{"/stats/zones?from=2021-04-10&to=2021-04-01", 400, "to"},
		{"/stats/zones?from=2000-01-01&to=2021-01-01&interval=day", 400, "from and to"},
		{"/stats/zones?zone=oblasts", 400, "zone"},
		{"/stats/zones?f=xml", 400, "f"},
		{"/stats/zones?bbox=1,2,3,4", 400, "bbox"},
		{"/collections/troop-concentrations/items/t1/stats", 404, "area layer"},
		{"/collections/oblasts/items/UA-99/stats", 404, "UA-99"},
		{"/collections/nope/items/x/stats", 404, "nope"},
	} {
		rec := do(t, s.Handler(), "GET", c.target)
		var e errorBody
		_ = json.Unmarshal(rec.Body.Bytes(), &e)
		if rec.Code != c.status || !strings.Contains(e.Description, c.names) {
			t.Errorf("%s: %d %q, want %d naming %q", c.target, rec.Code, e.Description, c.status, c.names)
		}
	}
}
