package props

import (
	"encoding/json"
	"fmt"
	"runtime"
	"testing"
	"time"
)

// report returns the properties of a report as troopmap gen writes them,
// varied by i.
func report(i int) []byte {
	return fmt.Appendf(nil, `{"admin1":"UA-14","border_distance_km":%d.1,"ce_m":%d,"created_at":"2021-06-12T05:%02d:00Z",`+
		`"created_by":"synth","echelon":"regiment","geo_precision":"exact","id":"01F7ZA0Y202ZS5N01N9M%06d",`+
		`"info_credibility":"2","observed_at":"2021-06-10T11:%02d:00Z","posture":"unknown","sensitivity":"public","side":"ua",`+
		`"source_reliability":"e","sources":[{"kind":"social","url":"https://example.org/synthetic/%d"}],`+
		`"strength":{"personnel":{"best":%d,"high":1300,"low":700}},"tags":["synthetic"],"time_precision":"week",`+
		`"unit_function":"infantry","updated_at":"2021-06-12T05:10:00Z","verification":"verified","version":1,"zones":["donbas"]}`,
		i%90, 100*(i%50), i%60, i, i%60, i, i%3000)
}

// BenchmarkHeldReports holds 200,000 reports' properties as decoded maps
// (the baseline) and as Props, and reports what they cost the garbage
// collector: live bytes and objects per report, and the wall time of one
// full collection with them alive (ms/gc).
func BenchmarkHeldReports(b *testing.B) {
	const n = 200_000
	raws := make([][]byte, n)
	for i := range raws {
		raws[i] = report(i)
	}
	measure := func(b *testing.B, hold func() any) {
		b.ReportAllocs()
		var gcTime time.Duration
		var bytes, objects uint64
		for b.Loop() {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			held := hold()
			runtime.GC()
			runtime.ReadMemStats(&after)
			start := time.Now()
			runtime.GC()
			gcTime += time.Since(start)
			bytes += after.HeapAlloc - before.HeapAlloc
			objects += after.HeapObjects - before.HeapObjects
			runtime.KeepAlive(held)
		}
		runs := float64(b.N)
		b.ReportMetric(float64(bytes)/runs/n, "B/report")
		b.ReportMetric(float64(objects)/runs/n, "objects/report")
		b.ReportMetric(float64(gcTime.Microseconds())/1000/runs, "ms/gc")
	}
	b.Run("map", func(b *testing.B) {
		measure(b, func() any {
			out := make([]map[string]any, n)
			for i, raw := range raws {
				if err := json.Unmarshal(raw, &out[i]); err != nil {
					b.Fatal(err)
				}
			}
			return out
		})
	})
	b.Run("props", func(b *testing.B) {
		measure(b, func() any {
			out := make([]Props, n)
			for i, raw := range raws {
				p, err := FromJSON(raw)
				if err != nil {
					b.Fatal(err)
				}
				out[i] = p
			}
			return out
		})
	})
}
