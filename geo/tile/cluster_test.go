package tile

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"
)

func TestCellsAreMortonRangesAndTiles(t *testing.T) {
	for _, p := range []orb.Point{{38, 48}, {-179.9, 85}, {0, 0}, {179.99, -85}, {24.123, 51.987}} {
		qx, qy := Quantize(p)
		code := Morton(qx, qy)
		for z := uint32(0); z <= 24; z++ {
			c := CellOf(qx, qy, z)
			lo, hi := c.Range()
			if code < lo || code > hi {
				t.Fatalf("%v z%d: code %x outside its cell's range %x..%x", p, z, code, lo, hi)
			}
			if z >= 3 && z <= MaxCellZoom {
				// The cell is the maptile of that zoom, up to float edges.
				if mt := maptile.At(p, maptile.Zoom(z)); mt.X != c.X || mt.Y != c.Y {
					t.Errorf("%v z%d: cell %d/%d, maptile %d/%d", p, z, c.X, c.Y, mt.X, mt.Y)
				}
				back, ok := ParseClusterID(formatID(c.ID()))
				if !ok || back != c || c.ID() >= 1<<53 {
					t.Errorf("cluster id %d of %v does not round-trip (%v)", c.ID(), c, back)
				}
			}
		}
	}
	for _, bad := range []string{"", "x", "-1", "18446744073709551615", formatID(Cell{Z: 3, X: 8, Y: 0}.ID())} {
		if _, ok := ParseClusterID(bad); ok {
			t.Errorf("ParseClusterID(%q) accepted", bad)
		}
	}
}

func formatID(v uint64) string {
	b := []byte{}
	if v == 0 {
		return "0"
	}
	for v > 0 {
		b = append([]byte{byte('0' + v%10)}, b...)
		v /= 10
	}
	return string(b)
}

func FuzzParseClusterID(f *testing.F) {
	f.Add("0")
	f.Add(formatID(Cell{Z: 10, X: 600, Y: 300}.ID()))
	f.Fuzz(func(t *testing.T, s string) {
		c, ok := ParseClusterID(s)
		if ok && (formatID(c.ID()) != s || uint64(c.X) >= 1<<c.Z || uint64(c.Y) >= 1<<c.Z) {
			t.Fatalf("%q accepted as %v", s, c)
		}
	})
}

func TestGridAggregatesOrderFree(t *testing.T) {
	tl := maptile.At(orb.Point{38, 48}, 7)
	pts := []orb.Point{{38.01, 48.01}, {38.02, 48.015}, {38.011, 48.02}, {39.9, 49.9}}
	run := func(order []int) *Grid {
		g := NewGrid(tl)
		for _, i := range order {
			qx, qy := Quantize(pts[i])
			if a := g.At(qx, qy); a != nil {
				a.Add(qx, qy, float64(i), i%2, int64(i), true, i, 0)
			}
		}
		return g
	}
	a, b := run([]int{0, 1, 2, 3}), run([]int{3, 2, 1, 0})
	for i := range a.Cells {
		x, y := a.Cells[i], b.Cells[i]
		if x.N != y.N || x.Sum != y.Sum || x.Counts != y.Counts || x.Latest != y.Latest || (x.N > 0 && x.Centroid() != y.Centroid()) {
			t.Fatalf("cell %v differs by arrival order: %+v vs %+v", x.Cell, x, y)
		}
	}
	qx, qy := Quantize(pts[0])
	c := a.At(qx, qy)
	if c.N != 3 || c.Sum != 3 || c.Counts[0] != 2 || c.Latest != 2 || !InBuffer(tl, c.Centroid()) {
		t.Errorf("cell aggregate %+v", c)
	}
	if n := 8 + 2*GridRing; len(a.Cells) != n*n {
		t.Errorf("grid of %d cells, want %d×%d", len(a.Cells), n, n)
	}
	if Abbreviate(999) != "999" || Abbreviate(1234) != "1.2k" || Abbreviate(15678) != "16k" {
		t.Error("Abbreviate")
	}
}

// fill puts quantised points into a grid.
func fill(g *Grid, pts []orb.Point) {
	for i, p := range pts {
		qx, qy := Quantize(p)
		if a := g.At(qx, qy); a != nil {
			a.Add(qx, qy, 1, 0, 0, false, i, uint64(i))
		}
	}
}

// TestClustersJoinAcrossCellEdges: reports a few pixels apart on either
// side of a cell edge form one cluster; reports farther apart than the
// radius stay apart, even in neighbouring cells.
func TestClustersJoinAcrossCellEdges(t *testing.T) {
	const z = 9
	tl := maptile.At(orb.Point{38.3, 48.3}, z)
	cz := uint32(z) + CellShift
	edge := Cell{Z: cz, X: tl.X<<CellShift + 4, Y: tl.Y<<CellShift + 4}.Bound() // a cell inside the tile
	px := (edge.Max[0] - edge.Min[0]) / 64                                      // one pixel in degrees, roughly
	y := (edge.Min[1] + edge.Max[1]) / 2
	for _, tc := range []struct {
		name string
		pts  []orb.Point
		want []int // point counts of the clusters, in order
	}{
		{"across an edge, 4 px apart", []orb.Point{{edge.Min[0] - 2*px, y}, {edge.Min[0] + 2*px, y}, {edge.Min[0] + 3*px, y}}, []int{3}},
		{"neighbouring cells, 60 px apart", []orb.Point{{edge.Min[0] - 30*px, y}, {edge.Min[0] + 30*px, y}, {edge.Min[0] + 31*px, y}}, []int{1, 2}},
		{"one cell", []orb.Point{{edge.Min[0] + 10*px, y}, {edge.Min[0] + 20*px, y}}, []int{2}},
	} {
		g := NewGrid(tl)
		fill(g, tc.pts)
		var got []int
		for _, c := range g.Clusters() {
			got = append(got, c.N)
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: clusters of %v points, want %v", tc.name, got, tc.want)
		}
	}
}

// TestClustersAgreeAcrossTiles draws the clusters of random points for a
// block of tiles: a cluster that two tiles both draw is the same in both,
// and the tiles together account for every point exactly once.
func TestClustersAgreeAcrossTiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const z = 8
	centre := maptile.At(orb.Point{38.3, 48.3}, z)
	block := centre.Bound()
	for _, d := range [][2]int{{-1, -1}, {1, 1}} {
		block = block.Union(maptile.New(uint32(int(centre.X)+d[0]), uint32(int(centre.Y)+d[1]), z).Bound())
	}
	var pts []orb.Point
	for range 3000 {
		// Clumps, so that cells hold from one to hundreds of points.
		c := orb.Point{block.Min[0] + rng.Float64()*(block.Max[0]-block.Min[0]), block.Min[1] + rng.Float64()*(block.Max[1]-block.Min[1])}
		for range 1 + rng.IntN(4) {
			pts = append(pts, orb.Point{c[0] + rng.NormFloat64()*0.01, c[1] + rng.NormFloat64()*0.01})
		}
	}
	seen := map[uint64]Cluster{}
	owned := 0
	for dx := -1; dx <= 1; dx++ {
		for dy := -1; dy <= 1; dy++ {
			tl := maptile.New(uint32(int(centre.X)+dx), uint32(int(centre.Y)+dy), z)
			g := NewGrid(tl)
			fill(g, pts)
			for _, c := range g.Clusters() {
				p := NewProjector(tl).Point(c.Centroid())
				if !InBuffer(tl, c.Centroid()) {
					continue
				}
				if prev, ok := seen[c.Cell.ID()]; ok && (prev.N != c.N || prev.Centroid() != c.Centroid() || fmt.Sprint(prev.Members) != fmt.Sprint(c.Members)) {
					t.Fatalf("cluster %d: %d points at %v in one tile, %d at %v in another", c.Cell.ID(), prev.N, prev.Centroid(), c.N, c.Centroid())
				}
				seen[c.Cell.ID()] = c
				// Each tile owns the clusters centred inside it.
				if p[0] >= 0 && p[0] < Extent && p[1] >= 0 && p[1] < Extent && dx == 0 && dy == 0 {
					owned += c.N
				}
			}
		}
	}
	// The centre tile's own clusters hold exactly the points whose
	// cluster is centred in it: count those from the clusters seen.
	want := 0
	for _, c := range seen {
		if p := NewProjector(centre).Point(c.Centroid()); p[0] >= 0 && p[0] < Extent && p[1] >= 0 && p[1] < Extent {
			want += c.N
		}
	}
	if owned != want || owned == 0 {
		t.Fatalf("the centre tile draws %d points in its own clusters, the block %d", owned, want)
	}
	// Every point of the centre tile's interior is in exactly one drawn
	// cluster: members never overlap.
	cells := map[Cell]uint64{}
	for id, c := range seen {
		for _, m := range c.Members {
			if other, ok := cells[m]; ok && other != id {
				t.Fatalf("cell %v is in clusters %d and %d", m, other, id)
			}
			cells[m] = id
		}
	}
}

// TestGridResetIsANewGrid: a grid reused through Reset, after serving other
// tiles (one at the world's edge, where grids are clamped), clusters like a
// new one.
func TestGridResetIsANewGrid(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	reused := new(Grid)
	for i := range 60 {
		z := maptile.Zoom(2 + r.IntN(12))
		center := orb.Point{37 + r.Float64()*3, 46 + r.Float64()*4}
		if i%10 == 9 {
			center = orb.Point{-179.9, 84} // the world's corner
		}
		tl := maptile.At(center, z)
		b := tl.Bound()
		var pts []orb.Point
		for range r.IntN(400) {
			// around the tile, its ring of cells included
			pts = append(pts, orb.Point{b.Min[0] + (r.Float64()*1.8-0.4)*(b.Max[0]-b.Min[0]), b.Min[1] + (r.Float64()*1.8-0.4)*(b.Max[1]-b.Min[1])})
		}
		fresh := NewGrid(tl)
		fill(fresh, pts)
		reused.Reset(tl)
		fill(reused, pts)
		if !reflect.DeepEqual(reused.Cells, fresh.Cells) {
			t.Fatalf("tile %v: cells of the reset grid differ", tl)
		}
		want := slices.Clone(fresh.Clusters())
		if got := reused.Clusters(); !reflect.DeepEqual(got, want) {
			t.Fatalf("tile %v: clusters of the reset grid differ:\n%+v\n%+v", tl, got, want)
		}
	}
}
