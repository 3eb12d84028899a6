package main

import (
	"fmt"
	"math"
	"sort"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
	"github.com/tidwall/rtree"

	"troopmap/geo"
)

// bufferLines returns the area within km of any of the lines as a
// MultiPolygon. It samples the ground distance on a regular lon/lat grid of
// step degrees and traces the km contour with marching squares, so the
// result is exact to a fraction of the grid step and has clean topology
// however much the lines wiggle.
func bufferLines(lines []orb.LineString, km, step float64) orb.MultiPolygon {
	var segs rtree.RTreeG[[2]orb.Point]
	var box orb.Bound
	for i, ls := range lines {
		if i == 0 {
			box = ls.Bound()
		}
		box = box.Union(ls.Bound())
		for j := 1; j < len(ls); j++ {
			b := orb.LineString{ls[j-1], ls[j]}.Bound()
			segs.Insert(b.Min, b.Max, [2]orb.Point{ls[j-1], ls[j]})
		}
	}
	dLon, dLat := geo.KmToDegrees(km, math.Max(math.Abs(box.Min[1]), math.Abs(box.Max[1])))
	// Two spare cells on each side keep every contour closed inside the grid.
	x0, y0 := box.Min[0]-dLon-2*step, box.Min[1]-dLat-2*step
	nx := int(math.Ceil((box.Max[0]+dLon+2*step-x0)/step)) + 1
	ny := int(math.Ceil((box.Max[1]+dLat+2*step-y0)/step)) + 1

	// f > 0 inside the buffer, < 0 outside; never exactly 0 so that the
	// contour never passes through a grid node.
	f := make([]float64, nx*ny)
	for j := 0; j < ny; j++ {
		for i := 0; i < nx; i++ {
			p := orb.Point{x0 + float64(i)*step, y0 + float64(j)*step}
			// Search a little beyond km so that nodes just outside get
			// their true distance too: the interpolation needs it.
			dx, dy := geo.KmToDegrees(1.2*km, p[1])
			best := 1.2 * km
			segs.Search([2]float64{p[0] - dx, p[1] - dy}, [2]float64{p[0] + dx, p[1] + dy},
				func(_, _ [2]float64, s [2]orb.Point) bool {
					best = math.Min(best, geo.SegmentDistanceKm(p, s[0], s[1]))
					return true
				})
			v := km - best
			if v == 0 {
				v = -1e-9
			}
			f[j*nx+i] = v
		}
	}
	val := func(i, j int) float64 { return f[j*nx+i] }
	pt := func(i, j int) orb.Point { return orb.Point{x0 + float64(i)*step, y0 + float64(j)*step} }

	// Edge keys: horizontal edge from node (i,j) to (i+1,j) is 2*(j*nx+i),
	// vertical edge from (i,j) to (i,j+1) is 2*(j*nx+i)+1.
	hEdge := func(i, j int) int { return 2 * (j*nx + i) }
	vEdge := func(i, j int) int { return 2*(j*nx+i) + 1 }
	cross := func(e int) orb.Point {
		n := e / 2
		i, j := n%nx, n/nx
		a, fa := pt(i, j), val(i, j)
		var b orb.Point
		var fb float64
		if e%2 == 0 {
			b, fb = pt(i+1, j), val(i+1, j)
		} else {
			b, fb = pt(i, j+1), val(i, j+1)
		}
		t := fa / (fa - fb)
		return orb.Point{a[0] + t*(b[0]-a[0]), a[1] + t*(b[1]-a[1])}
	}

	next := map[int]int{}
	for j := 0; j+1 < ny; j++ {
		for i := 0; i+1 < nx; i++ {
			bl, br, tr, tl := val(i, j) > 0, val(i+1, j) > 0, val(i+1, j+1) > 0, val(i, j+1) > 0
			c := 0
			if bl {
				c |= 1
			}
			if br {
				c |= 2
			}
			if tr {
				c |= 4
			}
			if tl {
				c |= 8
			}
			if c == 0 || c == 15 {
				continue
			}
			B, R, T, L := hEdge(i, j), vEdge(i+1, j), hEdge(i, j+1), vEdge(i, j)
			centre := (val(i, j)+val(i+1, j)+val(i+1, j+1)+val(i, j+1))/4 > 0
			var pairs [][2]int
			switch c {
			case 1, 14:
				pairs = [][2]int{{L, B}}
			case 2, 13:
				pairs = [][2]int{{B, R}}
			case 3, 12:
				pairs = [][2]int{{L, R}}
			case 4, 11:
				pairs = [][2]int{{R, T}}
			case 6, 9:
				pairs = [][2]int{{B, T}}
			case 7, 8:
				pairs = [][2]int{{L, T}}
			case 5:
				if centre {
					pairs = [][2]int{{B, R}, {T, L}}
				} else {
					pairs = [][2]int{{L, B}, {R, T}}
				}
			case 10:
				if centre {
					pairs = [][2]int{{L, B}, {R, T}}
				} else {
					pairs = [][2]int{{B, R}, {T, L}}
				}
			}
			corners := [4]orb.Point{pt(i, j), pt(i+1, j), pt(i+1, j+1), pt(i, j+1)}
			inside := [4]bool{bl, br, tr, tl}
			for _, pr := range pairs {
				p, q := cross(pr[0]), cross(pr[1])
				// Orient so the inside lies on the left: exterior rings
				// come out counter-clockwise, holes clockwise (RFC 7946).
				m := orb.Point{(p[0] + q[0]) / 2, (p[1] + q[1]) / 2}
				k := 0
				for n := 1; n < 4; n++ {
					if planar.Distance(m, corners[n]) < planar.Distance(m, corners[k]) {
						k = n
					}
				}
				side := (q[0]-p[0])*(corners[k][1]-p[1]) - (q[1]-p[1])*(corners[k][0]-p[0])
				if (side > 0) != inside[k] {
					pr[0], pr[1] = pr[1], pr[0]
				}
				if _, dup := next[pr[0]]; dup {
					panic(fmt.Sprintf("edge %d starts two segments (case %d) cell %d,%d pr=%v B%d R%d T%d L%d p=%v q=%v k=%d side=%g", pr[0], c, i, j, pr, B, R, T, L, p, q, k, side))
				}
				next[pr[0]] = pr[1]
			}
		}
	}

	starts := make([]int, 0, len(next))
	for e := range next {
		starts = append(starts, e)
	}
	sort.Ints(starts)
	var outers []orb.Polygon
	var holes []orb.Ring
	for _, s := range starts {
		if _, ok := next[s]; !ok {
			continue
		}
		var ring orb.Ring
		for e := s; ; {
			ring = append(ring, cross(e))
			n, ok := next[e]
			if !ok {
				panic(fmt.Sprintf("contour broken at edge %d after %d points", e, len(ring)))
			}
			delete(next, e)
			e = n
			if e == s {
				break
			}
		}
		ring = append(ring, ring[0])
		if planar.Area(ring) > 0 {
			outers = append(outers, orb.Polygon{ring})
		} else {
			holes = append(holes, ring)
		}
	}
	for _, h := range holes {
		for k := range outers {
			if planar.RingContains(outers[k][0], h[0]) {
				outers[k] = append(outers[k], h)
				break
			}
		}
	}
	return orb.MultiPolygon(outers)
}
