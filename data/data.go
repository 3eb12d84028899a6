// Package data holds troopmap's shipped GeoJSON: the area layers derived from
// Natural Earth (see ATTRIBUTION.md and `go run ./data/derive`) and the
// illustrative sample reports. Everything is embedded in the binary.
package data

import (
	"embed"
	"fmt"
	"io/fs"

	"troopmap/layers"
)

//go:embed layers/*.geojson samples/*.geojson
var files embed.FS

// FS returns the embedded files, read-only.
func FS() fs.FS { return files }

// Area layer ids.
const (
	Donbas             = "donbas"
	Crimea             = "crimea"
	NorthernBorderZone = "northern-border-zone"
	EasternBorderZone  = "eastern-border-zone"
	Oblasts            = "oblasts"
	LandBorders        = "land-borders"
)

const naturalEarth = "Boundaries: Natural Earth (public domain)"

// AreaMetas describes the shipped area layers in catalog order.
func AreaMetas() []layers.Meta {
	area := func(id, title, desc string) layers.Meta {
		return layers.Meta{ID: id, Title: title, Description: desc, Kind: layers.KindArea,
			MinZoom: 0, MaxZoom: 14, Attribution: naturalEarth}
	}
	zone := func(m layers.Meta) layers.Meta { m.Zone = true; return m }
	return []layers.Meta{
		zone(area(Donbas, "Donbas", "Donetsk (UA-14) and Luhansk (UA-09) oblasts.")),
		zone(area(Crimea, "Crimea", "The Autonomous Republic of Crimea (UA-43) and Sevastopol (UA-40).")),
		zone(area(NorthernBorderZone, "Northern border zone", "The band within 50 km, on both sides, of Ukraine's land border with Belarus and with Russia along Chernihiv and Sumy oblasts.")),
		zone(area(EasternBorderZone, "Eastern border zone", "The band within 50 km, on both sides, of Ukraine's land border with Russia along Kharkiv, Luhansk and Donetsk oblasts, down to the Sea of Azov.")),
		area(Oblasts, "Oblasts", "All 27 first-level administrative units of Ukraine (ISO 3166-2:UA)."),
	}
}

// AreaLayers loads the shipped area layers.
func AreaLayers() ([]*layers.Layer, error) {
	var out []*layers.Layer
	for _, m := range AreaMetas() {
		fs, err := readLayer("layers/" + m.ID + ".geojson")
		if err != nil {
			return nil, err
		}
		l := layers.NewLayer(m)
		if err := l.Load(fs); err != nil {
			return nil, fmt.Errorf("load layer %q: %w", m.ID, err)
		}
		out = append(out, l)
	}
	return out, nil
}

// BorderLines returns Ukraine's land borders with Russia and Belarus as
// line features (ids UKR-RUS and UKR-BLR).
func BorderLines() ([]*layers.Feature, error) {
	return readLayer("layers/" + LandBorders + ".geojson")
}

// SampleReports returns the illustrative sample reports for a report layer
// (troop-concentrations or incidents); they are imported once into a new
// store.
func SampleReports(collection string) ([]*layers.Feature, error) {
	return readLayer("samples/"+collection+".geojson", layers.ReportTimeKeys()...)
}

func readLayer(path string, timeKeys ...string) ([]*layers.Feature, error) {
	f, err := files.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open embedded %s: %w", path, err)
	}
	defer f.Close()
	fs, err := layers.DecodeCollection(f, "", timeKeys...)
	if err != nil {
		return nil, fmt.Errorf("read embedded %s: %w", path, err)
	}
	return fs, nil
}
