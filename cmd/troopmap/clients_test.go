package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Real clients against the real binary: GDAL's OAPIF driver (ogrinfo,
// ogr2ogr) and OWSLib. The binary is built once, loads a generated report
// file of a few thousand reports (troopmap gen) and listens on a free port.
// The packages come from .ci/install; a missing client fails the test
// rather than skipping it.

type realServer struct {
	base   string
	mu     sync.Mutex
	stderr bytes.Buffer // the server's log, for checking what clients sent
}

func (s *realServer) log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stderr.String()
}

func requireTool(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s is missing: run `bash .ci/install` (it installs the Debian packages the tests drive)", path)
	}
}

// TestRealClients builds troopmap, generates reports, starts the server once
// and runs every client against it.
func TestRealClients(t *testing.T) {
	s := launchReal(t)
	t.Run("GDALListsEveryLayerWithExactCounts", func(t *testing.T) { testGDALCounts(t, s) })
	t.Run("GDALSpatialAndAttributeFiltersMatchTheServer", func(t *testing.T) { testGDALFilters(t, s) })
	t.Run("GDALExportsManyPagesWithoutLossOrDuplicates", func(t *testing.T) { testGDALPaging(t, s) })
	t.Run("OWSLib", func(t *testing.T) { testOWSLib(t, s) })
}

// launchReal builds the binary into a temporary directory, writes a report
// file with troopmap gen and starts troopmap serve on a free port; the
// server is stopped (SIGINT, then SIGKILL after 10s) when the test ends.
func launchReal(t *testing.T) *realServer {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "troopmap")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	reports := filepath.Join(dir, "reports.geojson")
	if out, err := exec.Command(bin, "gen", "--reports", "3000", "--seed", "11", "--out", reports).CombinedOutput(); err != nil {
		t.Fatalf("troopmap gen: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--reports", reports)
	s := &realServer{}
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		pw.Close()
	})
	addr := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`msg=listening addr=(\S+)`)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			s.mu.Lock()
			s.stderr.WriteString(sc.Text() + "\n")
			s.mu.Unlock()
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	select {
	case a := <-addr:
		s.base = "http://" + a
	case <-time.After(30 * time.Second):
		t.Fatalf("the server did not log its address within 30s:\n%s", s.log())
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(s.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server was not ready within 60s:\n%s", s.log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// serverIDs pages through the server's own answer to an items query.
func serverIDs(t *testing.T, base, collection string, q url.Values) (ids []string, matched int) {
	t.Helper()
	q.Set("limit", "10000")
	next := base + "/collections/" + collection + "/items?" + q.Encode()
	for next != "" {
		var fc struct {
			NumberMatched int
			Features      []struct{ ID string }
			Links         []struct{ Href, Rel string }
		}
		getJSONURL(t, next, &fc)
		matched = fc.NumberMatched
		for _, f := range fc.Features {
			ids = append(ids, f.ID)
		}
		next = ""
		for _, l := range fc.Links {
			if l.Rel == "next" {
				next = l.Href
			}
		}
	}
	sort.Strings(ids)
	return ids, matched
}

func getJSONURL(t *testing.T, u string, v any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s = %d: %s", u, resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
}

func runTool(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "GDAL_HTTP_TIMEOUT=60", "CPL_DEBUG=OFF")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// ogrExport runs ogr2ogr on one layer with extra arguments and returns the
// ids of the features it wrote.
func ogrExport(t *testing.T, base, layer string, args ...string) []string {
	t.Helper()
	requireTool(t, "/usr/bin/ogr2ogr")
	out := filepath.Join(t.TempDir(), "out.geojson")
	all := append([]string{"-f", "GeoJSON", out, "OAPIF:" + base, layer}, args...)
	runTool(t, "ogr2ogr", all...)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var fc struct {
		Features []struct{ Properties map[string]any }
	}
	if err := json.Unmarshal(b, &fc); err != nil {
		t.Fatalf("ogr2ogr output: %v", err)
	}
	ids := []string{}
	for _, f := range fc.Features {
		id, _ := f.Properties["id"].(string)
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

func testGDALCounts(t *testing.T, s *realServer) {
	requireTool(t, "/usr/bin/ogrinfo")
	out := runTool(t, "ogrinfo", "-ro", "OAPIF:"+s.base, "-al", "-so")
	counts := map[string]int{}
	var layer string
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "Layer name: "); ok {
			layer = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(line, "Feature Count: "); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				t.Fatalf("feature count line %q", line)
			}
			counts[layer] = n
		}
	}
	var cols struct{ Collections []struct{ ID string } }
	getJSONURL(t, s.base+"/collections", &cols)
	if len(cols.Collections) < 7 {
		t.Fatalf("only %d collections", len(cols.Collections))
	}
	for _, c := range cols.Collections {
		var fc struct{ NumberMatched int }
		getJSONURL(t, s.base+"/collections/"+c.ID+"/items?limit=1", &fc)
		n, ok := counts[c.ID]
		if !ok {
			t.Errorf("ogrinfo does not list %s:\n%s", c.ID, out)
			continue
		}
		if n != fc.NumberMatched || n == 0 {
			t.Errorf("%s: ogrinfo counts %d, numberMatched %d", c.ID, n, fc.NumberMatched)
		}
	}
	if len(counts) != len(cols.Collections) {
		t.Errorf("ogrinfo lists %d layers, the server has %d collections", len(counts), len(cols.Collections))
	}
}

func testGDALFilters(t *testing.T, s *realServer) {
	for _, c := range []struct {
		name, layer string
		args        []string
		server      url.Values
	}{
		{"-spat", "incidents", []string{"-spat", "37", "47", "39", "49"}, url.Values{"bbox": {"37,47,39,49"}}},
		{"-where on a declared query parameter", "troop-concentrations", []string{"-where", "side = 'ru'"}, url.Values{"side": {"ru"}}},
		{"-where pushed down as CQL", "troop-concentrations", []string{"-where", "side = 'ua' AND echelon = 'brigade'"},
			url.Values{"filter": {"side = 'ua' AND echelon = 'brigade'"}}},
		{"-spat and -where", "incidents", []string{"-spat", "36", "46", "40", "50", "-where", "event_type = 'battles'"},
			url.Values{"bbox": {"36,46,40,50"}, "event_type": {"battles"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := ogrExport(t, s.base, c.layer, append(c.args, "-oo", "PAGE_SIZE=1000")...)
			want, matched := serverIDs(t, s.base, c.layer, c.server)
			if matched == 0 || matched != len(want) {
				t.Fatalf("server matched %d (%d ids): the case tests nothing", matched, len(want))
			}
			if !slices.Equal(got, want) {
				t.Errorf("GDAL returned %d features, the server's own query %d", len(got), len(want))
			}
		})
	}
	// The CQL case must really have been answered by the server, not by GDAL
	// filtering a full download.
	if !strings.Contains(s.log(), "filter-lang=cql-text") {
		t.Errorf("GDAL never sent a CQL filter; server log:\n%s", s.log())
	}
}

func testGDALPaging(t *testing.T, s *realServer) {
	want, matched := serverIDs(t, s.base, "incidents", url.Values{})
	if matched <= 1000 {
		t.Fatalf("incidents holds only %d features; the test needs more than 1,000", matched)
	}
	got := ogrExport(t, s.base, "incidents", "-oo", "PAGE_SIZE=300")
	seen := map[string]bool{}
	for _, id := range got {
		if seen[id] {
			t.Errorf("%s exported twice", id)
		}
		seen[id] = true
	}
	if !slices.Equal(got, want) {
		t.Errorf("ogr2ogr exported %d features, the layer has %d", len(got), len(want))
	}
	pages := strings.Count(s.log(), "uri=\"/collections/incidents/items?limit=300")
	if pages < (matched+299)/300 {
		t.Errorf("ogr2ogr read %d pages of 300 for %d features", pages, matched)
	}
}

func testOWSLib(t *testing.T, s *realServer) {
	requireTool(t, "/usr/lib/python3/dist-packages/owslib")
	script := `
import json, sys
from owslib.ogcapi.features import Features
w = Features(sys.argv[1])
out = {}
out["collections"] = sorted(w.feature_collections())
out["conformance"] = w.conformance()["conformsTo"]
q = w.collection_queryables("incidents")
out["queryables"] = sorted(q["properties"].keys())
items = w.collection_items("incidents", bbox=[37, 47, 39, 49], datetime="2021-06-01T00:00:00Z/..", limit=10000)
out["ids"] = sorted(f["id"] for f in items["features"])
out["matched"] = items["numberMatched"]
print(json.dumps(out))
`
	out := runTool(t, "/usr/bin/python3", "-c", script, s.base+"/")
	var got struct {
		Collections, Conformance, Queryables, IDs []string
		Matched                                   int
	}
	if err := json.Unmarshal([]byte(out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:]), &got); err != nil {
		t.Fatalf("OWSLib output: %v\n%s", err, out)
	}
	var cols struct{ Collections []struct{ ID string } }
	getJSONURL(t, s.base+"/collections", &cols)
	var want []string
	for _, c := range cols.Collections {
		want = append(want, c.ID)
	}
	sort.Strings(want)
	if !slices.Equal(got.Collections, want) {
		t.Errorf("feature_collections() = %v, want %v", got.Collections, want)
	}
	if !slices.Contains(got.Conformance, "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core") {
		t.Errorf("conformance %v", got.Conformance)
	}
	for _, q := range []string{"event_type", "observed_at", "geometry"} {
		if !slices.Contains(got.Queryables, q) {
			t.Errorf("collection_queryables lacks %s: %v", q, got.Queryables)
		}
	}
	ids, matched := serverIDs(t, s.base, "incidents", url.Values{"bbox": {"37,47,39,49"}, "datetime": {"2021-06-01T00:00:00Z/.."}})
	if matched == 0 || got.Matched != matched || !slices.Equal(got.IDs, ids) {
		t.Errorf("collection_items: %d features (numberMatched %d), the server's own query %d", len(got.IDs), got.Matched, matched)
	}
}
