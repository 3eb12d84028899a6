package geo

import (
	"math"
	"strings"
	"testing"
)

func TestParseDistanceKm(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		err  string
	}{
		{"10km", 10, ""},
		{"2.5 km", 2.5, ""},
		{"500m", 0.5, ""},
		{"0", 0, ""},
		{" 1KM ", 1, ""},
		{"10", 0, "give a unit"},
		{"-1km", 0, "negative"},
		{"km", 0, "want a number"},
		{"0x10km", 0, "want a number"},
		{"NaNkm", 0, "want a number"},
		{"1e9km", 0, "circumference"},
		{"", 0, "want a number"},
	} {
		got, err := ParseDistanceKm(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseDistanceKm(%q) = %v, %v; want error with %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("ParseDistanceKm(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func FuzzParseDistanceKm(f *testing.F) {
	for _, s := range []string{"10km", "500m", "0", "1.5 km", "-3m", "inf km", "1e400m"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		km, err := ParseDistanceKm(s)
		if err != nil {
			return
		}
		if math.IsNaN(km) || km < 0 || km > 20000 {
			t.Fatalf("ParseDistanceKm(%q) = %v", s, km)
		}
	})
}
