package formats

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkt"
	"github.com/paulmach/orb/geojson"

	"troopmap/layers"
)

// Header names accepted for the geometry, lower case.
func lonNames() []string { return []string{"longitude", "lon", "lng"} }
func latNames() []string { return []string{"latitude", "lat"} }
func wktNames() []string { return []string{"wkt", "geometry"} }

// csvLayout is what a header row says about the columns.
type csvLayout struct {
	lon, lat, wkt int      // column indexes, -1 when absent
	cols          []column // per column index; name == "" for ignored columns
	names         []string // header cells as written
	top           int      // number of distinct top-level fields mapped
	lonLat        string   // "columns lon/lat", as the header names them
}

func oneOf(s string, names []string) bool {
	for _, n := range names {
		if s == n {
			return true
		}
	}
	return false
}

// readHeader maps header cells to columns. Server-set fields (id, version,
// zones, ...) are accepted and ignored so that an export imports again.
func readHeader(header []string, s layers.Schema, ps *problems) csvLayout {
	l := csvLayout{lon: -1, lat: -1, wkt: -1, cols: make([]column, len(header)), names: header}
	byName := map[string]column{}
	for _, c := range schemaColumns(s) {
		byName[c.name] = c
	}
	seen := map[string]int{}
	for i, h := range header {
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff") // Excel's byte order mark
			l.names[0] = h
		}
		name := strings.ToLower(strings.TrimSpace(h))
		where := fmt.Sprintf("row 1, column %d", i+1)
		if name == "" {
			ps.add(where, "", "empty column name")
			continue
		}
		if j, dup := seen[name]; dup {
			ps.add(where, "", "column %q repeats column %d", h, j+1)
			continue
		}
		seen[name] = i
		switch {
		case oneOf(name, lonNames()):
			if l.lon >= 0 {
				ps.add(where, "", "column %q: a longitude column was already given", h)
			}
			l.lon = i
		case oneOf(name, latNames()):
			if l.lat >= 0 {
				ps.add(where, "", "column %q: a latitude column was already given", h)
			}
			l.lat = i
		case oneOf(name, wktNames()):
			l.wkt = i
		default:
			c, ok := byName[name]
			if !ok {
				ps.add(where, "", "column %q is not a field of %s (fields: %s)", h, s.Collection, fieldList(s))
				continue
			}
			if c.top.ServerSet {
				continue // set by the server; exports carry it, imports ignore it
			}
			l.cols[i] = c
		}
	}
	tops := map[string]bool{}
	for _, c := range l.cols {
		if c.name != "" {
			tops[c.top.Name] = true
		}
	}
	l.top = len(tops)
	if l.lon >= 0 && l.lat >= 0 {
		l.lonLat = fmt.Sprintf("columns %s/%s", l.names[l.lon], l.names[l.lat])
	}
	if (l.lon < 0) != (l.lat < 0) {
		ps.add("row 1", "", "want both a longitude and a latitude column (or lon and lat)")
	} else if l.lon < 0 && l.wkt < 0 {
		ps.add("row 1", "", "no coordinates: want longitude and latitude columns (or lon and lat), or a wkt column")
	}
	return l
}

func fieldList(s layers.Schema) string {
	var names []string
	for _, c := range schemaColumns(s) {
		if !c.top.ServerSet {
			names = append(names, c.name)
		}
	}
	return "longitude, latitude, wkt, " + strings.Join(names, ", ")
}

// DecodeCSV reads a CSV import for the report collection described by s: a
// header row, then one report per row. Rows are numbered as in a
// spreadsheet, the header being row 1. Malformed CSV or header gives an
// EINVALID error; cells that cannot be read as their field's type give
// EUNPROCESSABLE; both list every problem (up to MaxProblems) in Details as
// []Problem. Nothing is validated against the schema's vocabularies here:
// the caller validates the batch as it would a GeoJSON upload.
func DecodeCSV(ctx context.Context, r io.Reader, s layers.Schema) (*Batch, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // checked here, to say which row
	cr.ReuseRecord = true
	var ps problems
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, layers.Errorf(layers.EINVALID, "empty CSV: want a header row naming the columns")
	}
	if err != nil {
		return nil, layers.Errorf(layers.EINVALID, "CSV header: %v", csvErr(err))
	}
	header = append([]string(nil), header...)
	l := readHeader(header, s, &ps)
	if err := ps.err(layers.EINVALID, "CSV header"); err != nil {
		return nil, err
	}
	b := &Batch{Format: "csv"}
	syntax := false
	for row := 2; ; row++ {
		if row&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			syntax = true
			ps.add(fmt.Sprintf("row %d", row), "", "%v", csvErr(err))
			var pe *csv.ParseError
			if !errors.As(err, &pe) || pe.Err != csv.ErrFieldCount || ps.full() {
				break // the reader cannot resynchronise after a quoting error
			}
			continue
		}
		if len(rec) != len(header) {
			syntax = true
			ps.add(fmt.Sprintf("row %d", row), "", "has %d cells, the header has %d", len(rec), len(header))
			continue
		}
		for i, cell := range rec {
			rec[i] = plainLineBreaks(cell)
		}
		f, o := l.decodeRow(rec, row, len(b.Features), &ps)
		b.Features = append(b.Features, f)
		b.origins = append(b.origins, o)
	}
	if syntax {
		return nil, ps.err(layers.EINVALID, "CSV")
	}
	if err := ps.err(layers.EUNPROCESSABLE, "CSV"); err != nil {
		return nil, err
	}
	if len(b.Features) == 0 {
		return nil, layers.Errorf(layers.EINVALID, "CSV has a header but no rows")
	}
	return b, nil
}

// csvErr drops encoding/csv's line and column prefix: the caller says the row.
func csvErr(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func (l *csvLayout) decodeRow(rec []string, row, index int, ps *problems) (*geojson.Feature, origin) {
	o := origin{row: row}
	props := make(map[string]any, l.top) // sized once: growing maps dominated the profile
	g, cols, err := l.geometry(rec)
	o.geomCols = cols
	if err != nil {
		ps.add(fmt.Sprintf("row %d, %s", row, cols), featurePointer(index, "geometry"), "%v", err)
	}
	for i, c := range l.cols {
		if c.name == "" {
			continue
		}
		v, err := parseCell(c.field, rec[i])
		if err != nil {
			ps.add(fmt.Sprintf("row %d, column %s", row, l.names[i]), featurePointer(index, append([]string{"properties"}, c.path...)...), "%v", err)
			continue
		}
		if v == nil {
			continue
		}
		setPath(props, c.path, v)
		if l.names[i] != c.name {
			if o.fields == nil {
				o.fields = map[string]string{}
			}
			o.fields[c.name] = l.names[i]
		}
	}
	f := geojson.NewFeature(g)
	f.Properties = props
	return f, o
}

// geometry reads a row's geometry: the wkt cell when given, else the
// longitude and latitude cells. Both empty gives a nil geometry, which the
// validation refuses with its own message.
func (l *csvLayout) geometry(rec []string) (orb.Geometry, string, error) {
	if l.wkt >= 0 && strings.TrimSpace(rec[l.wkt]) != "" {
		where := "column " + l.names[l.wkt]
		g, err := wkt.Unmarshal(strings.TrimSpace(rec[l.wkt]))
		if err != nil {
			return nil, where, fmt.Errorf("not well-known text: %v", err)
		}
		return g, where, nil
	}
	if l.lon < 0 {
		return nil, "column " + l.names[l.wkt], nil
	}
	where := l.lonLat
	x, y := strings.TrimSpace(rec[l.lon]), strings.TrimSpace(rec[l.lat])
	if x == "" && y == "" {
		return nil, where, nil
	}
	lon, err := coord(x, "longitude")
	if err != nil {
		return nil, "column " + l.names[l.lon], err
	}
	lat, err := coord(y, "latitude")
	if err != nil {
		return nil, "column " + l.names[l.lat], err
	}
	return orb.Point{lon, lat}, where, nil
}

func coord(s, what string) (float64, error) {
	if s == "" {
		return 0, fmt.Errorf("missing %s", what)
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%s %q is not a number", what, s)
	}
	return v, nil
}

// plainLineBreaks turns every CR LF in a cell into LF. encoding/csv already
// reads one CR before a line break away, so "a\r\r\nb" would come out as
// "a\r\nb" and lose its CR only on the next export and import: taking them
// all now makes what is stored what an export reads back.
func plainLineBreaks(cell string) string {
	for strings.Contains(cell, "\r\n") {
		cell = strings.ReplaceAll(cell, "\r\n", "\n")
	}
	return cell
}
