package web

import (
	"fmt"
	"strings"

	"github.com/labstack/echo/v4"

	"troopmap/geo"
	"troopmap/geo/cql2"
	"troopmap/layers"
)

// parseFilters reads the filter parameters that the items and tile routes
// share: datetime, the declared property parameters (the queryables of the
// layer's report schema) and a CQL2 filter (filter, filter-lang,
// filter-crs); all of them must hold. Both routes call it, so the same filter always
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
	hides := s.viewOf(c).Reader.Hides()
	if schema, ok := l.Schema(); ok && len(params) > 0 {
		for i := range schema.Fields {
			f := &schema.Fields[i]
			v, ok := params[f.Name]
			if !ok || !f.Queryable {
				continue
			}
			if hides && identifying(f.Name) {
				return q, hiddenPropertyError(f.Name)
			}
			p, err := propertyPredicate(*f, v[0])
			if err != nil {
				return q, err
			}
			preds = append(preds, p)
		}
	}
	// Most tile requests have no parameters: skip building the
	// reader's queryables for them (it was most of a cached tile's cost).
	if len(params) > 0 {
		if p, err := parseCQL(params, s.readerQueryables(c, l)); err != nil {
			return q, err
		} else if p != nil {
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

// maxFilterLen bounds a CQL2 filter; real filters are far shorter.
const maxFilterLen = 64 << 10

// parseCQL compiles the filter parameter against the layer's queryables; nil
// when there is no filter.
func parseCQL(params map[string][]string, fields []layers.Field) (func(*layers.Feature) bool, error) {
	lang := "cql2-text"
	if v, ok := params["filter-lang"]; ok {
		lang = v[0]
	}
	var opts layers.FilterOptions
	if v, ok := params["filter-crs"]; ok {
		crs, err := geo.ParseCRS(v[0])
		if err != nil {
			return nil, layers.Errorf(layers.EINVALID, "parameter filter-crs: %v", err)
		}
		opts.ToLonLat = crs.ToLonLat()
	}
	v, ok := params["filter"]
	if !ok {
		if lang != "cql2-text" && lang != "cql2-json" && lang != "cql-text" {
			return nil, layers.Errorf(layers.EINVALID, "parameter filter-lang: %q is not cql2-text or cql2-json", lang)
		}
		return nil, nil
	}
	src := v[0]
	if len(src) > maxFilterLen {
		return nil, layers.Errorf(layers.EINVALID, "parameter filter: longer than %d bytes", maxFilterLen)
	}
	var e cql2.Expr
	var err error
	switch lang {
	case "cql2-text", "cql-text": // cql-text is the pre-1.0 name GDAL 3.6 sends
		e, err = cql2.ParseText(src)
	case "cql2-json":
		e, err = cql2.ParseJSON([]byte(src))
	default:
		return nil, layers.Errorf(layers.EINVALID, "parameter filter-lang: %q is not cql2-text or cql2-json", lang)
	}
	if err != nil {
		return nil, layers.Errorf(layers.EINVALID, "parameter filter: %v", err)
	}
	return layers.CompileFilter(e, fields, opts)
}

// readerQueryables are l's queryables for this reader: without the
// identifying properties (created_by) for readers whose view drops them, so
// that no filter or sort order can test what the reader does not get.
// Filters can then be judged on the stored features, without copies.
func (s *Server) readerQueryables(c echo.Context, l *layers.Layer) []layers.Field {
	qs := layers.Queryables(l)
	if !s.viewOf(c).Reader.Hides() {
		return qs
	}
	out := qs[:0:0]
	for _, f := range qs {
		if !identifying(f.Name) {
			out = append(out, f)
		}
	}
	return out
}

func identifying(name string) bool {
	for _, k := range layers.IdentifyingProperties() {
		if k == name {
			return true
		}
	}
	return false
}

func hiddenPropertyError(name string) error {
	return layers.Errorf(layers.EINVALID, "parameter %s: who wrote a report is shown to API keys only; anonymous readers cannot filter or sort on it", name)
}

// propertyPredicate matches a property exactly; for array properties (zones)
// the array must contain the value as a string.
func propertyPredicate(f layers.Field, value string) (func(*layers.Feature) bool, error) {
	if len(f.Enum) > 0 && !contains(f.Enum, value) {
		return nil, layers.Errorf(layers.EINVALID, "parameter %s: %q is not one of %s", f.Name, value, strings.Join(f.Enum, ", "))
	}
	name := f.Name
	switch f.Type {
	case layers.TypeArray:
		return func(ft *layers.Feature) bool { return ft.Props.HasElement(name, value) }, nil
	case layers.TypeBoolean:
		if value != "true" && value != "false" {
			return nil, layers.Errorf(layers.EINVALID, "parameter %s: want true or false, got %q", name, value)
		}
		want := value == "true"
		return func(ft *layers.Feature) bool { b, ok := ft.Props.Bool(name); return ok && b == want }, nil
	}
	return func(ft *layers.Feature) bool {
		if s, ok := ft.Props.String(name); ok {
			return s == value
		}
		v, ok := ft.Props.Lookup(name)
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
