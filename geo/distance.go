package geo

import (
	"math"

	"github.com/paulmach/orb"
)

// EarthRadiusKm is the mean Earth radius (IUGG), used for all ground distances.
const EarthRadiusKm = 6371.0088

// KmPerDegree is the length of one degree of latitude on the mean sphere.
const KmPerDegree = EarthRadiusKm * math.Pi / 180

// DistanceKm is the great-circle (haversine) distance between two lon/lat
// points in kilometres.
func DistanceKm(a, b orb.Point) float64 {
	lat1, lat2 := a[1]*math.Pi/180, b[1]*math.Pi/180
	dlat := lat2 - lat1
	dlon := (b[0] - a[0]) * math.Pi / 180
	h := math.Sin(dlat/2)*math.Sin(dlat/2) + math.Cos(lat1)*math.Cos(lat2)*math.Sin(dlon/2)*math.Sin(dlon/2)
	return 2 * EarthRadiusKm * math.Asin(math.Min(1, math.Sqrt(h)))
}

// BearingDeg is the initial great-circle bearing from a to b, 0..360 with 0
// at north, clockwise.
func BearingDeg(a, b orb.Point) float64 {
	lat1, lat2 := a[1]*math.Pi/180, b[1]*math.Pi/180
	dlon := (b[0] - a[0]) * math.Pi / 180
	y := math.Sin(dlon) * math.Cos(lat2)
	x := math.Cos(lat1)*math.Sin(lat2) - math.Sin(lat1)*math.Cos(lat2)*math.Cos(dlon)
	deg := math.Atan2(y, x) * 180 / math.Pi
	return math.Mod(deg+360, 360)
}

// SegmentDistanceKm is the distance from p to the segment a–b in kilometres.
// It works in an equirectangular plane centred on p, which is accurate to
// well under 1% for the few hundred kilometres this project measures.
func SegmentDistanceKm(p, a, b orb.Point) float64 {
	k := math.Cos(p[1] * math.Pi / 180)
	ax, ay := (a[0]-p[0])*k*KmPerDegree, (a[1]-p[1])*KmPerDegree
	bx, by := (b[0]-p[0])*k*KmPerDegree, (b[1]-p[1])*KmPerDegree
	dx, dy := bx-ax, by-ay
	l2 := dx*dx + dy*dy
	t := 0.0
	if l2 > 0 {
		t = -(ax*dx + ay*dy) / l2
		t = math.Max(0, math.Min(1, t))
	}
	x, y := ax+t*dx, ay+t*dy
	return math.Hypot(x, y)
}

// KmToDegrees converts a ground distance into the degrees of latitude and of
// longitude (at latitude lat) it spans, for building search boxes.
func KmToDegrees(km, lat float64) (dLon, dLat float64) {
	dLat = km / KmPerDegree
	k := math.Cos(lat * math.Pi / 180)
	if k < 1e-6 {
		k = 1e-6
	}
	return dLat / k, dLat
}
