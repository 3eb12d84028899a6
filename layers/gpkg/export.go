package gpkg

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"slices"
	"strings"

	"troopmap/layers"
)

// Export writes features to a new GeoPackage file at path holding one
// feature table, laid out as the store lays out a report layer (one column
// per top-level field, objects and lists as JSON text, geometry as
// GeoPackage binary in EPSG:4326), so QGIS, ArcGIS and GDAL open it. s is
// the layer's report schema, or nil for a layer without one: its columns
// are then the features' property keys, typed by their values. The file
// must not exist. It is written in one transaction; ctx is checked between
// features.
func Export(ctx context.Context, path string, m layers.Meta, s *layers.Schema, fs []*layers.Feature) (err error) {
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("export %s: %s exists", m.ID, path)
	}
	sc := inferSchema(m, fs)
	if s != nil {
		sc = *s
	}
	sc.Collection = m.ID
	t := newTable(sc)
	db, err := sql.Open("sqlite", path+"?_pragma=journal_mode(DELETE)&_pragma=synchronous(OFF)")
	if err != nil {
		return fmt.Errorf("export %s: %w", m.ID, err)
	}
	defer func() {
		if cerr := db.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("export %s: %w", m.ID, cerr)
		}
	}()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("export %s: %w", m.ID, err)
	}
	defer tx.Rollback()
	cols := []string{"fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL", "geom GEOMETRY", "id TEXT NOT NULL UNIQUE"}
	for _, f := range t.fields {
		cols = append(cols, quote(f.Name)+" "+columnType(f))
	}
	title := m.Title
	if title == "" {
		title = m.ID
	}
	var ext struct{ minX, minY, maxX, maxY any }
	first := true
	for _, f := range fs {
		if f.Geometry == nil {
			continue
		}
		b := f.Bound
		if first {
			ext.minX, ext.minY, ext.maxX, ext.maxY = b.Min[0], b.Min[1], b.Max[0], b.Max[1]
			first = false
			continue
		}
		ext.minX, ext.minY = min(ext.minX.(float64), b.Min[0]), min(ext.minY.(float64), b.Min[1])
		ext.maxX, ext.maxY = max(ext.maxX.(float64), b.Max[0]), max(ext.maxY.(float64), b.Max[1])
	}
	stmts := []string{
		`PRAGMA application_id = 1196444487`,
		`PRAGMA user_version = 10300`,
		`CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY,
			organization TEXT NOT NULL, organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT)`,
		`CREATE TABLE gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL,
			identifier TEXT UNIQUE, description TEXT DEFAULT '',
			last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
			min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
			CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id))`,
		`CREATE TABLE gpkg_geometry_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL,
			geometry_type_name TEXT NOT NULL, srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
			CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
			CONSTRAINT uk_gc_table_name UNIQUE (table_name),
			CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
			CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id))`,
		`INSERT INTO gpkg_spatial_ref_sys VALUES
			('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', 'undefined cartesian coordinate reference system'),
			('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', 'undefined geographic coordinate reference system'),
			('WGS 84 geodetic', 4326, 'EPSG', 4326, '` + wgs84WKT + `', 'longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid')`,
		fmt.Sprintf("CREATE TABLE %s (%s)", quote(t.name), strings.Join(cols, ", ")),
	}
	for _, q := range stmts {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("export %s: %w", m.ID, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO gpkg_contents (table_name, data_type, identifier, description, min_x, min_y, max_x, max_y, srs_id)
		VALUES (?, 'features', ?, ?, ?, ?, ?, ?, 4326)`, t.name, t.name, title+" (troopmap export)", ext.minX, ext.minY, ext.maxX, ext.maxY); err != nil {
		return fmt.Errorf("export %s: %w", m.ID, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO gpkg_geometry_columns VALUES (?, 'geom', 'GEOMETRY', 4326, 0, 0)`, t.name); err != nil {
		return fmt.Errorf("export %s: %w", m.ID, err)
	}
	ins, err := tx.PrepareContext(ctx, t.upsert)
	if err != nil {
		return fmt.Errorf("export %s: %w", m.ID, err)
	}
	defer ins.Close()
	for i, f := range fs {
		if i&1023 == 1023 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		args, err := t.row(f)
		if err != nil {
			return fmt.Errorf("export %s: feature %s: %w", m.ID, f.ID, err)
		}
		if _, err := ins.ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("export %s: feature %s: %w", m.ID, f.ID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("export %s: %w", m.ID, err)
	}
	return nil
}

// inferSchema types the columns of a layer without a report schema from its
// features' values: numbers, booleans and strings become such columns;
// anything else, or a mix, is written as JSON text.
func inferSchema(m layers.Meta, fs []*layers.Feature) layers.Schema {
	types := map[string]layers.FieldType{}
	for _, f := range fs {
		for k, v := range f.Props.All() {
			var ft layers.FieldType
			switch v.(type) {
			case nil:
				continue
			case string:
				ft = layers.TypeString
			case float64, int, int64:
				ft = layers.TypeNumber
			case bool:
				ft = layers.TypeBoolean
			default:
				ft = layers.TypeObject
			}
			if old, ok := types[k]; ok && old != ft {
				ft = layers.TypeObject
			}
			types[k] = ft
		}
	}
	names := make([]string, 0, len(types))
	for k := range types {
		if k != "id" && k != "fid" && k != "geom" {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	sc := layers.Schema{Collection: m.ID, Title: m.Title}
	for _, n := range names {
		sc.Fields = append(sc.Fields, layers.Field{Name: n, Type: types[n]})
	}
	return sc
}
