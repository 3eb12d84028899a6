package web

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"troopmap/layers"
	"troopmap/layers/formats"
)

// exportServer serves the OGC test catalog plus troop concentrations read
// from the formats package's fixture (points, lines, polygons, nested
// strength, sources with and without metadata, awkward strings).
func exportServer(t *testing.T) (*Server, *layers.Layer) {
	t.Helper()
	f, err := os.Open("../layers/formats/testdata/reports.geojson")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fs, err := layers.DecodeCollection(f, "id", layers.ReportTimeKeys()...)
	if err != nil {
		t.Fatal(err)
	}
	tc := layers.NewLayer(layers.Meta{ID: layers.TroopConcentrations, Title: "Troop concentrations", Kind: layers.KindReports, TimeKeys: layers.ReportTimeKeys()})
	if err := tc.Load(fs); err != nil {
		t.Fatal(err)
	}
	base := testCatalog(t)
	cat, err := layers.NewCatalog(append(slices.Clone(base.Layers()), tc)...)
	if err != nil {
		t.Fatal(err)
	}
	s := New(Config{Keys: roleKeys})
	s.SetCatalog(cat)
	return s, tc
}

func csvIDs(t *testing.T, body []byte) []string {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("CSV: %v\n%s", err, body)
	}
	if len(recs) == 0 || recs[0][0] != "id" {
		t.Fatalf("CSV header %v", recs)
	}
	ids := []string{}
	for _, r := range recs[1:] {
		ids = append(ids, r[0])
	}
	return ids
}

// TestExportCSVRoundTrip: the reports of a layer, exported as CSV over
// HTTP and read back by the CSV import decoder, are the same reports. It
// reads with a viewer key: the fixture holds restricted and embargoed
// reports, which anonymous readers never get.
func TestExportCSVRoundTrip(t *testing.T) {
	s, tc := exportServer(t)
	rec := do(t, s.Handler(), "GET", "/collections/troop-concentrations/items?f=csv", bearer("k-viewer")...)
	if rec.Code != 200 {
		t.Fatalf("f=csv: %d %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "text/csv" {
		t.Errorf("Content-Type %q", ct)
	}
	if cd := rec.Header().Get("Content-Disposition"); cd != `attachment; filename="troop-concentrations.csv"` {
		t.Errorf("Content-Disposition %q", cd)
	}
	schema, _ := layers.ReportSchema(layers.TroopConcentrations)
	b, err := formats.DecodeCSV(context.Background(), bytes.NewReader(rec.Body.Bytes()), schema)
	if err != nil {
		t.Fatalf("import of the export: %v", err)
	}
	var want []*layers.Feature
	tc.Snapshot().All(func(f *layers.Feature) bool { want = append(want, f); return true })
	if len(b.Features) != len(want) {
		t.Fatalf("%d rows, want %d", len(b.Features), len(want))
	}
	for i, f := range want {
		if !orb.Equal(b.Features[i].Geometry, f.Geometry) {
			t.Errorf("%s: geometry %v, want %v", f.ID, b.Features[i].Geometry, f.Geometry)
		}
		if got, exp := userProps(schema, b.Features[i].Properties), userProps(schema, f.Props.Map()); !reflect.DeepEqual(got, exp) {
			t.Errorf("%s: properties\n got %v\nwant %v", f.ID, got, exp)
		}
	}
}

// userProps drops server-set fields, which an import does not take.
func userProps(s layers.Schema, p map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range p {
		if f, ok := s.Field(k); ok && f.ServerSet {
			continue
		}
		out[k] = v
	}
	return out
}

// TestExportHonoursFilters: every download selects exactly what the
// GeoJSON items answer selects with the same filters, all pages at once.
func TestExportHonoursFilters(t *testing.T) {
	s, _ := exportServer(t)
	for _, q := range []string{
		"",
		"event_type=battles",
		"bbox=31,46,36,48&datetime=2021-03-05T00:00:00Z/2021-03-30T00:00:00Z",
		"zones=donbas&sortby=-ce_m",
		"limit=7&offset=3",
	} {
		var fc featureCollection
		if strings.Contains(q, "limit=") {
			getJSON(t, s.Handler(), "/collections/incidents/items?"+q, &fc)
		} else {
			getJSON(t, s.Handler(), "/collections/incidents/items?limit=10000&"+q, &fc)
		}
		want := fc.ids()
		if len(want) < 2 {
			t.Fatalf("%q selects %d features; the test needs more", q, len(want))
		}
		rec := do(t, s.Handler(), "GET", "/collections/incidents/items?f=csv&"+q)
		if rec.Code != 200 {
			t.Fatalf("%q: %d %s", q, rec.Code, rec.Body)
		}
		if got := csvIDs(t, rec.Body.Bytes()); !slices.Equal(got, want) {
			t.Errorf("%q: CSV ids %v\nwant %v", q, got, want)
		}
		rec = do(t, s.Handler(), "GET", "/collections/incidents/items?f=kml&"+q)
		if rec.Code != 200 {
			t.Fatalf("%q kml: %d %s", q, rec.Code, rec.Body)
		}
		if n := strings.Count(rec.Body.String(), "<Placemark>"); n != len(want) {
			t.Errorf("%q: KML has %d placemarks, want %d", q, n, len(want))
		}
	}
}

func TestExportNegotiation(t *testing.T) {
	s, _ := exportServer(t)
	for _, tc := range []struct {
		target, accept, wantType string
		status                   int
	}{
		{"/collections/incidents/items", "text/csv", "text/csv", 200},
		{"/collections/incidents/items", "application/vnd.google-earth.kml+xml", "application/vnd.google-earth.kml+xml", 200},
		{"/collections/incidents/items", "application/geo+json, text/csv;q=0.5", "application/geo+json", 200},
		{"/collections/incidents/items", "", "application/geo+json", 200},
		{"/collections/incidents/items?f=geojson", "text/csv", "application/geo+json", 200},
		{"/collections/squares/items?f=csv", "", "text/csv", 200},
		{"/collections/incidents/items?f=shp", "", "application/json", 400},
		{"/collections/nope/items?f=csv", "", "application/json", 404},
	} {
		var hdr []string
		if tc.accept != "" {
			hdr = []string{"Accept", tc.accept}
		}
		rec := do(t, s.Handler(), "GET", tc.target, hdr...)
		if rec.Code != tc.status || !strings.HasPrefix(rec.Header().Get("Content-Type"), tc.wantType) {
			t.Errorf("GET %s Accept %q = %d %q, want %d %q: %s", tc.target, tc.accept, rec.Code,
				rec.Header().Get("Content-Type"), tc.status, tc.wantType, rec.Body)
		}
		if tc.status == 400 && !strings.Contains(rec.Body.String(), "csv, kml") {
			t.Errorf("f error does not list the formats: %s", rec.Body)
		}
	}
}

// TestGDALReadsDownloads runs ogrinfo on downloads and compares its feature
// count and fields with the server's own numberMatched.
func TestGDALReadsDownloads(t *testing.T) {
	s, _ := exportServer(t)
	dir := t.TempDir()
	report := []string{"id: String", "observed_at: String", "sources: String"}
	for _, tc := range []struct {
		collection, query, ext string
		fields                 []string
	}{
		{"incidents", "event_type=riots", "kml", report},
		{"troop-concentrations", "", "kml", report},
		{"incidents", "bbox=31,46,36,48", "gpkg", append([]string{"fatalities: String", "ce_m: Real", "zones: String"}, report...)},
		{"troop-concentrations", "", "gpkg", append([]string{"strength: String", "heading_deg: Real"}, report...)},
		{"squares", "", "gpkg", []string{"name: String", "rank: Real"}},
	} {
		var fc featureCollection
		getJSON(t, s.Handler(), "/collections/"+tc.collection+"/items?limit=10000&"+tc.query, &fc)
		rec := do(t, s.Handler(), "GET", "/collections/"+tc.collection+"/items?f="+tc.ext+"&"+tc.query)
		if rec.Code != 200 {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
		path := filepath.Join(dir, tc.collection+"-"+tc.query+"."+tc.ext)
		if err := os.WriteFile(path, rec.Body.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		out := ogrinfoSummary(t, path)
		if want := "Feature Count: " + itoa(fc.NumberMatched) + "\n"; !strings.Contains(out, want) {
			t.Errorf("%s: want %q in\n%s", path, want, out)
		}
		for _, field := range tc.fields {
			if !strings.Contains(out, "\n"+field) {
				t.Errorf("%s: field %q missing in\n%s", path, field, out)
			}
		}
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// ogrinfoSummary runs GDAL (installed by .ci/install) on a file.
func ogrinfoSummary(t *testing.T, path string) string {
	t.Helper()
	bin, err := exec.LookPath("ogrinfo")
	if err != nil {
		t.Fatalf("ogrinfo not found (bash .ci/install installs gdal-bin): %v", err)
	}
	out, err := exec.Command(bin, "-ro", "-al", "-so", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ogrinfo %s: %v\n%s", path, err, out)
	}
	return string(out)
}
