package web

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"reflect"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"troopmap/layers"
	"troopmap/layers/synth"
)

// benchFeatures returns n synthetic reports, as the store holds them.
func benchFeatures(tb testing.TB, n int) []*layers.Feature {
	tb.Helper()
	var fs []*layers.Feature
	err := synth.Generate(context.Background(), n, 1, nil, func(r synth.Report) error {
		fs = append(fs, r.Feature)
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return fs
}

// TestStreamEqualsEncodingJSON checks that the streamed collection decodes
// to what encoding/json makes of the same features.
func TestStreamEqualsEncodingJSON(t *testing.T) {
	fs := benchFeatures(t, 300)
	fs = append(fs,
		layers.NewFeature("poly", orb.Polygon{{{0, 0}, {1, 0}, {1, 1}, {0, 0}}}, map[string]any{"s": "<&>\u2028\x01\"\\", "n": 1e-9, "big": 1e21, "neg": -0.5}),
		layers.NewFeature("mp", orb.MultiPolygon{{{{0, 0}, {1, 0}, {1, 1}, {0, 0}}}}, map[string]any{"nested": map[string]any{"a": []any{1.0, "x", nil, true}}}),
		layers.NewFeature("ml", orb.MultiLineString{{{0, 0}, {1, 1}}}, map[string]any{"i": 1}),
		layers.NewFeature("c", orb.Collection{orb.Point{1, 2}, orb.LineString{{0, 0}, {1, 1}}}, map[string]any{"i": int64(2)}),
		layers.NewFeature("none", nil, map[string]any{"k": "v"}),
	)
	var buf bytes.Buffer
	head := collectionHead{Matched: 1234, Returned: len(fs), TimeStamp: time.Date(2021, 4, 1, 0, 0, 0, 0, time.UTC),
		Links: []link{{Href: "http://x/a?b=c&d=e", Rel: "self", Type: mimeGeoJSON}}}
	if err := writeFeatureCollection(context.Background(), &buf, head, fs, &encodeOpts{}); err != nil {
		t.Fatal(err)
	}
	var got any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("streamed output is not JSON: %v", err)
	}
	fc := geojson.NewFeatureCollection()
	for _, f := range fs {
		gf := geojson.NewFeature(f.Geometry)
		gf.ID = f.ID
		gf.Properties = f.Props.Map()
		fc.Append(gf)
	}
	fc.ExtraMembers = geojson.Properties{"numberMatched": 1234, "numberReturned": len(fs), "timeStamp": "2021-04-01T00:00:00Z",
		"links": []any{map[string]any{"href": "http://x/a?b=c&d=e", "rel": "self", "type": mimeGeoJSON}}}
	raw, err := json.Marshal(fc)
	if err != nil {
		t.Fatal(err)
	}
	var want any
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	// (orb writes empty properties as null, we write {}: both are GeoJSON, so the
	// features here all have properties.)
	gf, wf := got.(map[string]any)["features"].([]any), want.(map[string]any)["features"].([]any)
	for i := range min(len(gf), len(wf)) {
		if !reflect.DeepEqual(gf[i], wf[i]) {
			t.Errorf("feature %d differs:\n%v\n%v", i, gf[i], wf[i])
			break
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("streamed collection differs from encoding/json's:\n%.2000s\n%.2000s", buf.String(), raw)
	}
}

func TestStreamStopsWhenTheRequestIsGone(t *testing.T) {
	fs := benchFeatures(t, 2000)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := writeFeatureCollection(ctx, io.Discard, collectionHead{}, fs, &encodeOpts{})
	if err != context.Canceled {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// BenchmarkItemsStream measures the items route's encoder on a full page of
// 10,000 reports, written to a discarding writer.
func BenchmarkItemsStream(b *testing.B) {
	fs := benchFeatures(b, maxLimit)
	head := collectionHead{Matched: len(fs), Returned: len(fs), TimeStamp: time.Now()}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := writeFeatureCollection(context.Background(), io.Discard, head, fs, &encodeOpts{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(fs))*float64(b.N)/b.Elapsed().Seconds(), "features/s")
}

// BenchmarkItemsEncodingJSON is the baseline: the same features as an orb
// FeatureCollection through encoding/json, built whole and then encoded.
func BenchmarkItemsEncodingJSON(b *testing.B) {
	fs := benchFeatures(b, maxLimit)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		fc := geojson.NewFeatureCollection()
		for _, f := range fs {
			gf := geojson.NewFeature(f.Geometry)
			gf.ID = f.ID
			gf.Properties = f.Props.Map()
			fc.Append(gf)
		}
		fc.ExtraMembers = geojson.Properties{"numberMatched": len(fs), "numberReturned": len(fs), "timeStamp": time.Now().Format(time.RFC3339)}
		if err := json.NewEncoder(io.Discard).Encode(fc); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(fs))*float64(b.N)/b.Elapsed().Seconds(), "features/s")
}
