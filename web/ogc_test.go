package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/paulmach/orb"

	"troopmap/layers"
)

// The test catalog: a report layer with a regular grid of 250 incidents whose
// positions, times and properties follow from their number, so expected
// answers are computed from the numbers, not from the code under test; three
// extra incidents near the antimeridian and without geometry; and an area
// layer of two squares.

var eventTypes = []string{"battles", "explosions_remote_violence", "violence_against_civilians", "protests", "riots", "strategic_developments"}

type gridPoint struct {
	id       string
	lon, lat float64
	day      int // days after 2021-03-01
	event    string
	best     int
}

func grid() []gridPoint {
	var out []gridPoint
	for i := range 250 {
		out = append(out, gridPoint{
			id: fmt.Sprintf("inc-%03d", i), lon: 30 + float64(i%25)*0.4, lat: 45 + float64(i/25)*0.5,
			day: i % 50, event: eventTypes[i%6], best: i % 7,
		})
	}
	return out
}

func day(d int) time.Time { return time.Date(2021, 3, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, d) }

func testCatalog(t testing.TB) *layers.Catalog {
	t.Helper()
	inc := layers.NewLayer(layers.Meta{ID: layers.Incidents, Title: "Incidents", Kind: layers.KindReports, TimeKeys: layers.ReportTimeKeys()})
	var fs []*layers.Feature
	for _, g := range grid() {
		fs = append(fs, layers.NewFeature(g.id, orb.Point{g.lon, g.lat}, map[string]any{
			"event_type": g.event, "observed_at": day(g.day).Format(time.RFC3339),
			"fatalities": map[string]any{"best": float64(g.best)}, "ce_m": float64(g.best * 100),
			"sensitivity": "public", "geo_precision": "town", "location_name": "Place " + g.id,
			"zones": []any{"donbas"},
		}, layers.ReportTimeKeys()...))
	}
	fs = append(fs,
		layers.NewFeature("am-east", orb.Point{179.5, 0}, map[string]any{"event_type": "riots", "observed_at": "2021-05-01T00:00:00Z", "sensitivity": "public"}, layers.ReportTimeKeys()...),
		layers.NewFeature("am-west", orb.Point{-179.5, 0}, map[string]any{"event_type": "riots", "observed_at": "2021-05-02T00:00:00Z", "sensitivity": "public"}, layers.ReportTimeKeys()...),
		layers.NewFeature("no-geom", nil, map[string]any{"event_type": "protests", "note": "no time either", "sensitivity": "public"}, layers.ReportTimeKeys()...),
	)
	if err := inc.Load(fs); err != nil {
		t.Fatal(err)
	}
	area := layers.NewLayer(layers.Meta{ID: "squares", Title: "Squares", Kind: layers.KindArea})
	sq := func(x, y float64) orb.Polygon {
		return orb.Polygon{{{x, y}, {x + 1, y}, {x + 1, y + 1}, {x, y + 1}, {x, y}}}
	}
	if err := area.Load([]*layers.Feature{
		layers.NewFeature("a", sq(30, 45), map[string]any{"name": "A", "rank": 1.0}),
		layers.NewFeature("b", sq(35, 48), map[string]any{"name": "B", "rank": 2.0}),
	}); err != nil {
		t.Fatal(err)
	}
	cat, err := layers.NewCatalog(area, inc)
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

func ogcServer(t testing.TB) *Server {
	s := New(Config{})
	s.SetCatalog(testCatalog(t))
	return s
}

// featureCollection is what tests decode items responses into.
type featureCollection struct {
	Type           string
	NumberMatched  int
	NumberReturned int
	TimeStamp      string
	Links          []link
	Features       []struct {
		Type     string
		ID       string
		Geometry *struct {
			Type        string
			Coordinates json.RawMessage
		}
		Properties map[string]any
		Links      []link
	}
}

func (fc featureCollection) ids() []string {
	out := []string{}
	for _, f := range fc.Features {
		out = append(out, f.ID)
	}
	return out
}

func (fc featureCollection) link(rel string) (link, bool) {
	for _, l := range fc.Links {
		if l.Rel == rel {
			return l, true
		}
	}
	return link{}, false
}

func getJSON(t *testing.T, h http.Handler, target string, v any, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	rec := do(t, h, "GET", target, hdr...)
	if rec.Code != 200 {
		t.Fatalf("GET %s = %d: %s", target, rec.Code, rec.Body)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
		t.Fatalf("GET %s: %v\n%s", target, err, rec.Body)
	}
	return rec
}

// expect picks grid ids by a predicate on the generating numbers.
func expect(pred func(g gridPoint) bool, extra ...string) []string {
	var out []string
	for _, g := range grid() {
		if pred(g) {
			out = append(out, g.id)
		}
	}
	out = append(out, extra...)
	sort.Strings(out)
	return out
}

func TestLandingPage(t *testing.T) {
	s := ogcServer(t)
	var doc landingDoc
	rec := getJSON(t, s.Handler(), "/", &doc)
	if ct := rec.Header().Get("Content-Type"); ct != mimeJSON {
		t.Errorf("Content-Type = %q", ct)
	}
	want := map[string]string{"self": mimeJSON, "alternate": mimeHTML, "service-desc": mimeOpenAPI,
		"service-doc": mimeHTML, "conformance": mimeJSON, "data": mimeJSON}
	got := map[string]string{}
	for _, l := range doc.Links {
		if l.Type == "" {
			t.Errorf("link %s has no type", l.Rel)
		}
		got[l.Rel] = l.Type
		if !strings.HasPrefix(l.Href, "http://example.com/") {
			t.Errorf("link %s href %q is not absolute", l.Rel, l.Href)
		}
	}
	for rel, typ := range want {
		if got[rel] != typ {
			t.Errorf("rel %s: type %q, want %q", rel, got[rel], typ)
		}
	}
	// Every link resolves.
	for _, l := range doc.Links {
		u, _ := url.Parse(l.Href)
		if rec := do(t, s.Handler(), "GET", u.RequestURI()); rec.Code != 200 {
			t.Errorf("link %s (%s) = %d", l.Rel, l.Href, rec.Code)
		}
	}
}

func TestConformance(t *testing.T) {
	var doc conformanceDoc
	getJSON(t, ogcServer(t).Handler(), "/conformance", &doc)
	for _, c := range []string{
		"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
		"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
		"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
		"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
		"http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
		"http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
		"http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
		"http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
		"http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
		"http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
		"http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
		"http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
		"http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
	} {
		if !slices.Contains(doc.ConformsTo, c) {
			t.Errorf("conformance lacks %s", c)
		}
	}
	// Part 4 is tested in writes_test.go (create, replace, update, delete).
	for _, c := range []string{
		"http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
		"http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update",
	} {
		if !slices.Contains(doc.ConformsTo, c) {
			t.Errorf("conformance lacks %s", c)
		}
	}
}

func TestCollections(t *testing.T) {
	s := ogcServer(t)
	var doc collectionsDoc
	getJSON(t, s.Handler(), "/collections", &doc)
	var ids []string
	for _, c := range doc.Collections {
		ids = append(ids, c.ID)
		if c.ItemType != "feature" {
			t.Errorf("%s: itemType %q", c.ID, c.ItemType)
		}
		if !slices.Contains(c.CRS, "http://www.opengis.net/def/crs/OGC/1.3/CRS84") || c.StorageCRS != "http://www.opengis.net/def/crs/OGC/1.3/CRS84" {
			t.Errorf("%s: crs %v storageCrs %v", c.ID, c.CRS, c.StorageCRS)
		}
		var items, queryables bool
		for _, l := range c.Links {
			items = items || (l.Rel == "items" && l.Type == mimeGeoJSON)
			queryables = queryables || (l.Rel == relQueryables && l.Type == mimeSchema)
		}
		if !items || !queryables {
			t.Errorf("%s: items link %v, queryables link %v", c.ID, items, queryables)
		}
		// /collections/{id} equals its entry.
		var one collectionDoc
		getJSON(t, s.Handler(), "/collections/"+c.ID, &one)
		a, _ := json.Marshal(one)
		b, _ := json.Marshal(c)
		if !bytes.Equal(a, b) {
			t.Errorf("/collections/%s differs from its entry:\n%s\n%s", c.ID, a, b)
		}
	}
	if !slices.Equal(ids, []string{"squares", "incidents"}) {
		t.Errorf("collections %v", ids)
	}
	inc := doc.Collections[1]
	if got := inc.Extent.Spatial.BBox[0]; got != [4]float64{-179.5, 0, 179.5, 49.5} {
		t.Errorf("incidents spatial extent %v", got)
	}
	if iv := inc.Extent.Temporal.Interval[0]; *iv[0] != "2021-03-01T00:00:00Z" || *iv[1] != "2021-05-02T00:00:00Z" {
		t.Errorf("incidents temporal extent %v %v", *iv[0], *iv[1])
	}
	if rec := do(t, s.Handler(), "GET", "/collections/nope"); rec.Code != 404 || !strings.Contains(rec.Body.String(), "nope") {
		t.Errorf("unknown collection: %d %s", rec.Code, rec.Body)
	}
}

func TestItemsBBox(t *testing.T) {
	s := ogcServer(t)
	in := func(g gridPoint, w, so, e, n float64) bool {
		return g.lon >= w && g.lon <= e && g.lat >= so && g.lat <= n
	}
	for _, c := range []struct {
		name, bbox string
		want       []string
	}{
		{"4 numbers", "31,46,32,47", expect(func(g gridPoint) bool { return in(g, 31, 46, 32, 47) }, "no-geom")},
		{"6 numbers", "31,46,-100,32,47,100", expect(func(g gridPoint) bool { return in(g, 31, 46, 32, 47) }, "no-geom")},
		{"edges touch", "30.4,45,30.4,45", []string{"inc-001", "no-geom"}},
		{"crosses the antimeridian", "179,-1,-179,1", []string{"am-east", "am-west", "no-geom"}},
		{"west of the antimeridian only", "179,-1,180,1", []string{"am-east", "no-geom"}},
		{"nothing but features without geometry", "0,0,1,1", []string{"no-geom"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var fc featureCollection
			getJSON(t, s.Handler(), "/collections/incidents/items?limit=1000&bbox="+url.QueryEscape(c.bbox), &fc)
			got := fc.ids()
			sort.Strings(got)
			if !slices.Equal(got, c.want) {
				t.Errorf("bbox %s: got %v, want %v", c.bbox, got, c.want)
			}
			if fc.NumberMatched != len(c.want) || fc.NumberReturned != len(c.want) {
				t.Errorf("matched %d returned %d, want %d", fc.NumberMatched, fc.NumberReturned, len(c.want))
			}
		})
	}
}

func TestItemsTime(t *testing.T) {
	s := ogcServer(t)
	for _, c := range []struct {
		name, dt string
		want     []string
	}{
		{"instant", "2021-03-05T00:00:00Z", expect(func(g gridPoint) bool { return g.day == 4 }, "no-geom")},
		{"whole day", "2021-03-05", expect(func(g gridPoint) bool { return g.day == 4 }, "no-geom")},
		{"closed interval", "2021-03-05T00:00:00Z/2021-03-07T00:00:00Z", expect(func(g gridPoint) bool { return g.day >= 4 && g.day <= 6 }, "no-geom")},
		{"open start", "../2021-03-02T00:00:00Z", expect(func(g gridPoint) bool { return g.day <= 1 }, "no-geom")},
		{"empty start", "/2021-03-02T00:00:00Z", expect(func(g gridPoint) bool { return g.day <= 1 }, "no-geom")},
		{"open end", "2021-04-19T00:00:00Z/..", expect(func(g gridPoint) bool { return g.day >= 49 }, "am-east", "am-west", "no-geom")},
	} {
		t.Run(c.name, func(t *testing.T) {
			var fc featureCollection
			getJSON(t, s.Handler(), "/collections/incidents/items?limit=1000&datetime="+url.QueryEscape(c.dt), &fc)
			got := fc.ids()
			sort.Strings(got)
			if !slices.Equal(got, c.want) || fc.NumberMatched != len(c.want) {
				t.Errorf("datetime %s: got %d %v, want %v", c.dt, fc.NumberMatched, got, c.want)
			}
		})
	}
}

func TestItemsLimitAndPaging(t *testing.T) {
	s := ogcServer(t)
	var fc featureCollection
	getJSON(t, s.Handler(), "/collections/incidents/items", &fc)
	if fc.NumberReturned != defaultLimit || fc.NumberMatched != 253 || len(fc.Features) != defaultLimit {
		t.Errorf("default page: returned %d matched %d", fc.NumberReturned, fc.NumberMatched)
	}
	ts, err := time.Parse(time.RFC3339, fc.TimeStamp)
	if err != nil || time.Since(ts) > time.Minute || time.Until(ts) > time.Minute {
		t.Errorf("timeStamp %q", fc.TimeStamp)
	}
	getJSON(t, s.Handler(), "/collections/incidents/items?limit=100000", &fc)
	if fc.NumberReturned != 253 {
		t.Errorf("limit over the maximum: returned %d", fc.NumberReturned)
	}
	// Follow next links with a bbox and datetime; every feature exactly once.
	want := expect(func(g gridPoint) bool { return g.lat <= 47 && g.day < 40 }, "no-geom")
	seen := map[string]int{}
	var order []string
	next := "/collections/incidents/items?limit=7&bbox=0,0,50,47&datetime=../2021-04-09T00:00:00Z"
	pages := 0
	for next != "" {
		var p featureCollection
		getJSON(t, s.Handler(), next, &p)
		pages++
		if p.NumberMatched != len(want) {
			t.Fatalf("page %d: numberMatched %d, want %d", pages, p.NumberMatched, len(want))
		}
		if p.NumberReturned != len(p.Features) {
			t.Fatalf("numberReturned %d for %d features", p.NumberReturned, len(p.Features))
		}
		for _, id := range p.ids() {
			seen[id]++
			order = append(order, id)
		}
		next = ""
		if l, ok := p.link("next"); ok {
			if l.Type != mimeGeoJSON {
				t.Errorf("next link type %q", l.Type)
			}
			u, _ := url.Parse(l.Href)
			next = u.RequestURI()
		}
		if pages > 1 {
			if _, ok := p.link("prev"); !ok {
				t.Errorf("page %d has no prev link", pages)
			}
		}
	}
	if pages != (len(want)+6)/7 {
		t.Errorf("%d pages for %d features", pages, len(want))
	}
	if !slices.IsSorted(order) {
		t.Errorf("pages are not in a stable order")
	}
	sort.Strings(order)
	if !slices.Equal(order, want) {
		t.Errorf("paging returned %d features, want %d", len(order), len(want))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s returned %d times", id, n)
		}
	}
}

func TestItemsErrorConditions(t *testing.T) {
	s := ogcServer(t)
	for _, c := range []struct {
		target string
		status int
		names  string
	}{
		{"/collections/incidents/items?bbox=1,2,3", 400, "bbox"},
		{"/collections/incidents/items?bbox=1,2,x,4", 400, "bbox"},
		{"/collections/incidents/items?bbox=0,50,10,40", 400, "bbox"},
		{"/collections/incidents/items?datetime=yesterday", 400, "datetime"},
		{"/collections/incidents/items?datetime=2021-05-01T00:00:00Z/2021-04-01T00:00:00Z", 400, "datetime"},
		{"/collections/incidents/items?limit=0", 400, "limit"},
		{"/collections/incidents/items?limit=ten", 400, "limit"},
		{"/collections/incidents/items?offset=-1", 400, "offset"},
		{"/collections/incidents/items?colour=red", 400, "colour"},
		{"/collections/incidents/items?event_type=picnic", 400, "event_type"},
		{"/collections/incidents/items?crs=EPSG:4326", 400, "crs"},
		{"/collections/incidents/items?bbox-crs=http://www.opengis.net/def/crs/EPSG/0/4326&bbox=1,2,3,4", 400, "bbox-crs"},
		{"/collections/incidents/items?f=xml", 400, "f"},
		{"/collections/incidents/items?sortby=-nope", 400, "sortby"},
		{"/collections/incidents/items?properties=nope", 400, "properties"},
		{"/collections/incidents/items?skipGeometry=yes", 400, "skipGeometry"},
		{"/collections/incidents/items?limit=1&limit=2", 400, "limit"},
		{"/collections/squares/items?event_type=riots", 400, "event_type"},
		{"/collections/nope/items", 404, "nope"},
		{"/collections/incidents/items/nope", 404, "nope"},
		{"/collections/incidents/items/inc-001?bbox=1,2,3,4", 400, "bbox"},
		{"/conformance?x=1", 400, "x"},
	} {
		rec := do(t, s.Handler(), "GET", c.target)
		var body errorBody
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		if rec.Code != c.status || !strings.Contains(body.Description, c.names) {
			t.Errorf("%s: %d %q, want %d naming %q", c.target, rec.Code, body.Description, c.status, c.names)
		}
	}
}

func TestItemsPropertyParameters(t *testing.T) {
	s := ogcServer(t)
	var fc featureCollection
	getJSON(t, s.Handler(), "/collections/incidents/items?limit=1000&event_type=riots", &fc)
	got := fc.ids()
	sort.Strings(got)
	if want := expect(func(g gridPoint) bool { return g.event == "riots" }, "am-east", "am-west"); !slices.Equal(got, want) {
		t.Errorf("event_type=riots: %v, want %v", got, want)
	}
}

func TestItemsSortPropertiesSkipGeometry(t *testing.T) {
	s := ogcServer(t)
	var fc featureCollection
	getJSON(t, s.Handler(), "/collections/incidents/items?limit=5&sortby=-ce_m,%2Bobserved_at&bbox=29,44,41,50&properties=ce_m,observed_at&skipGeometry=true", &fc)
	// Highest ce_m is best=6 (600); among those the earliest days first.
	var want []gridPoint
	for _, g := range grid() {
		if g.best == 6 {
			want = append(want, g)
		}
	}
	sort.SliceStable(want, func(i, j int) bool {
		if want[i].day != want[j].day {
			return want[i].day < want[j].day
		}
		return want[i].id < want[j].id
	})
	for i, f := range fc.Features {
		if f.ID != want[i].id {
			t.Errorf("feature %d = %s, want %s", i, f.ID, want[i].id)
		}
		if f.Geometry != nil {
			t.Errorf("%s has a geometry despite skipGeometry", f.ID)
		}
		if len(f.Properties) != 2 || f.Properties["ce_m"] != 600.0 {
			t.Errorf("%s properties %v", f.ID, f.Properties)
		}
	}
	var none featureCollection
	getJSON(t, s.Handler(), "/collections/incidents/items?limit=3&properties=", &none)
	if len(none.Features) != 3 || len(none.Features[0].Properties) != 0 {
		t.Errorf("empty properties selection: %+v", none.Features)
	}
}

func TestItemAndCRS(t *testing.T) {
	s := ogcServer(t)
	var f struct {
		Type     string
		ID       string
		Geometry struct {
			Type        string
			Coordinates []float64
		}
		Properties map[string]any
		Links      []link
	}
	rec := getJSON(t, s.Handler(), "/collections/incidents/items/inc-026", &f)
	if rec.Header().Get("Content-Type") != mimeGeoJSON || rec.Header().Get("Content-Crs") != "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>" {
		t.Errorf("headers %v", rec.Header())
	}
	if f.ID != "inc-026" || f.Geometry.Coordinates[0] != 30.4 || f.Geometry.Coordinates[1] != 45.5 {
		t.Errorf("feature %+v", f)
	}
	rels := map[string]bool{}
	for _, l := range f.Links {
		rels[l.Rel] = true
	}
	if !rels["self"] || !rels["alternate"] || !rels["collection"] {
		t.Errorf("links %v", f.Links)
	}
	// Web Mercator: x = R·λ, y = R·ln tan(π/4 + φ/2).
	const r = 6378137.0
	wantX, wantY := r*30.4*math.Pi/180, r*math.Log(math.Tan(math.Pi/4+45.5*math.Pi/360))
	rec = getJSON(t, s.Handler(), "/collections/incidents/items/inc-026?crs="+url.QueryEscape("http://www.opengis.net/def/crs/EPSG/0/3857"), &f)
	if rec.Header().Get("Content-Crs") != "<http://www.opengis.net/def/crs/EPSG/0/3857>" {
		t.Errorf("Content-Crs %q", rec.Header().Get("Content-Crs"))
	}
	if math.Abs(f.Geometry.Coordinates[0]-wantX) > 0.01 || math.Abs(f.Geometry.Coordinates[1]-wantY) > 0.01 {
		t.Errorf("3857 coordinates %v, want %v %v", f.Geometry.Coordinates, wantX, wantY)
	}
	// bbox-crs: the box 31,46..32,47 in Web Mercator selects what it does in CRS84.
	merc := func(lon, lat float64) (float64, float64) {
		return r * lon * math.Pi / 180, r * math.Log(math.Tan(math.Pi/4+lat*math.Pi/360))
	}
	x0, y0 := merc(31, 46)
	x1, y1 := merc(32, 47.001)
	var fc featureCollection
	q := url.Values{"bbox": {fmt.Sprintf("%f,%f,%f,%f", x0, y0, x1, y1)}, "bbox-crs": {"http://www.opengis.net/def/crs/EPSG/0/3857"},
		"crs": {"http://www.opengis.net/def/crs/EPSG/0/3857"}, "limit": {"1000"}}
	rec = getJSON(t, s.Handler(), "/collections/incidents/items?"+q.Encode(), &fc)
	got := fc.ids()
	sort.Strings(got)
	if want := expect(func(g gridPoint) bool { return g.lon >= 31 && g.lon <= 32 && g.lat >= 46 && g.lat <= 47 }, "no-geom"); !slices.Equal(got, want) {
		t.Errorf("bbox-crs 3857: %v, want %v", got, want)
	}
	if rec.Header().Get("Content-Crs") != "<http://www.opengis.net/def/crs/EPSG/0/3857>" {
		t.Errorf("items Content-Crs %q", rec.Header().Get("Content-Crs"))
	}
}

func TestContentNegotiation(t *testing.T) {
	s := ogcServer(t)
	for _, c := range []struct {
		target, accept string
		status         int
		ctype          string
	}{
		{"/", "*/*", 200, mimeJSON},
		{"/", "application/json", 200, mimeJSON},
		{"/", "", 200, mimeJSON},
		{"/", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", 200, "text/html; charset=UTF-8"},
		{"/?f=json", "text/html", 200, mimeJSON},
		{"/?f=html", "application/json", 200, "text/html; charset=UTF-8"},
		{"/", "application/xml", 406, mimeJSON},
		{"/collections", "text/html", 200, "text/html; charset=UTF-8"},
		{"/collections/incidents", "text/html", 200, "text/html; charset=UTF-8"},
		{"/collections/incidents/items", "application/geo+json", 200, mimeGeoJSON},
		{"/collections/incidents/items", "application/geo+json, application/json", 200, mimeGeoJSON},
		{"/collections/incidents/items", "text/html", 200, "text/html; charset=UTF-8"},
		{"/collections/incidents/items/inc-001", "text/html", 200, "text/html; charset=UTF-8"},
		{"/collections/incidents/queryables", "*/*", 200, mimeSchema},
		{"/collections/incidents/queryables?f=html", "", 200, "text/html; charset=UTF-8"},
		{"/conformance?f=html", "", 200, "text/html; charset=UTF-8"},
		{"/api", "*/*", 200, mimeOpenAPI},
		{"/api?f=html", "", 200, "text/html; charset=UTF-8"},
	} {
		rec := do(t, s.Handler(), "GET", c.target, "Accept", c.accept)
		if rec.Code != c.status || rec.Header().Get("Content-Type") != c.ctype {
			t.Errorf("%s Accept %q: %d %q, want %d %q", c.target, c.accept, rec.Code, rec.Header().Get("Content-Type"), c.status, c.ctype)
		}
		if c.status == 200 && strings.HasPrefix(c.ctype, "text/html") && !strings.Contains(rec.Body.String(), "</html>") {
			t.Errorf("%s: not a whole HTML page", c.target)
		}
	}
	// HTML items page shows the features and escapes their text.
	rec := do(t, s.Handler(), "GET", "/collections/incidents/items?f=html&limit=3")
	if !strings.Contains(rec.Body.String(), ">inc-000</a>") || !strings.Contains(rec.Body.String(), "next »") {
		t.Errorf("items page lacks features or paging:\n%s", rec.Body)
	}
}

func TestQueryables(t *testing.T) {
	s := ogcServer(t)
	var doc struct {
		Schema     string `json:"$schema"`
		ID         string `json:"$id"`
		Type       string
		Properties map[string]map[string]any
	}
	getJSON(t, s.Handler(), "/collections/incidents/queryables", &doc)
	if doc.Schema != "https://json-schema.org/draft/2020-12/schema" || doc.ID != "http://example.com/collections/incidents/queryables" || doc.Type != "object" {
		t.Errorf("header %+v", doc)
	}
	if doc.Properties["event_type"]["type"] != "string" || doc.Properties["observed_at"]["format"] != "date-time" ||
		doc.Properties["geometry"]["format"] != "geometry-any" || doc.Properties["ce_m"]["type"] != "number" {
		t.Errorf("properties %v", doc.Properties)
	}
	if _, ok := doc.Properties["sources"]; ok {
		t.Errorf("sources (an array of objects) is not queryable")
	}
	getJSON(t, s.Handler(), "/collections/squares/queryables", &doc)
	if doc.Properties["name"]["type"] != "string" || doc.Properties["rank"]["type"] != "number" {
		t.Errorf("inferred queryables %v", doc.Properties)
	}
}

// loadAPI fetches /api and validates it as an OpenAPI 3.0 document.
func loadAPI(t *testing.T, h http.Handler) (*openapi3.T, routers.Router) {
	t.Helper()
	rec := do(t, h, "GET", "/api")
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(rec.Body.Bytes())
	if err != nil {
		t.Fatalf("load /api: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("/api is not a valid OpenAPI document: %v", err)
	}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return doc, router
}

func TestAPIDefinition(t *testing.T) {
	s := ogcServer(t)
	doc, _ := loadAPI(t, s.Handler())
	for _, p := range []string{"/", "/api", "/conformance", "/collections", "/collections/incidents", "/collections/incidents/items",
		"/collections/incidents/items/{featureId}", "/collections/incidents/queryables", "/collections/squares/items"} {
		if doc.Paths.Find(p) == nil {
			t.Errorf("path %s missing", p)
		}
	}
	items := doc.Paths.Find("/collections/incidents/items").Get
	names := map[string]*openapi3.Parameter{}
	for _, p := range items.Parameters {
		names[p.Value.Name] = p.Value
	}
	for _, n := range []string{"bbox", "bbox-crs", "datetime", "limit", "offset", "crs", "filter", "filter-lang", "filter-crs", "sortby", "properties", "skipGeometry", "f", "event_type", "verification", "zones"} {
		if names[n] == nil {
			t.Errorf("items parameter %s not declared", n)
		}
	}
	// GDAL sends filters only when it sees the old name cql-text.
	if fl := names["filter-lang"]; fl == nil || !slices.Contains(fl.Schema.Value.Enum, any("cql-text")) {
		t.Errorf("filter-lang enum lacks cql-text")
	}
	if names := doc.Paths.Find("/collections/squares/items").Get.Parameters; len(names) != len(itemsParams())+len(filterParams()) {
		t.Errorf("squares declares %d parameters", len(names))
	}
	// Every registered route is documented.
	// Routes that exist for some kinds of layer only (area statistics)
	// need one layer of that kind documented.
	cat, _ := s.Catalog()
	for _, r := range s.echo.Routes() {
		found := false
		for _, l := range cat.Layers() {
			p := strings.NewReplacer(":id", l.ID, ":fid", "{featureId}").Replace(r.Path)
			p = regexp.MustCompile(`:(\w+)`).ReplaceAllString(p, "{$1}")
			p = strings.ReplaceAll(p, "*", "{path}") // a wildcard is one documented path parameter
			found = found || doc.Paths.Find(p) != nil
		}
		if !found {
			t.Errorf("route %s %s is not in the API definition", r.Method, r.Path)
		}
	}
}

// TestResponsesMatchAPI checks real responses, good and bad, against the
// OpenAPI document the server publishes.
func TestResponsesMatchAPI(t *testing.T) {
	s := ogcServer(t)
	_, router := loadAPI(t, s.Handler())
	for _, target := range []string{
		"/", "/api", "/conformance", "/collections", "/collections/incidents", "/collections/squares",
		"/collections/incidents/items", "/collections/incidents/items?limit=2&offset=4&bbox=30,45,40,50&datetime=2021-03-01/..",
		"/collections/incidents/items?event_type=riots&sortby=-observed_at&properties=event_type&skipGeometry=true",
		"/collections/squares/items?crs=" + url.QueryEscape("http://www.opengis.net/def/crs/EPSG/0/3857"),
		"/collections/incidents/items/inc-001", "/collections/incidents/items/no-geom", "/collections/squares/items/a",
		"/collections/incidents/queryables",
		"/collections/incidents/items?limit=0", "/collections/incidents/items/nope",
		"/collections/incidents/items?bbox=1,2", "/readyz", "/healthz",
	} {
		req := httptest.NewRequest("GET", "http://example.com"+target, nil)
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		route, pathParams, err := router.FindRoute(req)
		if err != nil {
			t.Errorf("%s: no route in the API definition: %v", target, err)
			continue
		}
		in := &openapi3filter.RequestValidationInput{Request: req, PathParams: pathParams, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
		reqErr := openapi3filter.ValidateRequest(context.Background(), in)
		if rec.Code == 200 && reqErr != nil {
			t.Errorf("%s: request the server accepted fails the definition: %v", target, reqErr)
		}
		out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: rec.Code,
			Header: rec.Header(), Body: io.NopCloser(bytes.NewReader(rec.Body.Bytes()))}
		if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
			t.Errorf("%s (%d): response fails the definition: %v", target, rec.Code, err)
		}
	}
}

func TestItemsFilter(t *testing.T) {
	s := ogcServer(t)
	merc := func(lon, lat float64) string {
		const r = 6378137.0
		return fmt.Sprintf("%f, %f", r*lon*math.Pi/180, r*math.Log(math.Tan(math.Pi/4+lat*math.Pi/360)))
	}
	for _, c := range []struct {
		name string
		q    url.Values
		want []string
	}{
		{"text", url.Values{"filter": {"event_type = 'riots' AND ce_m >= 300"}},
			expect(func(g gridPoint) bool { return g.event == "riots" && g.best >= 3 })},
		{"text is the default language, cql-text its old name", url.Values{"filter": {"ce_m > 500 OR event_type IN ('protests')"}, "filter-lang": {"cql-text"}},
			expect(func(g gridPoint) bool { return g.best > 5 || g.event == "protests" }, "no-geom")},
		{"json", url.Values{"filter-lang": {"cql2-json"}, "filter": {`{"op":"and","args":[{"op":"=","args":[{"property":"event_type"},"battles"]},{"op":"<","args":[{"property":"observed_at"},{"timestamp":"2021-03-10T00:00:00Z"}]}]}`}},
			expect(func(g gridPoint) bool { return g.event == "battles" && g.day < 9 })},
		{"LIKE and BETWEEN", url.Values{"filter": {"location_name LIKE 'Place inc-00_' AND ce_m BETWEEN 100 AND 200"}},
			expect(func(g gridPoint) bool { return g.id < "inc-010" && g.best >= 1 && g.best <= 2 })},
		{"S_INTERSECTS polygon", url.Values{"filter": {"S_INTERSECTS(geometry, POLYGON((30 45, 31 45, 31 46, 30 46, 30 45)))"}},
			expect(func(g gridPoint) bool { return g.lon <= 31 && g.lat <= 46 })},
		{"S_INTERSECTS bbox in EPSG:3857", url.Values{"filter": {"S_INTERSECTS(geometry, BBOX(" + merc(30, 45) + ", " + merc(31, 46.001) + "))"},
			"filter-crs": {"http://www.opengis.net/def/crs/EPSG/0/3857"}},
			expect(func(g gridPoint) bool { return g.lon <= 31 && g.lat <= 46 })},
		{"ANDed with bbox, datetime and property parameters", url.Values{"filter": {"ce_m < 300"}, "bbox": {"30,45,35,47"},
			"datetime": {"2021-03-01/2021-03-31"}, "event_type": {"battles"}},
			expect(func(g gridPoint) bool {
				return g.best < 3 && g.lon <= 35 && g.lat <= 47 && g.day <= 30 && g.event == "battles"
			})},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.q.Set("limit", "1000")
			var fc featureCollection
			getJSON(t, s.Handler(), "/collections/incidents/items?"+c.q.Encode(), &fc)
			got := fc.ids()
			sort.Strings(got)
			if len(c.want) == 0 {
				t.Fatal("the expected set is empty; the case tests nothing")
			}
			if !slices.Equal(got, c.want) || fc.NumberMatched != len(c.want) {
				t.Errorf("got %d %v\nwant %v", fc.NumberMatched, got, c.want)
			}
		})
	}
	for _, c := range []struct{ q, want string }{
		{"filter=" + url.QueryEscape("event_type = 'riots' AND"), "parameter filter: at position 25: expected a property name or a value, found the end of the filter"},
		{"filter=" + url.QueryEscape("colour = 'red'"), `parameter filter: at position 1: "colour" is not a queryable`},
		{"filter-lang=cql2-json&filter=" + url.QueryEscape(`{"op":"=","args":[{"property":"ce_m"}]}`), "parameter filter: at /args"},
		{"filter-lang=sql&filter=x", "parameter filter-lang"},
		{"filter-crs=EPSG:4326&filter=TRUE", "parameter filter-crs"},
	} {
		rec := do(t, s.Handler(), "GET", "/collections/incidents/items?"+c.q)
		var body errorBody
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		if rec.Code != 400 || !strings.Contains(body.Description, c.want) {
			t.Errorf("%s: %d %s, want 400 with %q", c.q, rec.Code, rec.Body, c.want)
		}
	}
}
