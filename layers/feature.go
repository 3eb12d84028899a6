package layers

import (
	"time"

	"github.com/paulmach/orb"

	"troopmap/layers/props"
)

// Feature is one GeoJSON feature held by a layer. Once a feature is published
// in a snapshot it is immutable: writers build a new Feature instead of
// changing one, so readers may share it without locks.
type Feature struct {
	ID       string
	Geometry orb.Geometry // nil for features without geometry
	// Props are held in a compact form: a million reports as maps make a
	// live heap the garbage collector takes seconds to mark.
	Props props.Props
	Bound orb.Bound // valid only when Geometry != nil
	// Start and End are the feature's time extent; both zero when it has no
	// time, End zero when it is an instant.
	Start, End time.Time
	// access is what the anonymous rules read, taken from Props when the
	// feature is made: counting the visible reports of a large layer would
	// otherwise read every report's text (cache misses, not CPU).
	access reportAccess
}

// NewFeature builds a feature and computes its bound. The time extent is read
// from the properties named by timeKeys (start, then optional end), which
// hold RFC 3339 strings or time.Time values.
func NewFeature(id string, g orb.Geometry, m map[string]any, timeKeys ...string) *Feature {
	return NewFeatureProps(id, g, props.FromMap(m), timeKeys...)
}

// NewFeatureProps is NewFeature for properties already in compact form.
func NewFeatureProps(id string, g orb.Geometry, p props.Props, timeKeys ...string) *Feature {
	f := &Feature{ID: id, Geometry: g, Props: p}
	if g != nil {
		f.Bound = g.Bound()
	}
	if len(timeKeys) > 0 {
		f.Start = timeProp(p, timeKeys[0])
	}
	if len(timeKeys) > 1 {
		f.End = timeProp(p, timeKeys[1])
	}
	f.access = readAccess(p)
	return f
}

func timeProp(p props.Props, key string) time.Time {
	t, _ := propTime(p, key)
	return t.UTC()
}

// propTime reads an RFC 3339 time property; ok is false when it is absent,
// not a string or not a time.
func propTime(p props.Props, key string) (t time.Time, ok bool) {
	v, ok := p.String(key)
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	return t, err == nil
}

// HasGeometry reports whether the feature has a geometry.
func (f *Feature) HasGeometry() bool { return f.Geometry != nil }
