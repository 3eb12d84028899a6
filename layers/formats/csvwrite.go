package formats

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkt"

	"troopmap/layers"
)

// exportColumns returns the property columns of an export: the schema's
// flattened fields when there is a schema, else the union of the features'
// property keys. The id is written in its own first column.
func exportColumns(s *layers.Schema, fs []*layers.Feature) []column {
	var cols []column
	if s != nil {
		cols = schemaColumns(*s)
	} else {
		props := make([]map[string]any, len(fs))
		for i, f := range fs {
			props[i] = f.Props.Map()
		}
		cols = genericColumns(props)
	}
	out := cols[:0:0]
	for _, c := range cols {
		if c.name != "id" {
			out = append(out, c)
		}
	}
	return out
}

// needsWKT reports whether any feature has a geometry other than a point,
// which CSV carries in a wkt column.
func needsWKT(fs []*layers.Feature) bool {
	for _, f := range fs {
		if _, ok := f.Geometry.(orb.Point); !ok && f.Geometry != nil {
			return true
		}
	}
	return false
}

// WriteCSV writes features as CSV that DecodeCSV reads back into the same
// reports: id, longitude, latitude, a wkt column when some geometry is not a
// point, then one column per schema field (objects flattened with dotted
// names). s is nil for layers without a report schema. Rows are flushed as
// they are written; ctx is checked between rows.
func WriteCSV(ctx context.Context, w io.Writer, s *layers.Schema, fs []*layers.Feature) error {
	bw := bufio.NewWriterSize(w, 32<<10)
	cw := csv.NewWriter(bw)
	cols := exportColumns(s, fs)
	withWKT := needsWKT(fs)
	header := []string{"id", "longitude", "latitude"}
	if withWKT {
		header = append(header, "wkt")
	}
	for _, c := range cols {
		header = append(header, c.name)
	}
	if err := cw.Write(header); err != nil {
		return fmt.Errorf("write CSV header: %w", err)
	}
	rec := make([]string, len(header))
	for i, f := range fs {
		if i&1023 == 1023 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		rec = rec[:0]
		rec = append(rec, f.ID)
		switch g := f.Geometry.(type) {
		case orb.Point:
			rec = append(rec, formatNumber(g[0]), formatNumber(g[1]))
		default:
			rec = append(rec, "", "")
		}
		if withWKT {
			if _, point := f.Geometry.(orb.Point); point || f.Geometry == nil {
				rec = append(rec, "")
			} else {
				rec = append(rec, wkt.MarshalString(f.Geometry))
			}
		}
		for _, c := range cols {
			rec = append(rec, formatCell(normalize(lookup(f.Props, c.path))))
		}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("write CSV row %d: %w", i+2, err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write CSV: %w", err)
	}
	return bw.Flush()
}
