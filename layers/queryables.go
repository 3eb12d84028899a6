package layers

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// Properties returns the top-level properties of l's features: its report
// schema's fields, or for layers without a schema (areas, derived layers) the
// names and JSON types seen in its current features, sorted by name.
func Properties(l *Layer) []Field {
	if s, ok := l.Schema(); ok {
		return s.Fields
	}
	types := map[string]FieldType{}
	l.Snapshot().All(func(f *Feature) bool {
		for k, v := range f.Props.All() {
			if _, seen := types[k]; seen && v == nil {
				continue
			}
			types[k] = typeOfValue(v)
		}
		return true
	})
	out := make([]Field, 0, len(types))
	for k, t := range types {
		out = append(out, Field{Name: k, Type: t})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func typeOfValue(v any) FieldType {
	switch v.(type) {
	case string:
		return TypeString
	case float64, float32:
		return TypeNumber
	case int, int64, int32:
		return TypeInteger
	case bool:
		return TypeBoolean
	case []any, []string:
		return TypeArray
	case time.Time:
		return TypeTime
	}
	return TypeObject
}

// Queryables returns the properties that filters and sorting may name: the
// scalar ones (strings, numbers, booleans, times). Array and object
// properties are served but not filterable; their declared query parameters
// (zones) are handled by the web layer's exact matching.
func Queryables(l *Layer) []Field {
	var out []Field
	hasID := false
	for _, f := range Properties(l) {
		hasID = hasID || f.Name == "id"
		switch f.Type {
		case TypeString, TypeNumber, TypeInteger, TypeBoolean, TypeTime, TypeURL:
			out = append(out, f)
		}
	}
	if !hasID {
		out = append([]Field{{Name: "id", Type: TypeString, Description: "the feature's id"}}, out...)
	}
	return out
}

// QueryableGeometry is the name filters use for a feature's geometry.
const QueryableGeometry = "geometry"

// SortKey is one key of a sortby parameter.
type SortKey struct {
	Name string
	Desc bool
}

// ParseSortBy parses "+a,-b,c" (Part 8 sorting): property names with an
// optional + (ascending, the default) or - (descending). Each name must be
// one of fields; the error names the first bad key.
func ParseSortBy(s string, fields []Field) ([]SortKey, error) {
	known := map[string]bool{}
	for _, f := range fields {
		known[f.Name] = true
	}
	var keys []SortKey
	for i, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		k := SortKey{}
		switch {
		case strings.HasPrefix(part, "-"):
			k.Desc, part = true, part[1:]
		case strings.HasPrefix(part, "+"):
			part = part[1:]
		}
		if part == "" {
			return nil, Errorf(EINVALID, "parameter sortby: key %d is empty", i+1)
		}
		if !known[part] {
			return nil, Errorf(EINVALID, "parameter sortby: %q is not a sortable property of this collection", part)
		}
		k.Name = part
		keys = append(keys, k)
	}
	return keys, nil
}

// SortLess returns the order given by keys: values of the same kind compare
// naturally (times as times), features missing a value come last in either
// direction, and ties fall through to the next key (and finally the id, in
// Query).
func SortLess(keys []SortKey, fields []Field) func(a, b *Feature) bool {
	types := map[string]FieldType{}
	for _, f := range fields {
		types[f.Name] = f.Type
	}
	return func(a, b *Feature) bool {
		for _, k := range keys {
			va, oka := sortValue(a.Props.Get(k.Name), types[k.Name])
			vb, okb := sortValue(b.Props.Get(k.Name), types[k.Name])
			switch {
			case !oka && !okb:
				continue
			case !oka:
				return false
			case !okb:
				return true
			}
			c := compareValues(va, vb)
			if c == 0 {
				continue
			}
			if k.Desc {
				return c > 0
			}
			return c < 0
		}
		return false
	}
}

// sortValue normalises a property value for comparison: numbers to float64,
// times to time.Time; ok is false for missing or null values.
func sortValue(v any, t FieldType) (any, bool) {
	switch x := v.(type) {
	case nil:
		return nil, false
	case float64:
		if math.IsNaN(x) {
			return nil, false
		}
		return x, true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case string:
		if t == TypeTime {
			if tm, err := time.Parse(time.RFC3339Nano, x); err == nil {
				return tm, true
			}
		}
		return x, true
	case bool, time.Time:
		return x, true
	}
	return fmt.Sprint(v), true
}

// compareValues orders two normalised values; values of different kinds
// order by kind so the order stays total.
func compareValues(a, b any) int {
	switch x := a.(type) {
	case float64:
		if y, ok := b.(float64); ok {
			switch {
			case x < y:
				return -1
			case x > y:
				return 1
			}
			return 0
		}
	case string:
		if y, ok := b.(string); ok {
			return strings.Compare(x, y)
		}
	case bool:
		if y, ok := b.(bool); ok {
			switch {
			case x == y:
				return 0
			case !x:
				return -1
			}
			return 1
		}
	case time.Time:
		if y, ok := b.(time.Time); ok {
			return x.Compare(y)
		}
	}
	return strings.Compare(kindName(a), kindName(b))
}

func kindName(v any) string { return fmt.Sprintf("%T", v) }

// Lookup returns the feature with id, or a not-found error naming it.
func (s *Snapshot) Lookup(layer, id string) (*Feature, error) {
	if f, ok := s.Get(id); ok {
		return f, nil
	}
	return nil, Errorf(ENOTFOUND, "collection %q has no feature %q", layer, id)
}
