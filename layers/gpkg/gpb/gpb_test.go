package gpb

import (
	"testing"

	"github.com/paulmach/orb"
)

func TestGeometryRoundTrip(t *testing.T) {
	for _, g := range []orb.Geometry{
		orb.Point{37.8, 48},
		orb.MultiPoint{{37, 48}, {38, 49}},
		orb.LineString{{37, 48}, {38, 48.5}},
		orb.MultiLineString{{{37, 48}, {38, 48.5}}, {{36, 47}, {36.5, 47.5}}},
		orb.Polygon{{{37, 48}, {38, 48}, {38, 49}, {37, 48}}},
		orb.MultiPolygon{{{{37, 48}, {38, 48}, {38, 49}, {37, 48}}}},
		orb.Collection{orb.Point{37, 48}, orb.LineString{{37, 48}, {38, 48.5}}},
	} {
		b, err := Encode(g)
		if err != nil {
			t.Fatal(err)
		}
		if string(b[:2]) != "GP" || b[3]&1 != 1 || (b[3]>>1)&7 != 1 {
			t.Fatalf("%T: bad header % x", g, b[:8])
		}
		back, err := Decode(b)
		if err != nil || !orb.Equal(g, back) {
			t.Fatalf("%T: round trip gave %v, %v", g, back, err)
		}
	}
	for _, bad := range [][]byte{nil, []byte("GP"), []byte("XX\x00\x03\x00\x00\x00\x00"), []byte("GP\x00\x03\xe6\x10\x00\x00")} {
		if _, err := Decode(bad); err == nil {
			t.Errorf("% x decoded", bad)
		}
	}
}

// FuzzDecode: arbitrary bytes never panic, and whatever decodes
// encodes and decodes again to the same geometry.
func FuzzDecode(f *testing.F) {
	for _, g := range []orb.Geometry{orb.Point{37.8, 48}, orb.LineString{{37, 48}, {38, 48.5}},
		orb.Polygon{{{37, 48}, {38, 48}, {38, 49}, {37, 48}}}} {
		b, _ := Encode(g)
		f.Add(b)
	}
	f.Add([]byte("GP\x00\x11\xe6\x10\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := Decode(b)
		if err != nil || g == nil {
			return
		}
		again, err := Encode(g)
		if err != nil {
			return // orb cannot write every geometry it reads (e.g. empty parts)
		}
		back, err := Decode(again)
		if err != nil || !orb.Equal(g, back) {
			t.Fatalf("re-encoded geometry changed: %v -> %v (%v)", g, back, err)
		}
	})
}
