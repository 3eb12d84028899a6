package web

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/maptile"

	"troopmap/layers"
)

// Batch upload throughput, three ways in one run so that the ratios say
// where the time goes: the whole HTTP path (decode, validate, commit to the
// GeoPackage with synchronous=FULL, publish), validation alone, and the
// store commit alone.

const benchBatch = 10000

func benchEnv(b *testing.B) *writeEnv {
	return newWriteEnvRules(b, Config{}, layers.DefaultUploadRules())
}

func BenchmarkUploadBatch10k(b *testing.B) {
	e := benchEnv(b)
	bodies := make([][]byte, 0, 8)
	for i := 0; i < 8; i++ {
		bodies = append(bodies, collection(benchBatch, i*benchBatch))
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		rec := e.post(b, "incidents", bodies[i%len(bodies)], e.analyst)
		if rec.Code != 201 {
			b.Fatalf("POST = %d %.200s", rec.Code, rec.Body.String())
		}
	}
	b.ReportMetric(float64(benchBatch*b.N)/time.Since(start).Seconds(), "reports/s")
}

func BenchmarkValidateBatch10k(b *testing.B) {
	body := collection(benchBatch, 0)
	schema, _ := layers.ReportSchema(layers.Incidents)
	rules := layers.DefaultUploadRules()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		ds, _, err := layers.DecodeUpload(context.Background(), body, schema, rules)
		if err != nil || len(ds) != benchBatch {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(benchBatch*b.N)/time.Since(start).Seconds(), "reports/s")
}

func BenchmarkStoreCommit10k(b *testing.B) {
	e := benchEnv(b)
	schema, _ := layers.ReportSchema(layers.Incidents)
	ds, _, err := layers.DecodeUpload(context.Background(), collection(benchBatch, 0), schema, layers.DefaultUploadRules())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		revs := make([]layers.Revision, len(ds))
		now := time.Now()
		for j, d := range ds {
			id := fmt.Sprintf("b%d-%d", i, j)
			props := map[string]any{"id": id, "version": 1, "created_by": "bench", "verification": "submitted"}
			for k, v := range d.Properties {
				props[k] = v
			}
			revs[j] = layers.Revision{Collection: layers.Incidents, ID: id, Version: 1, Op: layers.OpCreate, Actor: "bench", Time: now,
				Feature: layers.NewFeature(id, d.Geometry, props)}
		}
		if err := e.store.Commit(context.Background(), layers.Commit{Revisions: revs}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(benchBatch*b.N)/time.Since(start).Seconds(), "reports/s")
}

// TestVisibleRightAfterAck measures how long after a POST's 201 the report
// shows in /items and in a vector tile: the very next request must see it
// (the write is published before it is acknowledged), so the figure is the
// time of that one request. It logs the median and the slowest of 50.
func TestVisibleRightAfterAck(t *testing.T) {
	e := newWriteEnv(t, Config{})
	var items, tiles []time.Duration
	for i := 0; i < 50; i++ {
		f := incidentFeature(1000 + i)
		rec := e.post(t, "incidents", mustJSON(f), e.analyst)
		acked := time.Now()
		if rec.Code != 201 {
			t.Fatalf("POST = %d", rec.Code)
		}
		var created struct{ ID string }
		_ = json.Unmarshal(rec.Body.Bytes(), &created)
		pt := orb.Point{f["geometry"].(map[string]any)["coordinates"].([]float64)[0], f["geometry"].(map[string]any)["coordinates"].([]float64)[1]}

		q := fmt.Sprintf("/collections/incidents/items?bbox=%g,%g,%g,%g&limit=1000", pt[0]-1e-6, pt[1]-1e-6, pt[0]+1e-6, pt[1]+1e-6)
		got := send(t, e.h, "GET", q, nil)
		if got.Code != 200 || !json.Valid(got.Body.Bytes()) || !containsID(got.Body.Bytes(), created.ID) {
			t.Fatalf("report %s not in the first items request after its 201: %d", created.ID, got.Code)
		}
		items = append(items, time.Since(acked))

		tile := maptile.At(pt, 15)
		tileAcked := time.Now()
		tr := send(t, e.h, "GET", fmt.Sprintf("/tiles/incidents/%d/%d/%d.mvt", tile.Z, tile.X, tile.Y), nil)
		if tr.Code != 200 {
			t.Fatalf("tile = %d %s", tr.Code, tr.Body)
		}
		ls, err := mvt.Unmarshal(tr.Body.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, l := range ls {
			for _, tf := range l.Features {
				found = found || tf.Properties["id"] == created.ID
			}
		}
		if !found {
			t.Fatalf("report %s not in the first tile request after its 201", created.ID)
		}
		tiles = append(tiles, time.Since(tileAcked)+tileAcked.Sub(acked))
	}
	med := func(ds []time.Duration) (time.Duration, time.Duration) {
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		return ds[len(ds)/2], ds[len(ds)-1]
	}
	im, ix := med(items)
	tm, tx := med(tiles)
	t.Logf("from 201 to visible: items median %v (max %v); tile median %v (max %v)", im, ix, tm, tx)
}

func containsID(body []byte, id string) bool {
	var fc struct{ Features []struct{ ID string } }
	if json.Unmarshal(body, &fc) != nil {
		return false
	}
	for _, f := range fc.Features {
		if f.ID == id {
			return true
		}
	}
	return false
}
