package geo

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/paulmach/orb"
)

// BBox is a query box in lon/lat (CRS84). West may be greater than East, in
// which case the box crosses the antimeridian. The optional Z range of a
// 6-number box is kept but does not restrict 2D features.
type BBox struct {
	West, South, East, North float64
	HasZ                     bool
	MinZ, MaxZ               float64
}

// ParseBBox parses "w,s,e,n" or "w,s,zmin,e,n,zmax" as used by OGC API –
// Features. It checks ranges only for lon/lat boxes (see ParseBBoxNoRange).
func ParseBBox(s string) (BBox, error) {
	b, err := ParseBBoxNoRange(s)
	if err != nil {
		return BBox{}, err
	}
	if b.South < -90 || b.North > 90 {
		return BBox{}, fmt.Errorf("latitude must be within -90..90, got %g..%g", b.South, b.North)
	}
	if b.West < -180 || b.West > 180 || b.East < -180 || b.East > 180 {
		return BBox{}, fmt.Errorf("longitude must be within -180..180, got %g and %g", b.West, b.East)
	}
	return b, nil
}

// ParseBBoxNoRange parses a 4- or 6-number box without checking that its
// numbers are lon/lat, for boxes given in a projected CRS.
func ParseBBoxNoRange(s string) (BBox, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 4 && len(parts) != 6 {
		return BBox{}, fmt.Errorf("want 4 or 6 comma-separated numbers, got %d", len(parts))
	}
	nums := make([]float64, len(parts))
	for i, p := range parts {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return BBox{}, fmt.Errorf("number %d (%q) is not a finite number", i+1, p)
		}
		nums[i] = v
	}
	var b BBox
	if len(nums) == 4 {
		b = BBox{West: nums[0], South: nums[1], East: nums[2], North: nums[3]}
	} else {
		b = BBox{West: nums[0], South: nums[1], MinZ: nums[2], East: nums[3], North: nums[4], MaxZ: nums[5], HasZ: true}
		if b.MinZ > b.MaxZ {
			return BBox{}, fmt.Errorf("minimum height %g is above maximum height %g", b.MinZ, b.MaxZ)
		}
	}
	if b.South > b.North {
		return BBox{}, fmt.Errorf("south %g is north of north %g", b.South, b.North)
	}
	return b, nil
}

// CrossesAntimeridian reports whether the box wraps around 180°.
func (b BBox) CrossesAntimeridian() bool { return b.West > b.East }

// Bounds returns the box as one orb.Bound, or two when it crosses the
// antimeridian (west part first).
func (b BBox) Bounds() []orb.Bound {
	if b.CrossesAntimeridian() {
		return []orb.Bound{
			{Min: orb.Point{b.West, b.South}, Max: orb.Point{180, b.North}},
			{Min: orb.Point{-180, b.South}, Max: orb.Point{b.East, b.North}},
		}
	}
	return []orb.Bound{{Min: orb.Point{b.West, b.South}, Max: orb.Point{b.East, b.North}}}
}

// Intersects reports whether the bound touches the box; touching edges count.
func (b BBox) Intersects(o orb.Bound) bool {
	for _, p := range b.Bounds() {
		if p.Intersects(o) {
			return true
		}
	}
	return false
}

// String formats the box back into its query form.
func (b BBox) String() string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	if b.HasZ {
		return strings.Join([]string{f(b.West), f(b.South), f(b.MinZ), f(b.East), f(b.North), f(b.MaxZ)}, ",")
	}
	return strings.Join([]string{f(b.West), f(b.South), f(b.East), f(b.North)}, ",")
}

// IntersectsGeometry reports whether g shares a point with the box, exactly
// (see IntersectsBound).
func (b BBox) IntersectsGeometry(g orb.Geometry) bool {
	for _, p := range b.Bounds() {
		if IntersectsBound(g, p) {
			return true
		}
	}
	return false
}

// Grow returns the box widened by km on every side (longitude measured at
// the box's poleward edge, so the margin is at least km everywhere). A box
// pushed over the antimeridian wraps around it; one that would circle the
// globe becomes -180..180.
func (b BBox) Grow(km float64) BBox {
	if !(km > 0) {
		return b
	}
	_, dLat := KmToDegrees(km, 0)
	edge := math.Min(math.Max(math.Abs(b.South), math.Abs(b.North))+dLat, 89)
	dLon, _ := KmToDegrees(km, edge)
	g := b
	g.South, g.North = math.Max(b.South-dLat, -90), math.Min(b.North+dLat, 90)
	width := b.East - b.West
	if b.CrossesAntimeridian() {
		width += 360
	}
	if width+2*dLon >= 360 {
		g.West, g.East = -180, 180
		return g
	}
	g.West, g.East = b.West-dLon, b.East+dLon
	if g.West < -180 {
		g.West += 360
	}
	if g.East > 180 {
		g.East -= 360
	}
	return g
}
