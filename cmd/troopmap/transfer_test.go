package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
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

// bigIncidentCSV writes n incident rows, over 1 MiB for n ≥ 7000.
func bigIncidentCSV(t *testing.T, path string, n int) {
	t.Helper()
	var b strings.Builder
	b.WriteString("longitude,latitude,observed_at,time_precision,geo_precision,sources,source_reliability,info_credibility,sensitivity,event_type,actor1,fatalities.best,notes\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "%.4f,%.4f,2021-04-%02dT06:00:00Z,day,town,https://example.org/import/%d,b,2,public,battles,Military forces of Russia,%d,\"imported row %d, from the command line\"\n",
			36+float64(i%100)*0.01, 48+float64(i/100%50)*0.01, 1+i%28, i, i%5, i)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func matched(t *testing.T, base, query string) int {
	t.Helper()
	return matchedAs(t, base, query, "")
}

// matchedAs counts with an API key (who wrote a report is for keys only).
func matchedAs(t *testing.T, base, query, key string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/collections/incidents/items?limit=1&"+query, nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var fc struct{ NumberMatched int }
	if err := json.NewDecoder(resp.Body).Decode(&fc); err != nil {
		t.Fatal(err)
	}
	return fc.NumberMatched
}

// TestImportToServer runs `troopmap import --server --key` with a file
// large enough for the progress bar, then a refused KML that stores nothing.
func TestImportToServer(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "server.gpkg")
	key := addKey(t, store, "carol", "analyst")
	// A generous deadline: an 8,000-row batch under -race on a busy machine
	// can take longer than the default 30 s.
	base := startServer(t, "--store", store, "--request-timeout", "5m")
	waitReady(t, base)
	before := matched(t, base, "")
	file := filepath.Join(dir, "incidents.csv")
	bigIncidentCSV(t, file, 8000)
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"import", file, "--collection", "incidents", "--server", base, "--key", key},
		func(string) string { return "" }, &stdout, &stderr)
	if err != nil {
		t.Fatalf("import: %v\n%s", err, stderr.String())
	}
	if !strings.HasPrefix(stdout.String(), "imported 8000 reports from incidents.csv into incidents") {
		t.Errorf("stdout %q", stdout.String())
	}
	if !strings.Contains(stderr.String(), "uploading incidents.csv [") || !strings.Contains(stderr.String(), "100%") {
		t.Errorf("no progress bar on stderr: %q", stderr.String())
	}
	if got := matched(t, base, ""); got != before+8000 {
		t.Fatalf("server holds %d incidents, want %d", got, before+8000)
	}
	if got := matchedAs(t, base, "created_by=carol", key); got != 8000 {
		t.Errorf("%d reports created by carol, want 8000", got)
	}

	bad := filepath.Join(dir, "bad.kml")
	kml := `<kml><Placemark><name>Depot</name><TimeStamp><when>2021-04-02</when></TimeStamp>
<ExtendedData><Data name="event_type"><value>picnic</value></Data></ExtendedData><Point><coordinates>37.5,48.1</coordinates></Point></Placemark></kml>`
	if err := os.WriteFile(bad, []byte(kml), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	stderr.Reset()
	err = run(context.Background(), []string{"import", bad, "--collection", "incidents", "--server", base, "--key", key},
		func(string) string { return "" }, &stdout, &stderr)
	if err == nil || !strings.Contains(stderr.String(), `placemark 1 ("Depot"), field ExtendedData event_type`) {
		t.Errorf("refused KML: %v\n%s", err, stderr.String())
	}
	if got := matched(t, base, ""); got != before+8000 {
		t.Errorf("a refused import changed the count: %d, want %d", got, before+8000)
	}
}

// TestExportFromStore runs `troopmap export --store` to a GeoPackage and a
// CSV and checks them with GDAL and the CSV decoder.
func TestExportFromStore(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "export.gpkg")
	file := filepath.Join(dir, "in.csv")
	bigIncidentCSV(t, file, 300)
	var stderr bytes.Buffer
	env := func(string) string { return "" }
	if err := run(context.Background(), []string{"import", file, "--collection", "incidents", "--store", store, "--as", "dana"}, env, io.Discard, &stderr); err != nil {
		t.Fatalf("import: %v\n%s", err, stderr.String())
	}
	gp := filepath.Join(dir, "out.gpkg")
	if err := run(context.Background(), []string{"export", "--collection", "incidents", "--store", store, "--out", gp, "created_by=dana", "fatalities.best=3"}, env, io.Discard, &stderr); err == nil {
		t.Errorf("a parameter that is not a queryable was accepted")
	}
	if err := run(context.Background(), []string{"export", "--collection", "incidents", "--store", store, "--out", gp, "created_by=dana"}, env, io.Discard, &stderr); err != nil {
		t.Fatalf("export gpkg: %v\n%s", err, stderr.String())
	}
	out, err := exec.Command("ogrinfo", "-ro", "-al", "-so", gp).CombinedOutput()
	if err != nil {
		t.Fatalf("ogrinfo: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "Feature Count: 300\n") || !strings.Contains(string(out), "\nactor1: String") {
		t.Errorf("ogrinfo of the export:\n%s", out)
	}
	csvPath := filepath.Join(dir, "out.csv")
	if err := run(context.Background(), []string{"export", "--collection", "incidents", "--store", store, "--out", csvPath, "created_by=dana", "bbox=36,48,36.5,48.5"}, env, io.Discard, &stderr); err != nil {
		t.Fatalf("export csv: %v\n%s", err, stderr.String())
	}
	body, err := os.ReadFile(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	schema, _ := layers.ReportSchema(layers.Incidents)
	b, err := formats.DecodeCSV(context.Background(), bytes.NewReader(body), schema)
	if err != nil {
		t.Fatal(err)
	}
	// Rows i with lon 36+(i%100)/100 <= 36.5 and lat 48+(i/100%50)/100 <= 48.5: i%100 <= 50, all 3 hundreds.
	if len(b.Features) != 3*51 {
		t.Errorf("bbox export has %d rows, want %d", len(b.Features), 3*51)
	}
}
