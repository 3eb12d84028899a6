package formats

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"troopmap/layers"
)

func seeds(f *testing.F, glob ...string) {
	for _, g := range glob {
		for _, path := range mustGlob(f, g) {
			b, err := os.ReadFile(path)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
}

func mustGlob(f *testing.F, g string) []string {
	paths, err := globFiles(g)
	if err != nil {
		f.Fatal(err)
	}
	return paths
}

func asLayerFeatures(fs []*geojson.Feature) []*layers.Feature {
	out := make([]*layers.Feature, len(fs))
	for i, f := range fs {
		out[i] = layers.NewFeature("f"+strconv.Itoa(i), f.Geometry, f.Properties)
	}
	return out
}

// checkBatch holds for every successful decode: one origin per feature,
// every feature placed, and the export of the batch reads back the same.
func checkBatch(t *testing.T, b *Batch, s layers.Schema, reencode func([]*layers.Feature) (*Batch, error)) {
	if len(b.Features) == 0 || len(b.origins) != len(b.Features) {
		t.Fatalf("%d features, %d origins", len(b.Features), len(b.origins))
	}
	for i := range b.Features {
		if b.Features[i].Properties == nil {
			t.Fatalf("feature %d without properties", i)
		}
		if w := b.Where(featurePointer(i, "properties", "side")); w == "" || w[0] == '/' {
			t.Fatalf("feature %d not placed: %q", i, w)
		}
	}
	held := asLayerFeatures(b.Features)
	again, err := reencode(held)
	if err != nil {
		t.Fatalf("export of a decoded batch does not decode: %v", err)
	}
	if len(again.Features) != len(b.Features) {
		t.Fatalf("re-decode gave %d features, want %d", len(again.Features), len(b.Features))
	}
	for i := range b.Features {
		if !orb.Equal(again.Features[i].Geometry, b.Features[i].Geometry) {
			t.Fatalf("feature %d geometry %v became %v", i, b.Features[i].Geometry, again.Features[i].Geometry)
		}
		// Compared as a feature holds them: a string of invalid UTF-8
		// (which the schema refuses on upload) reads back with U+FFFD.
		if w, g := uploaded(s, held[i].Props.Map()), uploaded(s, again.Features[i].Properties); !reflect.DeepEqual(w, g) {
			t.Fatalf("feature %d properties %v became %v", i, w, g)
		}
	}
}

func FuzzDecodeCSV(f *testing.F) {
	seeds(f, "testdata/bad/*.csv")
	f.Add([]byte("lon,lat,echelon,tags,sources,strength.personnel.best\n37,48,company,a;b,https://x.example,3\n"))
	f.Add([]byte("wkt,notes\n\"LINESTRING(1 2,3 4)\",\"a\nb\"\n"))
	f.Add([]byte("latitude,longitude,equipment,civilian_targeting\n1,2,\"[{\"\"type\"\":\"\"x\"\"}]\",yes\n"))
	s, _ := layers.ReportSchema(layers.TroopConcentrations)
	f.Fuzz(func(t *testing.T, in []byte) {
		b, err := DecodeCSV(context.Background(), bytes.NewReader(in), s)
		if err != nil {
			if layers.ErrorCode(err) == layers.EINTERNAL {
				t.Fatalf("error without a domain code: %v", err)
			}
			return
		}
		checkBatch(t, b, s, func(fs []*layers.Feature) (*Batch, error) {
			var buf bytes.Buffer
			if err := WriteCSV(context.Background(), &buf, &s, fs); err != nil {
				return nil, err
			}
			return DecodeCSV(context.Background(), &buf, s)
		})
	})
}

func FuzzDecodeKML(f *testing.F) {
	seeds(f, "testdata/bad/*.kml")
	f.Add([]byte(`<kml><Placemark><name>a</name><TimeSpan><begin>2021-04</begin></TimeSpan><ExtendedData><Data name="tags"><value>a;b</value></Data></ExtendedData><Polygon><outerBoundaryIs><LinearRing><coordinates>1,2 3,4 5,6 1,2</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark></kml>`))
	f.Add([]byte(`<kml><Placemark><MultiGeometry><Point><coordinates>1,2</coordinates></Point><LineString><coordinates>1,2 3,4</coordinates></LineString></MultiGeometry></Placemark></kml>`))
	s, _ := layers.ReportSchema(layers.TroopConcentrations)
	f.Fuzz(func(t *testing.T, in []byte) {
		b, err := DecodeKML(context.Background(), bytes.NewReader(in), s)
		if err != nil {
			if layers.ErrorCode(err) == layers.EINTERNAL {
				t.Fatalf("error without a domain code: %v", err)
			}
			return
		}
		checkBatch(t, b, s, func(fs []*layers.Feature) (*Batch, error) {
			var buf bytes.Buffer
			if err := WriteKML(context.Background(), &buf, "fuzz", &s, fs); err != nil {
				return nil, err
			}
			return DecodeKML(context.Background(), &buf, s)
		})
	})
}

func globFiles(g string) ([]string, error) { return filepath.Glob(g) }
