package web

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestMetricsTileCacheStoreAndLayers checks the operational series over a
// real store: tile cache hits and misses per layer (the hit ratio's
// inputs), cache size, store write latency and reports per layer.
func TestMetricsTileCacheStoreAndLayers(t *testing.T) {
	e := newHostileEnv(t) // one report committed through the store
	for range 3 {
		resp, err := http.Get(e.url + "/tiles/incidents/8/152/88.mvt")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 && resp.StatusCode != 204 {
			t.Fatalf("tile: %d", resp.StatusCode)
		}
	}
	req, _ := http.NewRequest("GET", e.url+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+e.editor) // layer sizes are shown to keys only
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	body := string(b)
	for _, want := range []string{
		`troopmap_tile_cache_requests_total{layer="incidents",result="miss"} 1`,
		`troopmap_tile_cache_requests_total{layer="incidents",result="hit"} 2`,
		"troopmap_tile_cache_entries 1",
		"troopmap_store_write_duration_seconds_count 1",
		`troopmap_layer_features{kind="reports",layer="incidents"} 1`,
		`troopmap_http_requests_total{method="GET",route="/tiles/:layers/:z/:x/:y",status=`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
