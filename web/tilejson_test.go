package web

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

func TestTileJSON(t *testing.T) {
	s, _ := testServer(t, Config{BaseURL: "https://maps.example.org/tm/"}, 50)
	rec := do(t, s.Handler(), "GET", "/tiles/donbas,incidents,troop-concentrations.json?datetime=2021-03-01/..")
	var doc struct {
		TileJSON string    `json:"tilejson"`
		Tiles    []string  `json:"tiles"`
		MinZoom  int       `json:"minzoom"`
		MaxZoom  int       `json:"maxzoom"`
		Bounds   []float64 `json:"bounds"`
		Center   []float64 `json:"center"`
		Layers   []struct {
			ID      string            `json:"id"`
			MinZoom int               `json:"minzoom"`
			MaxZoom int               `json:"maxzoom"`
			Fields  map[string]string `json:"fields"`
		} `json:"vector_layers"`
	}
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &doc) != nil {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if doc.TileJSON != "3.0.0" || len(doc.Tiles) != 1 {
		t.Fatalf("tilejson %q, tiles %v", doc.TileJSON, doc.Tiles)
	}
	u, err := url.Parse(doc.Tiles[0])
	if err != nil || u.Scheme != "https" || u.Host != "maps.example.org" ||
		u.Path != "/tm/tiles/donbas,incidents,troop-concentrations/{z}/{x}/{y}.mvt" || u.Query().Get("datetime") != "2021-03-01/.." {
		t.Errorf("tiles URL %q", doc.Tiles[0])
	}
	if doc.MinZoom != 0 || doc.MaxZoom != 16 {
		t.Errorf("zooms %d..%d, want 0..16", doc.MinZoom, doc.MaxZoom)
	}
	if len(doc.Bounds) != 4 || doc.Bounds[0] > 36.5 || doc.Bounds[2] < 40.2 || doc.Bounds[1] > 47 || doc.Bounds[3] < 50 {
		t.Errorf("bounds %v do not hold the donbas polygon", doc.Bounds)
	}
	if len(doc.Center) != 3 || doc.Center[0] < doc.Bounds[0] || doc.Center[0] > doc.Bounds[2] {
		t.Errorf("center %v", doc.Center)
	}
	want := map[string][]string{
		"donbas":               {"id", "name", "iso_3166_2"},
		"incidents":            {"id", "event_type", "observed_at", "fatalities.best", "zones"},
		"troop-concentrations": {"side", "strength.personnel.best", "strength.vehicles.high"},
	}
	for _, l := range doc.Layers {
		for _, f := range want[l.ID] {
			if l.Fields[f] == "" {
				t.Errorf("layer %s lacks field %s: %v", l.ID, f, l.Fields)
			}
		}
		if _, ok := l.Fields["notes"]; ok {
			t.Errorf("layer %s lists notes, which tiles leave out", l.ID)
		}
		delete(want, l.ID)
	}
	if len(want) > 0 || len(doc.Layers) != 3 {
		t.Errorf("vector_layers %v, missing %v", doc.Layers, want)
	}
	for path, code := range map[string]int{"/tiles/nosuch.json": 404, "/tiles/incidents.xml": 404, "/tiles/incidents.json?datetime=x": 400} {
		if rec := do(t, s.Handler(), "GET", path); rec.Code != code {
			t.Errorf("GET %s = %d, want %d", path, rec.Code, code)
		}
	}
}

func TestStyleDrawsEveryLayerFromOwnTiles(t *testing.T) {
	s, ls := testServer(t, Config{}, 50)
	rec := do(t, s.Handler(), "GET", "/styles/troopmap.json")
	var style struct {
		Version int                        `json:"version"`
		Sources map[string]json.RawMessage `json:"sources"`
		Layers  []map[string]any           `json:"layers"`
		Glyphs  string                     `json:"glyphs"`
		Sprite  any                        `json:"sprite"`
	}
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &style) != nil {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if style.Version != 8 || style.Glyphs != "" || style.Sprite != nil {
		t.Errorf("version %d, glyphs %q, sprite %v", style.Version, style.Glyphs, style.Sprite)
	}
	var src struct{ Type, URL string }
	if err := json.Unmarshal(style.Sources["troopmap"], &src); err != nil || src.Type != "vector" || len(style.Sources) != 1 {
		t.Fatalf("sources %s", rec.Body)
	}
	u, _ := url.Parse(src.URL)
	if !u.IsAbs() {
		t.Fatalf("source url %q is not absolute", src.URL)
	}
	if tj := do(t, s.Handler(), "GET", u.Path); tj.Code != 200 {
		t.Fatalf("style's TileJSON %s: %d", u.Path, tj.Code)
	}
	drawn := map[string]bool{}
	ids := map[string]bool{}
	for _, l := range style.Layers {
		if ids[l["id"].(string)] {
			t.Errorf("duplicate style layer id %v", l["id"])
		}
		ids[l["id"].(string)] = true
		if l["type"] == "symbol" {
			t.Errorf("symbol layer %v needs glyphs", l["id"])
		}
		if sl, ok := l["source-layer"].(string); ok {
			drawn[sl] = true
			if !strings.Contains(u.Path, sl) {
				t.Errorf("style layer %v reads %s, which its source lacks", l["id"], sl)
			}
		}
	}
	for id := range ls {
		if !drawn[id] {
			t.Errorf("layer %s is not drawn", id)
		}
	}
	if style.Layers[0]["type"] != "background" || style.Layers[1]["source-layer"] != "donbas" {
		t.Errorf("base layers first: got %v, %v", style.Layers[0]["id"], style.Layers[1]["id"])
	}
}

func TestLandingAndCollectionsLinkTiles(t *testing.T) {
	s, _ := testServer(t, Config{}, 5)
	for path, want := range map[string]string{"/": "/tiles/donbas,troop-concentrations,incidents.json", "/collections/incidents": "/tiles/incidents.json"} {
		rec := do(t, s.Handler(), "GET", path+"?f=json")
		var doc struct {
			Links []struct{ Href, Rel string } `json:"links"`
		}
		if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &doc) != nil {
			t.Fatalf("%s: %d", path, rec.Code)
		}
		found := false
		for _, l := range doc.Links {
			if strings.HasSuffix(l.Href, want) {
				found = true
				u, _ := url.Parse(l.Href)
				if tj := do(t, s.Handler(), "GET", u.Path); tj.Code != 200 {
					t.Errorf("%s links %s, which answers %d", path, l.Href, tj.Code)
				}
			}
		}
		if !found {
			t.Errorf("%s has no link ending %s: %s", path, want, rec.Body)
		}
	}
}
