package layers

import (
	"time"

	"github.com/paulmach/orb"
)

// Feature is one GeoJSON feature held by a layer. Once a feature is published
// in a snapshot it is immutable: writers build a new Feature instead of
// changing one, so readers may share it without locks.
type Feature struct {
	ID         string
	Geometry   orb.Geometry // nil for features without geometry
	Properties map[string]any
	Bound      orb.Bound // valid only when Geometry != nil
	// Start and End are the feature's time extent; both zero when it has no
	// time, End zero when it is an instant.
	Start, End time.Time
}

// NewFeature builds a feature and computes its bound. The time extent is read
// from the properties named by timeKeys (start, then optional end), which
// hold RFC 3339 strings or time.Time values.
func NewFeature(id string, g orb.Geometry, props map[string]any, timeKeys ...string) *Feature {
	f := &Feature{ID: id, Geometry: g, Properties: props}
	if g != nil {
		f.Bound = g.Bound()
	}
	if props == nil {
		f.Properties = map[string]any{}
	}
	if len(timeKeys) > 0 {
		f.Start = timeProp(props, timeKeys[0])
	}
	if len(timeKeys) > 1 {
		f.End = timeProp(props, timeKeys[1])
	}
	return f
}

func timeProp(props map[string]any, key string) time.Time {
	switch v := props[key].(type) {
	case string:
		t, err := time.Parse(time.RFC3339Nano, v)
		if err == nil {
			return t.UTC()
		}
	case time.Time:
		return v.UTC()
	}
	return time.Time{}
}

// HasGeometry reports whether the feature has a geometry.
func (f *Feature) HasGeometry() bool { return f.Geometry != nil }
