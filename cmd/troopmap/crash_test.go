package main

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"troopmap/layers/gpkg"
)

// send makes one write request to the real server.
func sendReq(method, url, key, ctype string, body []byte) (int, []byte, error) {
	req, _ := http.NewRequest(method, url, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// TestCrashDuringChangesAndStartup extends the kill -9 test to PATCH and
// DELETE (with batch uploads running beside them), to a kill while the
// server loads the store at startup, and to a store file truncated as by a
// full disk, which must stop the server with a clear error.
func TestCrashDuringChangesAndStartup(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test builds and kills the real binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "troopmap")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	store := filepath.Join(dir, "changes.gpkg")
	key := addKey(t, store, "crash-changes", "analyst")

	// Seed reports for the changes to aim at; enough that loading takes a
	// moment at startup.
	p := startProc(t, bin, store)
	var seeds []string
	for b := 0; b < 4; b++ {
		fs := make([]*geojson.Feature, 1500)
		for i := range fs {
			fs[i] = testIncident(i, "seed", orb.Point{37 + float64(i%100)*0.01, 48 + float64(b)*0.1})
		}
		resp, body, err := postJSON(p.base, "incidents", key, map[string]any{"type": "FeatureCollection", "features": fs})
		if err != nil || resp.StatusCode != 201 {
			t.Fatalf("seed batch: %v %.300s", err, body)
		}
		var out struct{ IDs []string }
		_ = json.Unmarshal(body, &out)
		seeds = append(seeds, out.IDs...)
	}
	_ = p.cmd.Process.Kill()

	const rounds, batchSize = 6, 20
	rng := rand.New(rand.NewPCG(3, 5))
	var mu sync.Mutex
	patched := map[string]int{} // id -> highest acknowledged version
	deleted := map[string]bool{}
	batches := map[string]bool{}
	var nPatch, nDelete, nBatch int
	for round := 0; round < rounds; round++ {
		p := startProc(t, bin, store)
		checkServed(t, p.base, store)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		worker := func(c int, do func(r *rand.Rand, n int) error) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(round), uint64(c)))
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				if do(r, n) != nil {
					return // the server is gone
				}
			}
		}
		item := func(id string) string { return p.base + "/collections/incidents/items/" + id }
		for c := 0; c < 2; c++ {
			wg.Add(1)
			go worker(c, func(r *rand.Rand, n int) error {
				id := seeds[r.IntN(len(seeds))]
				note := fmt.Sprintf("patch r%d c%d n%d", round, c, n)
				status, body, err := sendReq("PATCH", item(id), key, "application/merge-patch+json",
					[]byte(`{"properties":{"notes":"`+note+`"}}`))
				if err == nil && status == 200 {
					var f struct{ Properties struct{ Version int } }
					_ = json.Unmarshal(body, &f)
					mu.Lock()
					nPatch++
					patched[id] = max(patched[id], f.Properties.Version)
					mu.Unlock()
				}
				return err
			})
		}
		wg.Add(1)
		go worker(2, func(r *rand.Rand, n int) error {
			id := seeds[r.IntN(len(seeds))]
			status, _, err := sendReq("DELETE", item(id), key, "", nil)
			if err == nil && status == 204 {
				mu.Lock()
				nDelete++
				deleted[id] = true
				mu.Unlock()
			}
			return err
		})
		wg.Add(1)
		go worker(3, func(r *rand.Rand, n int) error {
			tag := fmt.Sprintf("batch r%d n%d", round, n)
			fs := make([]*geojson.Feature, batchSize)
			for i := range fs {
				fs[i] = testIncident(i, tag, orb.Point{38 + float64(i)*0.01, 47.5})
			}
			resp, _, err := postJSON(p.base, "incidents", key, map[string]any{"type": "FeatureCollection", "features": fs})
			if err == nil && resp.StatusCode == 201 {
				mu.Lock()
				nBatch++
				batches[tag] = true
				mu.Unlock()
			}
			return err
		})
		time.Sleep(time.Duration(100+rng.IntN(400)) * time.Millisecond)
		if err := p.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		close(stop)
		wg.Wait()
		checkChanges(t, store, patched, deleted, batches, batchSize)
	}
	t.Logf("%d kills during changes: %d patches, %d deletes, %d batches acknowledged", rounds, nPatch, nDelete, nBatch)
	if nPatch < rounds || nDelete < rounds {
		t.Fatalf("too few changes acknowledged (%d patches, %d deletes): the test did not load the server", nPatch, nDelete)
	}

	// Kill while the server opens and loads the store, at a few moments.
	before := fileCounts(t, store)
	for _, after := range []time.Duration{0, 30 * time.Millisecond, 120 * time.Millisecond, 400 * time.Millisecond} {
		cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--store", store)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(after)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if got := fileCounts(t, store); got != before {
			t.Fatalf("a kill %v into startup changed the store: %v, was %v", after, got, before)
		}
	}
	p = startProc(t, bin, store)
	checkServed(t, p.base, store)
	// A clean stop checkpoints the WAL into the file. startProc's goroutine
	// reaps the process; wait until it is gone (signal 0 fails).
	_ = p.cmd.Process.Signal(os.Interrupt)
	for deadline := time.Now().Add(30 * time.Second); p.cmd.Process.Signal(syscall.Signal(0)) == nil; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the server did not stop within 30s of SIGINT")
		}
	}

	// A truncated file must stop the server with a clear error.
	whole, err := os.ReadFile(store)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		size int
		want string
	}{
		{"empty", 0, "empty file"},
		{"first page only", 4096, "restore it from a copy"},
		{"half", len(whole) / 2, "restore it from a copy"},
		{"last page missing", len(whole) - 4096, "restore it from a copy"},
		{"mid-header", 10, "not a GeoPackage"},
	} {
		path := filepath.Join(dir, "truncated-"+strings.ReplaceAll(c.name, " ", "-")+".gpkg")
		if err := os.WriteFile(path, whole[:c.size], 0o644); err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--store", path)
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err == nil {
				t.Errorf("%s: the server exited 0 on a truncated store", c.name)
			}
			if !strings.Contains(stderr.String(), c.want) {
				t.Errorf("%s: the error does not say %q:\n%s", c.name, c.want, stderr.String())
			}
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("%s: the server kept running on a store truncated to %d of %d bytes:\n%s", c.name, c.size, len(whole), stderr.String())
		}
		if fi, err := os.Stat(path); err != nil || fi.Size() != int64(c.size) {
			t.Errorf("%s: the server changed the damaged file (%v)", c.name, err)
		}
	}
}

// fileCounts summarises a store file: rows and history rows.
func fileCounts(t *testing.T, store string) [2]int {
	t.Helper()
	db, err := sql.Open("sqlite", store)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var out [2]int
	if err := db.QueryRow(`SELECT count(*) FROM incidents`).Scan(&out[0]); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT count(*) FROM ` + gpkg.HistoryTable).Scan(&out[1]); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkChanges opens the store after a kill and checks every acknowledged
// change and the agreement of the feature table with the history.
func checkChanges(t *testing.T, store string, patched map[string]int, deleted, batches map[string]bool, batchSize int) {
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
	rows, err := db.Query(`SELECT id, version, notes FROM incidents`)
	if err != nil {
		t.Fatal(err)
	}
	current := map[string]int{}
	tags := map[string]int{}
	for rows.Next() {
		var id, notes string
		var v int
		if err := rows.Scan(&id, &v, &notes); err != nil {
			t.Fatal(err)
		}
		current[id] = v
		if strings.HasPrefix(notes, "batch ") {
			tags[notes]++
		}
	}
	rows.Close()
	for id, v := range patched {
		got, ok := current[id]
		switch {
		case deleted[id]:
		case !ok:
			t.Errorf("patched report %s is gone", id)
		case got < v:
			t.Errorf("report %s is at version %d; version %d was acknowledged", id, got, v)
		}
	}
	for id := range deleted {
		if _, ok := current[id]; ok {
			t.Errorf("acknowledged delete of %s lost: the report is current again", id)
		}
	}
	for tag, n := range tags {
		if n != batchSize {
			t.Errorf("batch %q is there in part: %d of %d", tag, n, batchSize)
		}
	}
	for tag := range batches {
		if tags[tag] != batchSize {
			t.Errorf("acknowledged batch %q lost: %d of %d", tag, tags[tag], batchSize)
		}
	}
	// The table and the history agree: each current report is at its
	// latest history version, and each report missing from the table was
	// last deleted.
	hrows, err := db.Query(`SELECT h.report_id, h.version, h.operation FROM ` + gpkg.HistoryTable + ` h
		JOIN (SELECT report_id, max(version) v FROM ` + gpkg.HistoryTable + ` WHERE collection='incidents' GROUP BY report_id) m
		ON h.report_id = m.report_id AND h.version = m.v WHERE h.collection='incidents'`)
	if err != nil {
		t.Fatal(err)
	}
	defer hrows.Close()
	seen := 0
	for hrows.Next() {
		var id, op string
		var v int
		if err := hrows.Scan(&id, &v, &op); err != nil {
			t.Fatal(err)
		}
		cur, ok := current[id]
		switch {
		case ok:
			seen++
			if cur != v {
				t.Errorf("report %s: table at version %d, history at %d", id, cur, v)
			}
		case op != "delete":
			t.Errorf("report %s is missing from the table but its last history entry is %q", id, op)
		}
	}
	if seen != len(current) {
		t.Errorf("%d current reports, %d with history", len(current), seen)
	}
}
