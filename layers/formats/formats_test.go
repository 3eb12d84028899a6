package formats

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"troopmap/layers"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

func loadFeatures(t testing.TB, path string) []*layers.Feature {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fs, err := layers.DecodeCollection(f, "id", layers.ReportTimeKeys()...)
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

func schemaOf(t testing.TB, collection string) layers.Schema {
	t.Helper()
	s, ok := layers.ReportSchema(collection)
	if !ok {
		t.Fatalf("no schema for %s", collection)
	}
	return s
}

// uploaded returns what an analyst gave for a report: its properties without
// the server-set fields, as JSON values.
func uploaded(s layers.Schema, props map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range props {
		if f, ok := s.Field(k); ok && f.ServerSet {
			continue
		}
		out[k] = normalize(v)
	}
	return out
}

func sameReports(t *testing.T, s layers.Schema, want []*layers.Feature, got []*geojson.Feature) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d features, want %d", len(got), len(want))
	}
	for i := range want {
		if !orb.Equal(got[i].Geometry, want[i].Geometry) {
			t.Errorf("feature %d (%s): geometry %v, want %v", i, want[i].ID, got[i].Geometry, want[i].Geometry)
		}
		w, g := uploaded(s, want[i].Props.Map()), uploaded(s, got[i].Properties)
		if !reflect.DeepEqual(g, w) {
			gj, _ := json.Marshal(g)
			wj, _ := json.Marshal(w)
			t.Errorf("feature %d (%s): properties\n got %s\nwant %s", i, want[i].ID, gj, wj)
		}
	}
}

func TestCSVRoundTrip(t *testing.T) {
	for _, tc := range []struct{ collection, file string }{
		{layers.TroopConcentrations, "testdata/reports.geojson"},
		{layers.Incidents, "testdata/incidents.geojson"},
	} {
		t.Run(tc.collection, func(t *testing.T) {
			s := schemaOf(t, tc.collection)
			fs := loadFeatures(t, tc.file)
			var buf bytes.Buffer
			if err := WriteCSV(context.Background(), &buf, &s, fs); err != nil {
				t.Fatal(err)
			}
			b, err := DecodeCSV(context.Background(), bytes.NewReader(buf.Bytes()), s)
			if err != nil {
				t.Fatalf("decode own export: %v\n%s", err, buf.String())
			}
			sameReports(t, s, fs, b.Features)
		})
	}
}

func TestKMLRoundTrip(t *testing.T) {
	for _, tc := range []struct{ collection, file string }{
		{layers.TroopConcentrations, "testdata/reports.geojson"},
		{layers.Incidents, "testdata/incidents.geojson"},
	} {
		t.Run(tc.collection, func(t *testing.T) {
			s := schemaOf(t, tc.collection)
			fs := loadFeatures(t, tc.file)
			var buf bytes.Buffer
			if err := WriteKML(context.Background(), &buf, tc.collection, &s, fs); err != nil {
				t.Fatal(err)
			}
			b, err := DecodeKML(context.Background(), bytes.NewReader(buf.Bytes()), s)
			if err != nil {
				t.Fatalf("decode own export: %v\n%s", err, buf.String())
			}
			sameReports(t, s, fs, b.Features)

			kmz := zipOf(t, "doc.kml", buf.Bytes())
			b, err = DecodeKMZ(context.Background(), bytes.NewReader(kmz), int64(len(kmz)), 1<<20, s)
			if err != nil {
				t.Fatalf("decode KMZ: %v", err)
			}
			sameReports(t, s, fs, b.Features)
			if _, err := DecodeKMZ(context.Background(), bytes.NewReader(kmz), int64(len(kmz)), 100, s); layers.ErrorCode(err) != layers.ETOOLARGE {
				t.Errorf("KMZ over the unpack limit: %v, want %s", err, layers.ETOOLARGE)
			}
		})
	}
}

func zipOf(t testing.TB, name string, body []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create(name)
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

// TestDecodeCSVAcledStyle reads the kind of file analysts bring: lat/lon
// columns in any order, ";"-separated source URLs, dotted nested fields, a
// byte order mark, and server-set columns that are ignored.
func TestDecodeCSVAcledStyle(t *testing.T) {
	in := "\ufeffLat,Lon,observed_at,time_precision,geo_precision,sources,source_reliability,info_credibility,sensitivity,event_type,actor1,fatalities.best,civilian_targeting,tags,id,zones\n" +
		"48.0,37.8,2022-03-01T00:00:00Z,day,town,https://a.example/1; https://b.example/2,b,2,public,battles,Military Forces of Russia,12,no,x;y,should-be-ignored,donbas\n"
	b, err := DecodeCSV(context.Background(), strings.NewReader(in), schemaOf(t, layers.Incidents))
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Features) != 1 {
		t.Fatalf("got %d features", len(b.Features))
	}
	f := b.Features[0]
	if !orb.Equal(f.Geometry, orb.Point{37.8, 48.0}) {
		t.Errorf("geometry %v, want POINT(37.8 48)", f.Geometry)
	}
	want := map[string]any{
		"observed_at": "2022-03-01T00:00:00Z", "time_precision": "day", "geo_precision": "town",
		"sources":            []any{map[string]any{"url": "https://a.example/1"}, map[string]any{"url": "https://b.example/2"}},
		"source_reliability": "b", "info_credibility": "2", "sensitivity": "public", "event_type": "battles",
		"actor1": "Military Forces of Russia", "fatalities": map[string]any{"best": 12.0}, "civilian_targeting": false,
		"tags": []any{"x", "y"},
	}
	if !reflect.DeepEqual(map[string]any(f.Properties), want) {
		t.Errorf("properties\n got %v\nwant %v", f.Properties, want)
	}
}

func TestDecodeKMLGoogleEarth(t *testing.T) {
	in := `<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Folder><name>f</name>
<Placemark><name>Column near Kharkiv</name><description>seen from the road</description>
 <TimeSpan><begin>2022-02-24</begin><end>2022-02-25</end></TimeSpan>
 <ExtendedData><Data name="side"><value>ru</value></Data><Data name="strength.vehicles.best"><value>40</value></Data>
 <Data name="sources"><value>https://a.example/x</value></Data></ExtendedData>
 <LineString><coordinates>36.1,50.1,0 36.2,50.2,0</coordinates></LineString></Placemark>
<Folder><Placemark><TimeStamp><when>2022-03</when></TimeStamp>
 <MultiGeometry><Polygon><outerBoundaryIs><LinearRing><coordinates>30,50 31,50 31,51 30,50</coordinates></LinearRing></outerBoundaryIs></Polygon>
 <Polygon><outerBoundaryIs><LinearRing><coordinates>32,50 33,50 33,51 32,50</coordinates></LinearRing></outerBoundaryIs></Polygon></MultiGeometry>
</Placemark></Folder></Folder></Document></kml>`
	b, err := DecodeKML(context.Background(), strings.NewReader(in), schemaOf(t, layers.TroopConcentrations))
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Features) != 2 {
		t.Fatalf("got %d placemarks", len(b.Features))
	}
	want0 := map[string]any{
		"location_name": "Column near Kharkiv", "notes": "seen from the road",
		"observed_at": "2022-02-24T00:00:00Z", "observed_until": "2022-02-25T00:00:00Z", "time_precision": "day",
		"side": "ru", "strength": map[string]any{"vehicles": map[string]any{"best": 40.0}},
		"sources": []any{map[string]any{"url": "https://a.example/x"}},
	}
	if !reflect.DeepEqual(map[string]any(b.Features[0].Properties), want0) {
		t.Errorf("placemark 1\n got %v\nwant %v", b.Features[0].Properties, want0)
	}
	if _, ok := b.Features[0].Geometry.(orb.LineString); !ok {
		t.Errorf("placemark 1 geometry %T", b.Features[0].Geometry)
	}
	if mp, ok := b.Features[1].Geometry.(orb.MultiPolygon); !ok || len(mp) != 2 {
		t.Errorf("placemark 2 geometry %#v, want a MultiPolygon of 2", b.Features[1].Geometry)
	}
	if got := b.Features[1].Properties["time_precision"]; got != "month" {
		t.Errorf("gYearMonth time_precision = %v, want month", got)
	}
}

// TestImportErrors decodes the malformed fixtures in testdata/bad and
// compares the problems reported with golden files (-update rewrites them).
func TestImportErrors(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, path := range files {
		ext := filepath.Ext(path)
		if ext == ".golden" {
			continue
		}
		n++
		t.Run(filepath.Base(path), func(t *testing.T) {
			body, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			s := schemaOf(t, layers.TroopConcentrations)
			if strings.Contains(path, "incident") {
				s = schemaOf(t, layers.Incidents)
			}
			var b *Batch
			switch ext {
			case ".csv":
				b, err = DecodeCSV(context.Background(), bytes.NewReader(body), s)
			case ".kml":
				b, err = DecodeKML(context.Background(), bytes.NewReader(body), s)
			default:
				t.Fatalf("unknown fixture type %s", ext)
			}
			if err == nil {
				t.Fatalf("decoded %d features from a malformed file", len(b.Features))
			}
			var de *layers.Error
			if !asError(err, &de) {
				t.Fatalf("error %v is not a domain error", err)
			}
			got := report(de)
			golden := path + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if got != string(want) {
				t.Errorf("problems differ from %s\n got:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
	if n < 4 {
		t.Fatalf("only %d fixtures in testdata/bad", n)
	}
}

func report(e *layers.Error) string {
	var sb strings.Builder
	sb.WriteString(e.Code + ": " + e.Message + "\n")
	if ps, ok := e.Details.([]Problem); ok {
		for _, p := range ps {
			sb.WriteString("  " + p.String())
			if p.Pointer != "" {
				sb.WriteString("  [" + p.Pointer + "]")
			}
			sb.WriteString("\n")
		}
	}
	return sb.String()
}

func asError(err error, target **layers.Error) bool {
	e, ok := err.(*layers.Error)
	if ok {
		*target = e
	}
	return ok
}

// TestWhere places validation pointers back in the analyst's file.
func TestWhere(t *testing.T) {
	s := schemaOf(t, layers.TroopConcentrations)
	csvIn := "lon,lat,Echelon,strength.personnel.best,sources\n" +
		"37,48,company,10,https://a.example\n" +
		"38,49,platoon,,https://b.example\n"
	cb, err := DecodeCSV(context.Background(), strings.NewReader(csvIn), s)
	if err != nil {
		t.Fatal(err)
	}
	kmlIn := `<kml><Placemark><name>Depot</name><TimeStamp><when>2021-04-06</when></TimeStamp>
<ExtendedData><Data name="echelon"><value>company</value></Data></ExtendedData><Point><coordinates>37,48</coordinates></Point></Placemark></kml>`
	kb, err := DecodeKML(context.Background(), strings.NewReader(kmlIn), s)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		b             *Batch
		pointer, want string
	}{
		{cb, "/features/1/properties/echelon", "row 3, column Echelon"},
		{cb, "/features/0/properties/strength/personnel/best", "row 2, column strength.personnel.best"},
		{cb, "/features/0/properties/strength/personnel", "row 2, column strength.personnel"},
		{cb, "/features/1/properties/sources/0/url", "row 3, column sources"},
		{cb, "/features/1/properties/side", "row 3, column side"},
		{cb, "/features/0/geometry/coordinates", "row 2, columns lon/lat"},
		{cb, "/features/1", "row 3"},
		{cb, "/features/2/properties/side", "/features/2/properties/side"},
		{cb, "/type", "/type"},
		{kb, "/features/0/properties/echelon", `placemark 1 ("Depot"), field ExtendedData echelon`},
		{kb, "/features/0/properties/observed_at", `placemark 1 ("Depot"), field TimeStamp`},
		{kb, "/features/0/properties/location_name", `placemark 1 ("Depot"), field name`},
		{kb, "/features/0/properties/side", `placemark 1 ("Depot"), field side`},
		{kb, "/features/0/geometry", `placemark 1 ("Depot"), geometry`},
	} {
		if got := tc.b.Where(tc.pointer); got != tc.want {
			t.Errorf("Where(%s) = %q, want %q", tc.pointer, got, tc.want)
		}
	}
}
