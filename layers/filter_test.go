package layers

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/project"

	"troopmap/geo/cql2"
)

func filterLayer(t *testing.T) *Layer {
	t.Helper()
	l := NewLayer(Meta{ID: TroopConcentrations, TimeKeys: ReportTimeKeys()})
	mk := func(id string, g orb.Geometry, props map[string]any) *Feature {
		return NewFeature(id, g, props, ReportTimeKeys()...)
	}
	if err := l.Load([]*Feature{
		mk("a", orb.Point{37, 48}, map[string]any{"side": "ru", "echelon": "army", "ce_m": 30000.0, "observed_at": "2021-04-08T00:00:00Z", "unit_designation": "58th Combined Arms Army"}),
		mk("b", orb.Point{38, 49}, map[string]any{"side": "ru", "echelon": "brigade", "ce_m": 5000.0, "observed_at": "2021-04-20T12:00:00Z", "notes": "it's 100% sure"}),
		mk("c", orb.Point{31, 51}, map[string]any{"side": "ua", "echelon": "brigade", "observed_at": "2021-03-01T00:00:00Z"}),
		mk("d", orb.LineString{{35, 47}, {36, 48}}, map[string]any{"side": "by", "echelon": "division", "ce_m": 100.0, "observed_at": "2021-04-01T00:00:00+03:00"}),
		mk("e", nil, map[string]any{"side": "unknown", "ce_m": nil}),
	}); err != nil {
		t.Fatal(err)
	}
	return l
}

func TestCompileFilter(t *testing.T) {
	l := filterLayer(t)
	fields := Queryables(l)
	run := func(t *testing.T, e cql2.Expr, opts FilterOptions) []string {
		t.Helper()
		fn, err := CompileFilter(e, fields, opts)
		if err != nil {
			t.Fatalf("%s: %v", e, err)
		}
		var out []string
		l.Snapshot().All(func(f *Feature) bool {
			if fn(f) {
				out = append(out, f.ID)
			}
			return true
		})
		return out
	}
	for _, c := range []struct {
		filter string
		want   []string
	}{
		{"side = 'ru'", []string{"a", "b"}},
		{"side <> 'ru'", []string{"c", "d", "e"}},
		{"side = 'ru' AND echelon = 'brigade'", []string{"b"}},
		{"side = 'ua' OR echelon = 'army'", []string{"a", "c"}},
		{"NOT (side = 'ru')", []string{"c", "d", "e"}},
		// Three-valued logic: ce_m is missing on c and null on e.
		{"ce_m > 1000", []string{"a", "b"}},
		{"NOT (ce_m > 1000)", []string{"d"}},
		{"ce_m IS NULL", []string{"c", "e"}},
		{"ce_m IS NOT NULL", []string{"a", "b", "d"}},
		{"ce_m > 1000 OR side = 'ua'", []string{"a", "b", "c"}},
		{"ce_m BETWEEN 100 AND 5000", []string{"b", "d"}},
		{"ce_m NOT BETWEEN 100 AND 5000", []string{"a"}},
		{"echelon IN ('army', 'division')", []string{"a", "d"}},
		{"echelon NOT IN ('army', 'division')", []string{"b", "c"}},
		{"unit_designation LIKE '58th%'", []string{"a"}},
		{"unit_designation LIKE '5_th %Army'", []string{"a"}},
		{"notes LIKE '%100\\%%'", []string{"b"}},
		{"notes LIKE 'IT%'", nil},
		{"observed_at > TIMESTAMP('2021-04-08T00:00:00Z')", []string{"b"}},
		{"observed_at >= DATE('2021-04-08')", []string{"a", "b"}},
		{"observed_at < '2021-04-01T00:00:00Z'", []string{"c", "d"}},
		{"observed_at BETWEEN TIMESTAMP('2021-03-31T00:00:00Z') AND TIMESTAMP('2021-04-08T00:00:00Z')", []string{"a", "d"}},
		{"id IN ('a', 'e')", []string{"a", "e"}},
		{"S_INTERSECTS(geometry, BBOX(36.5, 47.5, 38.5, 48.5))", []string{"a"}},
		{"S_INTERSECTS(geometry, BBOX(35.5, 47.4, 35.6, 47.6))", []string{"d"}},
		{"S_INTERSECTS(geometry, POINT(38 49))", []string{"b"}},
		{"S_INTERSECTS(geometry, POLYGON((30 50, 32 50, 32 52, 30 52, 30 50)))", []string{"c"}},
		{"S_INTERSECTS(geometry, LINESTRING(35 48, 36 47))", []string{"d"}},
		{"NOT S_INTERSECTS(geometry, BBOX(0, 0, 50, 60))", nil},
		{"TRUE", []string{"a", "b", "c", "d", "e"}},
	} {
		t.Run(c.filter, func(t *testing.T) {
			e, err := cql2.ParseText(c.filter)
			if err != nil {
				t.Fatal(err)
			}
			if got := run(t, e, FilterOptions{}); !slices.Equal(got, c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
	t.Run("filter-crs 3857", func(t *testing.T) {
		sw, ne := project.WGS84.ToMercator(orb.Point{36.5, 47.5}), project.WGS84.ToMercator(orb.Point{38.5, 48.5})
		e := &cql2.Spatial{Op: "s_intersects", Left: &cql2.Property{Name: "geometry"},
			Right: &cql2.BBox{West: sw[0], South: sw[1], East: ne[0], North: ne[1]}}
		if got := run(t, e, FilterOptions{ToLonLat: project.Mercator.ToWGS84}); !slices.Equal(got, []string{"a"}) {
			t.Errorf("got %v", got)
		}
	})
}

func TestCompileFilterErrors(t *testing.T) {
	fields := Queryables(filterLayer(t))
	for _, c := range []struct{ filter, want string }{
		{"colour = 'red'", `position 1: "colour" is not a queryable`},
		{"side = 5", "position 1: side is a string but 5 is a number"},
		{"ce_m LIKE '5%'", "LIKE needs a string"},
		{"side LIKE echelon", "pattern must be a string literal"},
		{"observed_at > 'last week'", "not an RFC 3339 timestamp"},
		{"side BETWEEN 'a' AND 'b'", "BETWEEN needs numbers or times"},
		{"S_INTERSECTS(side, POINT(1 2))", "side is a string but POINT(1 2) is a geometry"},
		{"S_INTERSECTS(ce_m, 5)", "S_INTERSECTS takes two geometries"},
		{"geometry = POINT(1 2)", "compared with S_INTERSECTS"},
		{"sources = 'x'", `"sources" is not a queryable`},
		{"side = 'ru' AND zones = 'donbas'", `position 17: "zones" is not a queryable`},
	} {
		e, err := cql2.ParseText(c.filter)
		if err != nil {
			t.Fatalf("%s: %v", c.filter, err)
		}
		_, err = CompileFilter(e, fields, FilterOptions{})
		var de *Error
		if !errors.As(err, &de) || de.Code != EINVALID || !strings.Contains(de.Message, c.want) || !strings.Contains(de.Message, "parameter filter") {
			t.Errorf("%s: got %v, want EINVALID containing %q", c.filter, err, c.want)
		}
	}
}

func TestSortBy(t *testing.T) {
	l := filterLayer(t)
	fields := Queryables(l)
	for _, c := range []struct {
		sortby string
		want   []string
	}{
		{"ce_m", []string{"d", "b", "a", "c", "e"}},
		{"-ce_m", []string{"a", "b", "d", "c", "e"}},
		{"+side,-echelon", []string{"d", "b", "a", "c", "e"}},
		{"-observed_at", []string{"b", "a", "d", "c", "e"}},
		{"echelon, id", []string{"a", "b", "c", "d", "e"}},
	} {
		keys, err := ParseSortBy(c.sortby, fields)
		if err != nil {
			t.Fatalf("%s: %v", c.sortby, err)
		}
		p, err := l.Snapshot().Query(t.Context(), Query{Less: SortLess(keys, fields)})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, f := range p.Features {
			got = append(got, f.ID)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("sortby=%s: %v, want %v", c.sortby, got, c.want)
		}
	}
	for _, bad := range []string{"", "nope", "side,,echelon", "-", "sources"} {
		if _, err := ParseSortBy(bad, fields); ErrorCode(err) != EINVALID || !strings.Contains(err.Error(), "parameter sortby") {
			t.Errorf("sortby=%q: %v", bad, err)
		}
	}
}

func FuzzParseSortBy(f *testing.F) {
	fields := []Field{{Name: "a", Type: TypeString}, {Name: "b", Type: TypeNumber}}
	for _, s := range []string{"a", "-a,+b", " b , a", "", ",", "+-a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		keys, err := ParseSortBy(s, fields)
		if err != nil {
			if ErrorCode(err) != EINVALID {
				t.Fatalf("%q: %v", s, err)
			}
			return
		}
		if len(keys) == 0 {
			t.Fatalf("%q: no keys and no error", s)
		}
		for _, k := range keys {
			if k.Name != "a" && k.Name != "b" {
				t.Fatalf("%q: key %q is not a field", s, k.Name)
			}
		}
	})
}
