package main

import (
	"strings"
	"testing"
)

func TestMapStyleFlag(t *testing.T) {
	env := map[string]string{"TROOPMAP_MAP_STYLE": "https://basemap.internal/style.json"}
	e := env2{getenv: func(k string) string { return env[k] }}
	cfg, err := parseServe(e.env(), nil)
	if err != nil || cfg.MapStyleURL != "https://basemap.internal/style.json" {
		t.Fatalf("from env: %+v, %v", cfg.MapStyleURL, err)
	}
	cfg, err = parseServe(e.env(), []string{"--map-style", "http://10.0.0.5:8081/s.json"})
	if err != nil || cfg.MapStyleURL != "http://10.0.0.5:8081/s.json" {
		t.Fatalf("flag over env: %+v, %v", cfg.MapStyleURL, err)
	}
	for _, bad := range []string{"style.json", "javascript:alert(1)", "ftp://x/s.json", "https://"} {
		if _, err := parseServe(e.env(), []string{"--map-style", bad}); err == nil || !strings.Contains(err.Error(), "--map-style") {
			t.Errorf("--map-style %q: err = %v", bad, err)
		}
	}
}
