package formats

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"troopmap/layers"
)

// The KML elements read from a Placemark. Tags carry no namespace, so KML
// 2.2 documents with or without the default namespace both match.
type kmlPlacemark struct {
	Name        string       `xml:"name"`
	Description string       `xml:"description"`
	TimeStamp   *kmlWhen     `xml:"TimeStamp"`
	TimeSpan    *kmlSpan     `xml:"TimeSpan"`
	Extended    *kmlExtended `xml:"ExtendedData"`
	kmlGeometries
}

type kmlGeometries struct {
	Points   []kmlCoords     `xml:"Point"`
	Lines    []kmlCoords     `xml:"LineString"`
	Polygons []kmlPolygon    `xml:"Polygon"`
	Multi    []kmlGeometries `xml:"MultiGeometry"`
}

type kmlWhen struct {
	When string `xml:"when"`
}

type kmlSpan struct {
	Begin string `xml:"begin"`
	End   string `xml:"end"`
}

type kmlExtended struct {
	Data []struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value"`
	} `xml:"Data"`
	SchemaData []struct {
		SimpleData []struct {
			Name  string `xml:"name,attr"`
			Value string `xml:",chardata"`
		} `xml:"SimpleData"`
	} `xml:"SchemaData"`
}

type kmlCoords struct {
	Coordinates string `xml:"coordinates"`
}

type kmlPolygon struct {
	Outer kmlCoordsRing   `xml:"outerBoundaryIs"`
	Inner []kmlCoordsRing `xml:"innerBoundaryIs"`
}

type kmlCoordsRing struct {
	Ring kmlCoords `xml:"LinearRing"`
}

// DecodeKML reads the Placemarks of a KML document, at any depth of Folders
// and Documents, for the report collection described by s. Point,
// LineString, Polygon and MultiGeometry are read (altitudes dropped);
// ExtendedData (Data/value and SchemaData/SimpleData) is mapped to fields by
// name, dotted names reaching into objects; TimeStamp becomes observed_at,
// TimeSpan observed_at and observed_until. A placemark's name fills
// location_name and its description notes, unless ExtendedData gives them.
// Errors are as for DecodeCSV, placed by placemark number and name.
func DecodeKML(ctx context.Context, r io.Reader, s layers.Schema) (*Batch, error) {
	return decodeKML(ctx, r, s, "kml")
}

func decodeKML(ctx context.Context, r io.Reader, s layers.Schema, format string) (*Batch, error) {
	dec := xml.NewDecoder(r)
	dec.Strict = true
	byName := map[string]column{}
	for _, c := range schemaColumns(s) {
		byName[c.name] = c
	}
	b := &Batch{Format: format}
	var ps problems
	n := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, layers.Errorf(layers.EINVALID, "%s: not well-formed XML: %v", strings.ToUpper(format), err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "Placemark" {
			continue
		}
		n++
		if n&255 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		var pm kmlPlacemark
		if err := dec.DecodeElement(&pm, &se); err != nil {
			return nil, layers.Errorf(layers.EINVALID, "%s: placemark %d: not well-formed XML: %v", strings.ToUpper(format), n, err)
		}
		f, o := pm.decode(n, len(b.Features), byName, s, &ps)
		b.Features = append(b.Features, f)
		b.origins = append(b.origins, o)
	}
	if err := ps.err(layers.EUNPROCESSABLE, strings.ToUpper(format)); err != nil {
		return nil, err
	}
	if len(b.Features) == 0 {
		return nil, layers.Errorf(layers.EINVALID, "%s holds no Placemark", strings.ToUpper(format))
	}
	return b, nil
}

func (pm *kmlPlacemark) decode(n, index int, byName map[string]column, s layers.Schema, ps *problems) (*geojson.Feature, origin) {
	name := strings.TrimSpace(pm.Name)
	o := origin{placemark: n, name: name, fields: map[string]string{}}
	place := fmt.Sprintf("placemark %d", n)
	if name != "" {
		place += fmt.Sprintf(" (%q)", name)
	}
	props := map[string]any{}
	set := func(key, value string) {
		c, ok := byName[strings.ToLower(strings.TrimSpace(key))]
		where := place + ", field " + key
		if !ok {
			ps.add(where, "", "%q is not a field of %s", key, s.Collection)
			return
		}
		if c.top.ServerSet {
			return
		}
		v, err := parseCell(c.field, value)
		if err != nil {
			ps.add(where, featurePointer(index, append([]string{"properties"}, c.path...)...), "%v", err)
			return
		}
		if v != nil {
			setPath(props, c.path, v)
			o.fields[c.name] = "ExtendedData " + key
		}
	}
	if e := pm.Extended; e != nil {
		for _, d := range e.Data {
			set(d.Name, d.Value)
		}
		for _, sd := range e.SchemaData {
			for _, d := range sd.SimpleData {
				set(d.Name, d.Value)
			}
		}
	}
	if _, ok := props["location_name"]; !ok && name != "" && hasField(s, "location_name") {
		props["location_name"] = name
		o.fields["location_name"] = "name"
	}
	if d := strings.TrimSpace(pm.Description); d != "" && hasField(s, "notes") {
		if _, ok := props["notes"]; !ok {
			props["notes"] = d
			o.fields["notes"] = "description"
		}
	}
	setTime := func(key, elem, value string) {
		value = strings.TrimSpace(value)
		if value == "" {
			return
		}
		t, precision, err := kmlTime(value)
		where := place + ", " + elem
		if err != nil {
			ps.add(where, featurePointer(index, "properties", key), "%v", err)
			return
		}
		if old, ok := props[key].(string); ok {
			if !sameTime(old, t) {
				ps.add(where, featurePointer(index, "properties", key), "%s says %s but ExtendedData %s says %s", elem, t, key, old)
			}
			return // ExtendedData keeps its own spelling of the same time
		}
		props[key] = t
		o.fields[key] = elem
		if _, ok := props["time_precision"]; !ok && key == layers.ObservedAt && hasField(s, "time_precision") {
			props["time_precision"] = precision
			o.fields["time_precision"] = elem
		}
	}
	if pm.TimeStamp != nil {
		setTime(layers.ObservedAt, "TimeStamp", pm.TimeStamp.When)
	}
	if pm.TimeSpan != nil {
		setTime(layers.ObservedAt, "TimeSpan begin", pm.TimeSpan.Begin)
		setTime(layers.ObservedUntil, "TimeSpan end", pm.TimeSpan.End)
	}
	g, err := pm.kmlGeometries.geometry()
	if err != nil {
		ps.add(place+", geometry", featurePointer(index, "geometry"), "%v", err)
	}
	f := geojson.NewFeature(g)
	f.Properties = props
	return f, o
}

func sameTime(a, b string) bool {
	ta, err1 := time.Parse(time.RFC3339Nano, a)
	tb, err2 := time.Parse(time.RFC3339Nano, b)
	return err1 == nil && err2 == nil && ta.Equal(tb)
}

func hasField(s layers.Schema, name string) bool {
	_, ok := s.Field(name)
	return ok
}

// kmlTime reads a KML time (dateTime, date, gYearMonth or gYear) as an
// RFC 3339 string, with the time_precision it implies.
func kmlTime(s string) (string, string, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.Format(time.RFC3339Nano), "exact", nil
	}
	for _, l := range []struct{ layout, precision string }{
		{"2006-01-02T15:04:05", "exact"}, // no zone: KML leaves it open; take UTC
		{"2006-01-02", "day"},
		{"2006-01", "month"},
	} {
		if t, err := time.Parse(l.layout, s); err == nil {
			return t.UTC().Format(time.RFC3339), l.precision, nil
		}
	}
	return "", "", fmt.Errorf("%q is not a KML time (2021-04-06T10:00:00Z, 2021-04-06 or 2021-04)", s)
}

// geometry returns the placemark's one geometry; several at the top level
// are an error, as KML allows only one.
func (g *kmlGeometries) geometry() (orb.Geometry, error) {
	all, err := g.all()
	if err != nil {
		return nil, err
	}
	switch len(all) {
	case 0:
		return nil, nil
	case 1:
		return all[0], nil
	}
	return nil, fmt.Errorf("a Placemark holds one geometry; group several in a MultiGeometry")
}

func (g *kmlGeometries) all() ([]orb.Geometry, error) {
	var out []orb.Geometry
	for _, p := range g.Points {
		ls, err := parseCoords(p.Coordinates)
		if err != nil {
			return nil, fmt.Errorf("Point: %v", err)
		}
		if len(ls) != 1 {
			return nil, fmt.Errorf("Point: want one position, got %d", len(ls))
		}
		out = append(out, ls[0])
	}
	for _, l := range g.Lines {
		ls, err := parseCoords(l.Coordinates)
		if err != nil {
			return nil, fmt.Errorf("LineString: %v", err)
		}
		out = append(out, orb.LineString(ls))
	}
	for _, p := range g.Polygons {
		outer, err := parseCoords(p.Outer.Ring.Coordinates)
		if err != nil {
			return nil, fmt.Errorf("Polygon outerBoundaryIs: %v", err)
		}
		poly := orb.Polygon{orb.Ring(outer)}
		for i, in := range p.Inner {
			ring, err := parseCoords(in.Ring.Coordinates)
			if err != nil {
				return nil, fmt.Errorf("Polygon innerBoundaryIs %d: %v", i+1, err)
			}
			poly = append(poly, orb.Ring(ring))
		}
		out = append(out, poly)
	}
	for _, m := range g.Multi {
		parts, err := m.all()
		if err != nil {
			return nil, fmt.Errorf("MultiGeometry: %v", err)
		}
		out = append(out, multi(parts))
	}
	return out, nil
}

// multi groups a MultiGeometry's parts into the GeoJSON Multi* type they
// share, or a GeometryCollection when they are mixed.
func multi(parts []orb.Geometry) orb.Geometry {
	var mp orb.MultiPoint
	var ml orb.MultiLineString
	var mpoly orb.MultiPolygon
	for _, p := range parts {
		switch p := p.(type) {
		case orb.Point:
			mp = append(mp, p)
		case orb.LineString:
			ml = append(ml, p)
		case orb.Polygon:
			mpoly = append(mpoly, p)
		}
	}
	switch len(parts) {
	case len(mp):
		return mp
	case len(ml):
		return ml
	case len(mpoly):
		return mpoly
	}
	return orb.Collection(parts)
}

// parseCoords reads a KML coordinates list: "lon,lat[,alt]" tuples
// separated by white space.
func parseCoords(s string) ([]orb.Point, error) {
	var out []orb.Point
	for i, tuple := range strings.Fields(s) {
		parts := strings.Split(tuple, ",")
		if len(parts) < 2 || len(parts) > 3 {
			return nil, fmt.Errorf("position %d %q: want lon,lat or lon,lat,alt", i+1, tuple)
		}
		var p orb.Point
		for j := 0; j < 2; j++ {
			v, err := strconv.ParseFloat(parts[j], 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("position %d %q: %q is not a number", i+1, tuple, parts[j])
			}
			p[j] = v
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no coordinates")
	}
	return out, nil
}

// DecodeKMZ reads a KMZ archive (a zip holding doc.kml, or else its first
// .kml file at any depth) as DecodeKML does. maxKML bounds the unpacked
// size of the KML, against zip bombs.
func DecodeKMZ(ctx context.Context, r io.ReaderAt, size, maxKML int64, s layers.Schema) (*Batch, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, layers.Errorf(layers.EINVALID, "KMZ: not a zip archive: %v", err)
	}
	var doc *zip.File
	for _, f := range zr.File {
		if strings.EqualFold(f.Name, "doc.kml") {
			doc = f
			break
		}
		if doc == nil && strings.EqualFold(path.Ext(f.Name), ".kml") {
			doc = f
		}
	}
	if doc == nil {
		return nil, layers.Errorf(layers.EINVALID, "KMZ holds no .kml file")
	}
	rc, err := doc.Open()
	if err != nil {
		return nil, layers.Errorf(layers.EINVALID, "KMZ: open %s: %v", doc.Name, err)
	}
	defer rc.Close()
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(rc, maxKML+1))
	if err != nil {
		return nil, layers.Errorf(layers.EINVALID, "KMZ: read %s: %v", doc.Name, err)
	}
	if n > maxKML {
		return nil, layers.Errorf(layers.ETOOLARGE, "KMZ: %s unpacks to more than %d bytes", doc.Name, maxKML)
	}
	return decodeKML(ctx, &buf, s, "kmz")
}
