package formats

import (
	"bufio"
	"context"
	"encoding/xml"
	"fmt"
	"io"

	"github.com/paulmach/orb"

	"troopmap/layers"
)

// WriteKML writes features as a KML 2.2 document that Google Earth shows
// and GDAL reads: a Schema declaring one SimpleField per column, and one
// Placemark per feature with its geometry, its fields as SchemaData, its
// location_name as name, its notes as description and its time as TimeStamp
// or TimeSpan. DecodeKML reads it back into the same reports. name names the
// document and its schema (a layer id); s is nil for layers without a report
// schema. ctx is checked between placemarks.
func WriteKML(ctx context.Context, w io.Writer, name string, s *layers.Schema, fs []*layers.Feature) error {
	bw := bufio.NewWriterSize(w, 32<<10)
	cols := exportColumns(s, fs)
	x := &xmlWriter{w: bw}
	x.raw(xml.Header)
	x.raw(`<kml xmlns="http://www.opengis.net/kml/2.2"><Document>` + "\n")
	x.elem("name", name)
	x.raw(`<Schema name="`)
	x.text(name)
	x.raw(`" id="`)
	x.text(name)
	x.raw(`">` + "\n")
	x.raw(`<SimpleField name="id" type="string"></SimpleField>` + "\n")
	for _, c := range cols {
		x.raw(`<SimpleField name="`)
		x.text(c.name)
		x.raw(`" type="` + kmlType(c.field.Type) + `"></SimpleField>` + "\n")
	}
	x.raw("</Schema>\n")
	for i, f := range fs {
		if i&255 == 255 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		x.raw("<Placemark>")
		if v, ok := f.Props.String("location_name"); ok && v != "" {
			x.elem("name", v)
		}
		if v, ok := f.Props.String("notes"); ok && v != "" {
			x.elem("description", v)
		}
		start, _ := f.Props.String(layers.ObservedAt)
		end, _ := f.Props.String(layers.ObservedUntil)
		switch {
		case start != "" && end != "":
			x.raw("<TimeSpan>")
			x.elem("begin", start)
			x.elem("end", end)
			x.raw("</TimeSpan>")
		case start != "":
			x.raw("<TimeStamp>")
			x.elem("when", start)
			x.raw("</TimeStamp>")
		}
		x.raw(`<ExtendedData><SchemaData schemaUrl="#`)
		x.text(name)
		x.raw(`">`)
		x.simple("id", f.ID)
		for _, c := range cols {
			if v := formatCell(normalize(lookup(f.Props, c.path))); v != "" {
				x.simple(c.name, v)
			}
		}
		x.raw("</SchemaData></ExtendedData>")
		x.geometry(f.Geometry)
		x.raw("</Placemark>\n")
		if x.err != nil {
			return fmt.Errorf("write KML: %w", x.err)
		}
	}
	x.raw("</Document></kml>\n")
	if x.err != nil {
		return fmt.Errorf("write KML: %w", x.err)
	}
	return bw.Flush()
}

func kmlType(t layers.FieldType) string {
	switch t {
	case layers.TypeInteger:
		return "int"
	case layers.TypeNumber:
		return "double"
	case layers.TypeBoolean:
		return "bool"
	}
	return "string"
}

// xmlWriter writes XML by hand, keeping the first error.
type xmlWriter struct {
	w   *bufio.Writer
	err error
}

func (x *xmlWriter) raw(s string) {
	if x.err == nil {
		_, x.err = x.w.WriteString(s)
	}
}

func (x *xmlWriter) text(s string) {
	if x.err == nil {
		x.err = xml.EscapeText(x.w, []byte(s))
	}
}

func (x *xmlWriter) elem(name, value string) {
	x.raw("<" + name + ">")
	x.text(value)
	x.raw("</" + name + ">")
}

func (x *xmlWriter) simple(name, value string) {
	x.raw(`<SimpleData name="`)
	x.text(name)
	x.raw(`">`)
	x.text(value)
	x.raw("</SimpleData>")
}

func (x *xmlWriter) coords(ps []orb.Point) {
	x.raw("<coordinates>")
	for i, p := range ps {
		if i > 0 {
			x.raw(" ")
		}
		x.raw(formatNumber(p[0]) + "," + formatNumber(p[1]))
	}
	x.raw("</coordinates>")
}

func (x *xmlWriter) geometry(g orb.Geometry) {
	switch g := g.(type) {
	case orb.Point:
		x.raw("<Point>")
		x.coords([]orb.Point{g})
		x.raw("</Point>")
	case orb.LineString:
		x.raw("<LineString>")
		x.coords(g)
		x.raw("</LineString>")
	case orb.Ring:
		x.geometry(orb.Polygon{g})
	case orb.Polygon:
		x.raw("<Polygon>")
		for i, r := range g {
			if i == 0 {
				x.raw("<outerBoundaryIs><LinearRing>")
			} else {
				x.raw("<innerBoundaryIs><LinearRing>")
			}
			x.coords(r)
			if i == 0 {
				x.raw("</LinearRing></outerBoundaryIs>")
			} else {
				x.raw("</LinearRing></innerBoundaryIs>")
			}
		}
		x.raw("</Polygon>")
	case orb.MultiPoint:
		x.raw("<MultiGeometry>")
		for _, p := range g {
			x.geometry(p)
		}
		x.raw("</MultiGeometry>")
	case orb.MultiLineString:
		x.raw("<MultiGeometry>")
		for _, l := range g {
			x.geometry(l)
		}
		x.raw("</MultiGeometry>")
	case orb.MultiPolygon:
		x.raw("<MultiGeometry>")
		for _, p := range g {
			x.geometry(p)
		}
		x.raw("</MultiGeometry>")
	case orb.Collection:
		x.raw("<MultiGeometry>")
		for _, c := range g {
			x.geometry(c)
		}
		x.raw("</MultiGeometry>")
	}
}
