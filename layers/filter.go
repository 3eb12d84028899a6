package layers

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/paulmach/orb"

	"troopmap/geo"
	"troopmap/geo/cql2"
)

// CQL2 filters are checked against a layer's queryables before they run:
// unknown properties, values of the wrong type and unsupported forms are
// refused with an EINVALID error that says where in the filter the fault is.
// Evaluation uses SQL's three-valued logic: a comparison with a missing or
// null property is unknown, NOT unknown is unknown, and only features for
// which the filter is true are selected.

type tri int8

const (
	tFalse tri = iota
	tTrue
	tUnknown
)

func triOf(b bool) tri {
	if b {
		return tTrue
	}
	return tFalse
}

// kind is the static type of a scalar expression.
type kind int

const (
	kString kind = iota + 1
	kNumber
	kBool
	kTime
	kGeometry
)

func (k kind) String() string {
	switch k {
	case kString:
		return "a string"
	case kNumber:
		return "a number"
	case kBool:
		return "a boolean"
	case kTime:
		return "a time"
	case kGeometry:
		return "a geometry"
	}
	return "a value"
}

// value is a scalar at evaluation time; null when missing.
type value struct {
	null bool
	s    string
	n    float64
	b    bool
	t    time.Time
	g    orb.Geometry
}

type scalarFn func(f *Feature) value

type boolFn func(f *Feature) tri

// FilterOptions adjust how a filter is compiled.
type FilterOptions struct {
	// ToLonLat maps geometry literals from the filter's CRS to CRS84; nil
	// when they are already lon/lat.
	ToLonLat func(orb.Point) orb.Point
}

// CompileFilter checks e against fields (a layer's queryables) and returns
// the predicate that selects features for which e is true. The predicate is
// safe for concurrent use.
func CompileFilter(e cql2.Expr, fields []Field, opts FilterOptions) (func(*Feature) bool, error) {
	c := &compiler{fields: map[string]Field{}, opts: opts}
	for _, f := range fields {
		c.fields[f.Name] = f
	}
	fn, err := c.boolean(e)
	if err != nil {
		return nil, err
	}
	return func(f *Feature) bool { return fn(f) == tTrue }, nil
}

type compiler struct {
	fields map[string]Field
	opts   FilterOptions
}

func (c *compiler) fail(e cql2.Expr, format string, args ...any) error {
	return Errorf(EINVALID, "parameter filter: %s: %s", e.Where(), fmt.Sprintf(format, args...))
}

func (c *compiler) boolean(e cql2.Expr) (boolFn, error) {
	switch e := e.(type) {
	case *cql2.Bool:
		v := triOf(e.V)
		return func(*Feature) tri { return v }, nil
	case *cql2.Logical:
		args := make([]boolFn, len(e.Args))
		for i, a := range e.Args {
			fn, err := c.boolean(a)
			if err != nil {
				return nil, err
			}
			args[i] = fn
		}
		if e.Op == "and" {
			return func(f *Feature) tri {
				out := tTrue
				for _, a := range args {
					switch a(f) {
					case tFalse:
						return tFalse
					case tUnknown:
						out = tUnknown
					}
				}
				return out
			}, nil
		}
		return func(f *Feature) tri {
			out := tFalse
			for _, a := range args {
				switch a(f) {
				case tTrue:
					return tTrue
				case tUnknown:
					out = tUnknown
				}
			}
			return out
		}, nil
	case *cql2.Not:
		fn, err := c.boolean(e.Arg)
		if err != nil {
			return nil, err
		}
		return func(f *Feature) tri {
			switch fn(f) {
			case tTrue:
				return tFalse
			case tFalse:
				return tTrue
			}
			return tUnknown
		}, nil
	case *cql2.Compare:
		return c.compare(e)
	case *cql2.Like:
		return c.like(e)
	case *cql2.Between:
		return c.between(e)
	case *cql2.In:
		return c.in(e)
	case *cql2.IsNull:
		v, _, err := c.scalar(e.Value, 0)
		if err != nil {
			return nil, err
		}
		return func(f *Feature) tri { return triOf(v(f).null) }, nil
	case *cql2.Spatial:
		return c.spatial(e)
	}
	return nil, c.fail(e, "%s is not a condition", e.String())
}

// scalar compiles a property or literal. want, when not zero, is the kind
// the other operand has, so that a string literal can stand for a time.
func (c *compiler) scalar(e cql2.Expr, want kind) (scalarFn, kind, error) {
	switch e := e.(type) {
	case *cql2.Property:
		return c.property(e)
	case *cql2.String:
		if want == kTime {
			t, err := time.Parse(time.RFC3339Nano, e.V)
			if err != nil {
				return nil, 0, c.fail(e, "'%s' is compared with a time but is not an RFC 3339 timestamp", e.V)
			}
			v := value{t: t}
			return func(*Feature) value { return v }, kTime, nil
		}
		v := value{s: e.V}
		return func(*Feature) value { return v }, kString, nil
	case *cql2.Number:
		v := value{n: e.V}
		return func(*Feature) value { return v }, kNumber, nil
	case *cql2.Bool:
		v := value{b: e.V}
		return func(*Feature) value { return v }, kBool, nil
	case *cql2.Timestamp:
		v := value{t: e.T}
		return func(*Feature) value { return v }, kTime, nil
	case *cql2.Date:
		v := value{t: e.T}
		return func(*Feature) value { return v }, kTime, nil
	case *cql2.Geometry:
		v := value{g: geo.Transform(e.G, c.opts.ToLonLat)}
		return func(*Feature) value { return v }, kGeometry, nil
	case *cql2.BBox:
		b := geo.BBox{West: e.West, South: e.South, East: e.East, North: e.North}
		if c.opts.ToLonLat != nil {
			sw, ne := c.opts.ToLonLat(orb.Point{b.West, b.South}), c.opts.ToLonLat(orb.Point{b.East, b.North})
			b.West, b.South, b.East, b.North = sw[0], sw[1], ne[0], ne[1]
		}
		v := value{g: bboxGeometry(b)}
		return func(*Feature) value { return v }, kGeometry, nil
	}
	return nil, 0, c.fail(e, "expected a property or a value, found %s", e.String())
}

// bboxGeometry turns a box into a polygon, or two when it crosses the
// antimeridian.
func bboxGeometry(b geo.BBox) orb.Geometry {
	bs := b.Bounds()
	if len(bs) == 1 {
		return bs[0].ToPolygon()
	}
	return orb.MultiPolygon{bs[0].ToPolygon(), bs[1].ToPolygon()}
}

func (c *compiler) property(e *cql2.Property) (scalarFn, kind, error) {
	if e.Name == QueryableGeometry {
		return func(f *Feature) value {
			if f.Geometry == nil {
				return value{null: true}
			}
			return value{g: f.Geometry}
		}, kGeometry, nil
	}
	fd, ok := c.fields[e.Name]
	if !ok {
		return nil, 0, c.fail(e, "%q is not a queryable of this collection (see its /queryables)", e.Name)
	}
	name := e.Name
	switch fd.Type {
	case TypeString, TypeURL:
		return func(f *Feature) value {
			if name == "id" {
				if !f.Props.Has("id") {
					return value{s: f.ID}
				}
			}
			s, ok := f.Props.String(name)
			return value{s: s, null: !ok}
		}, kString, nil
	case TypeNumber, TypeInteger:
		return func(f *Feature) value {
			n, ok := f.Props.Number(name)
			return value{n: n, null: !ok}
		}, kNumber, nil
	case TypeBoolean:
		return func(f *Feature) value {
			b, ok := f.Props.Bool(name)
			return value{b: b, null: !ok}
		}, kBool, nil
	case TypeTime:
		return func(f *Feature) value {
			if t, ok := f.Props.String(name); ok {
				if tm, err := time.Parse(time.RFC3339Nano, t); err == nil {
					return value{t: tm}
				}
			}
			return value{null: true}
		}, kTime, nil
	}
	return nil, 0, c.fail(e, "property %q (%s) cannot be used in a filter", e.Name, fd.Type)
}

// pair compiles two operands that must have the same kind; a literal string
// next to a time property is read as a timestamp.
func (c *compiler) pair(at, a, b cql2.Expr) (scalarFn, scalarFn, kind, error) {
	fa, ka, err := c.scalar(a, 0)
	if err != nil {
		return nil, nil, 0, err
	}
	fb, kb, err := c.scalar(b, ka)
	if err != nil {
		return nil, nil, 0, err
	}
	if ka == kString && kb == kTime {
		if fa, ka, err = c.scalar(a, kTime); err != nil {
			return nil, nil, 0, err
		}
	}
	if ka != kb {
		return nil, nil, 0, c.fail(at, "%s is %s but %s is %s", a.String(), ka, b.String(), kb)
	}
	return fa, fb, ka, nil
}

// cmp orders two non-null values of kind k.
func cmp(k kind, a, b value) int {
	switch k {
	case kString:
		return strings.Compare(a.s, b.s)
	case kNumber:
		switch {
		case a.n < b.n:
			return -1
		case a.n > b.n:
			return 1
		}
		return 0
	case kTime:
		return a.t.Compare(b.t)
	case kBool:
		switch {
		case a.b == b.b:
			return 0
		case !a.b:
			return -1
		}
		return 1
	}
	return 0
}

func (c *compiler) compare(e *cql2.Compare) (boolFn, error) {
	fa, fb, k, err := c.pair(e, e.Left, e.Right)
	if err != nil {
		return nil, err
	}
	if k == kGeometry {
		return nil, c.fail(e, "geometries are compared with S_INTERSECTS, not %s", e.Op)
	}
	if k == kBool && e.Op != "=" && e.Op != "<>" {
		return nil, c.fail(e, "booleans can only be compared with = or <>")
	}
	var test func(int) bool
	switch e.Op {
	case "=":
		test = func(r int) bool { return r == 0 }
	case "<>":
		test = func(r int) bool { return r != 0 }
	case "<":
		test = func(r int) bool { return r < 0 }
	case "<=":
		test = func(r int) bool { return r <= 0 }
	case ">":
		test = func(r int) bool { return r > 0 }
	case ">=":
		test = func(r int) bool { return r >= 0 }
	default:
		return nil, c.fail(e, "unknown operator %s", e.Op)
	}
	return func(f *Feature) tri {
		a, b := fa(f), fb(f)
		if a.null || b.null {
			return tUnknown
		}
		return triOf(test(cmp(k, a, b)))
	}, nil
}

func (c *compiler) like(e *cql2.Like) (boolFn, error) {
	fv, k, err := c.scalar(e.Value, 0)
	if err != nil {
		return nil, err
	}
	if k != kString {
		return nil, c.fail(e, "LIKE needs a string, but %s is %s", e.Value.String(), k)
	}
	pat, ok := e.Pattern.(*cql2.String)
	if !ok {
		return nil, c.fail(e.Pattern, "the LIKE pattern must be a string literal")
	}
	re := regexp.MustCompile(likeRegexp(pat.V))
	return func(f *Feature) tri {
		v := fv(f)
		if v.null {
			return tUnknown
		}
		return triOf(re.MatchString(v.s))
	}, nil
}

// likeRegexp translates a LIKE pattern: % any run, _ one character, a
// backslash escapes the next character.
func likeRegexp(p string) string {
	var b strings.Builder
	b.WriteString(`^(?s:`)
	rs := []rune(p)
	for i := 0; i < len(rs); i++ {
		switch r := rs[i]; {
		case r == '\\' && i+1 < len(rs):
			i++
			b.WriteString(regexp.QuoteMeta(string(rs[i])))
		case r == '%':
			b.WriteString(`.*`)
		case r == '_':
			b.WriteString(`.`)
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString(`)$`)
	return b.String()
}

func (c *compiler) between(e *cql2.Between) (boolFn, error) {
	fv, flo, k, err := c.pair(e, e.Value, e.Low)
	if err != nil {
		return nil, err
	}
	_, fhi, k2, err := c.pair(e, e.Value, e.High)
	if err != nil {
		return nil, err
	}
	if k != k2 || (k != kNumber && k != kTime) {
		return nil, c.fail(e, "BETWEEN needs numbers or times")
	}
	return func(f *Feature) tri {
		v, lo, hi := fv(f), flo(f), fhi(f)
		if v.null || lo.null || hi.null {
			return tUnknown
		}
		return triOf(cmp(k, lo, v) <= 0 && cmp(k, v, hi) <= 0)
	}, nil
}

func (c *compiler) in(e *cql2.In) (boolFn, error) {
	var fv scalarFn
	var k kind
	var list []scalarFn
	for _, item := range e.List {
		a, b, kk, err := c.pair(e, e.Value, item)
		if err != nil {
			return nil, err
		}
		if kk == kGeometry {
			return nil, c.fail(e, "IN does not take geometries")
		}
		fv, k = a, kk
		list = append(list, b)
	}
	return func(f *Feature) tri {
		v := fv(f)
		if v.null {
			return tUnknown
		}
		out := tFalse
		for _, item := range list {
			x := item(f)
			if x.null {
				out = tUnknown
				continue
			}
			if cmp(k, v, x) == 0 {
				return tTrue
			}
		}
		return out
	}, nil
}

func (c *compiler) spatial(e *cql2.Spatial) (boolFn, error) {
	if e.Op != "s_intersects" {
		return nil, c.fail(e, "%s is not supported; use S_INTERSECTS", strings.ToUpper(e.Op))
	}
	fa, fb, k, err := c.pair(e, e.Left, e.Right)
	if err != nil {
		return nil, err
	}
	if k != kGeometry {
		return nil, c.fail(e, "S_INTERSECTS takes two geometries (the property %s and a geometry literal)", QueryableGeometry)
	}
	return func(f *Feature) tri {
		a, b := fa(f), fb(f)
		if a.null || b.null {
			return tUnknown
		}
		return triOf(geo.Intersects(a.g, b.g))
	}, nil
}
