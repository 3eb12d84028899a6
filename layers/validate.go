package layers

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"troopmap/geo"
)

// FieldError is one reason an upload was refused: where (a JSON pointer into
// the request body) and why, in plain words.
type FieldError = geo.Problem

// maxErrors bounds the error list of one refused upload.
const maxErrors = 1000

// Validate checks report properties against the schema and returns a clean
// copy: server-set fields are dropped (the server assigns them), except
// verification, which is kept for the caller to authorise. Null values count
// as absent. ptr is the JSON pointer of the properties object in the body.
// Numbers must already be float64 (see normalizeNumbers). Validate does not
// change props.
func (s Schema) Validate(props map[string]any, ptr string) (map[string]any, []FieldError) {
	out := make(map[string]any, len(props))
	var errs []FieldError
	for name, v := range props {
		f, ok := s.Field(name)
		switch {
		case !ok:
			errs = append(errs, FieldError{Pointer: ptr + "/" + escapePtr(name),
				Message: fmt.Sprintf("unknown property %q; the schema is at /collections/%s/schema", name, s.Collection)})
			continue
		case v == nil:
			continue
		case f.ServerSet && !f.EditorOnly:
			continue // assigned by the server; the uploaded value is ignored
		}
		errs = append(errs, checkValue(f, v, ptr+"/"+escapePtr(name))...)
		out[name] = v
	}
	for _, f := range s.Fields {
		if f.Required && out[f.Name] == nil {
			errs = append(errs, FieldError{Pointer: ptr + "/" + escapePtr(f.Name), Message: fmt.Sprintf("required property %q is missing", f.Name)})
		}
	}
	if a, ok := out[ObservedAt].(string); ok {
		if u, ok := out[ObservedUntil].(string); ok {
			ta, e1 := time.Parse(time.RFC3339Nano, a)
			tu, e2 := time.Parse(time.RFC3339Nano, u)
			if e1 == nil && e2 == nil && tu.Before(ta) {
				errs = append(errs, FieldError{Pointer: ptr + "/" + ObservedUntil, Message: "observed_until is before observed_at"})
			}
		}
	}
	sortErrors(errs)
	return out, errs
}

func checkValue(f Field, v any, ptr string) []FieldError {
	bad := func(format string, args ...any) []FieldError {
		return []FieldError{{Pointer: ptr, Message: fmt.Sprintf(format, args...)}}
	}
	switch f.Type {
	case TypeString, TypeTime, TypeURL:
		s, ok := v.(string)
		if !ok {
			return bad("must be a string")
		}
		if f.MaxLength > 0 && utf8.RuneCountInString(s) > f.MaxLength {
			return bad("is %d characters long; at most %d are allowed", utf8.RuneCountInString(s), f.MaxLength)
		}
		if !utf8.ValidString(s) {
			return bad("is not valid UTF-8")
		}
		if len(f.Enum) > 0 && !containsString(f.Enum, s) {
			return bad("%q is not one of: %s", s, strings.Join(f.Enum, ", "))
		}
		switch f.Type {
		case TypeTime:
			if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
				return bad("%q is not an RFC 3339 date-time such as 2021-04-08T06:00:00Z", s)
			}
		case TypeURL:
			u, err := url.Parse(s)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return bad("%q is not an http or https URL", s)
			}
		}
	case TypeNumber, TypeInteger:
		n, ok := v.(float64)
		if !ok {
			return bad("must be a number")
		}
		if f.Type == TypeInteger && n != math.Trunc(n) {
			return bad("must be a whole number, got %g", n)
		}
		if f.Min != nil && n < *f.Min {
			return bad("must be at least %g, got %g", *f.Min, n)
		}
		if f.Max != nil && n > *f.Max {
			return bad("must be at most %g, got %g", *f.Max, n)
		}
	case TypeBoolean:
		if _, ok := v.(bool); !ok {
			return bad("must be true or false")
		}
	case TypeArray:
		arr, ok := v.([]any)
		if !ok {
			return bad("must be an array")
		}
		if len(arr) < f.MinItems {
			return bad("needs at least %d item(s)", f.MinItems)
		}
		if f.MaxLength > 0 && len(arr) > f.MaxLength {
			return bad("has %d items; at most %d are allowed", len(arr), f.MaxLength)
		}
		var errs []FieldError
		if f.Items != nil {
			for i, x := range arr {
				if x == nil {
					errs = append(errs, FieldError{Pointer: fmt.Sprintf("%s/%d", ptr, i), Message: "must not be null"})
					continue
				}
				errs = append(errs, checkValue(*f.Items, x, fmt.Sprintf("%s/%d", ptr, i))...)
			}
		}
		return errs
	case TypeObject:
		obj, ok := v.(map[string]any)
		if !ok {
			return bad("must be an object")
		}
		return checkObject(f, obj, ptr)
	}
	return nil
}

func checkObject(f Field, obj map[string]any, ptr string) []FieldError {
	var errs []FieldError
	sub := func(name string) (Field, bool) {
		for _, c := range f.Fields {
			if c.Name == name {
				return c, true
			}
		}
		return Field{}, false
	}
	for name, x := range obj {
		c, ok := sub(name)
		p := ptr + "/" + escapePtr(name)
		switch {
		case !ok:
			names := make([]string, len(f.Fields))
			for i, c := range f.Fields {
				names[i] = c.Name
			}
			errs = append(errs, FieldError{Pointer: p, Message: fmt.Sprintf("unknown member %q; allowed: %s", name, strings.Join(names, ", "))})
		case x == nil:
		default:
			errs = append(errs, checkValue(c, x, p)...)
		}
	}
	for _, c := range f.Fields {
		if c.Required && obj[c.Name] == nil {
			errs = append(errs, FieldError{Pointer: ptr + "/" + escapePtr(c.Name), Message: fmt.Sprintf("required member %q is missing", c.Name)})
		}
	}
	// {low, best, high} estimates must be ordered.
	lo, hasLo := obj["low"].(float64)
	best, hasBest := obj["best"].(float64)
	hi, hasHi := obj["high"].(float64)
	switch {
	case hasLo && hasBest && lo > best:
		errs = append(errs, FieldError{Pointer: ptr + "/low", Message: fmt.Sprintf("low (%g) must not exceed best (%g)", lo, best)})
	case hasBest && hasHi && best > hi:
		errs = append(errs, FieldError{Pointer: ptr + "/high", Message: fmt.Sprintf("high (%g) must not be below best (%g)", hi, best)})
	case hasLo && hasHi && lo > hi:
		errs = append(errs, FieldError{Pointer: ptr + "/high", Message: fmt.Sprintf("high (%g) must not be below low (%g)", hi, lo)})
	}
	return errs
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// escapePtr escapes a member name for a JSON pointer (RFC 6901).
func escapePtr(s string) string {
	if !strings.ContainsAny(s, "~/") {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// sortErrors orders errors by pointer so that responses are stable (maps
// have no order).
func sortErrors(errs []FieldError) {
	for i := 1; i < len(errs); i++ {
		for j := i; j > 0 && errs[j].Pointer < errs[j-1].Pointer; j-- {
			errs[j], errs[j-1] = errs[j-1], errs[j]
		}
	}
}

// normalizeNumbers turns json.Number values (from a UseNumber decoder) into
// float64 in place, reporting numbers that do not fit.
func normalizeNumbers(v any, ptr string, errs *[]FieldError) any {
	switch x := v.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil || math.IsInf(f, 0) {
			*errs = append(*errs, FieldError{Pointer: ptr, Message: fmt.Sprintf("number %s is out of range", x)})
			return nil
		}
		return f
	case map[string]any:
		for k, y := range x {
			x[k] = normalizeNumbers(y, ptr+"/"+escapePtr(k), errs)
		}
	case []any:
		for i, y := range x {
			x[i] = normalizeNumbers(y, fmt.Sprintf("%s/%d", ptr, i), errs)
		}
	}
	return v
}
