package web

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"troopmap/layers"
)

// placedError is an import's error body: problems placed in the file.
type placedError struct {
	Code        string `json:"code"`
	Description string `json:"description"`
	Errors      []struct {
		Where, Pointer, Message string
	} `json:"errors"`
}

func placedErrorOf(t *testing.T, rec *httptest.ResponseRecorder) placedError {
	t.Helper()
	var e placedError
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
		t.Fatalf("error body %s: %v", rec.Body, err)
	}
	return e
}

func (e *writeEnv) upload(t *testing.T, coll, contentType string, body []byte, key string) *httptest.ResponseRecorder {
	t.Helper()
	return send(t, e.h, "POST", "/collections/"+coll+"/items", body, "Content-Type", contentType, "Authorization", "Bearer "+key)
}

// fixtureUpload reads the formats fixture as an analyst's GeoJSON upload:
// without the server-set properties.
func fixtureUpload(t *testing.T) ([]byte, []*geojson.Feature) {
	t.Helper()
	raw, err := os.ReadFile("../layers/formats/testdata/reports.geojson")
	if err != nil {
		t.Fatal(err)
	}
	fc, err := geojson.UnmarshalFeatureCollection(raw)
	if err != nil {
		t.Fatal(err)
	}
	schema, _ := layers.ReportSchema(layers.TroopConcentrations)
	for _, f := range fc.Features {
		f.ID = nil
		f.Properties = geojson.Properties(userProps(schema, f.Properties))
	}
	body, err := json.Marshal(fc)
	if err != nil {
		t.Fatal(err)
	}
	return body, fc.Features
}

// currentReports returns the layer's reports ordered by their notes-free
// identity: observed_at then location, so two imports compare row by row.
func currentReports(e *writeEnv, coll string) []*layers.Feature {
	l, _ := e.cat.Layer(coll)
	var out []*layers.Feature
	l.Snapshot().All(func(f *layers.Feature) bool { out = append(out, f); return true })
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].Props.Get("observed_at").(string), out[j].Props.Get("observed_at").(string)
		return a < b
	})
	return out
}

// TestImportRoundTrip: GeoJSON upload → CSV export → CSV import (into a
// fresh server) gives identical reports; the same for KML.
func TestImportRoundTrip(t *testing.T) {
	body, _ := fixtureUpload(t)
	src := newWriteEnv(t, Config{})
	if rec := src.post(t, layers.TroopConcentrations, body, src.analyst); rec.Code != 201 {
		t.Fatalf("GeoJSON upload: %d %s", rec.Code, rec.Body)
	}
	want := currentReports(src, layers.TroopConcentrations)
	schema, _ := layers.ReportSchema(layers.TroopConcentrations)
	for _, tc := range []struct{ f, contentType string }{
		{"csv", mimeCSV},
		{"kml", mimeKML},
	} {
		t.Run(tc.f, func(t *testing.T) {
			// With a key: the fixture holds a restricted report, which
			// anonymous readers never get.
			rec := do(t, src.h, "GET", "/collections/troop-concentrations/items?f="+tc.f, "Authorization", "Bearer "+src.analyst)
			if rec.Code != 200 {
				t.Fatalf("export: %d %s", rec.Code, rec.Body)
			}
			dst := newWriteEnv(t, Config{})
			if up := dst.upload(t, layers.TroopConcentrations, tc.contentType, rec.Body.Bytes(), dst.analyst); up.Code != 201 {
				t.Fatalf("import of the export: %d %s", up.Code, up.Body)
			}
			got := currentReports(dst, layers.TroopConcentrations)
			if len(got) != len(want) {
				t.Fatalf("%d reports, want %d", len(got), len(want))
			}
			for i := range want {
				if !orb.Equal(got[i].Geometry, want[i].Geometry) {
					t.Errorf("report %d: geometry %v, want %v", i, got[i].Geometry, want[i].Geometry)
				}
				g, w := userProps(schema, got[i].Props.Map()), userProps(schema, want[i].Props.Map())
				if !reflect.DeepEqual(g, w) {
					gj, _ := json.Marshal(g)
					wj, _ := json.Marshal(w)
					t.Errorf("report %d:\n got %s\nwant %s", i, gj, wj)
				}
			}
		})
	}
}

// TestImportErrorsStoreNothing: a file with one bad row among good ones is
// refused whole with every problem placed in the file, and the store's rows
// and history are unchanged.
func TestImportErrorsStoreNothing(t *testing.T) {
	e := newWriteEnv(t, Config{})
	good := "longitude,latitude,observed_at,time_precision,geo_precision,sources,source_reliability,info_credibility,sensitivity,event_type,actor1,fatalities.best\n" +
		"37.5,48.1,2021-04-02T00:00:00Z,day,town,https://a.example/1,b,2,public,battles,Military Forces of Russia,3\n"
	if rec := e.upload(t, layers.Incidents, mimeCSV, []byte(good), e.analyst); rec.Code != 201 {
		t.Fatalf("good CSV: %d %s", rec.Code, rec.Body)
	}
	rows0, hist0 := e.counts(t, layers.Incidents)
	if rows0 != 1 {
		t.Fatalf("%d rows after one good import", rows0)
	}
	for _, tc := range []struct {
		name, contentType, body string
		status                  int
		wantWhere               []string
	}{
		{"schema errors in CSV", mimeCSV, good +
			"37.5,48.1,2021-04-02T00:00:00Z,day,town,https://a.example/2,b,2,public,battels,Military Forces of Russia,3\n" +
			"48.1,37.5,2021-04-02T00:00:00Z,day,town,ftp://a.example/3,b,2,public,battles,Military Forces of Russia,-4\n",
			422, []string{"row 3, column event_type", "row 4, columns longitude/latitude", "row 4, column sources", "row 4, column fatalities.best"}},
		{"unreadable cell in CSV", mimeCSV, good + "37.5,48.1,2021-04-02T00:00:00Z,day,town,https://a.example/2,b,2,public,battles,X,many\n",
			422, []string{"row 3, column fatalities.best"}},
		{"ragged CSV", mimeCSV, good + "37.5,48.1\n", 400, []string{"row 3"}},
		{"KML", mimeKML, `<kml xmlns="http://www.opengis.net/kml/2.2"><Document>
<Placemark><name>ok</name><TimeStamp><when>2021-04-02</when></TimeStamp><ExtendedData>
<Data name="geo_precision"><value>town</value></Data><Data name="sources"><value>https://a.example/k</value></Data>
<Data name="source_reliability"><value>b</value></Data><Data name="info_credibility"><value>2</value></Data>
<Data name="sensitivity"><value>public</value></Data><Data name="event_type"><value>battles</value></Data>
<Data name="actor1"><value>X</value></Data></ExtendedData><Point><coordinates>37.5,48.1</coordinates></Point></Placemark>
<Placemark><name>Bad one</name><TimeStamp><when>2021-04-02</when></TimeStamp><ExtendedData>
<Data name="geo_precision"><value>street</value></Data></ExtendedData><Point><coordinates>37.5,48.1</coordinates></Point></Placemark>
</Document></kml>`, 422, []string{`placemark 2 ("Bad one"), field ExtendedData geo_precision`, `placemark 2 ("Bad one"), field sources`}},
		{"not XML", mimeKML, "<kml><Placemark>", 400, nil},
		{"KMZ without KML", mimeKMZ, string(zipBytes(t, "readme.txt", []byte("hi"))), 400, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := e.upload(t, layers.Incidents, tc.contentType, []byte(tc.body), e.analyst)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			pe := placedErrorOf(t, rec)
			var wheres []string
			for _, p := range pe.Errors {
				wheres = append(wheres, p.Where)
				if p.Message == "" {
					t.Errorf("problem without a message: %+v", p)
				}
			}
			for _, w := range tc.wantWhere {
				found := false
				for _, got := range wheres {
					found = found || got == w
				}
				if !found {
					t.Errorf("no problem placed at %q; got %q", w, wheres)
				}
			}
			if len(tc.wantWhere) > 0 && !strings.Contains(pe.Description, strings.SplitN(tc.wantWhere[0], ",", 2)[0]) {
				t.Errorf("description %q does not name the first place", pe.Description)
			}
			if rows, hist := e.counts(t, layers.Incidents); rows != rows0 || hist != hist0 {
				t.Errorf("refused import changed the store: rows %d→%d, history %d→%d", rows0, rows, hist0, hist)
			}
		})
	}
}

func TestImportKMZAndUnsupportedType(t *testing.T) {
	e := newWriteEnv(t, Config{})
	kml := `<kml><Placemark><TimeSpan><begin>2021-04-02</begin><end>2021-04-03</end></TimeSpan><ExtendedData>
<Data name="geo_precision"><value>town</value></Data><Data name="sources"><value>https://a.example/k;https://b.example/k</value></Data>
<Data name="source_reliability"><value>b</value></Data><Data name="info_credibility"><value>2</value></Data>
<Data name="sensitivity"><value>public</value></Data><Data name="side"><value>ru</value></Data><Data name="echelon"><value>brigade</value></Data>
<Data name="unit_function"><value>armor</value></Data><Data name="posture"><value>staging</value></Data></ExtendedData>
<Polygon><outerBoundaryIs><LinearRing><coordinates>37,48 37.2,48 37.2,48.2 37,48</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark></kml>`
	rec := e.upload(t, layers.TroopConcentrations, mimeKMZ, zipBytes(t, "files/doc.kml", []byte(kml)), e.analyst)
	if rec.Code != 201 {
		t.Fatalf("KMZ: %d %s", rec.Code, rec.Body)
	}
	got := currentReports(e, layers.TroopConcentrations)
	if len(got) != 1 || got[0].Props.Get("observed_until") != "2021-04-03T00:00:00Z" || got[0].Props.Get("time_precision") != "day" {
		t.Fatalf("stored %v", got)
	}
	if _, ok := got[0].Geometry.(orb.Polygon); !ok {
		t.Errorf("geometry %T", got[0].Geometry)
	}
	rec = e.upload(t, layers.TroopConcentrations, "application/x-shapefile", []byte("x"), e.analyst)
	if rec.Code != 415 || !strings.Contains(rec.Body.String(), "text/csv") {
		t.Errorf("unsupported type: %d %s", rec.Code, rec.Body)
	}
	rec = send(t, e.h, "POST", "/collections/troop-concentrations/items", []byte(kml), "Content-Type", mimeKML)
	if rec.Code != 401 {
		t.Errorf("KML without a key: %d", rec.Code)
	}
}

func zipBytes(t *testing.T, name string, body []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create(filepath.ToSlash(name))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(body); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
