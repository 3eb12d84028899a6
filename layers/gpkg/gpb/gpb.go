// Package gpb reads and writes GeoPackage binary geometry (the "GP" header
// and envelope followed by WKB). It is apart from the store so that its
// fuzz test builds without the SQLite engine.
package gpb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"
)

// srsWGS84 is the srs_id of every geometry we write (EPSG:4326).
const srsWGS84 = 4326

// Encode writes GeoPackage binary: the "GP" header (version 0,
// little-endian, an xy envelope, srs 4326) followed by the geometry as
// little-endian WKB.
func Encode(g orb.Geometry) ([]byte, error) {
	w, err := wkb.Marshal(g, binary.LittleEndian)
	if err != nil {
		return nil, fmt.Errorf("geometry to WKB: %w", err)
	}
	b := g.Bound()
	out := make([]byte, 8+32, 8+32+len(w))
	out[0], out[1], out[2] = 'G', 'P', 0
	out[3] = 1 | 1<<1 // little-endian header, envelope [minx, maxx, miny, maxy]
	binary.LittleEndian.PutUint32(out[4:], srsWGS84)
	for i, v := range []float64{b.Min[0], b.Max[0], b.Min[1], b.Max[1]} {
		binary.LittleEndian.PutUint64(out[8+8*i:], math.Float64bits(v))
	}
	return append(out, w...), nil
}

// envelopeSize is the envelope length for an envelope indicator, -1 when
// the indicator is invalid.
func envelopeSize(ind int) int {
	switch ind {
	case 0:
		return 0
	case 1:
		return 32
	case 2, 3:
		return 48
	case 4:
		return 64
	}
	return -1
}

// Decode reads GeoPackage binary, as written by any GeoPackage
// writer (either byte order, any envelope). An empty geometry gives nil.
func Decode(b []byte) (orb.Geometry, error) {
	if len(b) < 8 || b[0] != 'G' || b[1] != 'P' {
		return nil, errors.New("not GeoPackage binary: bad magic")
	}
	flags := b[3]
	if flags&(1<<5) != 0 {
		return nil, errors.New("extended GeoPackage geometry is not supported")
	}
	env := envelopeSize(int(flags>>1) & 7)
	if env < 0 {
		return nil, fmt.Errorf("bad envelope indicator %d", int(flags>>1)&7)
	}
	start := 8 + env
	if len(b) < start {
		return nil, errors.New("truncated GeoPackage geometry header")
	}
	if flags&(1<<4) != 0 {
		return nil, nil
	}
	g, err := wkb.Unmarshal(b[start:])
	if err != nil {
		return nil, fmt.Errorf("WKB: %w", err)
	}
	if !finite(g) {
		return nil, errors.New("geometry has a coordinate that is not a finite number")
	}
	return g, nil
}

// finite reports whether every coordinate of g is a finite number; files
// edited by other tools may hold NaN, which no report may carry.
func finite(g orb.Geometry) bool {
	ok := true
	check := func(ps []orb.Point) {
		for _, p := range ps {
			if math.IsNaN(p[0]) || math.IsNaN(p[1]) || math.IsInf(p[0], 0) || math.IsInf(p[1], 0) {
				ok = false
			}
		}
	}
	switch g := g.(type) {
	case orb.Point:
		check([]orb.Point{g})
	case orb.MultiPoint:
		check(g)
	case orb.LineString:
		check(g)
	case orb.MultiLineString:
		for _, l := range g {
			check(l)
		}
	case orb.Ring:
		check(g)
	case orb.Polygon:
		for _, r := range g {
			check(r)
		}
	case orb.MultiPolygon:
		for _, p := range g {
			for _, r := range p {
				check(r)
			}
		}
	case orb.Collection:
		for _, c := range g {
			ok = ok && finite(c)
		}
	case orb.Bound:
		check([]orb.Point{g.Min, g.Max})
	}
	return ok
}
