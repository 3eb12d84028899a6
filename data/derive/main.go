// Command derive rebuilds troopmap's shipped area layers in data/layers from
// the Natural Earth boundary files in data/source. Run it from the
// repository root:
//
//	go run ./data/derive
//
// The output is deterministic: the same sources give byte-identical files.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
	"github.com/paulmach/orb/simplify"
)

// zoneKm is how far each border zone reaches to either side of the border.
const zoneKm = 50

func main() {
	src := flag.String("src", "data/source", "folder holding the boundary source files")
	out := flag.String("out", "data/layers", "folder to write the layers into")
	step := flag.Float64("step", 0.01, "grid step in degrees for the border-zone buffers")
	flag.Parse()
	if err := run(*src, *out, *step); err != nil {
		fmt.Fprintln(os.Stderr, "derive:", err)
		os.Exit(1)
	}
}

func run(src, out string, step float64) error {
	admin, err := readFC(filepath.Join(src, "ukraine-admin1.geojson"))
	if err != nil {
		return err
	}
	segs, err := readFC(filepath.Join(src, "ukraine-border-segments-by-oblast.geojson"))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}

	pick := func(codes ...string) *geojson.FeatureCollection {
		fc := geojson.NewFeatureCollection()
		for _, f := range admin.Features {
			if len(codes) == 0 || slices.Contains(codes, f.Properties.MustString("iso_3166_2", "")) {
				fc.Append(areaFeature(f))
			}
		}
		return fc
	}
	write := func(name string, fc *geojson.FeatureCollection) error {
		path := filepath.Join(out, name+".geojson")
		b, err := encode(fc)
		if err != nil {
			return err
		}
		fmt.Printf("%-28s %3d features %8d bytes\n", path, len(fc.Features), len(b))
		return os.WriteFile(path, b, 0o644)
	}
	if err := write("oblasts", pick()); err != nil {
		return err
	}
	if err := write("donbas", pick("UA-14", "UA-09")); err != nil {
		return err
	}
	if err := write("crimea", pick("UA-43", "UA-40")); err != nil {
		return err
	}

	zones := []struct {
		id, name, nameUK, desc string
		hints                  []string
	}{
		{"northern-border-zone", "Northern border zone", "Північна прикордонна зона",
			"Within 50 km of Ukraine's land border with Belarus, and with Russia along Chernihiv and Sumy oblasts, on both sides of the line.",
			[]string{"north"}},
		{"eastern-border-zone", "Eastern border zone", "Східна прикордонна зона",
			"Within 50 km of Ukraine's land border with Russia along Kharkiv, Luhansk and Donetsk oblasts down to the Sea of Azov, on both sides of the line.",
			[]string{"north-east", "east"}},
	}
	borders := geojson.NewFeatureCollection()
	for _, z := range zones {
		var lines []orb.LineString
		var oblasts []string
		for _, f := range segs.Features {
			if slices.Contains(z.hints, f.Properties.MustString("sector_hint", "")) {
				lines = append(lines, f.Geometry.(orb.LineString))
				oblasts = append(oblasts, f.Properties.MustString("border", "")+" "+f.Properties.MustString("oblast_iso_3166_2", ""))
			}
		}
		mp := bufferLines(lines, zoneKm, step)
		var g orb.Geometry = roundGeom(simplify.DouglasPeucker(step / 5).Simplify(mp.Clone()))
		if m := g.(orb.MultiPolygon); len(m) == 1 {
			g = m[0]
		}
		f := geojson.NewFeature(g)
		f.ID = z.id
		f.Properties = geojson.Properties{
			"name": z.name, "name_uk": z.nameUK, "description": z.desc,
			"buffer_km": zoneKm, "border_segments": oblasts,
		}
		fc := geojson.NewFeatureCollection().Append(f)
		if err := write(z.id, fc); err != nil {
			return err
		}
	}
	for _, name := range []string{"ukraine-russia-border", "ukraine-belarus-border"} {
		fc, err := readFC(filepath.Join(src, name+".geojson"))
		if err != nil {
			return err
		}
		for _, f := range fc.Features {
			f.ID = f.Properties.MustString("border", name)
			borders.Append(f)
		}
	}
	return write("land-borders", borders)
}

// areaFeature keeps the properties an area layer needs from an admin-1 unit.
func areaFeature(f *geojson.Feature) *geojson.Feature {
	g := geojson.NewFeature(f.Geometry)
	g.ID = f.Properties.MustString("iso_3166_2", "")
	g.Properties = geojson.Properties{}
	for _, k := range []string{"iso_3166_2", "name", "name_uk", "type", "hasc"} {
		if v, ok := f.Properties[k]; ok {
			g.Properties[k] = v
		}
	}
	return g
}

func readFC(path string) (*geojson.FeatureCollection, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	fc, err := geojson.UnmarshalFeatureCollection(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return fc, nil
}

// encode writes one feature per line, which keeps diffs of the data readable.
func encode(fc *geojson.FeatureCollection) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(`{"type":"FeatureCollection","features":[` + "\n")
	for i, f := range fc.Features {
		b, err := json.Marshal(f)
		if err != nil {
			return nil, err
		}
		buf.Write(b)
		if i < len(fc.Features)-1 {
			buf.WriteByte(',')
		}
		buf.WriteByte('\n')
	}
	buf.WriteString("]}\n")
	return buf.Bytes(), nil
}

func roundGeom(g orb.Geometry) orb.Geometry {
	r := func(v float64) float64 { return math.Round(v*1e5) / 1e5 }
	mp := g.(orb.MultiPolygon)
	for _, p := range mp {
		for _, ring := range p {
			for i := range ring {
				ring[i] = orb.Point{r(ring[i][0]), r(ring[i][1])}
			}
		}
	}
	return mp
}
