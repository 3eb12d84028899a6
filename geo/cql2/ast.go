// Package cql2 parses OGC Common Query Language (CQL2) filters, in the text
// and the JSON encoding, into one syntax tree. It covers Basic CQL2
// (comparisons, AND/OR/NOT, IS NULL), the advanced comparison operators
// (LIKE, BETWEEN, IN) and the basic spatial function S_INTERSECTS with
// POINT, LINESTRING, POLYGON, their MULTI forms and BBOX literals. It only
// parses: what the properties mean and how features are tested is the
// caller's business. Errors say where the fault is: a character position for
// text, a JSON Pointer for JSON.
package cql2

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb"
)

// Expr is a node of the syntax tree. String renders it back as CQL2 text
// that parses to the same tree.
type Expr interface {
	Where() string
	String() string
}

// At records where a node came from: Pos is the 1-based character position
// in a text filter, Path the JSON Pointer in a JSON filter.
type At struct {
	Pos  int
	Path string
}

// Where describes the location for error messages.
func (a At) Where() string {
	if a.Path != "" || a.Pos == 0 {
		if a.Path == "" {
			return "at the top of the filter"
		}
		return "at " + a.Path
	}
	return fmt.Sprintf("at position %d", a.Pos)
}

// Error is a syntax error with its location.
type Error struct {
	At
	Msg string
}

func (e *Error) Error() string { return e.Where() + ": " + e.Msg }

// Logical is AND or OR over two or more operands; Op is "and" or "or".
type Logical struct {
	At
	Op   string
	Args []Expr
}

// Not negates its operand.
type Not struct {
	At
	Arg Expr
}

// Compare is a binary comparison; Op is one of = <> < <= > >=.
type Compare struct {
	At
	Op          string
	Left, Right Expr
}

// Like matches a character value against a pattern with % and _ wildcards
// (backslash escapes them).
type Like struct {
	At
	Value, Pattern Expr
}

// Between is Low <= Value <= High.
type Between struct {
	At
	Value, Low, High Expr
}

// In is true when Value equals one of List.
type In struct {
	At
	Value Expr
	List  []Expr
}

// IsNull is true when Value is missing or null.
type IsNull struct {
	At
	Value Expr
}

// Spatial is a spatial predicate; Op is "s_intersects".
type Spatial struct {
	At
	Op          string
	Left, Right Expr
}

// Property names a property of the feature (or its geometry).
type Property struct {
	At
	Name string
}

// String is a character literal.
type String struct {
	At
	V string
}

// Number is a numeric literal.
type Number struct {
	At
	V float64
}

// Bool is TRUE or FALSE.
type Bool struct {
	At
	V bool
}

// Timestamp is TIMESTAMP('…'), an instant in UTC.
type Timestamp struct {
	At
	T time.Time
}

// Date is DATE('YYYY-MM-DD'), a calendar day (midnight UTC).
type Date struct {
	At
	T time.Time
}

// Geometry is a geometry literal (WKT in text, GeoJSON in JSON), in the
// filter's CRS.
type Geometry struct {
	At
	G orb.Geometry
}

// BBox is BBOX(minx, miny, maxx, maxy), in the filter's CRS. A 6-number box
// keeps only its horizontal extent.
type BBox struct {
	At
	West, South, East, North float64
}

func (e *Logical) String() string {
	parts := make([]string, len(e.Args))
	for i, a := range e.Args {
		parts[i] = a.String()
	}
	return "(" + strings.Join(parts, " "+strings.ToUpper(e.Op)+" ") + ")"
}

func (e *Not) String() string     { return "NOT (" + e.Arg.String() + ")" }
func (e *Compare) String() string { return e.Left.String() + " " + e.Op + " " + e.Right.String() }
func (e *Like) String() string    { return e.Value.String() + " LIKE " + e.Pattern.String() }
func (e *Between) String() string {
	return e.Value.String() + " BETWEEN " + e.Low.String() + " AND " + e.High.String()
}

func (e *In) String() string {
	parts := make([]string, len(e.List))
	for i, a := range e.List {
		parts[i] = a.String()
	}
	return e.Value.String() + " IN (" + strings.Join(parts, ", ") + ")"
}

func (e *IsNull) String() string { return e.Value.String() + " IS NULL" }
func (e *Spatial) String() string {
	return strings.ToUpper(e.Op) + "(" + e.Left.String() + ", " + e.Right.String() + ")"
}

// String quotes the name unless it is a plain identifier and no keyword.
func (e *Property) String() string {
	if isPlainIdent(e.Name) && !isKeyword(e.Name) {
		return e.Name
	}
	return `"` + strings.ReplaceAll(e.Name, `"`, `""`) + `"`
}

func (e *String) String() string { return "'" + strings.ReplaceAll(e.V, "'", "''") + "'" }
func (e *Number) String() string { return formatNum(e.V) }
func (e *Bool) String() string {
	if e.V {
		return "TRUE"
	}
	return "FALSE"
}
func (e *Timestamp) String() string { return "TIMESTAMP('" + e.T.UTC().Format(time.RFC3339Nano) + "')" }
func (e *Date) String() string      { return "DATE('" + e.T.UTC().Format(time.DateOnly) + "')" }
func (e *BBox) String() string {
	return "BBOX(" + formatNum(e.West) + ", " + formatNum(e.South) + ", " + formatNum(e.East) + ", " + formatNum(e.North) + ")"
}
func (e *Geometry) String() string { return wkt(e.G) }

func formatNum(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func wkt(g orb.Geometry) string {
	var b strings.Builder
	pt := func(p orb.Point) { b.WriteString(formatNum(p[0]) + " " + formatNum(p[1])) }
	pts := func(ps []orb.Point) {
		b.WriteByte('(')
		for i, p := range ps {
			if i > 0 {
				b.WriteString(", ")
			}
			pt(p)
		}
		b.WriteByte(')')
	}
	poly := func(p orb.Polygon) {
		b.WriteByte('(')
		for i, r := range p {
			if i > 0 {
				b.WriteString(", ")
			}
			pts(r)
		}
		b.WriteByte(')')
	}
	switch g := g.(type) {
	case orb.Point:
		b.WriteString("POINT(")
		pt(g)
		b.WriteByte(')')
	case orb.MultiPoint:
		b.WriteString("MULTIPOINT")
		pts(g)
	case orb.LineString:
		b.WriteString("LINESTRING")
		pts(g)
	case orb.MultiLineString:
		b.WriteString("MULTILINESTRING(")
		for i, l := range g {
			if i > 0 {
				b.WriteString(", ")
			}
			pts(l)
		}
		b.WriteByte(')')
	case orb.Polygon:
		b.WriteString("POLYGON")
		poly(g)
	case orb.MultiPolygon:
		b.WriteString("MULTIPOLYGON(")
		for i, p := range g {
			if i > 0 {
				b.WriteString(", ")
			}
			poly(p)
		}
		b.WriteByte(')')
	case orb.Collection:
		b.WriteString("GEOMETRYCOLLECTION(")
		for i, x := range g {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(wkt(x))
		}
		b.WriteByte(')')
	}
	return b.String()
}

func isPlainIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z'):
		case i > 0 && ((r >= '0' && r <= '9') || r == '.' || r == ':'):
		default:
			return false
		}
	}
	return true
}

// isKeyword reports reserved words of the subset parsed here, plus names
// that would start a literal or a function call; such property names are
// written quoted.
func isKeyword(s string) bool {
	u := strings.ToUpper(s)
	switch u {
	case "AND", "OR", "NOT", "LIKE", "BETWEEN", "IN", "IS", "NULL", "TRUE", "FALSE",
		"TIMESTAMP", "DATE", "INTERVAL", "BBOX", "POINT", "LINESTRING", "POLYGON", "MULTIPOINT",
		"MULTILINESTRING", "MULTIPOLYGON", "GEOMETRYCOLLECTION", "CASEI", "ACCENTI":
		return true
	}
	return strings.HasPrefix(u, "S_") || strings.HasPrefix(u, "T_") || strings.HasPrefix(u, "A_")
}
