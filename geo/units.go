package geo

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ParseDistanceKm parses a ground distance such as "10km", "2.5 km",
// "500m" or "0" (a bare zero needs no unit) and returns it in kilometres.
func ParseDistanceKm(s string) (float64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	unit := 0.0
	switch {
	case strings.HasSuffix(t, "km"):
		t, unit = t[:len(t)-2], 1
	case strings.HasSuffix(t, "m"):
		t, unit = t[:len(t)-1], 0.001
	}
	t = strings.TrimSpace(t)
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || strings.ContainsAny(t, "xXpP_") {
		return 0, fmt.Errorf("distance %q: want a number with km or m, e.g. 10km or 500m", s)
	}
	if v < 0 {
		return 0, fmt.Errorf("distance %q: must not be negative", s)
	}
	if unit == 0 {
		if v != 0 {
			return 0, fmt.Errorf("distance %q: give a unit, km or m, e.g. %gkm", s, v)
		}
		return 0, nil
	}
	if km := v * unit; km > 20000 {
		return 0, fmt.Errorf("distance %q: more than half the Earth's circumference", s)
	} else {
		return km, nil
	}
}
