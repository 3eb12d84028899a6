package cql2

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestParseText(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"side = 'ru'", "side = 'ru'"},
		{"side='ru' and echelon <> 'army'", "(side = 'ru' AND echelon <> 'army')"},
		{"a = 1 OR b = 2 AND c = 3", "(a = 1 OR (b = 2 AND c = 3))"},
		{"(a = 1 OR b = 2) AND c = 3", "((a = 1 OR b = 2) AND c = 3)"},
		{"NOT a < -2.5", "NOT (a < -2.5)"},
		{"not not a >= 1e3", "NOT (NOT (a >= 1000))"},
		{"name LIKE 'Don%'", "name LIKE 'Don%'"},
		{"name NOT LIKE 'it''s _'", "NOT (name LIKE 'it''s _')"},
		{"n BETWEEN 1 AND 5", "n BETWEEN 1 AND 5"},
		{"n NOT BETWEEN -1 AND +5", "NOT (n BETWEEN -1 AND 5)"},
		{"side IN ('ru', 'by')", "side IN ('ru', 'by')"},
		{"side NOT IN ('ru')", "NOT (side IN ('ru'))"},
		{"notes IS NULL", "notes IS NULL"},
		{"notes IS NOT NULL", "NOT (notes IS NULL)"},
		{`"and" = 2`, `"and" = 2`}, {`"order" = 2`, `order = 2`},
		{`"we""ird name" = 2`, `"we""ird name" = 2`},
		{"civilian_targeting = TRUE", "civilian_targeting = TRUE"},
		{"true", "TRUE"},
		{"observed_at > TIMESTAMP('2021-04-01T00:00:00+02:00')", "observed_at > TIMESTAMP('2021-03-31T22:00:00Z')"},
		{"observed_at >= DATE('2021-04-01')", "observed_at >= DATE('2021-04-01')"},
		{"S_INTERSECTS(geometry, BBOX(37, 47, 39, 49))", "S_INTERSECTS(geometry, BBOX(37, 47, 39, 49))"},
		{"s_intersects(geometry, bbox(37,47,0,39,49,10))", "S_INTERSECTS(geometry, BBOX(37, 47, 39, 49))"},
		{"S_INTERSECTS(geometry,POINT(37.5 48))", "S_INTERSECTS(geometry, POINT(37.5 48))"},
		{"S_INTERSECTS(geometry, POINT(37.5 48 100))", "S_INTERSECTS(geometry, POINT(37.5 48))"},
		{"S_INTERSECTS(geometry, POLYGON((30 45, 40 45, 40 50, 30 45)))", "S_INTERSECTS(geometry, POLYGON((30 45, 40 45, 40 50, 30 45)))"},
		{"S_INTERSECTS(geometry, MULTIPOINT((1 2), (3 4)))", "S_INTERSECTS(geometry, MULTIPOINT(1 2, 3 4))"},
		{"S_INTERSECTS(geometry, LINESTRING(1 2, 3 4))", "S_INTERSECTS(geometry, LINESTRING(1 2, 3 4))"},
		{"S_INTERSECTS(geometry, MULTIPOLYGON(((0 0, 1 0, 1 1, 0 0)), ((5 5, 6 5, 6 6, 5 5))))", "S_INTERSECTS(geometry, MULTIPOLYGON(((0 0, 1 0, 1 1, 0 0)), ((5 5, 6 5, 6 6, 5 5))))"},
		{"S_INTERSECTS(geometry, GEOMETRYCOLLECTION(POINT(1 2), LINESTRING(0 0, 1 1)))", "S_INTERSECTS(geometry, GEOMETRYCOLLECTION(POINT(1 2), LINESTRING(0 0, 1 1)))"},
	} {
		e, err := ParseText(c.in)
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if got := e.String(); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.in, got, c.want)
		}
	}
}

func TestParseTextErrors(t *testing.T) {
	for _, c := range []struct {
		in   string
		pos  int
		text string
	}{
		{"", 1, "empty"},
		{"side = ", 8, "expected a property name or a value"},
		{"side = 'ru", 8, "not closed"},
		{"side 'ru'", 6, "expected a comparison"},
		{"side = 'ru' echelon = 'army'", 13, "missing AND or OR"},
		{"(side = 'ru'", 13, "expected ')'"},
		{"a BETWEEN 1 OR 2", 13, "expected AND in BETWEEN"},
		{"a IN 1", 6, "'(' after IN"},
		{"a IS 3", 6, "expected NULL"},
		{"a = TIMESTAMP('yesterday')", 15, "not an RFC 3339 timestamp"},
		{"a = DATE('2021-13-01')", 10, "not a date"},
		{"S_WITHIN(geometry, POINT(1 2))", 1, "only S_INTERSECTS"},
		{"S_INTERSECTS(geometry POINT(1 2))", 23, "',' between"},
		{"S_INTERSECTS(geometry, POLYGON((0 0, 1 0, 1 1)))", 32, "at least 4 points"},
		{"S_INTERSECTS(geometry, BBOX(1, 2, 3))", 24, "4 or 6 numbers"},
		{"upper(name) = 'X'", 1, "function upper is not supported"},
		{"a = 1 # 2", 7, "unexpected character"},
		{"name = 'Київ' AND", 18, "expected a property name"},
		{"a NOT = 1", 7, "expected LIKE, BETWEEN or IN after NOT"},
		{"a = 1 AND OR", 11, "keyword OR"},
		{strings.Repeat("(", 200) + "a = 1" + strings.Repeat(")", 200), 101, "deeper than"},
	} {
		_, err := ParseText(c.in)
		var pe *Error
		if !errors.As(err, &pe) {
			t.Errorf("%q: error %v is not a *cql2.Error", c.in, err)
			continue
		}
		if pe.Pos != c.pos || !strings.Contains(pe.Msg, c.text) {
			t.Errorf("%q: got %q at %d, want %q at %d", c.in, pe.Msg, pe.Pos, c.text, c.pos)
		}
		if !strings.Contains(err.Error(), "position") {
			t.Errorf("%q: message %q does not give the position", c.in, err)
		}
	}
}

func TestParseJSON(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{"op":"=","args":[{"property":"side"},"ru"]}`, "side = 'ru'"},
		{`{"op":"and","args":[{"op":"<","args":[{"property":"n"},5]},{"op":"isNull","args":[{"property":"x"}]}]}`, "(n < 5 AND x IS NULL)"},
		{`{"op":"not","args":[{"op":"like","args":[{"property":"name"},"D%"]}]}`, "NOT (name LIKE 'D%')"},
		{`{"op":"between","args":[{"property":"n"},1,2]}`, "n BETWEEN 1 AND 2"},
		{`{"op":"in","args":[{"property":"side"},["ru","by"]]}`, "side IN ('ru', 'by')"},
		{`{"op":">","args":[{"property":"t"},{"timestamp":"2021-04-01T00:00:00Z"}]}`, "t > TIMESTAMP('2021-04-01T00:00:00Z')"},
		{`{"op":">","args":[{"property":"t"},{"date":"2021-04-01"}]}`, "t > DATE('2021-04-01')"},
		{`{"op":"s_intersects","args":[{"property":"geometry"},{"bbox":[37,47,39,49]}]}`, "S_INTERSECTS(geometry, BBOX(37, 47, 39, 49))"},
		{`{"op":"s_intersects","args":[{"property":"geometry"},{"type":"Point","coordinates":[37,47]}]}`, "S_INTERSECTS(geometry, POINT(37 47))"},
		{`true`, "TRUE"},
	} {
		e, err := ParseJSON([]byte(c.in))
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if got := e.String(); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.in, got, c.want)
		}
	}
}

func TestParseJSONErrors(t *testing.T) {
	for _, c := range []struct{ in, path, text string }{
		{`{"op":"=","args":[{"property":"side"}]}`, "/args", "takes 2 arguments"},
		{`{"op":"and","args":[{"op":"=","args":[{"property":"a"},1]},{"op":"~","args":[]}]}`, "/args/1/op", "not supported"},
		{`{"op":"=","args":[{"property":"a"},null]}`, "/args/1", "null"},
		{`{"op":"=","args":[{"property":""},1]}`, "/args/0/property", "non-empty"},
		{`{"op":"in","args":[{"property":"a"},[]]}`, "/args/1", "non-empty array"},
		{`{"op":"s_intersects","args":[{"property":"geometry"},{"bbox":[1,2,"x",4]}]}`, "/args/1/bbox/2", "finite number"},
		{`{"op":"=","args":[{"property":"a"},{"timestamp":"soon"}]}`, "/args/1/timestamp", "RFC 3339"},
		{`{"op":"=","args":[1,2],"extra":1}`, "/extra", "unexpected member"},
		{`"just a string"`, "/", "expected a condition"},
		{`{"op":"=","args":[1,2]} x`, "/", "after the JSON value"},
		{`{"op":`, "/", "not valid JSON"},
	} {
		_, err := ParseJSON([]byte(c.in))
		var pe *Error
		if !errors.As(err, &pe) {
			t.Errorf("%s: error %v is not a *cql2.Error", c.in, err)
			continue
		}
		if pe.Path != c.path || !strings.Contains(pe.Msg, c.text) {
			t.Errorf("%s: got %q at %q, want %q at %q", c.in, pe.Msg, pe.Path, c.text, c.path)
		}
	}
}

// roundTrip checks that a parsed filter prints to text and to JSON that
// parse back to the same tree.
func roundTrip(t *testing.T, e Expr) {
	text := e.String()
	e2, err := ParseText(text)
	if err != nil {
		t.Fatalf("printed %q does not parse: %v", text, err)
	}
	if e2.String() != text {
		t.Fatalf("text round trip changed %q to %q", text, e2.String())
	}
	raw, err := json.Marshal(ToJSON(e))
	if err != nil {
		t.Fatalf("marshal %q: %v", text, err)
	}
	e3, err := ParseJSON(raw)
	if err != nil {
		t.Fatalf("JSON %s of %q does not parse: %v", raw, text, err)
	}
	if e3.String() != text {
		t.Fatalf("JSON round trip changed %q to %q", text, e3.String())
	}
}

func FuzzParseText(f *testing.F) {
	for _, s := range []string{
		"side = 'ru' AND NOT (echelon IN ('army', 'corps') OR n BETWEEN 1 AND 2)",
		"name LIKE 'D%' AND notes IS NOT NULL", `"a b" <> -1.5e-3`,
		"S_INTERSECTS(geometry, POLYGON((30 45, 40 45, 40 50, 30 45)))",
		"S_INTERSECTS(geometry, GEOMETRYCOLLECTION(POINT(1 2), MULTIPOINT((1 2), (3 4))))",
		"t > TIMESTAMP('2021-04-01T00:00:00.5Z') OR d = DATE('2021-04-01')", "TRUE", "x = FALSE",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseText(s)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) || pe.Pos < 1 {
				t.Fatalf("%q: error without a position: %v", s, err)
			}
			return
		}
		roundTrip(t, e)
	})
}

func FuzzParseJSON(f *testing.F) {
	for _, s := range []string{
		`{"op":"and","args":[{"op":"=","args":[{"property":"side"},"ru"]},{"op":"in","args":[{"property":"x"},[1,2]]}]}`,
		`{"op":"s_intersects","args":[{"property":"geometry"},{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}]}`,
		`{"op":"not","args":[{"op":"isNull","args":[{"property":"n"}]}]}`, `false`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := ParseJSON(b)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) || pe.Path == "" {
				t.Fatalf("%q: error without a location: %v", b, err)
			}
			return
		}
		roundTrip(t, e)
	})
}
