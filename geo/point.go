package geo

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/paulmach/orb"
)

// ParseLonLat parses "lon,lat" in degrees (WGS84, GeoJSON order). A pair
// whose latitude is out of range but would fit once swapped gets an error
// that says so: swapped coordinates are the commonest slip.
func ParseLonLat(s string) (orb.Point, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 2 {
		return orb.Point{}, fmt.Errorf("want lon,lat (two comma-separated numbers), got %d values", len(parts))
	}
	var v [2]float64
	for i, p := range parts {
		x, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return orb.Point{}, fmt.Errorf("%s %q is not a finite number", [2]string{"longitude", "latitude"}[i], p)
		}
		v[i] = x
	}
	lon, lat := v[0], v[1]
	if lat < -90 || lat > 90 {
		if lon >= -90 && lon <= 90 && lat >= -180 && lat <= 180 {
			return orb.Point{}, fmt.Errorf("latitude %g is out of range; the order is lon,lat: did you mean %g,%g?", lat, lat, lon)
		}
		return orb.Point{}, fmt.Errorf("latitude %g is out of range -90..90", lat)
	}
	if lon < -180 || lon > 180 {
		return orb.Point{}, fmt.Errorf("longitude %g is out of range -180..180", lon)
	}
	return orb.Point{lon, lat}, nil
}
