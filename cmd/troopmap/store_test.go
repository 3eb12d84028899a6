package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
	_ "modernc.org/sqlite"

	"troopmap/data"
	"troopmap/layers"
	"troopmap/layers/gpkg"
)

// addKey runs `troopmap keys add` against a store and returns the key.
func addKey(t *testing.T, store, name, role string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"keys", "add", "--store", store, "--name", name, "--role", role},
		func(string) string { return "" }, &out, &errOut)
	if err != nil {
		t.Fatalf("keys add: %v\n%s", err, errOut.String())
	}
	return strings.TrimSpace(out.String())
}

func testIncident(i int, tag string, g orb.Geometry) *geojson.Feature {
	f := geojson.NewFeature(g)
	f.Properties = geojson.Properties{
		"observed_at": "2021-04-10T06:00:00Z", "time_precision": "day", "geo_precision": "town",
		"sources":            []any{map[string]any{"url": "https://example.org/r/" + strconv.Itoa(i)}},
		"source_reliability": "c", "info_credibility": "3", "sensitivity": "public",
		"event_type": "battles", "actor1": "Military forces of Russia", "notes": tag,
	}
	return f
}

func testTroops(i int, g orb.Geometry) *geojson.Feature {
	f := geojson.NewFeature(g)
	f.Properties = geojson.Properties{
		"observed_at": "2021-04-10T06:00:00Z", "time_precision": "day", "geo_precision": "town",
		"sources":            []any{map[string]any{"url": "https://example.org/t/" + strconv.Itoa(i)}},
		"source_reliability": "b", "info_credibility": "2", "sensitivity": "public",
		"side": "ru", "echelon": "battalion", "unit_function": "armor", "posture": "staging",
	}
	return f
}

func postJSON(base, coll, key string, v any, hdr ...string) (*http.Response, []byte, error) {
	body, _ := json.Marshal(v)
	req, _ := http.NewRequest("POST", base+"/collections/"+coll+"/items", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/geo+json")
	req.Header.Set("Authorization", "Bearer "+key)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

// TestGDALReadsTheStore uploads points, lines and polygons over HTTP, then
// checks with GDAL's own GeoPackage driver that the file lists both report
// layers with the right counts and holds exactly the uploaded geometries.
func TestGDALReadsTheStore(t *testing.T) {
	requireTool(t, "/usr/bin/ogrinfo")
	store := filepath.Join(t.TempDir(), "troopmap.gpkg")
	key := addKey(t, store, "gdal-test", "analyst")
	base := startServer(t, "--store", store)
	waitReady(t, base)

	var incidents, troops []*geojson.Feature
	for i := 0; i < 40; i++ {
		// Coordinates with few digits: GDAL's GeoJSON writer keeps 15
		// significant digits, so 36.300000000000004 would come back shorter.
		r := func(v float64) float64 { return math.Round(v*1e4) / 1e4 }
		x, y := r(36+float64(i)*0.05), r(47.5+float64(i%7)*0.1)
		var g orb.Geometry = orb.Point{x, y}
		switch i % 3 {
		case 1:
			g = orb.LineString{{x, y}, {r(x + 0.1), r(y + 0.05)}, {r(x + 0.2), y}}
		case 2:
			g = orb.Polygon{{{x, y}, {r(x + 0.1), y}, {r(x + 0.1), r(y + 0.1)}, {x, r(y + 0.1)}, {x, y}}}
		}
		incidents = append(incidents, testIncident(i, "gdal", g))
	}
	for i := 0; i < 15; i++ {
		troops = append(troops, testTroops(i, orb.Point{math.Round((38+float64(i)*0.01)*1e4) / 1e4, 49.25}))
	}
	uploaded := map[string]orb.Geometry{}
	for coll, fs := range map[string][]*geojson.Feature{"incidents": incidents, "troop-concentrations": troops} {
		resp, body, err := postJSON(base, coll, key, map[string]any{"type": "FeatureCollection", "features": fs})
		if err != nil || resp.StatusCode != 201 {
			t.Fatalf("POST %s: %v %s", coll, err, body)
		}
		var out struct{ IDs []string }
		_ = json.Unmarshal(body, &out)
		for i, id := range out.IDs {
			uploaded[id] = fs[i].Geometry
		}
	}
	want := map[string]int{}
	for _, coll := range []string{"incidents", "troop-concentrations"} {
		s, err := data.SampleReports(coll)
		if err != nil {
			t.Fatal(err)
		}
		want[gpkg.TableName(coll)] = len(s)
	}
	want["incidents"] += len(incidents)
	want["troop_concentrations"] += len(troops)

	out := runTool(t, "ogrinfo", "-ro", "-al", "-so", store)
	got := map[string]int{}
	var layer string
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "Layer name: "); ok {
			layer = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(line, "Feature Count: "); ok {
			got[layer], _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	for l, n := range want {
		if got[l] != n {
			t.Errorf("ogrinfo: layer %s has %d features, want %d\n%s", l, got[l], n, out)
		}
	}
	if !strings.Contains(out, "report_history") {
		t.Errorf("ogrinfo does not list the history table:\n%s", out)
	}

	for _, table := range []string{"incidents", "troop_concentrations"} {
		dst := filepath.Join(t.TempDir(), table+".geojson")
		runTool(t, "ogr2ogr", "-f", "GeoJSON", dst, store, table)
		b, err := os.ReadFile(dst)
		if err != nil {
			t.Fatal(err)
		}
		fc, err := geojson.UnmarshalFeatureCollection(b)
		if err != nil {
			t.Fatal(err)
		}
		checked := 0
		for _, f := range fc.Features {
			id, _ := f.Properties["id"].(string)
			g, ok := uploaded[id]
			if !ok {
				continue
			}
			checked++
			if !orb.Equal(g, f.Geometry) {
				t.Errorf("%s %s: GDAL reads %v, uploaded %v", table, id, f.Geometry, g)
			}
		}
		if want := map[string]int{"incidents": len(incidents), "troop_concentrations": len(troops)}[table]; checked != want {
			t.Errorf("%s: GDAL gave back %d of the %d uploaded reports", table, checked, want)
		}
	}
}

// proc is the real troopmap binary running `serve`.
type proc struct {
	cmd  *exec.Cmd
	base string
}

func startProc(t *testing.T, bin, store string) *proc {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--store", store, "--log-level", "info")
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`msg=listening addr=(\S+)`)
		buf := make([]byte, 0, 4096)
		tmp := make([]byte, 4096)
		for {
			n, err := pr.Read(tmp)
			buf = append(buf, tmp[:n]...)
			if m := re.FindSubmatch(buf); m != nil {
				addr <- string(m[1])
				_, _ = io.Copy(io.Discard, pr)
				return
			}
			if err != nil {
				return
			}
		}
	}()
	p := &proc{cmd: cmd}
	select {
	case a := <-addr:
		p.base = "http://" + a
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("server did not start")
	}
	go func() { _ = cmd.Wait(); pw.Close() }()
	waitReady(t, p.base)
	return p
}

// TestCrashKeepsEveryAcknowledgedReport runs the real binary, uploads from
// several clients at once and kills the process with SIGKILL at random
// moments, 11 times. After each kill it checks the file: integrity_check is
// ok, every acknowledged batch is there whole, no batch is there in part,
// and the history matches the feature table; after each restart the server
// serves exactly what the file holds.
func TestCrashKeepsEveryAcknowledgedReport(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test builds and kills the real binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "troopmap")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	store := filepath.Join(dir, "crash.gpkg")
	key := addKey(t, store, "crash-test", "analyst")
	const batchSize, clients, rounds = 25, 4, 11
	rng := rand.New(rand.NewPCG(7, 11))
	acked := map[string]bool{} // batch tags answered 201
	var mu sync.Mutex
	sent := 0
	start := time.Now()
	for round := 0; round < rounds; round++ {
		p := startProc(t, bin, store)
		checkServed(t, p.base, store)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for c := 0; c < clients; c++ {
			wg.Add(1)
			go func(c int) {
				defer wg.Done()
				for n := 0; ; n++ {
					select {
					case <-stop:
						return
					default:
					}
					tag := fmt.Sprintf("r%d-c%d-n%d", round, c, n)
					fs := make([]*geojson.Feature, batchSize)
					for i := range fs {
						fs[i] = testIncident(i, tag, orb.Point{37 + float64(i)*0.01, 48 + float64(c)*0.1})
					}
					resp, _, err := postJSON(p.base, "incidents", key, map[string]any{"type": "FeatureCollection", "features": fs})
					mu.Lock()
					sent++
					if err == nil && resp.StatusCode == 201 {
						acked[tag] = true
					}
					mu.Unlock()
					if err != nil {
						return // the server is gone
					}
				}
			}(c)
		}
		time.Sleep(time.Duration(30+rng.IntN(300)) * time.Millisecond)
		if err := p.cmd.Process.Kill(); err != nil { // SIGKILL: no shutdown code runs
			t.Fatal(err)
		}
		close(stop)
		wg.Wait()
		checkFile(t, store, acked, batchSize)
	}
	p := startProc(t, bin, store)
	checkServed(t, p.base, store)
	_ = p.cmd.Process.Kill()
	t.Logf("%d kills in %v; %d batches sent, %d acknowledged", rounds, time.Since(start).Round(time.Millisecond), sent, len(acked))
	if len(acked) < rounds {
		t.Fatalf("only %d batches acknowledged over %d rounds: the test did not load the server", len(acked), rounds)
	}
}

// checkFile opens the store file after a kill, with a plain SQLite
// connection, and checks it.
func checkFile(t *testing.T, store string, acked map[string]bool, batchSize int) {
	t.Helper()
	db, err := sql.Open("sqlite", store)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var ic string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&ic); err != nil || ic != "ok" {
		t.Fatalf("integrity_check = %q, %v", ic, err)
	}
	rows, err := db.Query(`SELECT notes, count(*) FROM incidents WHERE notes LIKE 'r%-c%-n%' GROUP BY notes`)
	if err != nil {
		t.Fatal(err)
	}
	present := map[string]int{}
	for rows.Next() {
		var tag string
		var n int
		if err := rows.Scan(&tag, &n); err != nil {
			t.Fatal(err)
		}
		present[tag] = n
	}
	rows.Close()
	for tag, n := range present {
		if n != batchSize {
			t.Errorf("batch %s is there in part: %d of %d reports", tag, n, batchSize)
		}
	}
	for tag := range acked {
		if present[tag] != batchSize {
			t.Errorf("acknowledged batch %s lost: %d of %d reports", tag, present[tag], batchSize)
		}
	}
	var feats, hist int
	_ = db.QueryRow(`SELECT count(*) FROM incidents`).Scan(&feats)
	_ = db.QueryRow(`SELECT count(*) FROM ` + gpkg.HistoryTable + ` WHERE collection = 'incidents'`).Scan(&hist)
	if feats != hist {
		t.Errorf("incidents has %d rows but %d history rows", feats, hist)
	}
}

// checkServed compares the running server's count with the file's.
func checkServed(t *testing.T, base, store string) {
	t.Helper()
	var ready struct{ Layers map[string]int }
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	_ = json.NewDecoder(resp.Body).Decode(&ready)
	resp.Body.Close()
	db, err := sql.Open("sqlite", store+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM incidents`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if ready.Layers[layers.Incidents] != n {
		t.Fatalf("after restart the server holds %d incidents, the file %d", ready.Layers[layers.Incidents], n)
	}
}

// TestImportIntoStore runs `troopmap import --store`: the file goes through
// the in-process server, so it is validated and committed like an upload.
func TestImportIntoStore(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "import.gpkg")
	head := "lon,lat,observed_at,time_precision,geo_precision,sources,source_reliability,info_credibility,sensitivity,event_type,actor1\n"
	row := "37.5,48.1,2021-04-02T00:00:00Z,day,town,https://example.org/a,b,2,public,battles,Military forces of Russia\n"
	good, bad := filepath.Join(dir, "good.csv"), filepath.Join(dir, "bad.csv")
	_ = os.WriteFile(good, []byte(head+row+row+row), 0o644)
	_ = os.WriteFile(bad, []byte(head+row+strings.Replace(row, "battles", "picnic", 1)), 0o644)
	imp := func(path string) (string, error) {
		var stderr bytes.Buffer
		err := run(context.Background(), []string{"import", path, "--collection", "incidents", "--store", store, "--as", "bob"},
			func(string) string { return "" }, io.Discard, &stderr)
		return stderr.String(), err
	}
	if msg, err := imp(good); err != nil {
		t.Fatalf("import: %v\n%s", err, msg)
	}
	msg, err := imp(bad)
	if err == nil || !strings.Contains(msg, "row 3") {
		t.Fatalf("bad import: %v\n%s", err, msg)
	}
	db, err := sql.Open("sqlite", store)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM incidents WHERE created_by = 'bob'`).Scan(&n); err != nil || n != 3 {
		t.Fatalf("store holds %d reports by bob (%v), want 3", n, err)
	}
}

// TestKeysCommands drives keys add, list and revoke, and checks that the
// server honours them at once: a revoked key gets 401, a new key works
// without a restart, and the key's name becomes created_by.
func TestKeysCommands(t *testing.T) {
	store := filepath.Join(t.TempDir(), "keys.gpkg")
	keys := func(args ...string) (string, string, error) {
		var out, errOut bytes.Buffer
		err := run(context.Background(), append([]string{"keys"}, append(args, "--store", store)...),
			func(string) string { return "" }, &out, &errOut)
		return out.String(), errOut.String(), err
	}
	alice := addKey(t, store, "alice", "analyst")
	if _, _, err := keys("add", "--name", "alice", "--role", "editor"); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("duplicate name: %v", err)
	}
	if _, _, err := keys("add", "--name", "x", "--role", "god"); err == nil || !strings.Contains(err.Error(), "role") {
		t.Fatalf("bad role: %v", err)
	}
	base := startServer(t, "--store", store)
	waitReady(t, base)
	f := testIncident(1, "keys", orb.Point{37.5, 48.5})
	resp, body, err := postJSON(base, "incidents", alice, f)
	if err != nil || resp.StatusCode != 201 || !strings.Contains(string(body), `"created_by":"alice"`) {
		t.Fatalf("POST with alice's key: %v %s", err, body)
	}
	bob := addKey(t, store, "bob", "editor") // added while the server runs
	if resp, body, _ := postJSON(base, "incidents", bob, f); resp.StatusCode != 201 {
		t.Fatalf("POST with a key added while serving: %d %s", resp.StatusCode, body)
	}
	if _, _, err := keys("revoke", "--name", "alice"); err != nil {
		t.Fatal(err)
	}
	if resp, body, _ := postJSON(base, "incidents", alice, f); resp.StatusCode != 401 || !strings.Contains(string(body), "troopmap keys add") {
		t.Fatalf("POST with a revoked key: %d %s", resp.StatusCode, body)
	}
	out, _, err := keys("list")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`alice\s+analyst\s+\S+\s+revoked`).MatchString(out) || !regexp.MustCompile(`bob\s+editor\s+\S+\s+active`).MatchString(out) {
		t.Fatalf("keys list:\n%s", out)
	}
	if strings.Contains(out, alice) || strings.Contains(out, bob) {
		t.Fatal("keys list shows a secret")
	}
	db, err := sql.Open("sqlite", store)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	_ = db.QueryRow(`SELECT count(*) FROM troopmap_keys WHERE instr(hash, ?) > 0 OR instr(salt, ?) > 0`, alice, alice).Scan(&n)
	id, secret, _ := layers.ParseToken(alice)
	var stored int
	_ = db.QueryRow(`SELECT count(*) FROM troopmap_keys WHERE id = ? AND hash != ?`, id, secret).Scan(&stored)
	if n != 0 || stored != 1 {
		t.Fatalf("the store holds the key in clear (%d) or lost it (%d)", n, stored)
	}
}
