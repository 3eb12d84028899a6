package web

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"

	"troopmap/layers"
)

// movesServer serves troop concentrations of two units, the movements
// derived from them, and an oblast.
func movesServer(t *testing.T) (*Server, *layers.Layer) {
	t.Helper()
	tc := layers.NewLayer(layers.ReportMetas()[0])
	day := func(d int) time.Time { return time.Date(2021, 4, d, 0, 0, 0, 0, time.UTC) }
	unit := func(u string) map[string]any { return map[string]any{"side": "ru", "unit_designation": u} }
	if err := tc.Load([]*layers.Feature{
		report("a1", 30, 50.1, day(1), unit("1st Army")), // 0.1° north of (30, 50): 11.12 km
		report("a2", 30, 50.5, day(2), unit("1st Army")), // 55.60 km
		report("a3", 30, 51, day(3), unit("1st Army")),   // 111.20 km
		report("b1", 30, 49.8, day(1), unit("2nd Army")), // 22.24 km
		report("b2", 35, 49.8, day(5), unit("2nd Army")),
	}); err != nil {
		t.Fatal(err)
	}
	mv, err := layers.NewMovements(tc, 0)
	if err != nil {
		t.Fatal(err)
	}
	oblasts := layers.NewLayer(layers.Meta{ID: "oblasts", Title: "Oblasts", Kind: layers.KindArea})
	_ = oblasts.Load([]*layers.Feature{layers.NewFeature("UA-74", orb.Polygon{{{29, 49.5}, {31, 49.5}, {31, 50.7}, {29, 50.7}, {29, 49.5}}},
		map[string]any{"name": "Test oblast"})})
	cat, err := layers.NewCatalog(oblasts, tc, layers.NewLayer(layers.ReportMetas()[1]), mv.Layer())
	if err != nil {
		t.Fatal(err)
	}
	s := New(Config{})
	s.SetCatalog(cat)
	return s, tc
}

func getJSONCode(t *testing.T, s *Server, target string, into any) int {
	t.Helper()
	rec := do(t, s.Handler(), "GET", target)
	if rec.Code == 200 {
		if err := json.Unmarshal(rec.Body.Bytes(), into); err != nil {
			t.Fatalf("%s: %v", target, err)
		}
	}
	return rec.Code
}

func TestItemsNear(t *testing.T) {
	s, _ := movesServer(t)
	deg := 111.19508
	for _, c := range []struct {
		target  string
		ids     []string
		km      []float64
		matched int
	}{
		{"/collections/troop-concentrations/items?near=30,50&radius_km=60", []string{"a1", "b1", "a2"}, []float64{0.1 * deg, 0.2 * deg, 0.5 * deg}, 3},
		{"/collections/troop-concentrations/items?near=30,50", []string{"a1", "b1"}, []float64{0.1 * deg, 0.2 * deg}, 2}, // 50 km by default
		{"/collections/troop-concentrations/items?near=30,50&radius_km=200&limit=2&offset=1", []string{"b1", "a2"}, []float64{0.2 * deg, 0.5 * deg}, 4},
		{"/collections/troop-concentrations/items?near=30,50&radius_km=200&datetime=2021-04-02/2021-04-03", []string{"a2", "a3"}, []float64{0.5 * deg, deg}, 2},
		{"/collections/troop-concentrations/items?near=30,50&radius_km=5", []string{}, nil, 0},
	} {
		var fc featureCollection
		if code := getJSONCode(t, s, c.target, &fc); code != 200 {
			t.Fatalf("%s: %d", c.target, code)
		}
		if !slices.Equal(fc.ids(), c.ids) || fc.NumberMatched != c.matched {
			t.Errorf("%s: %v (matched %d), want %v (%d)", c.target, fc.ids(), fc.NumberMatched, c.ids, c.matched)
			continue
		}
		for i, f := range fc.Features {
			if d, _ := f.Properties["near_distance_km"].(float64); math.Abs(d-c.km[i]) > 0.01 {
				t.Errorf("%s: %s at %v km, want %.3f", c.target, f.ID, f.Properties["near_distance_km"], c.km[i])
			}
		}
		if c.matched > len(c.ids) {
			next := ""
			for _, l := range fc.Links {
				if l.Rel == "next" {
					next = l.Href
				}
			}
			if !strings.Contains(next, "near=30%2C50") || !strings.Contains(next, "radius_km=200") {
				t.Errorf("%s: next link %q loses near or radius_km", c.target, next)
			}
		}
	}
}

func TestItemsNearErrors(t *testing.T) {
	s, _ := movesServer(t)
	for _, c := range []struct{ target, names string }{
		{"/collections/troop-concentrations/items?near=50,130", "did you mean 130,50"},
		{"/collections/troop-concentrations/items?near=30", "parameter near"},
		{"/collections/troop-concentrations/items?radius_km=10", "parameter radius_km: it needs near"},
		{"/collections/troop-concentrations/items?near=30,50&radius_km=0", "parameter radius_km"},
		{"/collections/troop-concentrations/items?near=30,50&radius_km=5000", "parameter radius_km"},
		{"/collections/troop-concentrations/items?near=30,50&radius_km=ten", "parameter radius_km"},
		{"/collections/troop-concentrations/items?near=30,50&sortby=side", "near and sortby"},
	} {
		rec := do(t, s.Handler(), "GET", c.target)
		var e errorBody
		_ = json.Unmarshal(rec.Body.Bytes(), &e)
		if rec.Code != 400 || !strings.Contains(e.Description, c.names) {
			t.Errorf("%s: %d %q, want 400 naming %q", c.target, rec.Code, e.Description, c.names)
		}
	}
}

// The movements collection is served like any other; with datetime each
// track is cut to the reports inside the window, in items and in tiles.
func TestMovementsServed(t *testing.T) {
	s, tc := movesServer(t)
	var fc featureCollection
	if code := getJSONCode(t, s, "/collections/movements/items", &fc); code != 200 || !slices.Equal(fc.ids(), []string{"ru:1st-army", "ru:2nd-army"}) {
		t.Fatalf("movements: %d %v", code, fc.ids())
	}
	reportIDs := func(f map[string]any) []any { v, _ := f["report_ids"].([]any); return v }
	if got := reportIDs(fc.Features[0].Properties); !slices.Equal(got, []any{"a1", "a2", "a3"}) {
		t.Errorf("1st Army track = %v", got)
	}
	fc = featureCollection{}
	getJSONCode(t, s, "/collections/movements/items?datetime=2021-04-02/2021-04-05", &fc)
	if fc.NumberMatched != 2 || !slices.Equal(reportIDs(fc.Features[0].Properties), []any{"a2", "a3"}) ||
		!slices.Equal(reportIDs(fc.Features[1].Properties), []any{"b2"}) {
		t.Errorf("window 2–5 April: matched %d, %v", fc.NumberMatched, fc.Features)
	}
	if d := fc.Features[0].Properties["distance_km"].(float64); math.Abs(d-0.5*111.19508) > 0.01 {
		t.Errorf("cut track is %.3f km, want %.3f", d, 0.5*111.19508)
	}

	// A write to troop concentrations shows in the very next request.
	if err := tc.Update(func(w *layers.Writer) error {
		return w.Put(report("a4", 30, 51.5, time.Date(2021, 4, 4, 0, 0, 0, 0, time.UTC), map[string]any{"side": "ru", "unit_designation": "1st army"}))
	}); err != nil {
		t.Fatal(err)
	}
	var item struct{ Properties map[string]any }
	if code := getJSONCode(t, s, "/collections/movements/items/ru:1st-army", &item); code != 200 ||
		!slices.Equal(reportIDs(item.Properties), []any{"a1", "a2", "a3", "a4"}) {
		t.Errorf("after a write: %d %v", code, item.Properties["report_ids"])
	}

	// Tiles cut the same way.
	tile := maptile.At(orb.Point{30, 50.5}, 6)
	for _, c := range []struct {
		q    string
		want string
	}{{"", "a1,a2,a3,a4"}, {"?datetime=2021-04-02/2021-04-03", "a2,a3"}} {
		rec := do(t, s.Handler(), "GET", fmt.Sprintf("/tiles/movements/%d/%d/%d.mvt%s", tile.Z, tile.X, tile.Y, c.q))
		if rec.Code != 200 {
			t.Fatalf("tile%s: %d %s", c.q, rec.Code, rec.Body)
		}
		l := decodeTile(t, rec, rec.Body.Bytes())["movements"]
		found := false
		for _, f := range l.Features {
			if f.Properties["id"] == "ru:1st-army" {
				found = true
				if f.Properties["report_ids"] != c.want {
					t.Errorf("tile%s: report_ids %v, want %s", c.q, f.Properties["report_ids"], c.want)
				}
			}
		}
		if !found {
			t.Errorf("tile%s lacks the 1st Army track", c.q)
		}
	}
}

// An area feature links to its statistics, and the link works.
func TestAreaItemLinksStats(t *testing.T) {
	s, _ := movesServer(t)
	var item struct{ Links []link }
	if code := getJSONCode(t, s, "/collections/oblasts/items/UA-74", &item); code != 200 {
		t.Fatal(code)
	}
	href := ""
	for _, l := range item.Links {
		if strings.HasSuffix(l.Href, "/collections/oblasts/items/UA-74/stats") {
			href = l.Href
		}
	}
	if href == "" {
		t.Fatalf("no stats link in %v", item.Links)
	}
	var body statsBody
	if code := getJSONCode(t, s, strings.TrimPrefix(href, "http://example.com")+"?from=2021-03-29&to=2021-04-04", &body); code != 200 || body.Area == nil {
		t.Fatalf("stats link: %d", code)
	}
	// a1, a2 and b1 lie in the test oblast; a3 (51°N) does not.
	if got := body.Area.Intervals[0].Troops; got != 3 {
		t.Errorf("week of 29 March: %d troop reports, want 3", got)
	}
	var rep struct{ Links []link }
	getJSONCode(t, s, "/collections/troop-concentrations/items/a1", &rep)
	for _, l := range rep.Links {
		if strings.HasSuffix(l.Href, "/stats") {
			t.Errorf("a report links to stats: %v", l)
		}
	}
}
