package formats

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"testing"

	"troopmap/layers"
)

// bigCSV builds an n-row troop-concentrations CSV of the kind an analyst
// exports from a spreadsheet.
func bigCSV(n int) []byte {
	var buf bytes.Buffer
	buf.WriteString("longitude,latitude,observed_at,time_precision,geo_precision,sources,source_reliability,info_credibility,sensitivity,side,echelon,unit_function,posture,unit_designation,strength.personnel.best,tags,notes\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&buf, "%.5f,%.5f,2021-04-%02dT%02d:00:00Z,exact,town,https://example.org/r/%d;https://example.org/s/%d,b,2,public,ru,battalion,armor,assembly_area,%d Tank Bn,%d,buildup;2021,\"seen near the road, heading east\"\n",
			30+float64(i%1000)/100, 45+float64(i%700)/100, 1+i%28, i%24, i, i, i%90, 400+i%300)
	}
	return buf.Bytes()
}

// BenchmarkImportCSV decodes a 100,000-row CSV into report features; the
// baseline sub-benchmark only reads the same bytes with encoding/csv.
func BenchmarkImportCSV(b *testing.B) {
	const rows = 100_000
	in := bigCSV(rows)
	s, _ := layers.ReportSchema(layers.TroopConcentrations)
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(in)))
		for b.Loop() {
			batch, err := DecodeCSV(context.Background(), bytes.NewReader(in), s)
			if err != nil || len(batch.Features) != rows {
				b.Fatalf("%v, %d features", err, len(batch.Features))
			}
		}
		b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
	})
	b.Run("baseline-encoding-csv", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(in)))
		for b.Loop() {
			r := csv.NewReader(bytes.NewReader(in))
			r.ReuseRecord = true
			n := 0
			for {
				_, err := r.Read()
				if err == io.EOF {
					break
				}
				if err != nil {
					b.Fatal(err)
				}
				n++
			}
			if n != rows+1 {
				b.Fatalf("%d records", n)
			}
		}
		b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
	})
}
