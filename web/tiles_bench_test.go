package web

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"

	"troopmap/layers"
	"troopmap/layers/synth"
)

// benchServers caches one loaded server per report count across benchmarks.
var benchServers sync.Map

func benchServer(b *testing.B, n int) *Server {
	if s, ok := benchServers.Load(n); ok {
		return s.(*Server)
	}
	by := map[string][]*layers.Feature{}
	err := synth.Generate(context.Background(), n, 1, nil, func(r synth.Report) error {
		by[r.Collection] = append(by[r.Collection], r.Feature)
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	var all []*layers.Layer
	for _, m := range layers.ReportMetas() {
		l := layers.NewLayer(m)
		if err := l.Load(by[m.ID]); err != nil {
			b.Fatal(err)
		}
		all = append(all, l)
	}
	cat, _ := layers.NewCatalog(all...)
	s := New(Config{Tiles: TileConfig{CacheBytes: -1}})
	s.SetCatalog(cat)
	waitIndex(b, s)
	benchServers.Store(n, s)
	return s
}

// BenchmarkTileBuild draws one incidents tile over the densest stretch of
// the line of contact, uncached, through the whole path (filters, view,
// clustering or selection, encoding), for an anonymous reader. "index" is
// the default path; "scan" is the baseline, the same cluster tiles drawn by
// walking the R-tree instead of the point index; "30days" is the index with
// a 30-day datetime filter (the map page's time slider), which walks each
// cell's run instead of summing it.
func BenchmarkTileBuild(b *testing.B) {
	p := orb.Point{38.03, 48.33}
	for _, n := range []int{100_000, 1_000_000} {
		for _, z := range []maptile.Zoom{4, 8, 12, 14} {
			for _, mode := range []string{"index", "scan", "30days"} {
				b.Run(fmt.Sprintf("reports=%d/z=%d/%s", n, z, mode), func(b *testing.B) {
					s := benchServer(b, n)
					t := maptile.At(p, z)
					path := fmt.Sprintf("/tiles/incidents/%d/%d/%d.mvt", t.Z, t.X, t.Y)
					if mode == "30days" {
						path += "?datetime=2021-05-01T00:00:00Z/2021-05-31T00:00:00Z"
					}
					s.tiles.noIndex = mode == "scan"
					defer func() { s.tiles.noIndex = false }()
					b.ReportAllocs()
					size := 0
					for b.Loop() {
						rec := do(b, s.Handler(), "GET", path)
						if rec.Code != 200 {
							b.Fatalf("%s: %d", path, rec.Code)
						}
						size = rec.Body.Len()
					}
					b.ReportMetric(float64(size), "bytes/tile")
				})
			}
		}
	}
}

// BenchmarkTileCached serves one tile from the tile cache through the whole
// handler chain; "ceiling" is the same chain answering a fixed byte slice of
// the tile's size, the most any cached answer could do.
func BenchmarkTileCached(b *testing.B) {
	by := map[string][]*layers.Feature{}
	if err := synth.Generate(context.Background(), 20_000, 1, nil, func(r synth.Report) error {
		by[r.Collection] = append(by[r.Collection], r.Feature)
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	var all []*layers.Layer
	for _, m := range layers.ReportMetas() {
		l := layers.NewLayer(m)
		if err := l.Load(by[m.ID]); err != nil {
			b.Fatal(err)
		}
		all = append(all, l)
	}
	cat, _ := layers.NewCatalog(all...)
	s := New(Config{Tiles: TileConfig{BenchCeiling: true}})
	s.SetCatalog(cat)
	waitIndex(b, s)
	t := maptile.At(orb.Point{38.03, 48.33}, 9)
	path := fmt.Sprintf("/tiles/incidents,troop-concentrations/%d/%d/%d.mvt", t.Z, t.X, t.Y)
	warm := do(b, s.Handler(), "GET", path)
	if warm.Code != 200 {
		b.Fatalf("%s: %d", path, warm.Code)
	}
	for _, target := range []string{path, fmt.Sprintf("/bench/ceiling?n=%d", warm.Body.Len())} {
		name := "tile"
		if target != path {
			name = "ceiling"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if rec := do(b, s.Handler(), "GET", target); rec.Code != 200 {
					b.Fatalf("%s: %d", target, rec.Code)
				}
			}
		})
	}
}

// BenchmarkTileRandom draws random tiles at one zoom over 1,000,000 reports,
// uncached, anonymous, as the load benchmark asks for them: at the positions
// of random reports, one layer or both.
func BenchmarkTileRandom(b *testing.B) {
	s := benchServer(b, 1_000_000)
	var pts []orb.Point
	for _, l := range []string{layers.Incidents, layers.TroopConcentrations} {
		lay, _ := s.catalog.Load().Lookup(l)
		i := 0
		lay.Snapshot().All(func(f *layers.Feature) bool {
			if i++; i%997 == 0 {
				pts = append(pts, f.Geometry.(orb.Point))
			}
			return true
		})
	}
	ids := []string{layers.Incidents, layers.TroopConcentrations, layers.Incidents + "," + layers.TroopConcentrations}
	for _, z := range []maptile.Zoom{6, 10, 14} {
		b.Run(fmt.Sprintf("z=%d", z), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				t := maptile.At(pts[(i*7919)%len(pts)], z)
				path := fmt.Sprintf("/tiles/%s/%d/%d/%d.mvt", ids[i%3], t.Z, t.X, t.Y)
				if rec := do(b, s.Handler(), "GET", path, "Cache-Control", "no-cache"); rec.Code != 200 && rec.Code != 204 {
					b.Fatalf("%s: %d", path, rec.Code)
				}
			}
		})
	}
}
