package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"troopmap/layers"
	"troopmap/layers/formats"
)

// TestExportFromServer runs `troopmap export` against a running server and
// checks the file against the server's own GeoJSON answer.
func TestExportFromServer(t *testing.T) {
	base := startServer(t)
	waitReady(t, base)
	dir := t.TempDir()
	out := filepath.Join(dir, "incidents.csv")
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"export", "--server", base, "--collection", "incidents", "--out", out, "event_type=battles"},
		func(string) string { return "" }, &stdout, &stderr)
	if err != nil {
		t.Fatalf("export: %v\n%s", err, stderr.String())
	}
	body, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	schema, _ := layers.ReportSchema(layers.Incidents)
	b, err := formats.DecodeCSV(context.Background(), bytes.NewReader(body), schema)
	if err != nil {
		t.Fatalf("decode export: %v", err)
	}
	resp, err := http.Get(base + "/collections/incidents/items?event_type=battles&limit=10000")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var fc struct {
		Features []struct {
			ID         string
			Properties map[string]any
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&fc); err != nil {
		t.Fatal(err)
	}
	if len(fc.Features) == 0 || len(b.Features) != len(fc.Features) {
		t.Fatalf("export has %d rows, server matches %d", len(b.Features), len(fc.Features))
	}
	for i, f := range fc.Features {
		if b.Features[i].Properties["actor1"] != f.Properties["actor1"] {
			t.Errorf("row %d: actor1 %v, want %v", i+2, b.Features[i].Properties["actor1"], f.Properties["actor1"])
		}
	}
	if !strings.Contains(stderr.String(), "wrote "+out) {
		t.Errorf("stderr: %q", stderr.String())
	}

	err = run(context.Background(), []string{"export", "--server", base, "--collection", "incidents", "--format", "shp"},
		func(string) string { return "" }, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "parameter f") {
		t.Errorf("bad format: %v", err)
	}
}

func waitReady(t *testing.T, base string) {
	t.Helper()
	for i := 0; i < 200; i++ {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("server not ready")
}
