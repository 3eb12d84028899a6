package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"troopmap/layers"
	"troopmap/layers/formats"
)

// importRows builds an n-row troop-concentrations CSV of the kind analysts
// export from a spreadsheet.
func importRows(n int) []byte {
	var buf bytes.Buffer
	buf.WriteString("longitude,latitude,observed_at,time_precision,geo_precision,sources,source_reliability,info_credibility,sensitivity,side,echelon,unit_function,posture,unit_designation,strength.personnel.best,tags,notes\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&buf, "%.5f,%.5f,2021-04-%02dT%02d:00:00Z,exact,town,https://example.org/r/%d;https://example.org/s/%d,b,2,public,ru,battalion,armor,assembly_area,%d Tank Bn,%d,buildup;2021,\"seen near the road, heading east\"\n",
			30+float64(i%1000)/100, 45+float64(i%700)/100, 1+i%28, i%24, i, i, i%90, 400+i%300)
	}
	return buf.Bytes()
}

// BenchmarkImportCSV100k posts a 100,000-row CSV end to end (decode,
// validation, locating, one store commit, publication); the baseline posts
// the same reports as the GeoJSON FeatureCollection an analyst could send
// instead, in the same run.
func BenchmarkImportCSV100k(b *testing.B) {
	const rows = 100_000
	csvBody := importRows(rows)
	schema, _ := layers.ReportSchema(layers.TroopConcentrations)
	batch, err := formats.DecodeCSV(context.Background(), bytes.NewReader(csvBody), schema)
	if err != nil {
		b.Fatal(err)
	}
	geoBody, err := json.Marshal(batch.FeatureCollection())
	if err != nil {
		b.Fatal(err)
	}
	rules := layers.DefaultUploadRules()
	rules.MaxBatch = rows
	for _, tc := range []struct {
		name, contentType string
		body              []byte
	}{
		{"csv", mimeCSV, csvBody},
		{"baseline-geojson", "application/geo+json", geoBody},
	} {
		b.Run(tc.name, func(b *testing.B) {
			e := newWriteEnvRules(b, Config{Limits: Limits{MaxBodyBytes: 256 << 20, RequestTimeout: 15 * time.Minute}}, rules)
			b.ReportAllocs()
			b.SetBytes(int64(len(tc.body)))
			start := time.Now()
			for i := 0; i < b.N; i++ {
				rec := send(b, e.h, "POST", "/collections/troop-concentrations/items", tc.body,
					"Content-Type", tc.contentType, "Authorization", "Bearer "+e.analyst)
				if rec.Code != 201 {
					b.Fatalf("POST = %d %.300s", rec.Code, rec.Body.String())
				}
			}
			b.ReportMetric(float64(rows*b.N)/time.Since(start).Seconds(), "rows/s")
		})
	}
}
