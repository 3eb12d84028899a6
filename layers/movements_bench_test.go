package layers

import (
	"fmt"
	"testing"
	"time"
)

// benchSource is a troop-concentrations layer with one unit of 1,000
// reports and 2,000 other units of 25 reports each (51,000 reports).
func benchSource(b *testing.B) *Layer {
	b.Helper()
	t0 := time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)
	var fs []*Feature
	for i := range 1000 {
		fs = append(fs, tcReport(fmt.Sprintf("big-%04d", i), "ru", "Big Army", 30+float64(i%100)*0.05, 48+float64(i/100)*0.1,
			t0.Add(time.Duration(i)*time.Hour).Format(time.RFC3339)))
	}
	for u := range 2000 {
		for i := range 25 {
			fs = append(fs, tcReport(fmt.Sprintf("u%04d-%02d", u, i), "ru", fmt.Sprintf("Brigade %d", u),
				25+float64(u%50)*0.3, 44+float64(u/50)*0.2+float64(i)*0.01, t0.Add(time.Duration(i)*6*time.Hour).Format(time.RFC3339)))
		}
	}
	src := NewLayer(ReportMetas()[0])
	if err := src.Load(fs); err != nil {
		b.Fatal(err)
	}
	return src
}

// BenchmarkMovementsAddReport adds one report to the unit with 1,000
// earlier reports; only that unit's track is re-derived.
func BenchmarkMovementsAddReport(b *testing.B) {
	src := benchSource(b)
	m, err := NewMovements(src, 0)
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Date(2021, 3, 1, 0, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		f := tcReport(fmt.Sprintf("new-%d", i), "ru", "Big Army", 31, 49, t0.Add(time.Duration(i)*time.Minute).Format(time.RFC3339))
		m.Apply(Change{Layer: TroopConcentrations, Old: []*Feature{nil}, New: []*Feature{f}})
		// Keep the unit at 1,000 earlier reports.
		m.Apply(Change{Layer: TroopConcentrations, Old: []*Feature{f}, New: []*Feature{nil}})
	}
}

// BenchmarkMovementsRebuild is the baseline: deriving every track from
// scratch, which is what a non-incremental design does on every write.
func BenchmarkMovementsRebuild(b *testing.B) {
	src := benchSource(b)
	b.ReportAllocs()
	for b.Loop() {
		m := newMovementsDeriver(0)
		if err := m.load(src.Snapshot()); err != nil {
			b.Fatal(err)
		}
	}
}
