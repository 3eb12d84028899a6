package geo

import (
	"math"

	"github.com/paulmach/orb"
)

// SnapPoint moves p to the centre of its cell in a grid of roughly
// cellKm × cellKm on the ground. Rows are cellKm of latitude; within a row
// the columns are cellKm wide at the row's middle latitude, so every point of
// a cell lands on the same centre and no point moves more than about
// cellKm·√2/2. A cellKm of zero or less returns p unchanged.
func SnapPoint(p orb.Point, cellKm float64) orb.Point {
	if !(cellKm > 0) {
		return p
	}
	dLat := cellKm / KmPerDegree
	row := math.Floor(p[1] / dLat)
	lat := (row + 0.5) * dLat
	if lat > 90 {
		lat = 90 - dLat/2
	} else if lat < -90 {
		lat = -90 + dLat/2
	}
	dLon, _ := KmToDegrees(cellKm, lat)
	if dLon > 360 {
		dLon = 360
	}
	col := math.Floor((p[0] + 180) / dLon)
	lon := -180 + (col+0.5)*dLon
	if lon > 180 {
		lon -= 360
	}
	return orb.Point{lon, lat}
}

// SnapToGrid returns a new geometry with every position snapped by
// SnapPoint; g itself is never changed. Repeated positions are merged; a line
// or ring that collapses (fewer than 2, or 4, distinct positions) becomes
// the snapped point of g's representative point, so a reader never learns
// more than the cell.
func SnapToGrid(g orb.Geometry, cellKm float64) orb.Geometry {
	if g == nil {
		return nil
	}
	if !(cellKm > 0) {
		return orb.Clone(g)
	}
	collapsed := func() orb.Geometry {
		p, ok := RepresentativePoint(g)
		if !ok {
			return nil
		}
		return SnapPoint(p, cellKm)
	}
	switch g := g.(type) {
	case orb.Point:
		return SnapPoint(g, cellKm)
	case orb.MultiPoint:
		out := orb.MultiPoint{}
		seen := map[orb.Point]bool{}
		for _, p := range g {
			s := SnapPoint(p, cellKm)
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
		if len(out) == 1 {
			return out[0]
		}
		return out
	case orb.LineString:
		ls := snapLine(g, cellKm)
		if len(ls) < 2 {
			return collapsed()
		}
		return ls
	case orb.MultiLineString:
		var out orb.MultiLineString
		for _, l := range g {
			if ls := snapLine(l, cellKm); len(ls) >= 2 {
				out = append(out, ls)
			}
		}
		if len(out) == 0 {
			return collapsed()
		}
		return out
	case orb.Polygon:
		if p := snapPolygon(g, cellKm); p != nil {
			return p
		}
		return collapsed()
	case orb.MultiPolygon:
		var out orb.MultiPolygon
		for _, p := range g {
			if sp := snapPolygon(p, cellKm); sp != nil {
				out = append(out, sp)
			}
		}
		if len(out) == 0 {
			return collapsed()
		}
		return out
	case orb.Collection:
		out := make(orb.Collection, 0, len(g))
		for _, m := range g {
			if s := SnapToGrid(m, cellKm); s != nil {
				out = append(out, s)
			}
		}
		return out
	case orb.Bound:
		return SnapToGrid(g.ToPolygon(), cellKm)
	case orb.Ring:
		return SnapToGrid(orb.Polygon{g}, cellKm)
	}
	return collapsed()
}

// snapLine snaps every position and drops consecutive repeats.
func snapLine(ls orb.LineString, cellKm float64) orb.LineString {
	out := make(orb.LineString, 0, len(ls))
	for _, p := range ls {
		s := SnapPoint(p, cellKm)
		if len(out) == 0 || out[len(out)-1] != s {
			out = append(out, s)
		}
	}
	return out
}

// snapPolygon snaps the rings; it returns nil when the outer ring collapses
// and drops holes that collapse.
func snapPolygon(p orb.Polygon, cellKm float64) orb.Polygon {
	var out orb.Polygon
	for i, r := range p {
		sr := orb.Ring(snapLine(orb.LineString(r), cellKm))
		if len(sr) > 0 && sr[0] != sr[len(sr)-1] {
			sr = append(sr, sr[0])
		}
		if len(sr) < 4 {
			if i == 0 {
				return nil
			}
			continue
		}
		out = append(out, sr)
	}
	return out
}
