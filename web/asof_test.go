package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"

	"troopmap/layers"
	"troopmap/layers/gpkg"
)

// scriptClock is the report service's clock, moved by the test script.
type scriptClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *scriptClock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *scriptClock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// asofEnv is a server over a real GeoPackage store whose commits carry
// scripted times, with a zone layer so that reports get zones.
type asofEnv struct {
	*writeEnv
	clock *scriptClock
}

func newAsofEnv(t *testing.T) *asofEnv {
	t.Helper()
	ctx := context.Background()
	var schemas []layers.Schema
	var reportLayers []*layers.Layer
	for _, m := range layers.ReportMetas() {
		s, _ := layers.ReportSchema(m.ID)
		schemas = append(schemas, s)
		reportLayers = append(reportLayers, layers.NewLayer(m))
	}
	store, err := gpkg.Open(ctx, filepath.Join(t.TempDir(), "asof.gpkg"), schemas)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	zone := layers.NewLayer(layers.Meta{ID: "east", Title: "East", Kind: layers.KindArea, Zone: true})
	if err := zone.Load([]*layers.Feature{layers.NewFeature("east-1",
		orb.Polygon{{{36, 47}, {40, 47}, {40, 50}, {36, 50}, {36, 47}}}, map[string]any{"name": "East"})}); err != nil {
		t.Fatal(err)
	}
	oblasts := layers.NewLayer(layers.Meta{ID: "oblasts", Kind: layers.KindArea})
	clock := &scriptClock{}
	reports := layers.NewReports(layers.ReportsConfig{Store: store, Layers: reportLayers, Rules: layers.DefaultUploadRules(),
		Places: layers.NewPlaces([]*layers.Layer{zone}, oblasts, nil), Now: clock.now})
	srv := New(Config{})
	srv.SetReports(reports)
	if err := reports.Load(ctx); err != nil {
		t.Fatal(err)
	}
	derived := layers.NewLayer(layers.Meta{ID: "derived", Kind: layers.KindDerived})
	cat, err := layers.NewCatalog(append([]*layers.Layer{zone, oblasts, derived}, reportLayers...)...)
	if err != nil {
		t.Fatal(err)
	}
	srv.SetCatalog(cat)
	w := &writeEnv{srv: srv, h: srv.Handler(), store: store, reports: reports, cat: cat}
	w.analyst = w.addKey(t, "alice", "analyst")
	w.editor = w.addKey(t, "erin", "editor")
	return &asofEnv{writeEnv: w, clock: clock}
}

func troopFeature(lon, lat float64, posture string) map[string]any {
	return map[string]any{"type": "Feature", "geometry": map[string]any{"type": "Point", "coordinates": []float64{lon, lat}},
		"properties": map[string]any{
			"observed_at": "2021-03-30T06:00:00Z", "time_precision": "day", "geo_precision": "town",
			"sources": []any{map[string]any{"url": "https://example.org/t"}}, "source_reliability": "b", "info_credibility": "2",
			"sensitivity": "public", "side": "ru", "echelon": "brigade", "unit_function": "armor", "posture": posture,
			"strength": map[string]any{"personnel": map[string]any{"best": 1000}},
		}}
}

// state is "id=posture" of every item the server answers, sorted.
func (e *asofEnv) state(t *testing.T, query string, names map[string]string) []string {
	t.Helper()
	var fc featureCollection
	getJSON(t, e.h, "/collections/troop-concentrations/items?"+query, &fc)
	out := []string{}
	for _, f := range fc.Features {
		out = append(out, names[f.ID]+"="+f.Properties["posture"].(string))
	}
	sort.Strings(out)
	return out
}

// TestAsOf scripts creates, an edit and a retraction at known times, then
// asks items, downloads, tiles and zone stats for the moments between.
func TestAsOf(t *testing.T) {
	e := newAsofEnv(t)
	day := func(d, h int) time.Time { return time.Date(2021, 4, d, h, 0, 0, 0, time.UTC) }
	names := map[string]string{}
	create := func(at time.Time, name string, lon float64, posture string) string {
		e.clock.set(at)
		rec := e.post(t, layers.TroopConcentrations, mustJSON(troopFeature(lon, 48.5, posture)), e.analyst)
		if rec.Code != 201 {
			t.Fatalf("create %s: %d %s", name, rec.Code, rec.Body)
		}
		loc := rec.Header().Get("Location")
		id := loc[strings.LastIndex(loc, "/")+1:]
		names[id] = name
		return id
	}
	a := create(day(1, 10), "A", 37.0, "staging")
	b := create(day(1, 11), "B", 37.001, "assembly_area")
	e.clock.set(day(3, 10))
	if rec := send(t, e.h, "PATCH", "/collections/troop-concentrations/items/"+a, []byte(`{"properties":{"posture":"attacking"}}`),
		"Content-Type", "application/merge-patch+json", "Authorization", "Bearer "+e.analyst); rec.Code != 200 {
		t.Fatalf("patch: %d %s", rec.Code, rec.Body)
	}
	e.clock.set(day(5, 10))
	if rec := send(t, e.h, "DELETE", "/collections/troop-concentrations/items/"+b, nil, "Authorization", "Bearer "+e.editor); rec.Code != 204 && rec.Code != 200 {
		t.Fatalf("delete: %d %s", rec.Code, rec.Body)
	}
	create(day(7, 10), "C", 37.002, "defensive")

	for _, tc := range []struct {
		asof string
		want []string
	}{
		{"2021-03-31", []string{}},
		{"2021-04-01T10:00:00Z", []string{"A=staging"}}, // the moment of a commit is included
		{"2021-04-02", []string{"A=staging", "B=assembly_area"}},
		{"2021-04-03T09:59:59.999Z", []string{"A=staging", "B=assembly_area"}},
		{"2021-04-04", []string{"A=attacking", "B=assembly_area"}},
		{"2021-04-06T00:00:00+03:00", []string{"A=attacking"}},
		{"2021-04-08", []string{"A=attacking", "C=defensive"}},
	} {
		if got := e.state(t, "asof="+url.QueryEscape(tc.asof), names); !slices.Equal(got, tc.want) {
			t.Errorf("asof=%s: %v, want %v", tc.asof, got, tc.want)
		}
		// Downloads and filters see the same past.
		rec := do(t, e.h, "GET", "/collections/troop-concentrations/items?f=csv&posture=attacking&asof="+tc.asof)
		if rec.Code != 200 {
			t.Fatalf("csv asof=%s: %d %s", tc.asof, rec.Code, rec.Body)
		}
		wantRows := 0
		for _, s := range tc.want {
			if strings.HasSuffix(s, "=attacking") {
				wantRows++
			}
		}
		if got := len(csvIDs(t, rec.Body.Bytes())); got != wantRows {
			t.Errorf("csv asof=%s&posture=attacking: %d rows, want %d", tc.asof, got, wantRows)
		}
	}
	if got, want := e.state(t, "", names), []string{"A=attacking", "C=defensive"}; !slices.Equal(got, want) {
		t.Errorf("now: %v, want %v", got, want)
	}

	// Tiles: the past tile differs from today's and is cacheable forever.
	tl := maptile.At(orb.Point{37.0, 48.5}, DefaultClusterMaxZoom)
	tilePath := fmt.Sprintf("/tiles/troop-concentrations/%d/%d/%d.mvt", tl.Z, tl.X, tl.Y)
	count := func(rec *httptest.ResponseRecorder) int {
		if rec.Code == 204 {
			return 0
		}
		if rec.Code != 200 {
			t.Fatalf("tile: %d %s", rec.Code, rec.Body)
		}
		l := decodeTile(t, rec, rec.Body.Bytes())["troop-concentrations"]
		if l == nil {
			return 0
		}
		return len(l.Features)
	}
	past := do(t, e.h, "GET", tilePath+"?asof=2021-04-06")
	if n := count(past); n != 1 {
		t.Errorf("tile asof 6 April: %d features, want 1 (A)", n)
	}
	// Anonymous readers' view of the past changes when a report is
	// restricted later, so only keyed answers are immutable (and private).
	if cc := past.Header().Get("Cache-Control"); strings.Contains(cc, "immutable") {
		t.Errorf("anonymous tile asof Cache-Control %q is immutable", cc)
	}
	if cc := do(t, e.h, "GET", tilePath+"?asof=2021-04-06", "Authorization", "Bearer "+e.analyst).Header().Get("Cache-Control"); cc != "private, max-age=31536000, immutable" {
		t.Errorf("keyed tile asof Cache-Control %q, want private and immutable", cc)
	}
	if n := count(do(t, e.h, "GET", tilePath+"?asof=2021-04-02")); n != 2 {
		t.Errorf("tile asof 2 April: %d features, want 2 (A, B)", n)
	}
	cur := do(t, e.h, "GET", tilePath)
	if n := count(cur); n != 2 {
		t.Errorf("tile now: %d features, want 2 (A, C)", n)
	}
	if cc := cur.Header().Get("Cache-Control"); cc == immutable {
		t.Errorf("today's tile is marked immutable")
	}

	// Zone stats count what the zone held then.
	troops := func(asof string) int {
		var body statsBody
		getJSON(t, e.h, "/stats/zones?from=2021-03-29&to=2021-04-04&interval=week&asof="+asof, &body)
		if len(body.Zones) != 1 || len(body.Zones[0].Intervals) != 1 {
			t.Fatalf("stats asof=%s: %+v", asof, body)
		}
		return body.Zones[0].Intervals[0].Troops
	}
	for asof, want := range map[string]int{"2021-03-31": 0, "2021-04-02": 2, "2021-04-06": 1, "2021-04-08": 2} {
		if got := troops(asof); got != want {
			t.Errorf("stats asof=%s: %d troop reports, want %d", asof, got, want)
		}
	}

	// Bad values name the parameter.
	for _, q := range []string{"asof=yesterday", "asof=" + time.Now().Add(time.Hour).UTC().Format(time.RFC3339)} {
		rec := do(t, e.h, "GET", "/collections/troop-concentrations/items?"+q)
		var body errorBody
		if rec.Code != 400 || json.Unmarshal(rec.Body.Bytes(), &body) != nil || !strings.Contains(body.Description, "asof") {
			t.Errorf("%s: %d %s", q, rec.Code, rec.Body)
		}
	}
	// A derived layer has no history of its own.
	if rec := do(t, e.h, "GET", "/collections/derived/items?asof=2021-04-02"); rec.Code != 400 || !strings.Contains(rec.Body.String(), "asof") {
		t.Errorf("derived layer asof: %d %s", rec.Code, rec.Body)
	}
	// Area layers do not change: asof shows them as they are.
	if rec := do(t, e.h, "GET", "/collections/east/items?asof=2021-04-02"); rec.Code != 200 || !strings.Contains(rec.Body.String(), "east-1") {
		t.Errorf("area layer asof: %d %s", rec.Code, rec.Body)
	}
}

// TestPastLayerCache: a settled past layer is built once, concurrent asks
// share the build, and the cache holds at most asofCacheSize layers.
func TestPastLayerCache(t *testing.T) {
	var p pastLayers
	var mu sync.Mutex
	builds := map[int64]int{}
	build := func(k int64) func(context.Context) (*layers.Layer, error) {
		return func(context.Context) (*layers.Layer, error) {
			mu.Lock()
			builds[k]++
			mu.Unlock()
			time.Sleep(5 * time.Millisecond)
			return layers.NewLayer(layers.Meta{ID: "x"}), nil
		}
	}
	var wg sync.WaitGroup
	got := make([]*layers.Layer, 8)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := p.get(context.Background(), pastKey{"x", 1}, build(1))
			if err != nil {
				t.Error(err)
			}
			got[i] = l
		}()
	}
	wg.Wait()
	for _, l := range got {
		if l != got[0] {
			t.Fatal("concurrent asks got different layers")
		}
	}
	if builds[1] != 1 {
		t.Fatalf("built %d times, want once", builds[1])
	}
	for k := int64(2); k <= asofCacheSize+1; k++ {
		if _, err := p.get(context.Background(), pastKey{"x", k}, build(k)); err != nil {
			t.Fatal(err)
		}
	}
	// Key 1 was the least recently used and is evicted; key 2 is kept.
	p.get(context.Background(), pastKey{"x", 2}, build(2))
	p.get(context.Background(), pastKey{"x", 1}, build(1))
	if builds[2] != 1 || builds[1] != 2 {
		t.Errorf("builds after eviction: key 1 %d (want 2), key 2 %d (want 1)", builds[1], builds[2])
	}
	if p.lru.Len() > asofCacheSize {
		t.Errorf("cache holds %d layers", p.lru.Len())
	}
}
