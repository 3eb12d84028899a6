package layers_test

import (
	"context"
	"testing"

	"troopmap/geo/cql2"
	"troopmap/layers"
	"troopmap/layers/synth"
)

func synthLayer(b *testing.B, n int) (*layers.Layer, []*layers.Feature) {
	l := layers.NewLayer(layers.ReportMetas()[0])
	var fs []*layers.Feature
	err := synth.Generate(context.Background(), n, 1, nil, func(r synth.Report) error {
		if r.Collection == l.ID {
			fs = append(fs, r.Feature)
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return l, fs
}

// BenchmarkCompiledFilter runs a typical CQL2 filter over troop
// concentrations; BenchmarkHandWrittenFilter is the baseline, the same test
// written directly in Go.
func BenchmarkCompiledFilter(b *testing.B) {
	l, fs := synthLayer(b, 20000)
	e, err := cql2.ParseText("side = 'ru' AND echelon IN ('brigade', 'division') AND ce_m > 1000 AND S_INTERSECTS(geometry, BBOX(36, 46, 40, 50))")
	if err != nil {
		b.Fatal(err)
	}
	fn, err := layers.CompileFilter(e, layers.Queryables(l), layers.FilterOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		for _, f := range fs {
			if fn(f) {
				n++
			}
		}
	}
	b.ReportMetric(float64(len(fs))*float64(b.N)/b.Elapsed().Seconds(), "features/s")
	_ = n
}

func BenchmarkHandWrittenFilter(b *testing.B) {
	_, fs := synthLayer(b, 20000)
	fn := func(f *layers.Feature) bool {
		side, _ := f.Props.String("side")
		ech, _ := f.Props.String("echelon")
		ce, ok := f.Props.Number("ce_m")
		if side != "ru" || (ech != "brigade" && ech != "division") || !ok || ce <= 1000 || f.Geometry == nil {
			return false
		}
		return f.Bound.Max[0] >= 36 && f.Bound.Min[0] <= 40 && f.Bound.Max[1] >= 46 && f.Bound.Min[1] <= 50
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		for _, f := range fs {
			if fn(f) {
				n++
			}
		}
	}
	b.ReportMetric(float64(len(fs))*float64(b.N)/b.Elapsed().Seconds(), "features/s")
	_ = n
}
