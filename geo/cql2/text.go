package cql2

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/paulmach/orb"
)

// maxDepth bounds nesting so that hostile input cannot exhaust the stack.
const maxDepth = 100

type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tQuoted // "double-quoted identifier"
	tString
	tNumber
	tLParen
	tRParen
	tComma
	tOp // = <> < <= > >=
	tSign
)

type token struct {
	kind tokKind
	text string // identifier, unquoted string, number text or operator
	pos  int    // 1-based character position
}

func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "the end of the filter"
	case tString:
		return fmt.Sprintf("string '%s'", t.text)
	case tQuoted:
		return fmt.Sprintf("%q", t.text)
	}
	return fmt.Sprintf("%q", t.text)
}

// lex splits src into tokens; it fails on an unterminated string or a
// character that cannot start a token.
func lex(src string) ([]token, error) {
	if !utf8.ValidString(src) {
		pos := 1
		for i, r := range src {
			if r == utf8.RuneError {
				if _, size := utf8.DecodeRuneInString(src[i:]); size == 1 {
					break
				}
			}
			pos++
		}
		return nil, &Error{At{Pos: pos}, "the filter is not valid UTF-8"}
	}
	var toks []token
	pos := 1 // character position of src[i]
	for i := 0; i < len(src); {
		r, size := utf8.DecodeRuneInString(src[i:])
		start := pos
		switch {
		case r == ' ' || r == '\t' || r == '\n' || r == '\r':
			i += size
			pos++
		case r == '(':
			toks = append(toks, token{tLParen, "(", start})
			i, pos = i+1, pos+1
		case r == ')':
			toks = append(toks, token{tRParen, ")", start})
			i, pos = i+1, pos+1
		case r == ',':
			toks = append(toks, token{tComma, ",", start})
			i, pos = i+1, pos+1
		case r == '=':
			toks = append(toks, token{tOp, "=", start})
			i, pos = i+1, pos+1
		case r == '<' || r == '>':
			op := string(r)
			if i+1 < len(src) && (src[i+1] == '=' || (r == '<' && src[i+1] == '>')) {
				op += string(src[i+1])
			}
			toks = append(toks, token{tOp, op, start})
			i, pos = i+len(op), pos+len(op)
		case r == '+' || r == '-':
			toks = append(toks, token{tSign, string(r), start})
			i, pos = i+1, pos+1
		case r == '\'' || r == '"':
			var b strings.Builder
			j, p := i+1, pos+1
			closed := false
			for j < len(src) {
				c, sz := utf8.DecodeRuneInString(src[j:])
				if c == r {
					if j+1 < len(src) && rune(src[j+1]) == r { // doubled quote
						b.WriteRune(r)
						j, p = j+2, p+2
						continue
					}
					closed = true
					j, p = j+1, p+1
					break
				}
				b.WriteString(src[j : j+sz])
				j, p = j+sz, p+1
			}
			if !closed {
				what := "string"
				if r == '"' {
					what = "quoted name"
				}
				return nil, &Error{At{Pos: start}, fmt.Sprintf("%s is not closed with %c", what, r)}
			}
			k := tString
			if r == '"' {
				k = tQuoted
			}
			toks = append(toks, token{k, b.String(), start})
			i, pos = j, p
		case r == '.' || (r >= '0' && r <= '9'):
			j := i
			for j < len(src) && (src[j] >= '0' && src[j] <= '9' || src[j] == '.') {
				j++
			}
			if j < len(src) && (src[j] == 'e' || src[j] == 'E') {
				k := j + 1
				if k < len(src) && (src[k] == '+' || src[k] == '-') {
					k++
				}
				if k < len(src) && src[k] >= '0' && src[k] <= '9' {
					for k < len(src) && src[k] >= '0' && src[k] <= '9' {
						k++
					}
					j = k
				}
			}
			toks = append(toks, token{tNumber, src[i:j], start})
			pos += j - i
			i = j
		case r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z':
			j := i
			for j < len(src) {
				c := src[j]
				if c == '_' || c == '.' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
					j++
					continue
				}
				break
			}
			toks = append(toks, token{tIdent, src[i:j], start})
			pos += j - i
			i = j
		default:
			if r == utf8.RuneError && size == 1 {
				return nil, &Error{At{Pos: start}, "the filter is not valid UTF-8"}
			}
			return nil, &Error{At{Pos: start}, fmt.Sprintf("unexpected character %q", r)}
		}
	}
	return append(toks, token{tEOF, "", pos}), nil
}

type parser struct {
	toks  []token
	i     int
	depth int
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *parser) isKW(kw string) bool {
	t := p.peek()
	return t.kind == tIdent && strings.EqualFold(t.text, kw)
}

func (p *parser) errAt(t token, format string, args ...any) error {
	return &Error{At{Pos: t.pos}, fmt.Sprintf(format, args...)}
}

func (p *parser) expect(k tokKind, what string) (token, error) {
	t := p.next()
	if t.kind != k {
		return t, p.errAt(t, "expected %s, found %s", what, t.describe())
	}
	return t, nil
}

// ParseText parses a CQL2 text filter.
func ParseText(src string) (Expr, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	if p.peek().kind == tEOF {
		return nil, p.errAt(p.peek(), "the filter is empty")
	}
	e, err := p.orExpr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, p.errAt(t, "unexpected %s after a complete condition (missing AND or OR?)", t.describe())
	}
	return e, nil
}

func (p *parser) enter(t token) error {
	p.depth++
	if p.depth > maxDepth {
		return p.errAt(t, "the filter nests deeper than %d levels", maxDepth)
	}
	return nil
}

func (p *parser) orExpr() (Expr, error) {
	start := p.peek()
	if err := p.enter(start); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	first, err := p.andExpr()
	if err != nil {
		return nil, err
	}
	args := []Expr{first}
	for p.isKW("OR") {
		p.next()
		e, err := p.andExpr()
		if err != nil {
			return nil, err
		}
		args = append(args, e)
	}
	if len(args) == 1 {
		return first, nil
	}
	return &Logical{At: At{Pos: start.pos}, Op: "or", Args: args}, nil
}

func (p *parser) andExpr() (Expr, error) {
	start := p.peek()
	first, err := p.notExpr()
	if err != nil {
		return nil, err
	}
	args := []Expr{first}
	for p.isKW("AND") {
		p.next()
		e, err := p.notExpr()
		if err != nil {
			return nil, err
		}
		args = append(args, e)
	}
	if len(args) == 1 {
		return first, nil
	}
	return &Logical{At: At{Pos: start.pos}, Op: "and", Args: args}, nil
}

func (p *parser) notExpr() (Expr, error) {
	if p.isKW("NOT") {
		t := p.next()
		if err := p.enter(t); err != nil {
			return nil, err
		}
		defer func() { p.depth-- }()
		e, err := p.notExpr()
		if err != nil {
			return nil, err
		}
		return &Not{At: At{Pos: t.pos}, Arg: e}, nil
	}
	return p.primary()
}

func (p *parser) primary() (Expr, error) {
	t := p.peek()
	if t.kind == tLParen {
		p.next()
		e, err := p.orExpr()
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tRParen, "')'"); err != nil {
			return nil, err
		}
		return e, nil
	}
	if t.kind == tIdent && p.toks[p.i+1].kind == tLParen {
		u := strings.ToUpper(t.text)
		if u == "S_INTERSECTS" {
			return p.spatial()
		}
		if strings.HasPrefix(u, "S_") || strings.HasPrefix(u, "T_") || strings.HasPrefix(u, "A_") {
			return nil, p.errAt(t, "%s is not supported; of the spatial, temporal and array functions only S_INTERSECTS is", t.text)
		}
	}
	left, err := p.scalar()
	if err != nil {
		return nil, err
	}
	at := At{Pos: t.pos}
	op := p.peek()
	switch {
	case op.kind == tOp:
		p.next()
		right, err := p.scalar()
		if err != nil {
			return nil, err
		}
		return &Compare{At: at, Op: op.text, Left: left, Right: right}, nil
	case p.isKW("IS"):
		p.next()
		not := false
		if p.isKW("NOT") {
			p.next()
			not = true
		}
		if !p.isKW("NULL") {
			return nil, p.errAt(p.peek(), "expected NULL after IS, found %s", p.peek().describe())
		}
		p.next()
		var e Expr = &IsNull{At: at, Value: left}
		if not {
			e = &Not{At: at, Arg: e}
		}
		return e, nil
	}
	not := false
	if p.isKW("NOT") {
		p.next()
		not = true
	}
	var e Expr
	switch {
	case p.isKW("LIKE"):
		p.next()
		pat, err := p.scalar()
		if err != nil {
			return nil, err
		}
		e = &Like{At: at, Value: left, Pattern: pat}
	case p.isKW("BETWEEN"):
		p.next()
		lo, err := p.scalar()
		if err != nil {
			return nil, err
		}
		if !p.isKW("AND") {
			return nil, p.errAt(p.peek(), "expected AND in BETWEEN, found %s", p.peek().describe())
		}
		p.next()
		hi, err := p.scalar()
		if err != nil {
			return nil, err
		}
		e = &Between{At: at, Value: left, Low: lo, High: hi}
	case p.isKW("IN"):
		p.next()
		if _, err := p.expect(tLParen, "'(' after IN"); err != nil {
			return nil, err
		}
		var list []Expr
		for {
			v, err := p.scalar()
			if err != nil {
				return nil, err
			}
			list = append(list, v)
			if p.peek().kind == tComma {
				p.next()
				continue
			}
			if _, err := p.expect(tRParen, "',' or ')' in the IN list"); err != nil {
				return nil, err
			}
			break
		}
		e = &In{At: at, Value: left, List: list}
	default:
		if b, ok := left.(*Bool); ok && !not {
			return b, nil
		}
		if not {
			return nil, p.errAt(p.peek(), "expected LIKE, BETWEEN or IN after NOT, found %s", p.peek().describe())
		}
		return nil, p.errAt(p.peek(), "expected a comparison (=, <>, <, <=, >, >=, LIKE, BETWEEN, IN or IS NULL) after %s, found %s", left.String(), p.peek().describe())
	}
	if not {
		e = &Not{At: at, Arg: e}
	}
	return e, nil
}

func (p *parser) spatial() (Expr, error) {
	t := p.next()
	p.next() // (
	a, err := p.scalar()
	if err != nil {
		return nil, err
	}
	if _, err := p.expect(tComma, "',' between the two geometries"); err != nil {
		return nil, err
	}
	b, err := p.scalar()
	if err != nil {
		return nil, err
	}
	if _, err := p.expect(tRParen, "')'"); err != nil {
		return nil, err
	}
	return &Spatial{At: At{Pos: t.pos}, Op: strings.ToLower(t.text), Left: a, Right: b}, nil
}

// scalar parses a property, a literal or a geometry.
func (p *parser) scalar() (Expr, error) {
	t := p.next()
	at := At{Pos: t.pos}
	switch t.kind {
	case tString:
		return &String{At: at, V: t.text}, nil
	case tQuoted:
		if t.text == "" {
			return nil, p.errAt(t, "empty property name")
		}
		return &Property{At: at, Name: t.text}, nil
	case tNumber, tSign:
		v, err := p.number(t)
		if err != nil {
			return nil, err
		}
		return &Number{At: at, V: v}, nil
	case tIdent:
	default:
		return nil, p.errAt(t, "expected a property name or a value, found %s", t.describe())
	}
	u := strings.ToUpper(t.text)
	call := p.peek().kind == tLParen
	switch u {
	case "TRUE", "FALSE":
		return &Bool{At: at, V: u == "TRUE"}, nil
	case "TIMESTAMP", "DATE":
		if _, err := p.expect(tLParen, "'(' after "+u); err != nil {
			return nil, err
		}
		s, err := p.expect(tString, "a quoted "+strings.ToLower(u))
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tRParen, "')'"); err != nil {
			return nil, err
		}
		if u == "DATE" {
			d, err := time.Parse(time.DateOnly, s.text)
			if err != nil {
				return nil, p.errAt(s, "%q is not a date (YYYY-MM-DD)", s.text)
			}
			return &Date{At: at, T: d}, nil
		}
		ts, err := time.Parse(time.RFC3339Nano, s.text)
		if err != nil {
			return nil, p.errAt(s, "%q is not an RFC 3339 timestamp", s.text)
		}
		return &Timestamp{At: at, T: ts.UTC()}, nil
	case "BBOX":
		if _, err := p.expect(tLParen, "'(' after BBOX"); err != nil {
			return nil, err
		}
		var nums []float64
		for {
			n := p.next()
			v, err := p.number(n)
			if err != nil {
				return nil, err
			}
			nums = append(nums, v)
			if p.peek().kind == tComma {
				p.next()
				continue
			}
			if _, err := p.expect(tRParen, "',' or ')' in BBOX"); err != nil {
				return nil, err
			}
			break
		}
		return newBBox(at, nums)
	case "POINT", "LINESTRING", "POLYGON", "MULTIPOINT", "MULTILINESTRING", "MULTIPOLYGON", "GEOMETRYCOLLECTION":
		g, err := p.geometry(t, 0)
		if err != nil {
			return nil, err
		}
		return &Geometry{At: at, G: g}, nil
	case "NULL", "AND", "OR", "NOT", "LIKE", "BETWEEN", "IN", "IS", "INTERVAL":
		return nil, p.errAt(t, "expected a property name or a value, found keyword %s", u)
	}
	if call {
		return nil, p.errAt(t, "function %s is not supported", t.text)
	}
	return &Property{At: at, Name: t.text}, nil
}

func newBBox(at At, nums []float64) (Expr, error) {
	switch len(nums) {
	case 4:
		if nums[1] > nums[3] {
			return nil, &Error{at, "BBOX: the minimum y is above the maximum y"}
		}
		return &BBox{At: at, West: nums[0], South: nums[1], East: nums[2], North: nums[3]}, nil
	case 6:
		if nums[1] > nums[4] {
			return nil, &Error{at, "BBOX: the minimum y is above the maximum y"}
		}
		return &BBox{At: at, West: nums[0], South: nums[1], East: nums[3], North: nums[4]}, nil
	}
	return nil, &Error{at, fmt.Sprintf("BBOX needs 4 or 6 numbers, found %d", len(nums))}
}

// number reads an optionally signed number starting at t.
func (p *parser) number(t token) (float64, error) {
	sign := 1.0
	if t.kind == tSign {
		if t.text == "-" {
			sign = -1
		}
		t = p.next()
	}
	if t.kind != tNumber {
		return 0, p.errAt(t, "expected a number, found %s", t.describe())
	}
	v, err := strconv.ParseFloat(t.text, 64)
	if err != nil || math.IsInf(v, 0) {
		return 0, p.errAt(t, "%q is not a number", t.text)
	}
	return sign * v, nil
}

func (p *parser) point() (orb.Point, error) {
	x, err := p.number(p.next())
	if err != nil {
		return orb.Point{}, err
	}
	y, err := p.number(p.next())
	if err != nil {
		return orb.Point{}, err
	}
	if k := p.peek().kind; k == tNumber || k == tSign { // a Z value, ignored
		if _, err := p.number(p.next()); err != nil {
			return orb.Point{}, err
		}
	}
	return orb.Point{x, y}, nil
}

// points reads "(x y, x y, ...)"; bare says the points may also be
// parenthesised one by one, as MULTIPOINT allows.
func (p *parser) points(multi bool) ([]orb.Point, error) {
	if _, err := p.expect(tLParen, "'('"); err != nil {
		return nil, err
	}
	var out []orb.Point
	for {
		paren := multi && p.peek().kind == tLParen
		if paren {
			p.next()
		}
		pt, err := p.point()
		if err != nil {
			return nil, err
		}
		if paren {
			if _, err := p.expect(tRParen, "')'"); err != nil {
				return nil, err
			}
		}
		out = append(out, pt)
		if p.peek().kind == tComma {
			p.next()
			continue
		}
		_, err = p.expect(tRParen, "',' or ')' in the coordinates")
		return out, err
	}
}

func (p *parser) lines(ring bool) ([][]orb.Point, error) {
	if _, err := p.expect(tLParen, "'('"); err != nil {
		return nil, err
	}
	var out [][]orb.Point
	for {
		t := p.peek()
		ps, err := p.points(false)
		if err != nil {
			return nil, err
		}
		if ring && (len(ps) < 4 || ps[0] != ps[len(ps)-1]) {
			return nil, p.errAt(t, "a polygon ring needs at least 4 points, the last equal to the first")
		}
		if !ring && len(ps) < 2 {
			return nil, p.errAt(t, "a line needs at least 2 points")
		}
		out = append(out, ps)
		if p.peek().kind == tComma {
			p.next()
			continue
		}
		_, err = p.expect(tRParen, "',' or ')'")
		return out, err
	}
}

func polygonOf(rs [][]orb.Point) orb.Polygon {
	pg := make(orb.Polygon, len(rs))
	for i, r := range rs {
		pg[i] = orb.Ring(r)
	}
	return pg
}

// geometry parses the WKT whose type keyword t has just been read.
func (p *parser) geometry(t token, depth int) (orb.Geometry, error) {
	if depth > maxDepth {
		return nil, p.errAt(t, "geometry collections nest too deep")
	}
	switch strings.ToUpper(t.text) {
	case "POINT":
		if _, err := p.expect(tLParen, "'(' after POINT"); err != nil {
			return nil, err
		}
		pt, err := p.point()
		if err != nil {
			return nil, err
		}
		_, err = p.expect(tRParen, "')'")
		return pt, err
	case "MULTIPOINT":
		ps, err := p.points(true)
		return orb.MultiPoint(ps), err
	case "LINESTRING":
		ps, err := p.points(false)
		if err == nil && len(ps) < 2 {
			return nil, p.errAt(t, "a line needs at least 2 points")
		}
		return orb.LineString(ps), err
	case "MULTILINESTRING":
		ls, err := p.lines(false)
		mls := make(orb.MultiLineString, len(ls))
		for i, l := range ls {
			mls[i] = l
		}
		return mls, err
	case "POLYGON":
		rs, err := p.lines(true)
		return polygonOf(rs), err
	case "MULTIPOLYGON":
		if _, err := p.expect(tLParen, "'('"); err != nil {
			return nil, err
		}
		var mp orb.MultiPolygon
		for {
			rs, err := p.lines(true)
			if err != nil {
				return nil, err
			}
			mp = append(mp, polygonOf(rs))
			if p.peek().kind == tComma {
				p.next()
				continue
			}
			_, err = p.expect(tRParen, "',' or ')'")
			return mp, err
		}
	case "GEOMETRYCOLLECTION":
		if _, err := p.expect(tLParen, "'('"); err != nil {
			return nil, err
		}
		var c orb.Collection
		for {
			k := p.next()
			if k.kind != tIdent {
				return nil, p.errAt(k, "expected a geometry, found %s", k.describe())
			}
			switch strings.ToUpper(k.text) {
			case "POINT", "LINESTRING", "POLYGON", "MULTIPOINT", "MULTILINESTRING", "MULTIPOLYGON", "GEOMETRYCOLLECTION":
			default:
				return nil, p.errAt(k, "expected a geometry, found %s", k.describe())
			}
			g, err := p.geometry(k, depth+1)
			if err != nil {
				return nil, err
			}
			c = append(c, g)
			if p.peek().kind == tComma {
				p.next()
				continue
			}
			_, err = p.expect(tRParen, "',' or ')'")
			return c, err
		}
	}
	return nil, p.errAt(t, "unknown geometry type %s", t.text)
}
