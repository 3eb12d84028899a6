package web

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/maptile"

	"troopmap/layers"
)

// report builds a schema-shaped report feature.
func report(id string, lon, lat float64, observed time.Time, props map[string]any) *layers.Feature {
	p := map[string]any{
		"observed_at": observed.UTC().Format(time.RFC3339), "time_precision": "day", "geo_precision": "town",
		"source_reliability": "b", "info_credibility": "2", "sensitivity": "public", "verification": "submitted",
		"sources": []any{map[string]any{"url": "https://example.org/a"}}, "notes": "long text",
	}
	for k, v := range props {
		p[k] = v
	}
	return layers.NewFeature(id, orb.Point{lon, lat}, p, layers.ReportTimeKeys()...)
}

// testServer returns a server over an area layer and the two report layers,
// the incidents filled with n random reports around the Donbas.
func testServer(t testing.TB, cfg Config, n int) (*Server, map[string]*layers.Layer) {
	t.Helper()
	area := layers.NewLayer(layers.Meta{ID: "donbas", Kind: layers.KindArea, MinZoom: 0, MaxZoom: 14})
	poly := orb.Polygon{{{36.5, 47}, {40.2, 47}, {40.2, 50}, {36.5, 50}, {36.5, 47}}}
	if err := area.Load([]*layers.Feature{layers.NewFeature("UA-14", poly, map[string]any{"name": "Donetsk", "iso_3166_2": "UA-14"})}); err != nil {
		t.Fatal(err)
	}
	ls := map[string]*layers.Layer{"donbas": area}
	all := []*layers.Layer{area}
	for _, m := range layers.ReportMetas() {
		l := layers.NewLayer(m)
		ls[m.ID] = l
		all = append(all, l)
	}
	r := rand.New(rand.NewPCG(1, 2))
	types := []string{"battles", "explosions_remote_violence", "protests"}
	var fs []*layers.Feature
	t0 := time.Date(2021, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		fs = append(fs, report(fmt.Sprintf("inc-%05d", i), 37+r.Float64()*2.5, 47.5+r.Float64()*1.5,
			t0.Add(time.Duration(r.IntN(60*24))*time.Hour), map[string]any{"event_type": types[i%3]}))
	}
	if err := ls[layers.Incidents].Load(fs); err != nil {
		t.Fatal(err)
	}
	s := New(cfg)
	cat, err := layers.NewCatalog(all...)
	if err != nil {
		t.Fatal(err)
	}
	s.SetCatalog(cat)
	return s, ls
}

// decodeTile reads an MVT body (gunzipping when needed).
func decodeTile(t testing.TB, rec interface {
	Header() http.Header
}, body []byte) map[string]*mvt.Layer {
	t.Helper()
	if rec.Header().Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	ls, err := mvt.Unmarshal(body)
	if err != nil {
		t.Fatalf("decode tile: %v", err)
	}
	out := map[string]*mvt.Layer{}
	for _, l := range ls {
		out[l.Name] = l
	}
	return out
}

func TestTileStatusCodes(t *testing.T) {
	s, ls := testServer(t, Config{}, 200)
	h := s.Handler()
	donbas := maptile.At(orb.Point{38, 48}, 14)
	f, _ := ls[layers.Incidents].Snapshot().Get("inc-00000")
	inc := maptile.At(f.Geometry.(orb.Point), 15)
	cases := []struct {
		name, path string
		want       int
	}{
		{"features", fmt.Sprintf("/tiles/donbas/%d/%d/%d.mvt", 6, 38, 22), 200},
		{"pbf suffix", "/tiles/donbas/6/38/22.pbf", 200},
		{"several layers", "/tiles/donbas,incidents/6/38/22.mvt", 200},
		{"empty tile", "/tiles/donbas/6/0/0.mvt", 204},
		{"x off grid", "/tiles/donbas/3/8/0.mvt", 400},
		{"y off grid", "/tiles/donbas/3/0/8.mvt", 400},
		{"z too deep", "/tiles/donbas/25/0/0.mvt", 400},
		{"negative", "/tiles/donbas/3/-1/0.mvt", 400},
		{"not a number", "/tiles/donbas/a/0/0.mvt", 400},
		{"wrong suffix", "/tiles/donbas/3/0/0.png", 400},
		{"leading zero", "/tiles/donbas/03/0/0.mvt", 400},
		{"unknown layer", "/tiles/nosuch/3/0/0.mvt", 404},
		{"one unknown of two", "/tiles/donbas,nosuch/3/0/0.mvt", 404},
		{"layer listed twice", "/tiles/donbas,donbas/3/0/0.mvt", 400},
		{"zoom above layer range", fmt.Sprintf("/tiles/donbas/15/%d/%d.mvt", donbas.X>>1, donbas.Y>>1), 404},
		{"zoom within one layer's range", fmt.Sprintf("/tiles/donbas,incidents/15/%d/%d.mvt", inc.X, inc.Y), 200},
		{"bad datetime", "/tiles/incidents/6/38/22.mvt?datetime=yesterday", 400},
		{"bad property value", "/tiles/incidents/6/38/22.mvt?event_type=picnic", 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := do(t, h, "GET", c.path)
			if rec.Code != c.want {
				t.Fatalf("GET %s = %d, want %d: %s", c.path, rec.Code, c.want, rec.Body)
			}
			if c.want >= 400 && !strings.Contains(rec.Header().Get("Content-Type"), "json") {
				t.Errorf("error is not JSON: %q", rec.Header().Get("Content-Type"))
			}
			if c.want == 200 {
				if ct := rec.Header().Get("Content-Type"); ct != mvtType {
					t.Errorf("Content-Type %q", ct)
				}
				if len(decodeTile(t, rec, rec.Body.Bytes())) == 0 {
					t.Error("200 tile without layers")
				}
			}
		})
	}
}

func TestTileServiceUnavailableBeforeLoad(t *testing.T) {
	if rec := do(t, New(Config{}).Handler(), "GET", "/tiles/incidents/0/0/0.mvt"); rec.Code != 503 {
		t.Fatalf("got %d", rec.Code)
	}
}

func gunzip(t testing.TB, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
