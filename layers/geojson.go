package layers

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/paulmach/orb/geojson"
)

// DecodeCollection reads a GeoJSON FeatureCollection of trusted data (the
// shipped layers, a store's own rows) into features. Each feature's id is its
// GeoJSON id, or else the property idKey. timeKeys are as for NewFeature.
func DecodeCollection(r io.Reader, idKey string, timeKeys ...string) ([]*Feature, error) {
	var fc geojson.FeatureCollection
	if err := json.NewDecoder(r).Decode(&fc); err != nil {
		return nil, fmt.Errorf("decode feature collection: %w", err)
	}
	out := make([]*Feature, 0, len(fc.Features))
	for i, gf := range fc.Features {
		id := idString(gf.ID)
		if id == "" && idKey != "" {
			id = idString(gf.Properties[idKey])
		}
		if id == "" {
			return nil, fmt.Errorf("feature %d has no id", i)
		}
		out = append(out, NewFeature(id, gf.Geometry, map[string]any(gf.Properties), timeKeys...))
	}
	return out, nil
}

func idString(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		return fmt.Sprintf("%v", v)
	default:
		return fmt.Sprint(v)
	}
}
