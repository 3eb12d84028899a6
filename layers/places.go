package layers

import (
	"math"
	"slices"

	"github.com/paulmach/orb"
	"github.com/tidwall/rtree"

	"troopmap/geo"
)

// Location is what the server derives about a report's place.
type Location struct {
	Zones    []string // ids of the zone layers that intersect the geometry, sorted
	Admin1   string   // ISO 3166-2 code of the oblast holding the representative point
	BorderKm float64  // ground distance from the representative point to the land border
	HasAdmin bool
	// HasBorder is false when no border lines are configured.
	HasBorder bool
}

// Places locates geometries against the area layers: which zones intersect
// them, which oblast holds them and how far they are from the border. The
// area layers' own R-trees are the point-in-polygon index. Places reads the
// layers' current snapshots on every call, so edits to area layers are seen
// at once. It is safe for concurrent use.
type Places struct {
	zones   []*Layer
	oblasts *Layer
	borders rtree.RTreeG[[2]orb.Point]
	nborder int
}

// NewPlaces builds a locator over zone layers, the oblasts layer (features
// carrying iso_3166_2) and the land border lines.
func NewPlaces(zones []*Layer, oblasts *Layer, borders []*Feature) *Places {
	p := &Places{zones: zones, oblasts: oblasts}
	for _, f := range borders {
		var lines []orb.LineString
		switch g := f.Geometry.(type) {
		case orb.LineString:
			lines = append(lines, g)
		case orb.MultiLineString:
			lines = append(lines, g...)
		}
		for _, ls := range lines {
			for i := 1; i < len(ls); i++ {
				b := orb.LineString{ls[i-1], ls[i]}.Bound()
				p.borders.Insert(b.Min, b.Max, [2]orb.Point{ls[i-1], ls[i]})
				p.nborder++
			}
		}
	}
	return p
}

// Locate derives a geometry's zones, oblast and border distance. Zones use
// intersection, the oblast and the distance use the representative point.
func (p *Places) Locate(g orb.Geometry) Location {
	var loc Location
	if g == nil {
		return loc
	}
	b := g.Bound()
	for _, z := range p.zones {
		hit := false
		z.Snapshot().Search(b, func(f *Feature) bool {
			hit = geo.IntersectsPolygonal(g, f.Geometry)
			return !hit
		})
		if hit {
			loc.Zones = append(loc.Zones, z.ID)
		}
	}
	slices.Sort(loc.Zones)
	rp, ok := geo.RepresentativePoint(g)
	if !ok {
		return loc
	}
	if p.oblasts != nil {
		p.oblasts.Snapshot().Search(rp.Bound(), func(f *Feature) bool {
			if geo.IntersectsPolygonal(rp, f.Geometry) {
				loc.Admin1, _ = f.Properties["iso_3166_2"].(string)
				loc.HasAdmin = loc.Admin1 != ""
				return false
			}
			return true
		})
	}
	if p.nborder > 0 {
		loc.BorderKm, loc.HasBorder = p.borderKm(rp), true
	}
	return loc
}

// borderKm searches growing boxes around pt until the nearest border
// segment is certainly inside the box.
func (p *Places) borderKm(pt orb.Point) float64 {
	for r := 50.0; ; r *= 2 {
		dLon, dLat := geo.KmToDegrees(r, pt[1])
		best := math.Inf(1)
		p.borders.Search([2]float64{pt[0] - dLon, pt[1] - dLat}, [2]float64{pt[0] + dLon, pt[1] + dLat},
			func(_, _ [2]float64, s [2]orb.Point) bool {
				best = math.Min(best, geo.SegmentDistanceKm(pt, s[0], s[1]))
				return true
			})
		if best <= r || r > 40000 {
			return best
		}
	}
}
