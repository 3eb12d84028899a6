package geo

import (
	"fmt"
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/project"
)

// CRS is a coordinate reference system the server can read and write,
// named by its OGC URI.
type CRS string

// The supported CRSs: lon/lat on WGS 84 (the storage CRS) and Web Mercator.
const (
	CRS84    CRS = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
	EPSG3857 CRS = "http://www.opengis.net/def/crs/EPSG/0/3857"
)

// SupportedCRS lists the CRSs in the order servers advertise them.
func SupportedCRS() []CRS { return []CRS{CRS84, EPSG3857} }

// ParseCRS accepts a CRS URI, or its safe CURIE ([OGC:CRS84],
// [EPSG:3857]), and returns the canonical CRS.
func ParseCRS(s string) (CRS, error) {
	switch strings.TrimSpace(s) {
	case string(CRS84), "[OGC:CRS84]":
		return CRS84, nil
	case string(EPSG3857), "[EPSG:3857]":
		return EPSG3857, nil
	}
	return "", fmt.Errorf("%q is not a supported CRS; use %s or %s", s, CRS84, EPSG3857)
}

// FromLonLat returns the function that maps a CRS84 point into c.
func (c CRS) FromLonLat() func(orb.Point) orb.Point {
	if c == EPSG3857 {
		return project.WGS84.ToMercator
	}
	return nil
}

// ToLonLat returns the function that maps a point of c to CRS84; nil means
// the identity.
func (c CRS) ToLonLat() func(orb.Point) orb.Point {
	if c == EPSG3857 {
		return project.Mercator.ToWGS84
	}
	return nil
}

// BBoxToLonLat converts a box given in c to CRS84. A box that crosses the
// antimeridian keeps west > east.
func (c CRS) BBoxToLonLat(b BBox) BBox {
	f := c.ToLonLat()
	if f == nil {
		return b
	}
	sw, ne := f(orb.Point{b.West, b.South}), f(orb.Point{b.East, b.North})
	b.West, b.South, b.East, b.North = sw[0], sw[1], ne[0], ne[1]
	return b
}

// Transform returns a copy of g with fn applied to every point; g itself is
// never changed (orb's project helpers change their input, this does not).
func Transform(g orb.Geometry, fn func(orb.Point) orb.Point) orb.Geometry {
	if g == nil || fn == nil {
		return g
	}
	line := func(ps []orb.Point) []orb.Point {
		out := make([]orb.Point, len(ps))
		for i, p := range ps {
			out[i] = fn(p)
		}
		return out
	}
	poly := func(p orb.Polygon) orb.Polygon {
		out := make(orb.Polygon, len(p))
		for i, r := range p {
			out[i] = line(r)
		}
		return out
	}
	switch g := g.(type) {
	case orb.Point:
		return fn(g)
	case orb.MultiPoint:
		return orb.MultiPoint(line(g))
	case orb.LineString:
		return orb.LineString(line(g))
	case orb.Ring:
		return orb.Ring(line(g))
	case orb.MultiLineString:
		out := make(orb.MultiLineString, len(g))
		for i, l := range g {
			out[i] = line(l)
		}
		return out
	case orb.Polygon:
		return poly(g)
	case orb.MultiPolygon:
		out := make(orb.MultiPolygon, len(g))
		for i, p := range g {
			out[i] = poly(p)
		}
		return out
	case orb.Collection:
		out := make(orb.Collection, len(g))
		for i, x := range g {
			out[i] = Transform(x, fn)
		}
		return out
	case orb.Bound:
		return orb.Bound{Min: fn(g.Min), Max: fn(g.Max)}
	}
	return g
}
