package formats

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"troopmap/layers"
)

// ogrinfo runs GDAL's ogrinfo (installed by .ci/install) read-only on a
// file and returns its summary.
func ogrinfo(t *testing.T, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath("ogrinfo")
	if err != nil {
		t.Fatalf("ogrinfo not found (bash .ci/install installs gdal-bin): %v", err)
	}
	out, err := exec.Command(bin, append([]string{"-ro", "-al", "-so"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ogrinfo %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// TestGDALReadsExports checks that GDAL opens the KML and CSV exports with
// every feature and the schema's fields.
func TestGDALReadsExports(t *testing.T) {
	s := schemaOf(t, layers.TroopConcentrations)
	fs := loadFeatures(t, "testdata/reports.geojson")
	dir := t.TempDir()
	write := func(name string, fn func(f *os.File) error) string {
		path := filepath.Join(dir, name)
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := fn(f); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		return path
	}
	kml := write("reports.kml", func(f *os.File) error {
		return WriteKML(context.Background(), f, layers.TroopConcentrations, &s, fs)
	})
	csvPath := write("reports.csv", func(f *os.File) error { return WriteCSV(context.Background(), f, &s, fs) })
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"kml", []string{kml}},
		{"csv", []string{"-oo", "GEOM_POSSIBLE_NAMES=wkt", "-oo", "X_POSSIBLE_NAMES=longitude", "-oo", "Y_POSSIBLE_NAMES=latitude", csvPath}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := ogrinfo(t, tc.args...)
			if !strings.Contains(out, "Feature Count: 4\n") {
				t.Errorf("want 4 features:\n%s", out)
			}
			for _, field := range []string{"id", "echelon", "strength.personnel.best", "sources", "observed_at"} {
				if !strings.Contains(out, "\n"+field+": ") {
					t.Errorf("field %s missing:\n%s", field, out)
				}
			}
		})
	}
}
