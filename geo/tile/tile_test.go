package tile

import (
	"bytes"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/maptile"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestParsePath(t *testing.T) {
	cases := []struct {
		z, x, y string
		want    maptile.Tile
		ok      bool
	}{
		{"0", "0", "0.mvt", maptile.New(0, 0, 0), true},
		{"8", "152", "88.mvt", maptile.New(152, 88, 8), true},
		{"8", "152", "88.pbf", maptile.New(152, 88, 8), true},
		{"24", "16777215", "16777215.mvt", maptile.New(16777215, 16777215, 24), true},
		{"1", "2", "0.mvt", maptile.Tile{}, false},
		{"1", "0", "2.mvt", maptile.Tile{}, false},
		{"25", "0", "0.mvt", maptile.Tile{}, false},
		{"-1", "0", "0.mvt", maptile.Tile{}, false},
		{"01", "0", "0.mvt", maptile.Tile{}, false},
		{"1", "0", "0", maptile.Tile{}, false},
		{"1", "0", "0.png", maptile.Tile{}, false},
		{"1", "0", ".mvt", maptile.Tile{}, false},
		{"1", "+1", "0.mvt", maptile.Tile{}, false},
		{"99999999999", "0", "0.mvt", maptile.Tile{}, false},
	}
	for _, c := range cases {
		t.Run(c.z+"/"+c.x+"/"+c.y, func(t *testing.T) {
			got, err := ParsePath(c.z, c.x, c.y)
			if (err == nil) != c.ok || got != c.want {
				t.Fatalf("got %v, %v; want %v ok=%v", got, err, c.want, c.ok)
			}
		})
	}
}

// FuzzParsePath: never panics, and whatever it accepts is on the grid and
// prints back to the same path.
func FuzzParsePath(f *testing.F) {
	for _, s := range [][3]string{{"0", "0", "0.mvt"}, {"8", "152", "88.mvt"}, {"24", "1", "2.pbf"}, {"3", "8", "0.mvt"}, {"", "", ""}, {"1", "0", "0.mvt.mvt"}} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, z, x, y string) {
		tl, err := ParsePath(z, x, y)
		if err != nil {
			// The error names the part that is wrong: z, x or y.
			if msg := err.Error(); !strings.HasPrefix(msg, "z ") && !strings.HasPrefix(msg, "x ") && !strings.HasPrefix(msg, "y ") && !strings.Contains(msg, "{y}") {
				t.Fatalf("%s/%s/%s: error does not name the part: %v", z, x, y, err)
			}
			return
		}
		if tl.Z > MaxZoom || uint64(tl.X) >= 1<<tl.Z || uint64(tl.Y) >= 1<<tl.Z {
			t.Fatalf("accepted off-grid tile %v", tl)
		}
		ext := y[len(y)-4:]
		if back := fmt.Sprintf("%d/%d/%d%s", tl.Z, tl.X, tl.Y, ext); back != z+"/"+x+"/"+y {
			t.Fatalf("%s/%s/%s parsed to %s", z, x, y, back)
		}
	})
}

func circle(c orb.Point, r float64, n int) orb.Polygon {
	ring := make(orb.Ring, 0, n+1)
	for i := range n {
		a := 2 * math.Pi * float64(i) / float64(n)
		ring = append(ring, orb.Point{c[0] + r*math.Cos(a), c[1] + r*math.Sin(a)})
	}
	return orb.Polygon{append(ring, ring[0])}
}

func sample() []Layer {
	line := orb.LineString{{30, 45}, {38, 48.2}, {45, 50}}
	return []Layer{
		{Name: "areas", Features: []Feature{
			{Geometry: circle(orb.Point{38, 48}, 1.5, 2000), Props: map[string]any{"id": "a", "name": "circle", "n": 1.5}},
			{Geometry: line, Props: map[string]any{"id": "l", "ok": true}},
		}},
		{Name: "points", Features: []Feature{
			{Geometry: orb.Point{38.1, 48.1}, Props: map[string]any{"id": "p1", "side": "ru"}},
			{ID: uint64(7), Geometry: orb.Point{37.9, 47.9}, Props: map[string]any{"id": "p2", "side": "ua"}},
			{Geometry: orb.Point{10, 10}, Props: map[string]any{"id": "far"}},
		}},
	}
}

func TestEncodeLeavesInputAlone(t *testing.T) {
	ls := sample()
	before := make([]orb.Geometry, 0)
	for _, l := range ls {
		for _, f := range l.Features {
			before = append(before, orb.Clone(f.Geometry))
		}
	}
	if _, err := Encode(maptile.New(9, 5, 4), ls, Options{}); err != nil {
		t.Fatal(err)
	}
	i := 0
	for _, l := range ls {
		for _, f := range l.Features {
			if !orb.Equal(f.Geometry, before[i]) {
				t.Errorf("feature %v: geometry changed by Encode", f.Props["id"])
			}
			i++
		}
	}
}

func TestEncodeIsDeterministicAndMatchesGolden(t *testing.T) {
	tl := maptile.At(orb.Point{38, 48}, 8)
	first, err := Encode(tl, sample(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for range 50 {
		again, _ := Encode(tl, sample(), Options{}) // fresh maps: new iteration orders
		if !bytes.Equal(again.Data, first.Data) {
			t.Fatal("same input gave different bytes")
		}
	}
	golden := filepath.Join("testdata", "sample-z8.mvt")
	if *update {
		if err := os.WriteFile(golden, first.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if !bytes.Equal(first.Data, want) {
		t.Errorf("tile differs from %s (run with -update if the change is intended)", golden)
	}
}

func decode(t *testing.T, data []byte) map[string]*mvt.Layer {
	t.Helper()
	ls, err := mvt.Unmarshal(data)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*mvt.Layer{}
	for _, l := range ls {
		out[l.Name] = l
	}
	return out
}

// Geometry stays inside the buffered tile, on the integer grid, with MVT's
// winding, and the far point is not drawn.
func TestEncodeClipsSnapsAndWinds(t *testing.T) {
	tl := maptile.At(orb.Point{38, 48}, 9)
	res, err := Encode(tl, sample(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	ls := decode(t, res.Data)
	if ls["mvt"] != nil || len(ls) != 2 {
		t.Fatalf("layers %v", ls)
	}
	for _, l := range ls {
		if l.Extent != Extent || l.Version != 2 {
			t.Errorf("layer %s: extent %d version %d", l.Name, l.Extent, l.Version)
		}
		for _, f := range l.Features {
			if f.Properties["id"] == "far" {
				t.Error("a point far outside the tile was drawn")
			}
			var pts []orb.Point
			switch g := f.Geometry.(type) {
			case orb.Point:
				pts = []orb.Point{g}
			case orb.LineString:
				pts = g
			case orb.MultiLineString:
				for _, ls := range g {
					pts = append(pts, ls...)
				}
			case orb.Polygon:
				if area2(g[0]) <= 0 {
					t.Errorf("exterior ring of %v is not positive (clockwise on screen)", f.Properties["id"])
				}
				for _, r := range g {
					pts = append(pts, r...)
				}
			default:
				t.Fatalf("unexpected %T", g)
			}
			for _, p := range pts {
				if p[0] < -Buffer || p[0] > Extent+Buffer || p[1] < -Buffer || p[1] > Extent+Buffer || p[0] != math.Trunc(p[0]) {
					t.Fatalf("%v: point %v outside the buffered tile or off the grid", f.Properties["id"], p)
				}
			}
		}
	}
}

// Simplification is tied to the zoom's pixel size: a finely drawn circle
// keeps few vertices at low zoom and many at high zoom.
func TestSimplificationPerZoom(t *testing.T) {
	c := orb.Point{38, 48}
	poly := circle(c, 0.01, 4000)
	counts := map[int]int{}
	for _, z := range []int{6, 10, 14} {
		tl := maptile.At(c, maptile.Zoom(z))
		res, err := Encode(tl, []Layer{{Name: "c", Features: []Feature{{Geometry: poly}}}}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Data) == 0 {
			counts[z] = 0
			continue
		}
		g := decode(t, res.Data)["c"].Features[0].Geometry.(orb.Polygon)
		counts[z] = len(g[0])
	}
	if !(counts[6] < counts[10] && counts[10] < counts[14] && counts[14] < 4001) {
		t.Fatalf("vertices per zoom %v: want growing with zoom and below the input's 4001", counts)
	}
}

func TestBudgetsDropLowestPriorityAndSaySo(t *testing.T) {
	tl := maptile.At(orb.Point{38, 48}, 10)
	b := tl.Bound()
	var fs []Feature
	for i := range 200 {
		p := orb.Point{b.Min[0] + (b.Max[0]-b.Min[0])*float64(i%20)/20, b.Min[1] + (b.Max[1]-b.Min[1])*float64(i/20)/10}
		fs = append(fs, Feature{Geometry: p, Props: map[string]any{"rank": i, "pad": strconv.Itoa(i) + "-padding-padding-padding"}})
	}
	t.Run("features", func(t *testing.T) {
		res, err := Encode(tl, []Layer{{Name: "r", Features: fs}}, Options{MaxFeatures: 50})
		if err != nil {
			t.Fatal(err)
		}
		checkKept(t, res, 50, 150)
	})
	t.Run("bytes", func(t *testing.T) {
		res, err := Encode(tl, []Layer{{Name: "r", Features: fs}}, Options{MaxBytes: 4000})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Data) > 4000 {
			t.Fatalf("%d bytes over the 4000 budget", len(res.Data))
		}
		checkKept(t, res, res.Features, 200-res.Features)
	})
}

func checkKept(t *testing.T, res Result, kept, dropped int) {
	t.Helper()
	if res.Features != kept || res.Dropped["r"] != dropped || kept == 0 || dropped == 0 {
		t.Fatalf("kept %d dropped %v; want %d and %d", res.Features, res.Dropped, kept, dropped)
	}
	l := decode(t, res.Data)["r"]
	meta := 0
	for i, f := range l.Features {
		if f.Properties[MetaKey] == true {
			meta++
			if int(f.Properties[DroppedKey].(float64)) != dropped {
				t.Errorf("metadata says %v dropped, want %d", f.Properties[DroppedKey], dropped)
			}
			continue
		}
		if int(f.Properties["rank"].(float64)) != i { // the first ones by priority stay
			t.Errorf("feature %d has rank %v", i, f.Properties["rank"])
		}
	}
	if meta != 1 || len(l.Features) != kept+1 {
		t.Errorf("%d metadata features, %d features", meta, len(l.Features))
	}
}

func TestEmptyTileHasNoBytes(t *testing.T) {
	res, err := Encode(maptile.New(0, 0, 3), sample(), Options{})
	if err != nil || len(res.Data) != 0 {
		t.Fatalf("%d bytes, %v", len(res.Data), err)
	}
}
