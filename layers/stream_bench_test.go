package layers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
)

// wholeBodyDecode is the decoder uploads had before they were streamed,
// kept as the benchmark's baseline: read the whole body, check it, decode it
// into one tree, then validate feature by feature.
func wholeBodyDecode(ctx context.Context, r io.Reader, schema Schema, rules UploadRules) ([]Draft, error) {
	body, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	v, err := decodeBody(body)
	if err != nil {
		return nil, err
	}
	fs, _ := v.(map[string]any)["features"].([]any)
	drafts := make([]Draft, 0, len(fs))
	for i, x := range fs {
		fo, _ := x.(map[string]any)
		d, errs := decodeFeature(fo, fmt.Sprintf("/features/%d", i), schema, rules)
		if len(errs) > 0 {
			return nil, unprocessable(1, len(fs), errs)
		}
		drafts = append(drafts, d)
	}
	return drafts, ctx.Err()
}

// benchCollection is a FeatureCollection of n valid incidents.
func benchCollection(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"type":"FeatureCollection","features":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		p := validIncident()
		p["notes"] = fmt.Sprintf("report %d: %s", i, strings.Repeat("seen from the road ", 3))
		f, _ := json.Marshal(feature(p, fmt.Sprintf(`{"type":"Point","coordinates":[%.5f,%.5f]}`, 37+float64(i%100)*0.01, 48+float64(i/100%100)*0.01)))
		b.Write(f)
	}
	b.WriteString("]}")
	return b.Bytes()
}

// BenchmarkDecodeUpload10k decodes and validates a 10,000-feature upload
// from a reader, as the server gets it: whole (the old way) and streamed.
// bytes/op is everything allocated; the peak the stream saves is shown by
// TestHostileUploads in web.
func BenchmarkDecodeUpload10k(b *testing.B) {
	body := benchCollection(10000)
	schema, _ := ReportSchema(Incidents)
	rules := DefaultUploadRules()
	b.Run("whole", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			ds, err := wholeBodyDecode(context.Background(), bytes.NewReader(body), schema, rules)
			if err != nil || len(ds) != 10000 {
				b.Fatal(err, len(ds))
			}
		}
	})
	b.Run("stream", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			ds, _, err := DecodeUploadReader(context.Background(), bytes.NewReader(body), schema, rules)
			if err != nil || len(ds) != 10000 {
				b.Fatal(err, len(ds))
			}
		}
	})
}
