package tile

import (
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
	if len(a.Cells) != 100 {
		t.Errorf("grid of %d cells, want 10×10", len(a.Cells))
	}
	if Abbreviate(999) != "999" || Abbreviate(1234) != "1.2k" || Abbreviate(15678) != "16k" {
		t.Error("Abbreviate")
	}
}
