package main

import (
	"bytes"
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"troopmap/layers/gpkg"
)

// TestBackupWhileServing takes backups with `troopmap backup` while clients
// upload to the running server: each copy opens, passes integrity_check and
// agrees with itself (every report has its history); one taken when the
// uploads have stopped holds exactly the live store's rows.
func TestBackupWhileServing(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "live.gpkg")
	key := addKey(t, store, "backup-test", "analyst")
	base := startServer(t, "--store", store)
	waitReady(t, base)

	var stop atomic.Bool
	var wg sync.WaitGroup
	var acked atomic.Int64
	for c := 0; c < 2; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; !stop.Load(); n++ {
				fs := make([]*geojson.Feature, 50)
				for i := range fs {
					fs[i] = testIncident(i, "backup", orb.Point{37 + float64(i)*0.01, 48})
				}
				resp, _, err := postJSON(base, "incidents", key, map[string]any{"type": "FeatureCollection", "features": fs})
				if err != nil {
					t.Error(err)
					return
				}
				if resp.StatusCode == 201 {
					acked.Add(1)
				}
			}
		}()
	}
	backup := func(name string) string {
		t.Helper()
		to := filepath.Join(dir, name)
		var stderr bytes.Buffer
		if err := run(context.Background(), []string{"backup", "--store", store, "--to", to}, func(string) string { return "" }, &bytes.Buffer{}, &stderr); err != nil {
			t.Fatalf("backup: %v\n%s", err, stderr.String())
		}
		if !strings.Contains(stderr.String(), "backup written and checked") {
			t.Fatalf("backup output: %s", stderr.String())
		}
		return to
	}
	for i := 0; i < 3; i++ {
		to := backup("during-" + string(rune('a'+i)) + ".gpkg")
		cp := openChecked(t, to)
		var noHistory int
		_ = cp.DB().QueryRow(`SELECT count(*) FROM incidents i WHERE NOT EXISTS (SELECT 1 FROM ` + gpkg.HistoryTable + ` h WHERE h.report_id = i.id)`).Scan(&noHistory)
		if noHistory > 0 {
			t.Fatalf("copy %s holds %d reports without history: not one snapshot", to, noHistory)
		}
		var partial int
		_ = cp.DB().QueryRow(`SELECT count(*) FROM (SELECT time FROM ` + gpkg.HistoryTable + ` WHERE actor = 'backup-test' GROUP BY time HAVING count(*) % 50 != 0)`).Scan(&partial)
		if partial > 0 {
			t.Fatalf("copy %s holds part of a batch", to)
		}
		cp.Close()
	}
	stop.Store(true)
	wg.Wait()
	if acked.Load() == 0 {
		t.Fatal("no upload was acknowledged while backing up")
	}
	to := backup("after.gpkg")
	cp := openChecked(t, to)
	defer cp.Close()
	live, err := gpkg.Open(context.Background(), store, reportSchemas())
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	for _, q := range []string{`SELECT id FROM incidents ORDER BY id`, `SELECT report_id || ':' || version FROM ` + gpkg.HistoryTable + ` ORDER BY fid`} {
		if a, b := column(t, live, q), column(t, cp, q); !reflect.DeepEqual(a, b) {
			t.Fatalf("%s: live has %d rows, the copy %d", q, len(a), len(b))
		}
	}
	if err := run(context.Background(), []string{"backup", "--store", store, "--to", to}, func(string) string { return "" }, &bytes.Buffer{}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "exists already") {
		t.Fatalf("backup over an existing file: %v", err)
	}
}

func openChecked(t *testing.T, path string) *gpkg.Store {
	t.Helper()
	cp, err := gpkg.Open(context.Background(), path, reportSchemas())
	if err != nil {
		t.Fatalf("the copy does not open: %v", err)
	}
	if probs, err := cp.IntegrityCheck(context.Background()); err != nil || len(probs) > 0 {
		t.Fatalf("integrity_check of the copy: %v %v", probs, err)
	}
	return cp
}

func column(t *testing.T, s *gpkg.Store, q string) []string {
	t.Helper()
	rows, err := s.DB().Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}
