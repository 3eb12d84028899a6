package synth

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"testing"

	"troopmap/layers"
)

func generate(t *testing.T, n int, seed uint64) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf)
	if err := Generate(context.Background(), n, seed, nil, w.Write); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestReproducibleAndRoundTrips(t *testing.T) {
	a, b, c := generate(t, 500, 3), generate(t, 500, 3), generate(t, 500, 4)
	if !bytes.Equal(a, b) {
		t.Fatal("same seed gave different files")
	}
	if bytes.Equal(a, c) {
		t.Fatal("different seeds gave the same file")
	}
	var got []Report
	if err := Read(context.Background(), bytes.NewReader(a), func(r Report) error { got = append(got, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 500 {
		t.Fatalf("read %d of 500", len(got))
	}
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for _, r := range got {
		_ = w.Write(r)
	}
	_ = w.Close()
	if !bytes.Equal(buf.Bytes(), a) {
		t.Error("read and written again, the file differs")
	}
}

// Every report carries the schema's required fields with values from its
// vocabularies, lies in the area of interest and has a unique ULID.
func TestSchemaValid(t *testing.T) {
	aoi := layers.AreaOfInterest()
	ids := map[string]bool{}
	per := map[string]int{}
	err := Generate(context.Background(), 3000, 9, nil, func(r Report) error {
		f := r.Feature
		schema, ok := layers.ReportSchema(r.Collection)
		if !ok {
			return fmt.Errorf("%s: unknown collection %q", f.ID, r.Collection)
		}
		per[r.Collection]++
		if len(f.ID) != 26 || ids[f.ID] || f.Props.Get("id") != f.ID {
			return fmt.Errorf("id %q is not a fresh ULID", f.ID)
		}
		ids[f.ID] = true
		for _, fd := range schema.Fields {
			v, present := f.Props.Lookup(fd.Name)
			if fd.Required && !present {
				return fmt.Errorf("%s: required %s missing", f.ID, fd.Name)
			}
			if s, ok := v.(string); ok && len(fd.Enum) > 0 && !slices.Contains(fd.Enum, s) {
				return fmt.Errorf("%s: %s=%q not in %v", f.ID, fd.Name, s, fd.Enum)
			}
		}
		for k := range f.Props.Map() {
			if _, ok := schema.Field(k); !ok {
				return fmt.Errorf("%s: property %s is not in the schema", f.ID, k)
			}
		}
		b := f.Bound
		if b.Min[0] < aoi[0] || b.Max[0] > aoi[2] || b.Min[1] < aoi[1] || b.Max[1] > aoi[3] || f.Start.IsZero() {
			return fmt.Errorf("%s at %v, %v: outside the area of interest or timeless", f.ID, f.Geometry, f.Start)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if per[layers.Incidents] < 1000 || per[layers.TroopConcentrations] < 800 {
		t.Errorf("collections %v", per)
	}
}

func TestReadNamesTheBadFeature(t *testing.T) {
	bad := `{"type":"FeatureCollection","features":[{"type":"Feature","id":"a","collection":"incidents","geometry":{"type":"Point","coordinates":[30,50]},"properties":{}},{"type":"Feature","id":"b","geometry":null,"properties":{}}]}`
	err := Read(context.Background(), bytes.NewReader([]byte(bad)), func(Report) error { return nil })
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("feature 1")) {
		t.Fatalf("error %v does not name feature 1", err)
	}
}
