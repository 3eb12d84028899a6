package tile

import (
	"math"
	"slices"
	"strconv"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"
)

// Clustering puts points into a fixed grid of cells per zoom, in the spirit
// of supercluster's 40-pixel radius: at tile zoom z a cell is the tile of
// zoom z+CellShift, 8×8 cells per tile, 64 pixels on a 512-pixel tile. A
// fixed grid makes a cluster a pure function of the points in its cell, so
// clusters agree across tile edges, do not depend on scan order, and a
// cluster's id (its cell) can be resolved back to its reports.

// CellShift is log2 of the cells per tile side.
const CellShift = 3

// qbits is the precision of quantised world coordinates.
const qbits = 31

// Quantize returns the Web Mercator position of a lon/lat point as integers
// in [0, 2^31). Everything that assigns points to cells goes through it, so
// all paths agree on which cell a point is in.
func Quantize(p orb.Point) (uint32, uint32) {
	x, y := WorldXY(p)
	const n = 1 << qbits
	return uint32(min(math.Floor(x*n), n-1)), uint32(min(math.Floor(y*n), n-1))
}

// Morton interleaves quantised coordinates; each cell at every zoom is one
// contiguous range of codes.
func Morton(qx, qy uint32) uint64 { return spread(qx) | spread(qy)<<1 }

func spread(v uint32) uint64 {
	x := uint64(v)
	x = (x | x<<16) & 0x0000FFFF0000FFFF
	x = (x | x<<8) & 0x00FF00FF00FF00FF
	x = (x | x<<4) & 0x0F0F0F0F0F0F0F0F
	x = (x | x<<2) & 0x3333333333333333
	x = (x | x<<1) & 0x5555555555555555
	return x
}

// Cell is a grid cell: the tile (Z, X, Y) of zoom tile-zoom + CellShift.
type Cell struct{ Z, X, Y uint32 }

// CellOf returns the cell of zoom cz that holds a quantised point.
func CellOf(qx, qy uint32, cz uint32) Cell {
	return Cell{Z: cz, X: qx >> (qbits - cz), Y: qy >> (qbits - cz)}
}

// Range returns the first and last Morton codes of points in the cell.
func (c Cell) Range() (lo, hi uint64) {
	shift := 2 * (qbits - c.Z)
	m := Morton(c.X, c.Y)
	return m << shift, (m+1)<<shift - 1
}

// Bound returns the cell's lon/lat bound.
func (c Cell) Bound() orb.Bound { return maptile.New(c.X, c.Y, maptile.Zoom(c.Z)).Bound() }

// ID packs a cell into the cluster id carried by tiles and resolved by the
// leaves route: z<<48 | x<<24 | y, below 2^53 so that JavaScript numbers
// (MapLibre's feature ids) hold it exactly. Cell zooms go up to 24.
func (c Cell) ID() uint64 { return uint64(c.Z)<<48 | uint64(c.X)<<24 | uint64(c.Y) }

// MaxCellZoom is the deepest cell zoom a cluster id can name.
const MaxCellZoom = 24

// ParseClusterID reverses Cell.ID, checking that the cell is on the grid.
func ParseClusterID(s string) (Cell, bool) {
	v, err := strconv.ParseUint(s, 10, 64)
	// Only the canonical spelling names a cluster: "00" or "+5" would give
	// one cluster several ids and break cache keys.
	if err != nil || strconv.FormatUint(v, 10) != s {
		return Cell{}, false
	}
	c := Cell{Z: uint32(v >> 48), X: uint32(v>>24) & (1<<24 - 1), Y: uint32(v) & (1<<24 - 1)}
	if c.Z > MaxCellZoom || uint64(c.X) >= 1<<c.Z || uint64(c.Y) >= 1<<c.Z || c.ID() != v {
		return Cell{}, false
	}
	return c, true
}

// Grid is the set of cells a tile's clusters depend on: the tile's own 8×8
// cells and GridRing rings around them (see Clusters). Cells are in
// row-major order.
type Grid struct {
	Z      uint32 // cell zoom
	x0, y0 uint32 // first cell
	w, h   uint32
	// ix0, iy0, ix1, iy1 (exclusive) are the cells the grid was made for.
	ix0, iy0, ix1, iy1 uint32
	Cells              []Agg
	scratch            clusterScratch // Clusters' memory, kept by Reset
}

type clusterScratch struct {
	best    []int32
	out     []Cluster
	members []Cell
}

// GridRing is how many rings of cells around a tile its clusters depend
// on: a cell joins the heaviest cell next to it, which must be a local
// maximum itself; deciding that for the cells one ring out needs counts
// three rings out.
const GridRing = 3

// Agg accumulates the points of one cell. Sums are integers, so the result
// does not depend on the order in which points arrive.
type Agg struct {
	Cell       Cell
	N          int
	sx, sy     uint64
	Sum        float64 // sum of the points' weights (integral values)
	Counts     [8]int  // per category index
	Latest     int64   // greatest time seen, Unix nanoseconds
	HasLatest  bool
	First      any // the point's payload while N == 1
	firstOrder uint64
}

// NewGrid returns the empty grid of tile t, clamped to the world.
func NewGrid(t maptile.Tile) *Grid {
	x0, y0 := t.X<<CellShift, t.Y<<CellShift
	return newGrid(uint32(t.Z)+CellShift, x0, y0, x0+1<<CellShift, y0+1<<CellShift)
}

// NewGridAround returns the empty grid that decides the cluster of cell c.
func NewGridAround(c Cell) *Grid { return newGrid(c.Z, c.X, c.Y, c.X+1, c.Y+1) }

func newGrid(cz, ix0, iy0, ix1, iy1 uint32) *Grid {
	g := &Grid{}
	g.init(cz, ix0, iy0, ix1, iy1)
	return g
}

// Reset makes g the empty grid of tile t, as NewGrid does, but in g's
// memory. The clusters g returned before are no longer valid.
func (g *Grid) Reset(t maptile.Tile) {
	x0, y0 := t.X<<CellShift, t.Y<<CellShift
	g.init(uint32(t.Z)+CellShift, x0, y0, x0+1<<CellShift, y0+1<<CellShift)
}

func (g *Grid) init(cz, ix0, iy0, ix1, iy1 uint32) {
	n := uint32(1) << cz
	x0, y0 := ix0-min(ix0, GridRing), iy0-min(iy0, GridRing)
	x1, y1 := min(ix1+GridRing, n), min(iy1+GridRing, n)
	cells, s := g.Cells, g.scratch
	*g = Grid{Z: cz, x0: x0, y0: y0, w: x1 - x0, h: y1 - y0, ix0: ix0, iy0: iy0, ix1: ix1, iy1: iy1, scratch: s}
	g.Cells = slices.Grow(cells[:0], int(g.w*g.h))[:g.w*g.h]
	for i := range g.Cells {
		g.Cells[i] = Agg{Cell: Cell{Z: cz, X: x0 + uint32(i)%g.w, Y: y0 + uint32(i)/g.w}}
	}
}

// ring returns how many cells c lies outside the cells the grid was made
// for (0 inside).
func (g *Grid) ring(c Cell) uint32 {
	d := func(v, lo, hi uint32) uint32 {
		switch {
		case v < lo:
			return lo - v
		case v >= hi:
			return v - hi + 1
		}
		return 0
	}
	return max(d(c.X, g.ix0, g.ix1), d(c.Y, g.iy0, g.iy1))
}

// cell returns the aggregate of cell (x, y), or nil outside the grid.
func (g *Grid) cell(x, y int64) *Agg {
	if x < int64(g.x0) || y < int64(g.y0) || x >= int64(g.x0+g.w) || y >= int64(g.y0+g.h) {
		return nil
	}
	return &g.Cells[(uint32(y)-g.y0)*g.w+(uint32(x)-g.x0)]
}

// GridTouches reports whether a change to the points inside b can change
// what tile t shows at a cluster zoom: whether b meets a cell of t's grid.
func GridTouches(t maptile.Tile, b orb.Bound) bool {
	cz := uint32(t.Z) + CellShift
	n := uint32(1) << cz
	ix0, iy0 := t.X<<CellShift, t.Y<<CellShift
	x0, y0 := ix0-min(ix0, GridRing), iy0-min(iy0, GridRing)
	x1, y1 := min(ix0+1<<CellShift+GridRing, n), min(iy0+1<<CellShift+GridRing, n)
	qx0, qy0 := Quantize(orb.Point{b.Min[0], b.Max[1]})
	qx1, qy1 := Quantize(orb.Point{b.Max[0], b.Min[1]})
	a, c := CellOf(qx0, qy0, cz), CellOf(qx1, qy1, cz)
	return a.X < x1 && c.X >= x0 && a.Y < y1 && c.Y >= y0
}

// Cluster is one cluster: its members' sums, named by its seed cell.
type Cluster struct {
	Agg
	Members []Cell
}

// ClusterRadius is how close, in pixels of a 512-pixel tile, a cell's
// points must be to a neighbouring cluster's to join it, as supercluster's
// default radius of 40.
const ClusterRadius = 40

// Clusters joins the grid's filled cells into clusters in the manner of
// supercluster, but by rules that look only at nearby cells, so that every
// tile computes the same clusters where they overlap: a cell whose count is
// the greatest of its 3×3 neighbourhood (ties: the smaller cell id) is a
// seed; any other cell joins the heaviest cell next to it when that is a
// seed and their points' centres lie within ClusterRadius pixels, and else
// stays a cluster of its own. It returns the clusters seeded in the cells
// the grid was made for and the ring around them (those whose position can
// fall in the tile's buffer), in row-major order of their seeds. The result
// lives in g's memory: valid until the next Clusters or Reset.
func (g *Grid) Clusters() []Cluster {
	// best[i]: index of the heaviest cell of i's neighbourhood, for the
	// cells whose whole neighbourhood is in the grid; -1 otherwise.
	best := slices.Grow(g.scratch.best[:0], len(g.Cells))[:len(g.Cells)]
	g.scratch.best = best
	for i := range g.Cells {
		best[i] = -1
		a := &g.Cells[i]
		if a.N == 0 || g.ring(a.Cell) >= GridRing {
			continue
		}
		b := a
		for dy := int64(-1); dy <= 1; dy++ {
			for dx := int64(-1); dx <= 1; dx++ {
				n := g.cell(int64(a.Cell.X)+dx, int64(a.Cell.Y)+dy)
				if n != nil && (n.N > b.N || n.N == b.N && n.Cell.ID() < b.Cell.ID()) {
					b = n
				}
			}
		}
		best[i] = int32((b.Cell.Y-g.y0)*g.w + (b.Cell.X - g.x0))
	}
	seed := func(i int32) bool { return i >= 0 && best[i] == i }
	// A cell's own pixel size in quantised units, at the tile zoom.
	px := float64(uint64(1)<<(qbits-g.Z+CellShift)) / 512
	r2 := ClusterRadius * px * ClusterRadius * px
	joins := func(i int) bool {
		b := best[i]
		if b < 0 || b == int32(i) || !seed(b) {
			return false
		}
		cx, cy := g.Cells[i].mean()
		sx, sy := g.Cells[b].mean()
		return (cx-sx)*(cx-sx)+(cy-sy)*(cy-sy) <= r2
	}
	out := g.scratch.out[:0]
	members := g.scratch.members[:0]
	for i := range g.Cells {
		a := &g.Cells[i]
		if a.N == 0 || g.ring(a.Cell) > 1 || best[i] < 0 || joins(i) {
			continue
		}
		from := len(members)
		members = append(members, a.Cell)
		cl := Cluster{Agg: *a}
		if seed(int32(i)) {
			for dy := int64(-1); dy <= 1; dy++ {
				for dx := int64(-1); dx <= 1; dx++ {
					n := g.cell(int64(a.Cell.X)+dx, int64(a.Cell.Y)+dy)
					if n == nil || n == a || n.N == 0 {
						continue
					}
					j := int((n.Cell.Y-g.y0)*g.w + (n.Cell.X - g.x0))
					if best[j] == int32(i) && joins(j) {
						cl.merge(n)
						members = append(members, n.Cell)
					}
				}
			}
		}
		cl.Members = members[from:len(members):len(members)]
		out = append(out, cl)
	}
	g.scratch.out, g.scratch.members = out, members
	return out
}

// mean returns the mean quantised position of the cell's points.
func (a *Agg) mean() (float64, float64) {
	return float64(a.sx) / float64(a.N), float64(a.sy) / float64(a.N)
}

// merge adds another cell's points to a cluster.
func (a *Agg) merge(b *Agg) {
	a.AddRun(b.N, b.sx, b.sy, b.Sum, b.Counts, b.Latest, b.HasLatest, nil)
	a.First = nil // only a single point keeps its payload
}

// At returns the aggregate of the cell holding a quantised point, or nil
// when the point is outside the grid.
func (g *Grid) At(qx, qy uint32) *Agg {
	cx, cy := qx>>(qbits-g.Z), qy>>(qbits-g.Z)
	if cx < g.x0 || cy < g.y0 || cx-g.x0 >= g.w || cy-g.y0 >= g.h {
		return nil
	}
	return &g.Cells[(cy-g.y0)*g.w+(cx-g.x0)]
}

// Add puts one point into the aggregate. order breaks ties for which
// payload a one-point cell keeps (smallest order wins), keeping the result
// independent of arrival order.
func (a *Agg) Add(qx, qy uint32, weight float64, cat int, t int64, hasT bool, payload any, order uint64) {
	if a.N == 0 || order < a.firstOrder {
		a.First, a.firstOrder = payload, order
	}
	a.N++
	a.sx += uint64(qx)
	a.sy += uint64(qy)
	a.Sum += weight
	if cat >= 0 && cat < len(a.Counts) {
		a.Counts[cat]++
	}
	if hasT && (!a.HasLatest || t > a.Latest) {
		a.Latest, a.HasLatest = t, true
	}
}

// AddRun puts n points at once into the aggregate, given their sums: the
// same result as n calls of Add in the run's order (first is the run's
// first payload).
func (a *Agg) AddRun(n int, sx, sy uint64, sum float64, counts [8]int, latest int64, hasLatest bool, first any) {
	if n <= 0 {
		return
	}
	if a.N == 0 {
		a.First, a.firstOrder = first, 0
	}
	a.N += n
	a.sx += sx
	a.sy += sy
	a.Sum += sum
	for i, c := range counts {
		a.Counts[i] += c
	}
	if hasLatest && (!a.HasLatest || latest > a.Latest) {
		a.Latest, a.HasLatest = latest, true
	}
}

// Centroid returns the mean position of the cell's points in lon/lat.
func (a *Agg) Centroid() orb.Point {
	const n = 1 << qbits
	x := (float64(a.sx)/float64(a.N) + 0.5) / n
	y := (float64(a.sy)/float64(a.N) + 0.5) / n
	lon := x*360 - 180
	lat := math.Atan(math.Sinh(math.Pi*(1-2*y))) * 180 / math.Pi
	return orb.Point{lon, lat}
}

// InBuffer reports whether a lon/lat point falls in tile t's buffered area:
// a cluster is drawn by every tile whose buffer holds its centroid.
func InBuffer(t maptile.Tile, p orb.Point) bool {
	q := NewProjector(t).Point(p)
	return q[0] >= -Buffer && q[0] <= Extent+Buffer && q[1] >= -Buffer && q[1] <= Extent+Buffer
}

// Abbreviate formats a point count as supercluster does: 999, 1.2k, 12k.
func Abbreviate(n int) string {
	switch {
	case n >= 10000:
		return strconv.Itoa(int(math.Round(float64(n)/1000))) + "k"
	case n >= 1000:
		return strconv.FormatFloat(math.Round(float64(n)/100)/10, 'f', -1, 64) + "k"
	}
	return strconv.Itoa(n)
}
