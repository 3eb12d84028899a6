package data

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"

	"troopmap/geo"
	"troopmap/layers"
)

func TestAreaLayers(t *testing.T) {
	ls, err := AreaLayers()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{Donbas: 2, Crimea: 2, NorthernBorderZone: 1, EasternBorderZone: 1, Oblasts: 27}
	for _, l := range ls {
		s := l.Snapshot()
		if s.Len() != want[l.ID] {
			t.Errorf("%s has %d features, want %d", l.ID, s.Len(), want[l.ID])
		}
		s.All(func(f *layers.Feature) bool {
			if f.Props.Get("name") == nil || f.Props.Get("name_uk") == nil {
				t.Errorf("%s/%s lacks name or name_uk", l.ID, f.ID)
			}
			if l.ID != NorthernBorderZone && l.ID != EasternBorderZone && f.Props.Get("iso_3166_2") != f.ID {
				t.Errorf("%s/%s: iso_3166_2 = %v", l.ID, f.ID, f.Props.Get("iso_3166_2"))
			}
			return true
		})
		e := s.Extent()
		t.Logf("%-22s %2d features  bbox [%.3f, %.3f, %.3f, %.3f]", l.ID, s.Len(), e.Bound.Min[0], e.Bound.Min[1], e.Bound.Max[0], e.Bound.Max[1])
	}
}

// zoneContains reports whether the zone layer's polygon contains p.
func zoneContains(t *testing.T, id string, p orb.Point) bool {
	t.Helper()
	ls, err := AreaLayers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range ls {
		if l.ID != id {
			continue
		}
		in := false
		l.Snapshot().All(func(f *layers.Feature) bool {
			switch g := f.Geometry.(type) {
			case orb.Polygon:
				in = in || planar.PolygonContains(g, p)
			case orb.MultiPolygon:
				in = in || planar.MultiPolygonContains(g, p)
			}
			return true
		})
		return in
	}
	t.Fatalf("no layer %s", id)
	return false
}

// TestBorderZones checks the buffers against places whose distance to the
// border is known, on both sides of the line.
func TestBorderZones(t *testing.T) {
	for _, c := range []struct {
		zone  string
		place string
		p     orb.Point
		in    bool
	}{
		{EasternBorderZone, "Kharkiv (about 30-40 km from Russia)", orb.Point{36.2304, 49.9935}, true},
		{EasternBorderZone, "Belgorod, Russia (about 40 km from Ukraine)", orb.Point{36.5983, 50.5997}, true},
		{EasternBorderZone, "Dnipro (far from the border)", orb.Point{35.0462, 48.4647}, false},
		{EasternBorderZone, "Luhansk city", orb.Point{39.3078, 48.574}, true},
		{NorthernBorderZone, "Chernihiv (about 60 km from Belarus)", orb.Point{31.2893, 51.4982}, true},
		{NorthernBorderZone, "Kyiv (about 90-100 km from Belarus)", orb.Point{30.5234, 50.4501}, false},
		{NorthernBorderZone, "Gomel, Belarus (about 30 km from Ukraine)", orb.Point{30.9754, 52.4345}, true},
		{NorthernBorderZone, "Sumy (about 40 km from Russia)", orb.Point{34.7981, 50.9077}, true},
		{NorthernBorderZone, "Kharkiv belongs to the eastern zone", orb.Point{36.2304, 49.9935}, false},
	} {
		if got := zoneContains(t, c.zone, c.p); got != c.in {
			t.Errorf("%s in %s = %v, want %v", c.place, c.zone, got, c.in)
		}
	}
}

func TestSampleReports(t *testing.T) {
	for _, id := range []string{layers.TroopConcentrations, layers.Incidents} {
		fs, err := SampleReports(id)
		if err != nil {
			t.Fatal(err)
		}
		if len(fs) < 5 {
			t.Errorf("%s: only %d samples", id, len(fs))
		}
		for _, f := range fs {
			p := f.Props.Map()
			if p["geo_precision"] != "region" || f.Start.IsZero() {
				t.Errorf("%s/%s: geo_precision %v, observed_at %v", id, f.ID, p["geo_precision"], p["observed_at"])
			}
			if srcs, _ := p["sources"].([]any); len(srcs) == 0 {
				t.Errorf("%s/%s has no sources", id, f.ID)
			}
			if n, _ := p["notes"].(string); !strings.Contains(n, "Illustrative") {
				t.Errorf("%s/%s is not labelled illustrative", id, f.ID)
			}
			b, _ := geo.ParseBBox("20,43,42,54")
			if !b.IntersectsGeometry(f.Geometry) {
				t.Errorf("%s/%s lies outside the area of interest", id, f.ID)
			}
		}
	}
}

// TestDerivationIsReproducible re-runs the derivation into a temporary
// folder and compares it byte for byte with the shipped files.
func TestDerivationIsReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: runs the whole derivation")
	}
	out := t.TempDir()
	cmd := fmt.Sprintf("go run ./derive -src source -out %s", out)
	if err := runShell(t, cmd); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir("layers")
	for _, e := range entries {
		want, _ := os.ReadFile(filepath.Join("layers", e.Name()))
		got, err := os.ReadFile(filepath.Join(out, e.Name()))
		if err != nil || string(got) != string(want) {
			t.Errorf("%s differs from a fresh derivation (err %v); run `go run ./data/derive`", e.Name(), err)
		}
	}
}
