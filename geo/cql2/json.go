package cql2

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
)

// ParseJSON parses a CQL2 JSON filter. Error locations are JSON Pointers.
func ParseJSON(src []byte) (Expr, error) {
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, &Error{At{Path: "/"}, fmt.Sprintf("not valid JSON: %v", err)}
	}
	if dec.More() {
		return nil, &Error{At{Path: "/"}, "unexpected data after the JSON value"}
	}
	return boolJSON(v, "", 0)
}

func jerr(path, format string, args ...any) error {
	if path == "" {
		path = "/"
	}
	return &Error{At{Path: path}, fmt.Sprintf(format, args...)}
}

// opArgs splits {"op": ..., "args": [...]}.
func opArgs(v any, path string) (string, []any, bool, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return "", nil, false, nil
	}
	op, ok := m["op"]
	if !ok {
		return "", nil, false, nil
	}
	s, ok := op.(string)
	if !ok {
		return "", nil, true, jerr(path+"/op", "op must be a string")
	}
	for k := range m {
		if k != "op" && k != "args" {
			return "", nil, true, jerr(path+"/"+k, "unexpected member %q", k)
		}
	}
	args, ok := m["args"].([]any)
	if !ok {
		return "", nil, true, jerr(path+"/args", "args must be an array")
	}
	return s, args, true, nil
}

func wantArgs(path, op string, args []any, n int) error {
	if len(args) != n {
		return jerr(path+"/args", "%s takes %d arguments, found %d", op, n, len(args))
	}
	return nil
}

func boolJSON(v any, path string, depth int) (Expr, error) {
	if depth > maxDepth {
		return nil, jerr(path, "the filter nests deeper than %d levels", maxDepth)
	}
	at := At{Path: path}
	if at.Path == "" {
		at.Path = "/"
	}
	if b, ok := v.(bool); ok {
		return &Bool{At: at, V: b}, nil
	}
	op, args, isOp, err := opArgs(v, path)
	if err != nil {
		return nil, err
	}
	if !isOp {
		return nil, jerr(path, "expected a condition ({\"op\": ..., \"args\": [...]}, true or false)")
	}
	ap := func(i int) string { return path + "/args/" + strconv.Itoa(i) }
	scalars := func(n int) ([]Expr, error) {
		if err := wantArgs(path, op, args, n); err != nil {
			return nil, err
		}
		out := make([]Expr, n)
		for i := range n {
			if out[i], err = scalarJSON(args[i], ap(i)); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	switch op {
	case "and", "or":
		if len(args) < 2 {
			return nil, jerr(path+"/args", "%s takes at least 2 arguments, found %d", op, len(args))
		}
		l := &Logical{At: at, Op: op}
		for i, a := range args {
			e, err := boolJSON(a, ap(i), depth+1)
			if err != nil {
				return nil, err
			}
			l.Args = append(l.Args, e)
		}
		return l, nil
	case "not":
		if err := wantArgs(path, op, args, 1); err != nil {
			return nil, err
		}
		e, err := boolJSON(args[0], ap(0), depth+1)
		if err != nil {
			return nil, err
		}
		return &Not{At: at, Arg: e}, nil
	case "=", "<>", "<", "<=", ">", ">=":
		s, err := scalars(2)
		if err != nil {
			return nil, err
		}
		return &Compare{At: at, Op: op, Left: s[0], Right: s[1]}, nil
	case "like":
		s, err := scalars(2)
		if err != nil {
			return nil, err
		}
		return &Like{At: at, Value: s[0], Pattern: s[1]}, nil
	case "between":
		s, err := scalars(3)
		if err != nil {
			return nil, err
		}
		return &Between{At: at, Value: s[0], Low: s[1], High: s[2]}, nil
	case "isNull":
		s, err := scalars(1)
		if err != nil {
			return nil, err
		}
		return &IsNull{At: at, Value: s[0]}, nil
	case "in":
		if err := wantArgs(path, op, args, 2); err != nil {
			return nil, err
		}
		val, err := scalarJSON(args[0], ap(0))
		if err != nil {
			return nil, err
		}
		list, ok := args[1].([]any)
		if !ok || len(list) == 0 {
			return nil, jerr(ap(1), "in needs a non-empty array of values")
		}
		in := &In{At: at, Value: val}
		for i, x := range list {
			e, err := scalarJSON(x, ap(1)+"/"+strconv.Itoa(i))
			if err != nil {
				return nil, err
			}
			in.List = append(in.List, e)
		}
		return in, nil
	case "s_intersects":
		s, err := scalars(2)
		if err != nil {
			return nil, err
		}
		return &Spatial{At: at, Op: op, Left: s[0], Right: s[1]}, nil
	}
	return nil, jerr(path+"/op", "operator %q is not supported", op)
}

func scalarJSON(v any, path string) (Expr, error) {
	at := At{Path: path}
	switch x := v.(type) {
	case string:
		return &String{At: at, V: x}, nil
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil || math.IsInf(f, 0) {
			return nil, jerr(path, "%s is not a finite number", x)
		}
		return &Number{At: at, V: f}, nil
	case bool:
		return &Bool{At: at, V: x}, nil
	case nil:
		return nil, jerr(path, "null is not a value in CQL2; use isNull")
	case []any:
		return nil, jerr(path, "an array is not a value here")
	}
	m := v.(map[string]any)
	if _, ok := m["op"]; ok {
		return nil, jerr(path, "expected a property or a value, found an operation")
	}
	one := func(key string) (any, bool) {
		x, ok := m[key]
		return x, ok && len(m) == 1
	}
	if p, ok := one("property"); ok {
		name, ok := p.(string)
		if !ok || name == "" {
			return nil, jerr(path+"/property", "property must be a non-empty string")
		}
		return &Property{At: at, Name: name}, nil
	}
	if t, ok := one("timestamp"); ok {
		s, _ := t.(string)
		ts, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return nil, jerr(path+"/timestamp", "%v is not an RFC 3339 timestamp", t)
		}
		return &Timestamp{At: at, T: ts.UTC()}, nil
	}
	if d, ok := one("date"); ok {
		s, _ := d.(string)
		dt, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return nil, jerr(path+"/date", "%v is not a date (YYYY-MM-DD)", d)
		}
		return &Date{At: at, T: dt}, nil
	}
	if b, ok := one("bbox"); ok {
		arr, _ := b.([]any)
		var nums []float64
		for i, x := range arr {
			n, ok := x.(json.Number)
			f, err := strconv.ParseFloat(string(n), 64)
			if !ok || err != nil || math.IsInf(f, 0) {
				return nil, jerr(path+"/bbox/"+strconv.Itoa(i), "not a finite number")
			}
			nums = append(nums, f)
		}
		return newBBox(at, nums)
	}
	if _, ok := m["type"]; ok {
		raw, err := json.Marshal(m)
		if err != nil {
			return nil, jerr(path, "bad geometry: %v", err)
		}
		g, err := geojson.UnmarshalGeometry(raw)
		if err != nil || g.Geometry() == nil {
			return nil, jerr(path, "not a GeoJSON geometry")
		}
		if err := checkGeometry(g.Geometry()); err != nil {
			return nil, jerr(path, "%v", err)
		}
		return &Geometry{At: at, G: g.Geometry()}, nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return nil, jerr(path, "expected a property, a literal or a geometry, found an object with %s", strings.Join(keys, ", "))
}

// checkGeometry applies the rules WKT parsing enforces to GeoJSON input.
func checkGeometry(g orb.Geometry) error {
	switch g := g.(type) {
	case orb.Point:
		if math.IsNaN(g[0]) || math.IsNaN(g[1]) {
			return fmt.Errorf("a coordinate is not a number")
		}
	case orb.LineString:
		if len(g) < 2 {
			return fmt.Errorf("a line needs at least 2 points")
		}
	case orb.MultiLineString:
		for _, l := range g {
			if err := checkGeometry(l); err != nil {
				return err
			}
		}
	case orb.Polygon:
		if len(g) == 0 {
			return fmt.Errorf("a polygon needs a ring")
		}
		for _, r := range g {
			if len(r) < 4 || r[0] != r[len(r)-1] {
				return fmt.Errorf("a polygon ring needs at least 4 points, the last equal to the first")
			}
		}
	case orb.MultiPolygon:
		for _, p := range g {
			if err := checkGeometry(p); err != nil {
				return err
			}
		}
	case orb.MultiPoint:
		if len(g) == 0 {
			return fmt.Errorf("a multipoint needs a point")
		}
	case orb.Collection:
		for _, x := range g {
			if err := checkGeometry(x); err != nil {
				return err
			}
		}
	}
	return nil
}

// ToJSON renders e in the CQL2 JSON encoding, as a value for json.Marshal.
func ToJSON(e Expr) any {
	opj := func(op string, args ...any) map[string]any { return map[string]any{"op": op, "args": args} }
	switch e := e.(type) {
	case *Logical:
		args := make([]any, len(e.Args))
		for i, a := range e.Args {
			args[i] = ToJSON(a)
		}
		return opj(e.Op, args...)
	case *Not:
		return opj("not", ToJSON(e.Arg))
	case *Compare:
		return opj(e.Op, ToJSON(e.Left), ToJSON(e.Right))
	case *Like:
		return opj("like", ToJSON(e.Value), ToJSON(e.Pattern))
	case *Between:
		return opj("between", ToJSON(e.Value), ToJSON(e.Low), ToJSON(e.High))
	case *In:
		list := make([]any, len(e.List))
		for i, a := range e.List {
			list[i] = ToJSON(a)
		}
		return opj("in", ToJSON(e.Value), list)
	case *IsNull:
		return opj("isNull", ToJSON(e.Value))
	case *Spatial:
		return opj(e.Op, ToJSON(e.Left), ToJSON(e.Right))
	case *Property:
		return map[string]any{"property": e.Name}
	case *String:
		return e.V
	case *Number:
		return e.V
	case *Bool:
		return e.V
	case *Timestamp:
		return map[string]any{"timestamp": e.T.UTC().Format(time.RFC3339Nano)}
	case *Date:
		return map[string]any{"date": e.T.Format(time.DateOnly)}
	case *BBox:
		return map[string]any{"bbox": []float64{e.West, e.South, e.East, e.North}}
	case *Geometry:
		return geojson.NewGeometry(e.G)
	}
	return nil
}
