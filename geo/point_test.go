package geo

import (
	"strconv"
	"strings"
	"testing"

	"github.com/paulmach/orb"
)

func TestParseLonLat(t *testing.T) {
	for _, c := range []struct {
		in      string
		want    orb.Point
		wantErr string
	}{
		{"36.23,49.99", orb.Point{36.23, 49.99}, ""},
		{" 36.23 , 49.99 ", orb.Point{36.23, 49.99}, ""},
		{"-180,-90", orb.Point{-180, -90}, ""},
		{"49.99,136.23", orb.Point{}, "did you mean 136.23,49.99"},
		{"10,95", orb.Point{}, "did you mean 95,10"},
		{"200,10", orb.Point{}, "longitude 200"},
		{"10,200", orb.Point{}, "latitude 200 is out of range -90..90"},
		{"36", orb.Point{}, "two comma-separated"},
		{"1,2,3", orb.Point{}, "two comma-separated"},
		{"x,1", orb.Point{}, "longitude \"x\""},
		{"1,NaN", orb.Point{}, "latitude \"NaN\""},
	} {
		got, err := ParseLonLat(c.in)
		if c.wantErr == "" {
			if err != nil || got != c.want {
				t.Errorf("%q: %v, %v; want %v", c.in, got, err, c.want)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.wantErr) {
			t.Errorf("%q: error %v, want one containing %q", c.in, err, c.wantErr)
		}
	}
}

func FuzzParseLonLat(f *testing.F) {
	for _, s := range []string{"36.23,49.99", "49.99,136.23", "", ",", "1e400,0", "-0,-0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseLonLat(s)
		if err != nil {
			return
		}
		if p[0] < -180 || p[0] > 180 || p[1] < -90 || p[1] > 90 {
			t.Fatalf("%q gave %v, out of range", s, p)
		}
		num := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
		if q, err := ParseLonLat(num(p[0]) + "," + num(p[1])); err != nil || q != p {
			t.Fatalf("round trip of %q: %v, %v", s, q, err)
		}
	})
}
