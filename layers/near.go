package layers

import (
	"context"
	"math"
	"slices"

	"github.com/paulmach/orb"

	"troopmap/geo"
)

// Near asks for the features within RadiusKm of Center (lon/lat), measured
// along the ground, nearest first.
type Near struct {
	Center   orb.Point
	RadiusKm float64
	// Show, when set, gives the feature as the reader sees it; distances
	// are measured to its geometry, so that a reader who sees coarsened
	// positions cannot learn precise ones from distances or order. A nil
	// result leaves the feature out.
	Show func(*Feature) *Feature
	// SlackKm is how far Show may move a geometry from where the index
	// holds it (half the coarsening grid's diagonal); the search widens
	// by it so that the order stays exact.
	SlackKm float64
}

// MaxNearRadiusKm bounds Near.RadiusKm: beyond it the local approximations
// used for lines and polygons lose their accuracy, and the whole area of
// interest is well inside it anyway.
const MaxNearRadiusKm = 2000

// nodeSlack keeps a node's box distance below the distance of anything
// inside it although the box uses great-circle distance to its nearest
// corner or edge point and lines use a local flat-earth approximation; the
// two differ by well under 1% at the radii allowed.
const nodeSlack = 0.98

// nearPage walks the R-tree best first from the centre and stops at the
// radius, so the cost grows with the number of features near the centre,
// not with the layer. Features without geometry have no distance and are
// left out.
func (s *Snapshot) nearPage(ctx context.Context, q Query) (Page, error) {
	n := *q.Near
	type hit struct {
		f *Feature
		d float64
	}
	var hits []hit
	var err error
	i := 0
	s.Nearby(func(min, max [2]float64, f *Feature) float64 {
		if f == nil {
			return math.Max(0, nodeSlack*boxDistanceKm(n.Center, orb.Bound{Min: min, Max: max})-n.SlackKm)
		}
		if n.Show != nil {
			if f = n.Show(f); f == nil || f.Geometry == nil {
				return math.Inf(1)
			}
		}
		return GeometryDistanceKm(n.Center, f.Geometry)
	}, func(f *Feature, d float64) bool {
		if i++; i&1023 == 0 && ctx.Err() != nil {
			err = ctx.Err()
			return false
		}
		if d > n.RadiusKm {
			return false
		}
		if f = q.pick(s, f); f != nil {
			hits = append(hits, hit{f, d})
		}
		return true
	})
	if err != nil {
		return Page{}, err
	}
	// Equal distances come out of the tree in no fixed order; ids make the
	// pages stable.
	slices.SortStableFunc(hits, func(a, b hit) int {
		if a.d != b.d {
			return cmpFloat(a.d, b.d)
		}
		return cmpString(a.f.ID, b.f.ID)
	})
	fs := make([]*Feature, len(hits))
	for i, h := range hits {
		fs[i] = h.f
	}
	p := pageOf(fs, q.Offset, q.Limit)
	if len(p.Features) > 0 {
		off := max(q.Offset, 0)
		p.DistancesKm = make([]float64, len(p.Features))
		for i := range p.Features {
			p.DistancesKm[i] = hits[off+i].d
		}
	}
	return p, nil
}

func cmpFloat(a, b float64) int {
	if a < b {
		return -1
	}
	return 1
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// boxDistanceKm is the great-circle distance from p to the nearest point of
// b in lon/lat (0 inside).
func boxDistanceKm(p orb.Point, b orb.Bound) float64 {
	c := orb.Point{math.Max(b.Min[0], math.Min(p[0], b.Max[0])), math.Max(b.Min[1], math.Min(p[1], b.Max[1]))}
	if c == p {
		return 0
	}
	return geo.DistanceKm(p, c)
}

// GeometryDistanceKm is the ground distance from p to the nearest point of g:
// 0 when a polygon contains p, great-circle for points, and a local
// flat-earth approximation around p for lines and polygon edges (accurate to
// well under 1% within a few hundred kilometres). It is +Inf for nil.
func GeometryDistanceKm(p orb.Point, g orb.Geometry) float64 {
	switch g := g.(type) {
	case orb.Point:
		return geo.DistanceKm(p, g)
	case orb.MultiPoint:
		best := math.Inf(1)
		for _, q := range g {
			best = math.Min(best, geo.DistanceKm(p, q))
		}
		return best
	case orb.LineString:
		return lineDistanceKm(p, g)
	case orb.Ring:
		return lineDistanceKm(p, orb.LineString(g))
	case orb.MultiLineString:
		best := math.Inf(1)
		for _, ls := range g {
			best = math.Min(best, lineDistanceKm(p, ls))
		}
		return best
	case orb.Polygon, orb.MultiPolygon:
		if geo.IntersectsPolygonal(p, g) {
			return 0
		}
		best := math.Inf(1)
		var polys []orb.Polygon
		if mp, ok := g.(orb.MultiPolygon); ok {
			polys = mp
		} else {
			polys = []orb.Polygon{g.(orb.Polygon)}
		}
		for _, poly := range polys {
			for _, r := range poly {
				best = math.Min(best, lineDistanceKm(p, orb.LineString(r)))
			}
		}
		return best
	case orb.Collection:
		best := math.Inf(1)
		for _, c := range g {
			best = math.Min(best, GeometryDistanceKm(p, c))
		}
		return best
	}
	return math.Inf(1)
}

func lineDistanceKm(p orb.Point, ls orb.LineString) float64 {
	if len(ls) == 1 {
		return geo.DistanceKm(p, ls[0])
	}
	best := math.Inf(1)
	for i := 1; i < len(ls); i++ {
		best = math.Min(best, geo.SegmentDistanceKm(p, ls[i-1], ls[i]))
	}
	return best
}
