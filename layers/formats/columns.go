package formats

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"troopmap/layers"
	"troopmap/layers/props"
)

// column is one flat cell of a report: a top-level field, or a leaf of an
// object field named with dots (strength.personnel.best).
type column struct {
	name  string   // dotted name, as in a CSV header
	path  []string // property path
	field layers.Field
	top   layers.Field // the top-level field the column belongs to
}

// schemaColumns flattens a schema's fields into columns, in schema order.
// Objects become one column per leaf; arrays stay one column.
func schemaColumns(s layers.Schema) []column {
	var out []column
	var walk func(top, f layers.Field, path []string)
	walk = func(top, f layers.Field, path []string) {
		if f.Type == layers.TypeObject && len(f.Fields) > 0 {
			for _, c := range f.Fields {
				walk(top, c, append(slices.Clip(path), c.Name))
			}
			return
		}
		out = append(out, column{name: strings.Join(path, "."), path: path, field: f, top: top})
	}
	for _, f := range s.Fields {
		walk(f, f, []string{f.Name})
	}
	return out
}

// genericColumns derives columns for a layer without a report schema (the
// area layers): the sorted union of the features' top-level property keys.
func genericColumns(props []map[string]any) []column {
	seen := map[string]bool{}
	for _, p := range props {
		for k := range p {
			seen[k] = true
		}
	}
	names := make([]string, 0, len(seen))
	for k := range seen {
		names = append(names, k)
	}
	slices.Sort(names)
	out := make([]column, len(names))
	for i, n := range names {
		f := layers.Field{Name: n}
		out[i] = column{name: n, path: []string{n}, field: f, top: f}
	}
	return out
}

// parseCell converts a cell's text to the JSON value of field f. Empty cells
// are absent values (nil, nil). Vocabulary and range checks are left to the
// report validation, which reports them the same way for every format.
func parseCell(f layers.Field, s string) (any, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	switch f.Type {
	case layers.TypeNumber, layers.TypeInteger:
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("%q is not a number", s)
		}
		if f.Type == layers.TypeInteger && v != math.Trunc(v) {
			return nil, fmt.Errorf("%q is not a whole number", s)
		}
		return v, nil
	case layers.TypeBoolean:
		switch strings.ToLower(s) {
		case "true", "yes", "1":
			return true, nil
		case "false", "no", "0":
			return false, nil
		}
		return nil, fmt.Errorf("%q is not true or false", s)
	case layers.TypeArray:
		if s[0] == '[' {
			return parseJSONCell(s, '[')
		}
		return splitList(f, s)
	case layers.TypeObject:
		if s[0] != '{' {
			return nil, fmt.Errorf("want a JSON object, or one column per member (%s.NAME)", f.Name)
		}
		return parseJSONCell(s, '{')
	}
	return s, nil
}

func parseJSONCell(s string, open byte) (any, error) {
	var v any
	dec := json.NewDecoder(strings.NewReader(s))
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("invalid JSON: %v", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("invalid JSON: text after the value")
	}
	switch v.(type) {
	case []any:
		if open == '[' {
			return v, nil
		}
	case map[string]any:
		if open == '{' {
			return v, nil
		}
	}
	return nil, fmt.Errorf("invalid JSON value")
}

// splitList reads a ";"-separated list. A list of objects with a url member
// (sources) takes one URL per item; other object lists must be JSON.
func splitList(f layers.Field, s string) (any, error) {
	out := make([]any, 0, strings.Count(s, ";")+1)
	for _, part := range strings.Split(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if f.Items == nil {
			out = append(out, part)
			continue
		}
		switch f.Items.Type {
		case layers.TypeObject:
			if !hasMember(*f.Items, "url") {
				return nil, fmt.Errorf("write a JSON array of objects, e.g. [{...}]")
			}
			out = append(out, map[string]any{"url": part})
		case layers.TypeNumber, layers.TypeInteger, layers.TypeBoolean:
			v, err := parseCell(*f.Items, part)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		default:
			out = append(out, part)
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

func hasMember(f layers.Field, name string) bool {
	for _, c := range f.Fields {
		if c.Name == name {
			return true
		}
	}
	return false
}

// formatCell writes a value as parseCell reads it back: numbers in plain
// decimal, lists joined by ";" when that loses nothing, else JSON.
func formatCell(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case bool:
		return strconv.FormatBool(v)
	case float64:
		return formatNumber(v)
	case []any:
		if s, ok := joinList(v); ok {
			return s
		}
	}
	return compactJSON(v)
}

func formatNumber(v float64) string {
	if math.Abs(v) < 1e21 {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// joinList joins strings, or objects holding only a url, with ";" when no
// item contains ";" or starts the cell with "[" (which would read as JSON).
func joinList(items []any) (string, bool) {
	parts := make([]string, 0, len(items))
	for _, it := range items {
		var s string
		switch it := it.(type) {
		case string:
			s = it
		case map[string]any:
			u, ok := it["url"].(string)
			if !ok || len(it) != 1 {
				return "", false
			}
			s = u
		default:
			return "", false
		}
		if s == "" || strings.Contains(s, ";") || strings.TrimSpace(s) != s {
			return "", false
		}
		parts = append(parts, s)
	}
	out := strings.Join(parts, ";")
	if strings.HasPrefix(out, "[") || out == "" {
		return "", false
	}
	return out, true
}

func compactJSON(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

// normalize turns any property value into the types encoding/json decodes
// to, so stores that keep []string or int64 export like GeoJSON uploads.
func normalize(v any) any {
	switch v := v.(type) {
	case nil, string, bool, float64:
		return v
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = normalize(x)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = normalize(x)
		}
		return out
	case int:
		return float64(v)
	case int64:
		return float64(v)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	var out any
	if json.Unmarshal(b, &out) != nil {
		return fmt.Sprint(v)
	}
	return out
}

// lookup returns the value at path in props, or nil.
func lookup(p props.Props, path []string) any {
	v, _ := p.Path(path...)
	return v
}

// setPath stores v at path in props, creating the objects on the way.
func setPath(props map[string]any, path []string, v any) {
	m := props
	for _, k := range path[:len(path)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[path[len(path)-1]] = v
}
