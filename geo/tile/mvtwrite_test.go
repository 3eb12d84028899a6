package tile

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/geojson"
	"github.com/paulmach/orb/maptile"
	"github.com/paulmach/orb/project"
)

// randomLayers makes layers of every geometry type in tile coordinates,
// with properties of every kind tiles carry, repeated values included.
func randomLayers(r *rand.Rand) []Layer {
	pt := func() orb.Point { return orb.Point{float64(r.IntN(4096+128) - 64), float64(r.IntN(4096+128) - 64)} }
	pts := func(n int) []orb.Point {
		out := make([]orb.Point, n)
		for i := range out {
			out[i] = pt()
		}
		return out
	}
	ring := func() orb.Ring {
		r := orb.Ring(pts(3 + r.IntN(5)))
		if len(r)%2 == 0 {
			r = append(r, r[0]) // closed and open rings both occur
		}
		return r
	}
	geoms := []func() orb.Geometry{
		func() orb.Geometry { return pt() },
		func() orb.Geometry { return orb.MultiPoint(pts(1 + r.IntN(4))) },
		func() orb.Geometry { return orb.LineString(pts(2 + r.IntN(6))) },
		func() orb.Geometry { return orb.MultiLineString{pts(2), pts(3 + r.IntN(3))} },
		func() orb.Geometry { return orb.Polygon{ring(), ring()} },
		func() orb.Geometry { return orb.MultiPolygon{{ring()}, {ring(), ring()}} },
	}
	values := []any{"ua", "ru", "", "Київ", 0.0, 1.5, -2.25, 1e21, 3, -7, int64(3), uint64(1) << 40, true, false, float32(0.5), nil, []any{"a"}}
	var ls []Layer
	for li := range 1 + r.IntN(3) {
		l := Layer{Name: fmt.Sprintf("layer%d", li), Dropped: r.IntN(3) - 1}
		for range r.IntN(40) {
			f := Feature{Geometry: geoms[r.IntN(len(geoms))](), Props: map[string]any{}}
			if r.IntN(2) == 0 {
				f.ID = r.Uint64N(1 << 53)
			}
			for range r.IntN(6) {
				f.Props[fmt.Sprintf("k%d", r.IntN(8))] = values[r.IntN(len(values))]
			}
			l.Features = append(l.Features, f)
		}
		ls = append(ls, l)
	}
	return ls
}

// TestWriterMatchesOrb writes random layers with the writer and with orb's
// encoder and wants the same bytes.
func TestWriterMatchesOrb(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	w := newLayerWriter()
	for i := range 500 {
		ls := randomLayers(r)
		built := make([][]Feature, len(ls))
		keep := make([]int, len(ls))
		var want mvt.Layers
		for j, l := range ls {
			built[j] = l.Features
			keep[j] = r.IntN(len(l.Features) + 1)
			var fs []*geojson.Feature
			for _, f := range l.Features[:keep[j]] {
				fs = append(fs, &geojson.Feature{Type: "Feature", ID: f.ID, Geometry: f.Geometry, Properties: geojson.Properties(f.Props)})
			}
			if d := l.Dropped + len(l.Features) - keep[j]; d > 0 {
				fs = append(fs, &geojson.Feature{Type: "Feature", Geometry: orb.Point{Extent / 2, Extent / 2},
					Properties: geojson.Properties{MetaKey: true, DroppedKey: d}})
			}
			if len(fs) > 0 {
				want = append(want, &mvt.Layer{Name: l.Name, Version: 2, Extent: Extent, Features: fs})
			}
		}
		got, _, err := marshal(w, ls, built, keep)
		if err != nil {
			t.Fatal(err)
		}
		var exp []byte
		if len(want) > 0 {
			if exp, err = mvt.Marshal(want); err != nil {
				t.Fatal(err)
			}
		}
		if len(got) == 0 {
			got = nil
		}
		if !bytes.Equal(got, exp) {
			t.Fatalf("case %d: %d bytes, orb writes %d\n%x\n%x", i, len(got), len(exp), got, exp)
		}
	}
}

// TestEncoderReuse: one Encoder used for tile after tile (with budgets
// that make it drop) writes what a new one writes.
func TestEncoderReuse(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	enc := NewEncoder()
	for i := range 200 {
		tl := maptile.At(orb.Point{37 + r.Float64()*3, 46 + r.Float64()*4}, maptile.Zoom(4+r.IntN(10)))
		b := tl.Bound()
		ls := randomLayers(r)
		for _, l := range ls {
			for j, f := range l.Features {
				// tile units to lon/lat around the tile
				l.Features[j].Geometry = project.Geometry(orb.Clone(f.Geometry), func(p orb.Point) orb.Point {
					return orb.Point{b.Min[0] + p[0]/Extent*(b.Max[0]-b.Min[0]), b.Max[1] - p[1]/Extent*(b.Max[1]-b.Min[1])}
				})
			}
		}
		o := Options{}
		if i%3 == 0 {
			o = Options{MaxFeatures: 1 + r.IntN(20), MaxBytes: 200 + r.IntN(2000)}
		}
		want, err := Encode(tl, ls, o)
		if err != nil {
			t.Fatal(err)
		}
		got, err := enc.Encode(tl, ls, o)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("case %d: the reused encoder wrote %d bytes (%v dropped), a new one %d (%v)", i, len(got.Data), got.Dropped, len(want.Data), want.Dropped)
		}
	}
}

// BenchmarkWriter encodes a tile of 1,000 points with 12 properties each:
// the writer against orb's encoder (the baseline).
func BenchmarkWriter(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	var fs []Feature
	for i := range 1000 {
		fs = append(fs, Feature{Geometry: orb.Point{float64(r.IntN(4096)), float64(r.IntN(4096))}, Props: map[string]any{
			"id": fmt.Sprintf("r%d", i), "side": []string{"ua", "ru"}[i%2], "echelon": "brigade", "ce_m": float64(100 * (i % 50)),
			"observed_at": fmt.Sprintf("2021-04-%02dT10:00:00Z", 1+i%28), "strength.personnel.best": float64(i % 3000),
			"verification": "verified", "sensitivity": "public", "zones": "donbas", "admin1": "UA-14",
			"border_distance_km": float64(i%900) / 10, "posture": "unknown"}})
	}
	ls := []Layer{{Name: "troop-concentrations", Features: fs}}
	keep := []int{len(fs)}
	b.Run("writer", func(b *testing.B) {
		w := newLayerWriter()
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := marshal(w, ls, [][]Feature{fs}, keep); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("orb", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			gfs := make([]*geojson.Feature, len(fs))
			for i, f := range fs {
				gfs[i] = &geojson.Feature{Type: "Feature", Geometry: f.Geometry, Properties: geojson.Properties(f.Props)}
			}
			if _, err := mvt.Marshal(mvt.Layers{{Name: "troop-concentrations", Version: 2, Extent: Extent, Features: gfs}}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
