package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/geojson"
	"github.com/paulmach/orb/maptile"

	"troopmap/geo"
	"troopmap/layers"
	"troopmap/layers/gpkg"
)

// The access matrix: every role × every path out × public, restricted,
// embargoed and coarsened reports, through HTTP, asserting the bytes each
// reader gets.

var matrixT0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// clock is a settable clock shared by a server and its test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// The fixture: in each report layer a public, a restricted and an embargoed
// report a few hundred metres apart, so they share tiles and clusters.
var matrixReports = map[string]struct {
	layer    string
	at       orb.Point
	props    map[string]any
	personal float64
}{
	"tc-public":      {layers.TroopConcentrations, orb.Point{37.5512, 48.0217}, nil, 100},
	"tc-restricted":  {layers.TroopConcentrations, orb.Point{37.5440, 48.0260}, map[string]any{"sensitivity": "restricted"}, 200},
	"tc-embargoed":   {layers.TroopConcentrations, orb.Point{37.5580, 48.0190}, map[string]any{"embargo_until": matrixT0.Add(time.Hour).Format(time.RFC3339)}, 400},
	"inc-public":     {layers.Incidents, orb.Point{38.0010, 48.5020}, nil, 0},
	"inc-restricted": {layers.Incidents, orb.Point{37.9950, 48.5060}, map[string]any{"sensitivity": "restricted"}, 0},
	"inc-embargoed":  {layers.Incidents, orb.Point{38.0070, 48.4990}, map[string]any{"embargo_until": matrixT0.Add(time.Hour).Format(time.RFC3339)}, 0},
}

const matrixPrecisionKm = 10

var matrixRestrictedObserved = matrixT0.Add(-23 * 24 * time.Hour)

// matrixServer serves the fixture from a real store, imported once at
// matrixT0 by the reports service, so that history, asof and events take
// the same paths as in production. The area layer is a zone (for
// /stats/zones) and movements are derived from the troop concentrations.
func matrixServer(t testing.TB, clk *clock) *Server {
	s, _ := matrixStoreServer(t, clk)
	return s
}

func matrixStoreServer(t testing.TB, clk *clock) (*Server, *layers.Reports) {
	t.Helper()
	return matrixStoreServerWith(t, clk, layers.PublicPolicy{Read: true, PrecisionKm: matrixPrecisionKm})
}

func matrixStoreServerWith(t testing.TB, clk *clock, policy layers.PublicPolicy) (*Server, *layers.Reports) {
	t.Helper()
	ctx := context.Background()
	byLayer := map[string][]*layers.Feature{}
	for id, r := range matrixReports {
		p := map[string]any{
			"observed_at": matrixT0.Add(-48 * time.Hour).Format(time.RFC3339), "time_precision": "day", "geo_precision": "exact",
			"source_reliability": "b", "info_credibility": "2", "sensitivity": "public", "verification": "verified",
			"sources": []any{map[string]any{"url": "https://example.org/" + id}}, "ce_m": 50.0,
			"location_name": "Village of " + id,
		}
		if r.layer == layers.TroopConcentrations {
			p["side"], p["echelon"], p["unit_function"], p["posture"] = "ru", "battalion", "armor", "moving"
			p["unit_designation"], p["higher_formation"] = "1st Guards Tank Army", "WMD"
			p["heading_deg"], p["speed_kmh"] = 90.0, 12.0
			p["strength"] = map[string]any{"personnel": map[string]any{"low": r.personal, "best": r.personal, "high": r.personal}}
			// Minutes apart, so that the unit's track has legs.
			p["observed_at"] = matrixT0.Add(-48*time.Hour + time.Duration(r.personal)*time.Minute).Format(time.RFC3339)
		} else {
			p["event_type"], p["actor1"] = "battles", "someone"
		}
		for k, v := range r.props {
			p[k] = v
		}
		if r.props["sensitivity"] == "restricted" {
			// Weeks before the others: a time extent or a stats range
			// that reached back this far would give it away.
			p["observed_at"] = matrixRestrictedObserved.Format(time.RFC3339)
		}
		byLayer[r.layer] = append(byLayer[r.layer], layers.NewFeature(id, r.at, p, layers.ReportTimeKeys()...))
	}
	area := layers.NewLayer(layers.Meta{ID: "donbas", Kind: layers.KindArea, Zone: true, MinZoom: 0, MaxZoom: 14})
	if err := area.Load([]*layers.Feature{layers.NewFeature("UA-14", orb.Polygon{{{36.5, 47}, {40.2, 47}, {40.2, 50}, {36.5, 50}, {36.5, 47}}}, map[string]any{"name": "Donetsk"})}); err != nil {
		t.Fatal(err)
	}
	var schemas []layers.Schema
	var reportLayers []*layers.Layer
	for _, m := range layers.ReportMetas() {
		sc, _ := layers.ReportSchema(m.ID)
		schemas = append(schemas, sc)
		reportLayers = append(reportLayers, layers.NewLayer(m))
	}
	store, err := gpkg.Open(ctx, filepath.Join(t.TempDir(), "matrix.gpkg"), schemas)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	reports := layers.NewReports(layers.ReportsConfig{Store: store, Layers: reportLayers, Rules: layers.DefaultUploadRules(),
		Places: layers.NewPlaces([]*layers.Layer{area}, nil, nil), Now: clk.Now})
	s := New(Config{
		Keys:   roleKeys,
		Access: layers.NewAccess(policy, clk.Now),
		Tiles:  TileConfig{ClusterMaxZoom: 7},
	})
	s.SetReports(reports)
	if err := reports.Load(ctx); err != nil {
		t.Fatal(err)
	}
	mv, err := layers.NewMovements(reportLayers[0], 0)
	if err != nil {
		t.Fatal(err)
	}
	cat, err := layers.NewCatalog(append([]*layers.Layer{area}, append(reportLayers, mv.Layer())...)...)
	if err != nil {
		t.Fatal(err)
	}
	s.SetCatalog(cat)
	if _, err := reports.ImportSamples(ctx, byLayer); err != nil {
		t.Fatal(err)
	}
	waitIndex(t, s)
	return s, reports
}

type matrixReader struct{ role, key string }

func (r matrixReader) keyed() bool { return r.key != "" }

var matrixReaders = []matrixReader{
	{"anonymous", ""}, {"viewer", "k-viewer"}, {"analyst", "k-analyst"}, {"editor", "k-editor"}, {"admin", "k-admin"},
}

// sees reports whether r may see report id at all; coarse whether r sees it
// snapped to the grid.
func (r matrixReader) sees(id string) bool   { return r.keyed() || strings.HasSuffix(id, "-public") }
func (r matrixReader) coarse(id string) bool { return !r.keyed() && strings.HasPrefix(id, "tc-") }

func (r matrixReader) wantIDs(layer string) []string {
	var out []string
	for id, rep := range matrixReports {
		if rep.layer == layer && r.sees(id) {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// checkPosition asserts that a reader got the true position, or the snapped
// one, within tol km.
func checkPosition(t *testing.T, r matrixReader, id string, got orb.Point, tol float64) {
	t.Helper()
	raw := matrixReports[id].at
	want := raw
	if r.coarse(id) {
		want = geo.SnapPoint(raw, matrixPrecisionKm)
	}
	if d := geo.DistanceKm(got, want); d > tol {
		t.Errorf("%s sees %s at %v, %.3f km from %v", r.role, id, got, d, want)
	}
}

// checkProps asserts the coarsened properties are gone for coarse readers and
// present for everyone else.
func checkProps(t *testing.T, r matrixReader, id string, props map[string]any) {
	t.Helper()
	// The writing key's name may identify an analyst: keys only.
	if _, has := props["created_by"]; has != r.keyed() {
		t.Errorf("%s sees %s with created_by present=%v", r.role, id, has)
	}
	if !strings.HasPrefix(id, "tc-") {
		return
	}
	for _, k := range []string{"heading_deg", "speed_kmh", "unit_designation"} {
		_, has := props[k]
		if has == r.coarse(id) {
			t.Errorf("%s sees %s with %s present=%v", r.role, id, k, has)
		}
	}
}

type gjCollection struct {
	NumberMatched  int `json:"numberMatched"`
	NumberReturned int `json:"numberReturned"`
	Features       []gjFeature
}

type gjFeature struct {
	ID       string
	Geometry struct {
		Type        string
		Coordinates []float64
	}
	Properties map[string]any
}

func getAs(t *testing.T, s *Server, r matrixReader, path string) *httptest.ResponseRecorder {
	t.Helper()
	return do(t, s.Handler(), "GET", path, bearer(r.key)...)
}

func TestAccessMatrix(t *testing.T) {
	clk := &clock{t: matrixT0}
	s := matrixServer(t, clk)
	// The fixture must make coarsening visible: the snapped points are far
	// enough from the true ones to tell them apart.
	for id, rep := range matrixReports {
		if strings.HasPrefix(id, "tc-") {
			if d := geo.DistanceKm(rep.at, geo.SnapPoint(rep.at, matrixPrecisionKm)); d < 1 {
				t.Fatalf("fixture: %s snaps only %.2f km away", id, d)
			}
		}
	}
	for _, r := range matrixReaders {
		t.Run("items/"+r.role, func(t *testing.T) {
			for _, layer := range []string{layers.TroopConcentrations, layers.Incidents} {
				var fc gjCollection
				rec := getAs(t, s, r, "/collections/"+layer+"/items")
				if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &fc) != nil {
					t.Fatalf("items: %d %s", rec.Code, rec.Body)
				}
				var ids []string
				for _, f := range fc.Features {
					ids = append(ids, f.ID)
					checkPosition(t, r, f.ID, orb.Point{f.Geometry.Coordinates[0], f.Geometry.Coordinates[1]}, 1e-6)
					checkProps(t, r, f.ID, f.Properties)
				}
				slices.Sort(ids)
				if want := r.wantIDs(layer); !slices.Equal(ids, want) || fc.NumberMatched != len(want) {
					t.Errorf("%s: ids %v (numberMatched %d), want %v", layer, ids, fc.NumberMatched, want)
				}
			}
		})
		t.Run("item/"+r.role, func(t *testing.T) {
			for id, rep := range matrixReports {
				rec := getAs(t, s, r, "/collections/"+rep.layer+"/items/"+id)
				if !r.sees(id) {
					if rec.Code != 404 || strings.Contains(rec.Body.String(), "Village") {
						t.Errorf("%s: %d %s, want a bare 404", id, rec.Code, rec.Body)
					}
					continue
				}
				var f gjFeature
				if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &f) != nil {
					t.Fatalf("%s: %d %s", id, rec.Code, rec.Body)
				}
				checkPosition(t, r, id, orb.Point{f.Geometry.Coordinates[0], f.Geometry.Coordinates[1]}, 1e-6)
				checkProps(t, r, id, f.Properties)
			}
		})
		t.Run("tiles/"+r.role, func(t *testing.T) {
			for _, layer := range []string{layers.TroopConcentrations, layers.Incidents} {
				ids := tileIDs(t, s, r, layer, 9)
				var got []string
				for id, pt := range ids {
					got = append(got, id)
					checkPosition(t, r, id, pt, 0.1) // a z9 tile pixel is ~25 m
				}
				slices.Sort(got)
				if want := r.wantIDs(layer); !slices.Equal(got, want) {
					t.Errorf("%s: tile ids %v, want %v", layer, got, want)
				}
			}
		})
		t.Run("clusters/"+r.role, func(t *testing.T) {
			for _, layer := range []string{layers.TroopConcentrations, layers.Incidents} {
				tl := tileLayer(t, s, r, layer, 5)
				want := r.wantIDs(layer)
				var clusters, singles []*geojson.Feature
				for _, f := range tl.Features {
					if f.Properties["clustered"] == true {
						clusters = append(clusters, f)
					} else {
						singles = append(singles, f)
					}
				}
				if len(want) == 1 {
					// One visible report: drawn as itself, no cluster
					// counting the hidden ones.
					if len(clusters) != 0 || len(singles) != 1 || singles[0].Properties["id"] != want[0] {
						t.Fatalf("%s: clusters %d, singles %v; want only %s", layer, len(clusters), propsOf(singles), want[0])
					}
					// The point index keeps reports as placed, not as
					// shown: what it hands out must still be shown.
					checkProps(t, r, want[0], singles[0].Properties)
					continue
				}
				if len(clusters) != 1 || len(singles) != 0 {
					t.Fatalf("%s: %d clusters and %d single features, want one cluster", layer, len(clusters), len(singles))
				}
				c := clusters[0]
				if n := num(c.Properties["point_count"]); n != len(want) {
					t.Errorf("%s: point_count %d, want %d", layer, n, len(want))
				}
				if layer == layers.TroopConcentrations {
					if sum := num(c.Properties["personnel_best_sum"]); sum != 700 {
						t.Errorf("personnel_best_sum %d, want 700", sum)
					}
				}
				// Its leaves, as every reader asks for them: only what each
				// may see.
				for _, other := range matrixReaders {
					var fc gjCollection
					rec := getAs(t, s, other, "/collections/"+layer+"/clusters/"+c.Properties["cluster_id"].(string)+"/leaves")
					if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &fc) != nil {
						t.Fatalf("leaves: %d %s", rec.Code, rec.Body)
					}
					for _, f := range fc.Features {
						if !other.sees(f.ID) {
							t.Errorf("%s gets leaf %s of %s's cluster", other.role, f.ID, r.role)
						}
						checkPosition(t, other, f.ID, orb.Point{f.Geometry.Coordinates[0], f.Geometry.Coordinates[1]}, 1e-6)
						checkProps(t, other, f.ID, f.Properties)
					}
					if other.keyed() && fc.NumberMatched != len(want) {
						t.Errorf("%s: %d leaves, want %d", other.role, fc.NumberMatched, len(want))
					}
				}
			}
		})
		t.Run("extents/"+r.role, func(t *testing.T) {
			for _, layer := range []string{layers.TroopConcentrations, layers.Incidents} {
				var doc struct {
					Extent struct{ Spatial struct{ BBox [][4]float64 } }
				}
				rec := getAs(t, s, r, "/collections/"+layer)
				if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &doc) != nil || len(doc.Extent.Spatial.BBox) != 1 {
					t.Fatalf("collection: %d %s", rec.Code, rec.Body)
				}
				var b orb.Bound
				for i, id := range r.wantIDs(layer) {
					p := matrixReports[id].at
					if r.coarse(id) {
						p = geo.SnapPoint(p, matrixPrecisionKm)
					}
					if i == 0 {
						b = orb.Bound{Min: p, Max: p}
					}
					b = b.Extend(p)
				}
				want := [4]float64{b.Min[0], b.Min[1], b.Max[0], b.Max[1]}
				if got := doc.Extent.Spatial.BBox[0]; got != want {
					t.Errorf("%s: extent %v, want %v", layer, got, want)
				}
				var tj struct{ Bounds []float64 }
				if rec := getAs(t, s, r, "/tiles/"+layer+".json"); rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &tj) != nil {
					t.Fatalf("tilejson: %d %s", rec.Code, rec.Body)
				}
				// TileJSON may pad its bounds, but never out to a hidden
				// report: the restricted one lies west of all the others.
				hiddenWest := matrixReports["inc-restricted"].at[0]
				if layer == layers.TroopConcentrations {
					hiddenWest = matrixReports["tc-restricted"].at[0]
				}
				if len(tj.Bounds) != 4 || tj.Bounds[0] > want[0] || tj.Bounds[2] < want[2] || r.keyed() != (tj.Bounds[0] <= hiddenWest) {
					t.Errorf("%s: TileJSON bounds %v, visible extent %v", layer, tj.Bounds, want)
				}
			}
		})
		t.Run("readyz/"+r.role, func(t *testing.T) {
			var ready struct{ Layers map[string]int }
			if rec := getAs(t, s, r, "/readyz"); rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &ready) != nil {
				t.Fatalf("readyz: %d %s", rec.Code, rec.Body)
			}
			for _, layer := range []string{layers.TroopConcentrations, layers.Incidents} {
				if got, want := ready.Layers[layer], len(r.wantIDs(layer)); got != want {
					t.Errorf("%s: /readyz counts %d, want %d", layer, got, want)
				}
			}
		})
	}
}

func propsOf(fs []*geojson.Feature) []map[string]any {
	var out []map[string]any
	for _, f := range fs {
		out = append(out, f.Properties)
	}
	return out
}

// matrixTile is the tile at zoom z holding the layer's reports.
func matrixTile(layer string, z maptile.Zoom) maptile.Tile {
	for _, rep := range matrixReports {
		if rep.layer == layer {
			return maptile.At(rep.at, z)
		}
	}
	panic("no report in " + layer)
}

func tileLayer(t *testing.T, s *Server, r matrixReader, layer string, z maptile.Zoom) *mvt.Layer {
	t.Helper()
	return tileAt(t, s, r, layer, matrixTile(layer, z))
}

func tileAt(t *testing.T, s *Server, r matrixReader, layer string, tl maptile.Tile) *mvt.Layer {
	t.Helper()
	path := fmt.Sprintf("/tiles/%s/%d/%d/%d.mvt", layer, tl.Z, tl.X, tl.Y)
	rec := getAs(t, s, r, path)
	if rec.Code == 204 {
		return &mvt.Layer{}
	}
	if rec.Code != 200 {
		t.Fatalf("GET %s = %d %s", path, rec.Code, rec.Body)
	}
	l := decodeTile(t, rec, rec.Body.Bytes())[layer]
	if l == nil {
		t.Fatalf("no %s layer in %s", layer, path)
	}
	l.ProjectToWGS84(tl)
	return l
}

// tileIDs returns the report ids in the layer's tiles at zoom z with their
// positions: the tiles of every report's true and snapped position, so that a
// coarsened point that moved to a neighbouring tile is still found.
func tileIDs(t *testing.T, s *Server, r matrixReader, layer string, z maptile.Zoom) map[string]orb.Point {
	t.Helper()
	tiles := map[maptile.Tile]bool{}
	for _, rep := range matrixReports {
		if rep.layer == layer {
			tiles[maptile.At(rep.at, z)] = true
			tiles[maptile.At(geo.SnapPoint(rep.at, matrixPrecisionKm), z)] = true
		}
	}
	out := map[string]orb.Point{}
	for tl := range tiles {
		for _, f := range tileAt(t, s, r, layer, tl).Features {
			id, _ := f.Properties["id"].(string)
			p, _ := f.Geometry.(orb.Point)
			// A point in a tile's buffer is drawn by its neighbour too;
			// keep the copy from the tile that holds it.
			if maptile.At(p, z) == tl {
				out[id] = p
			}
			checkProps(t, r, id, f.Properties)
		}
	}
	return out
}

// A tile cached for an editor is never served to an anonymous reader, and
// the reverse; neither is an ETag of one audience honoured for the other.
func TestTileCacheNeverCrossesAudiences(t *testing.T) {
	editor, anon := matrixReaders[3], matrixReaders[0]
	for _, order := range [][2]matrixReader{{editor, anon}, {anon, editor}} {
		t.Run(order[0].role+"-first", func(t *testing.T) {
			s := matrixServer(t, &clock{t: matrixT0})
			tl := matrixTile(layers.Incidents, 12)
			path := fmt.Sprintf("/tiles/incidents/%d/%d/%d.mvt", tl.Z, tl.X, tl.Y)
			first := getAs(t, s, order[0], path)
			if first.Code != 200 {
				t.Fatalf("first: %d", first.Code)
			}
			if s.tiles.cache.Stats().Entries != 1 {
				t.Fatalf("the first tile was not cached (%d entries)", s.tiles.cache.Stats().Entries)
			}
			second := getAs(t, s, order[1], path)
			for _, c := range []struct {
				r   matrixReader
				rec *httptest.ResponseRecorder
			}{{order[0], first}, {order[1], second}} {
				var ids []string
				for _, f := range decodeTile(t, c.rec, c.rec.Body.Bytes())[layers.Incidents].Features {
					ids = append(ids, f.Properties["id"].(string))
				}
				slices.Sort(ids)
				if want := c.r.wantIDs(layers.Incidents); !slices.Equal(ids, want) {
					t.Errorf("%s got %v, want %v", c.r.role, ids, want)
				}
			}
			if first.Header().Get("ETag") == second.Header().Get("ETag") {
				t.Error("both audiences got the same ETag")
			}
			// The other audience's ETag must not win a 304.
			if rec := do(t, s.Handler(), "GET", path, append(bearer(order[1].key), "If-None-Match", first.Header().Get("ETag"))...); rec.Code != 200 {
				t.Errorf("%s revalidating with %s's ETag: %d", order[1].role, order[0].role, rec.Code)
			}
			if s.tiles.cache.Stats().Entries != 2 {
				t.Errorf("cache holds %d entries, want one per audience", s.tiles.cache.Stats().Entries)
			}
		})
	}
}

// An embargo ends with no restart, and nothing cached before that moment
// is served after it: items, tiles and their ETags all change.
func TestEmbargoEndsAcrossCaches(t *testing.T) {
	clk := &clock{t: matrixT0}
	s := matrixServer(t, clk)
	anon := matrixReaders[0]
	tl := matrixTile(layers.Incidents, 12)
	path := fmt.Sprintf("/tiles/incidents/%d/%d/%d.mvt", tl.Z, tl.X, tl.Y)
	ids := func() (items, tile []string, etag string) {
		var fc gjCollection
		rec := getAs(t, s, anon, "/collections/incidents/items")
		if err := json.Unmarshal(rec.Body.Bytes(), &fc); err != nil {
			t.Fatal(err)
		}
		for _, f := range fc.Features {
			items = append(items, f.ID)
		}
		trec := getAs(t, s, anon, path)
		for _, f := range decodeTile(t, trec, trec.Body.Bytes())[layers.Incidents].Features {
			tile = append(tile, f.Properties["id"].(string))
		}
		slices.Sort(items)
		slices.Sort(tile)
		return items, tile, trec.Header().Get("ETag")
	}
	items, tile, etag := ids()
	if want := []string{"inc-public"}; !slices.Equal(items, want) || !slices.Equal(tile, want) {
		t.Fatalf("before the embargo ends: items %v, tile %v", items, tile)
	}
	clk.Set(matrixT0.Add(time.Hour - time.Second))
	if _, _, e := ids(); e != etag {
		t.Errorf("ETag changed from %s to %s with no embargo ending", etag, e)
	}
	clk.Set(matrixT0.Add(time.Hour))
	items, tile, etag2 := ids()
	if want := []string{"inc-embargoed", "inc-public"}; !slices.Equal(items, want) || !slices.Equal(tile, want) {
		t.Errorf("once the embargo ended: items %v, tile %v", items, tile)
	}
	if etag2 == etag {
		t.Error("the tile kept its ETag across the end of an embargo")
	}
	if rec := getAs(t, s, anon, "/collections/incidents/items/inc-embargoed"); rec.Code != 200 {
		t.Errorf("item after the embargo: %d", rec.Code)
	}
}

// Filters, bbox and sort are judged on what a coarsened reader sees, so they
// cannot reveal a dropped property or the true position.
func TestCoarsenedQueriesDoNotLeak(t *testing.T) {
	s := matrixServer(t, &clock{t: matrixT0})
	raw := matrixReports["tc-public"].at
	snapped := geo.SnapPoint(raw, matrixPrecisionKm)
	box := func(p orb.Point) string {
		return fmt.Sprintf("%g,%g,%g,%g", p[0]-0.001, p[1]-0.001, p[0]+0.001, p[1]+0.001)
	}
	for _, c := range []struct {
		name, query string
		anon, keyed int
	}{
		{"dropped property", "unit_designation=1st%20Guards%20Tank%20Army", 0, 3},
		{"bbox round the true position", "bbox=" + box(raw), 0, 1},
		{"bbox round the snapped position", "bbox=" + box(snapped), 1, 0},
		{"sort by a dropped property", "sortby=-heading_deg", 1, 3},
		// Who wrote a report is for keys only: anonymous readers may
		// not filter or sort on it (400, below).
		{"hidden author", "created_by=troopmap-samples", -1, 3},
		{"hidden author of incidents (not coarsened)", "created_by=troopmap-samples&layer=incidents", -1, 3},
		{"hidden author in CQL2", "filter=" + url.QueryEscape("created_by LIKE 'troop%'") + "&layer=incidents", -1, 3},
		{"sort by the hidden author", "sortby=created_by", -1, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			layer := "troop-concentrations"
			if q, ok := strings.CutSuffix(c.query, "&layer=incidents"); ok {
				c.query, layer = q, "incidents"
			}
			for _, r := range []matrixReader{matrixReaders[0], matrixReaders[1]} {
				var fc gjCollection
				rec := getAs(t, s, r, "/collections/"+layer+"/items?"+c.query)
				if !r.keyed() && c.anon < 0 {
					if rec.Code != 400 || !strings.Contains(rec.Body.String(), "API keys only") && !strings.Contains(rec.Body.String(), "created_by") {
						t.Errorf("%s: %d %s, want 400", r.role, rec.Code, rec.Body)
					}
					continue
				}
				if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &fc) != nil {
					t.Fatalf("%s: %d %s", r.role, rec.Code, rec.Body)
				}
				want := c.keyed
				if !r.keyed() {
					want = c.anon
				}
				if fc.NumberMatched != want {
					t.Errorf("%s: numberMatched %d, want %d", r.role, fc.NumberMatched, want)
				}
			}
		})
	}
}
