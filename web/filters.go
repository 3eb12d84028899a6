package web

import (
	"fmt"
	"strings"

	"github.com/labstack/echo/v4"

	"troopmap/geo"
	"troopmap/layers"
)

// parseFilters reads the filter parameters that the items and tile routes
// share: datetime and the declared property parameters (the queryables of the
// layer's report schema). Both routes call it, so the same filter always
// selects the same features. It returns a Query with Time and Match set.
func (s *Server) parseFilters(c echo.Context, l *layers.Layer) (layers.Query, error) {
	var q layers.Query
	params := c.QueryParams()
	if v, ok := params["datetime"]; ok {
		iv, err := geo.ParseInterval(v[0])
		if err != nil {
			return q, layers.Errorf(layers.EINVALID, "parameter datetime: %v", err)
		}
		q.Time = iv
	}
	var preds []func(*layers.Feature) bool
	if schema, ok := layers.ReportSchema(l.ID); ok {
		for _, f := range schema.Queryables() {
			v, ok := params[f.Name]
			if !ok {
				continue
			}
			p, err := propertyPredicate(f, v[0])
			if err != nil {
				return q, err
			}
			preds = append(preds, p)
		}
	}
	if len(preds) > 0 {
		q.Match = func(f *layers.Feature) bool {
			for _, p := range preds {
				if !p(f) {
					return false
				}
			}
			return true
		}
	}
	return q, nil
}

// propertyPredicate matches a property exactly; for array properties (zones)
// the array must contain the value.
func propertyPredicate(f layers.Field, value string) (func(*layers.Feature) bool, error) {
	if len(f.Enum) > 0 && !contains(f.Enum, value) {
		return nil, layers.Errorf(layers.EINVALID, "parameter %s: %q is not one of %s", f.Name, value, strings.Join(f.Enum, ", "))
	}
	name := f.Name
	switch f.Type {
	case layers.TypeArray:
		return func(ft *layers.Feature) bool {
			arr, _ := ft.Properties[name].([]any)
			for _, x := range arr {
				if fmt.Sprint(x) == value {
					return true
				}
			}
			if ss, ok := ft.Properties[name].([]string); ok {
				return contains(ss, value)
			}
			return false
		}, nil
	case layers.TypeBoolean:
		if value != "true" && value != "false" {
			return nil, layers.Errorf(layers.EINVALID, "parameter %s: want true or false, got %q", name, value)
		}
		want := value == "true"
		return func(ft *layers.Feature) bool { b, ok := ft.Properties[name].(bool); return ok && b == want }, nil
	}
	return func(ft *layers.Feature) bool {
		v, ok := ft.Properties[name]
		return ok && v != nil && fmt.Sprint(v) == value
	}, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
