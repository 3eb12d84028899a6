// Package gpkg stores troopmap's reports in an OGC GeoPackage 1.3 file
// (SQLite, through the pure-Go modernc.org/sqlite): one feature table per
// report layer that QGIS and GDAL open directly, a history table with every
// revision, and the server's own tables for API keys, idempotency keys and
// metadata. It implements layers.Store.
package gpkg

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/paulmach/orb"
	_ "modernc.org/sqlite" // the database/sql driver "sqlite"

	"troopmap/layers"
	"troopmap/layers/gpkg/gpb"
	"troopmap/layers/props"
)

// Store is a GeoPackage file holding reports. It is safe for concurrent use.
type Store struct {
	db      *sql.DB
	path    string
	tables  map[string]*table // by collection id
	created bool
}

// table is one report layer's feature table, its columns derived from the
// report schema.
type table struct {
	name       string
	collection string
	fields     []layers.Field // schema fields stored as columns, in order
	upsert     string
	selectAll  string
}

// TableName returns the feature table of a collection: its id with
// underscores, a plain SQL identifier that every client accepts.
func TableName(collection string) string { return strings.ReplaceAll(collection, "-", "_") }

// Open opens or creates the GeoPackage at path with a feature table for each
// schema. The file runs in WAL mode with synchronous=FULL, so a commit that
// returned survives a crash or power loss.
func Open(ctx context.Context, path string, schemas []layers.Schema) (*Store, error) {
	if err := checkFile(path); err != nil {
		return nil, err
	}
	dsn := path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=foreign_keys(1)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	s := &Store{db: db, path: path, tables: map[string]*table{}}
	for _, sc := range schemas {
		s.tables[sc.Collection] = newTable(sc)
	}
	if err := s.quickCheck(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.init(ctx, schemas); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return s, nil
}

// Created reports whether Open made a new, empty store.
func (s *Store) Created() bool { return s.created }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// DB exposes the database for tests and checks (integrity_check).
func (s *Store) DB() *sql.DB { return s.db }

func columnType(f layers.Field) string {
	switch f.Type {
	case layers.TypeNumber:
		return "REAL"
	case layers.TypeInteger:
		return "INTEGER"
	case layers.TypeBoolean:
		return "BOOLEAN"
	}
	// Times stay TEXT: they keep the uploader's RFC 3339 form exactly.
	return "TEXT"
}

func quote(id string) string { return `"` + strings.ReplaceAll(id, `"`, `""`) + `"` }

func newTable(sc layers.Schema) *table {
	t := &table{name: TableName(sc.Collection), collection: sc.Collection}
	for _, f := range sc.Fields {
		if f.Name != "id" {
			t.fields = append(t.fields, f)
		}
	}
	cols := []string{"geom", "id"}
	for _, f := range t.fields {
		cols = append(cols, quote(f.Name))
	}
	marks := strings.TrimSuffix(strings.Repeat("?,", len(cols)), ",")
	var sets []string
	for _, c := range cols[:1] {
		sets = append(sets, c+"=excluded."+c)
	}
	for _, c := range cols[2:] {
		sets = append(sets, c+"=excluded."+c)
	}
	t.upsert = fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s) ON CONFLICT(id) DO UPDATE SET %s",
		quote(t.name), strings.Join(cols, ","), marks, strings.Join(sets, ","))
	t.selectAll = fmt.Sprintf("SELECT %s FROM %s ORDER BY id", strings.Join(cols, ","), quote(t.name))
	return t
}

const wgs84WKT = `GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AXIS["Latitude",NORTH],AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]`

// HistoryTable holds one row per committed change.
const HistoryTable = "report_history"

// KeyHistoryTable holds one row per change of an API key.
const KeyHistoryTable = "troopmap_key_history"

func (s *Store) init(ctx context.Context, schemas []layers.Schema) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE name='gpkg_contents'`).Scan(&n); err != nil {
		return err
	}
	s.created = n == 0
	stmts := []string{
		// GeoPackage 1.3: application id "GPKG" and version 1.3.0.
		`PRAGMA application_id = 1196444487`,
		`PRAGMA user_version = 10300`,
		`CREATE TABLE IF NOT EXISTS gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY,
			organization TEXT NOT NULL, organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT)`,
		`CREATE TABLE IF NOT EXISTS gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL,
			identifier TEXT UNIQUE, description TEXT DEFAULT '',
			last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
			min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
			CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id))`,
		`CREATE TABLE IF NOT EXISTS gpkg_geometry_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL,
			geometry_type_name TEXT NOT NULL, srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
			CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
			CONSTRAINT uk_gc_table_name UNIQUE (table_name),
			CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
			CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id))`,
		`INSERT OR IGNORE INTO gpkg_spatial_ref_sys VALUES
			('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', 'undefined cartesian coordinate reference system'),
			('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', 'undefined geographic coordinate reference system'),
			('WGS 84 geodetic', 4326, 'EPSG', 4326, '` + wgs84WKT + `', 'longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid')`,
		`CREATE TABLE IF NOT EXISTS ` + HistoryTable + ` (fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
			collection TEXT NOT NULL, report_id TEXT NOT NULL, version INTEGER NOT NULL, operation TEXT NOT NULL,
			actor TEXT NOT NULL, time TEXT NOT NULL, feature TEXT NOT NULL,
			UNIQUE (collection, report_id, version))`,
		`INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description)
			VALUES ('` + HistoryTable + `', 'attributes', 'report_history', 'every committed change of every report: the full GeoJSON feature after the change')`,
		`CREATE TABLE IF NOT EXISTS troopmap_keys (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, role TEXT NOT NULL,
			salt BLOB NOT NULL, hash BLOB NOT NULL, created TEXT NOT NULL, revoked TEXT)`,
		// The audit trail of key changes; never the secrets.
		`CREATE TABLE IF NOT EXISTS ` + KeyHistoryTable + ` (fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
			time TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, key_name TEXT NOT NULL, role TEXT NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS troopmap_idempotency (actor TEXT NOT NULL, key TEXT NOT NULL, request_hash TEXT NOT NULL,
			collection TEXT NOT NULL, ids TEXT NOT NULL, batch BOOLEAN NOT NULL, created TEXT NOT NULL, PRIMARY KEY (actor, key))`,
		`CREATE TABLE IF NOT EXISTS troopmap_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
	}
	for _, sc := range schemas {
		t := s.tables[sc.Collection]
		cols := []string{"fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL", "geom GEOMETRY", "id TEXT NOT NULL UNIQUE"}
		for _, f := range t.fields {
			cols = append(cols, quote(f.Name)+" "+columnType(f))
		}
		stmts = append(stmts,
			fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s (%s)", quote(t.name), strings.Join(cols, ", ")),
			fmt.Sprintf(`INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description, srs_id)
				VALUES ('%s', 'features', '%s', '%s', 4326)`, t.name, t.name, strings.ReplaceAll(sc.Title+" reports (troopmap)", "'", "''")),
			fmt.Sprintf(`INSERT OR IGNORE INTO gpkg_geometry_columns VALUES ('%s', 'geom', 'GEOMETRY', 4326, 0, 0)`, t.name),
		)
	}
	for _, q := range stmts {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", strings.Fields(q)[0]+" "+strings.Fields(q)[1], err)
		}
	}
	return tx.Commit()
}

// LoadReports reads every current report of a collection.
func (s *Store) LoadReports(ctx context.Context, collection string) ([]*layers.Feature, error) {
	t, ok := s.tables[collection]
	if !ok {
		return nil, layers.Errorf(layers.ENOTFOUND, "store has no table for %q", collection)
	}
	rows, err := s.db.QueryContext(ctx, t.selectAll)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", t.name, err)
	}
	defer rows.Close()
	var out []*layers.Feature
	vals := make([]any, 2+len(t.fields))
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("read %s: %w", t.name, err)
		}
		f, err := t.feature(vals)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", t.name, err)
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", t.name, err)
	}
	return out, nil
}

// feature rebuilds a report from a row: geom, id, then the schema columns.
func (t *table) feature(vals []any) (*layers.Feature, error) {
	id, _ := vals[1].(string)
	var g orb.Geometry
	if b, ok := vals[0].([]byte); ok {
		geom, err := gpb.Decode(b)
		if err != nil {
			return nil, fmt.Errorf("report %s: %w", id, err)
		}
		g = geom
	}
	props := map[string]any{"id": id}
	for i, f := range t.fields {
		v := vals[2+i]
		if v == nil {
			continue
		}
		pv, err := fromColumn(f, v)
		if err != nil {
			return nil, fmt.Errorf("report %s, %s: %w", id, f.Name, err)
		}
		props[f.Name] = pv
	}
	f := layers.NewFeature(id, g, props, layers.ReportTimeKeys()...)
	return f, nil
}

func fromColumn(f layers.Field, v any) (any, error) {
	switch f.Type {
	case layers.TypeArray, layers.TypeObject:
		var b []byte
		switch x := v.(type) {
		case string:
			b = []byte(x)
		case []byte:
			b = x
		}
		var out any
		if err := json.Unmarshal(b, &out); err != nil {
			return nil, err
		}
		return out, nil
	case layers.TypeBoolean:
		switch x := v.(type) {
		case bool:
			return x, nil
		case int64:
			return x != 0, nil
		}
	case layers.TypeInteger, layers.TypeNumber:
		var n float64
		switch x := v.(type) {
		case int64:
			n = float64(x)
		case float64:
			n = x
		default:
			return nil, fmt.Errorf("not a number: %T", v)
		}
		if f.Name == "version" {
			return int(n), nil
		}
		return n, nil
	default:
		switch x := v.(type) {
		case string:
			return x, nil
		case []byte:
			return string(x), nil
		case time.Time:
			return x.UTC().Format(time.RFC3339Nano), nil
		}
	}
	return nil, fmt.Errorf("unexpected column value %T", v)
}

// columnOf reads field f of a report for its column: arrays and objects
// as their JSON text, copied from the report.
func columnOf(f layers.Field, p props.Props) (any, error) {
	if f.Type == layers.TypeArray || f.Type == layers.TypeObject {
		raw, ok := p.Raw(f.Name)
		if !ok || raw == "null" {
			return nil, nil
		}
		return raw, nil
	}
	return toColumn(f, p.Get(f.Name))
}

func toColumn(f layers.Field, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch f.Type {
	case layers.TypeArray, layers.TypeObject:
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		return string(b), nil
	case layers.TypeInteger:
		switch x := v.(type) {
		case int:
			return int64(x), nil
		case int64:
			return x, nil
		case float64:
			return int64(x), nil
		}
	case layers.TypeNumber:
		switch x := v.(type) {
		case int:
			return float64(x), nil
		case float64:
			return x, nil
		}
	case layers.TypeBoolean:
		if b, ok := v.(bool); ok {
			return b, nil
		}
	default:
		if s, ok := v.(string); ok {
			return s, nil
		}
	}
	return nil, fmt.Errorf("%s: unexpected value %T", f.Name, v)
}

// Commit writes every revision and its history row in one transaction.
func (s *Store) Commit(ctx context.Context, c layers.Commit) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	hist, err := tx.PrepareContext(ctx, `INSERT INTO `+HistoryTable+` (collection, report_id, version, operation, actor, time, feature) VALUES (?,?,?,?,?,?,?)`)
	if err != nil {
		return err
	}
	defer hist.Close()
	upserts := map[string]*sql.Stmt{}
	touched := map[string]bool{}
	for i, rv := range c.Revisions {
		if i&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		t, ok := s.tables[rv.Collection]
		if !ok {
			return fmt.Errorf("no table for %q", rv.Collection)
		}
		touched[t.name] = true
		if rv.Op == layers.OpDelete {
			if _, err := tx.ExecContext(ctx, "DELETE FROM "+quote(t.name)+" WHERE id = ?", rv.ID); err != nil {
				return fmt.Errorf("delete %s: %w", rv.ID, err)
			}
		} else {
			st := upserts[t.name]
			if st == nil {
				if st, err = tx.PrepareContext(ctx, t.upsert); err != nil {
					return fmt.Errorf("prepare %s: %w", t.name, err)
				}
				defer st.Close()
				upserts[t.name] = st
			}
			args, err := t.row(rv.Feature)
			if err != nil {
				return fmt.Errorf("report %s: %w", rv.ID, err)
			}
			if _, err := st.ExecContext(ctx, args...); err != nil {
				return fmt.Errorf("write %s: %w", rv.ID, err)
			}
		}
		fj, err := layers.MarshalFeature(rv.Feature)
		if err != nil {
			return err
		}
		if _, err := hist.ExecContext(ctx, rv.Collection, rv.ID, rv.Version, string(rv.Op), rv.Actor,
			rv.Time.UTC().Format(time.RFC3339Nano), string(fj)); err != nil {
			return fmt.Errorf("history of %s: %w", rv.ID, err)
		}
	}
	if !c.ExpireIdempotency.IsZero() {
		// julianday compares the stored RFC 3339 times as instants, which
		// their text (with trimmed fractions) does not.
		if _, err := tx.ExecContext(ctx, `DELETE FROM troopmap_idempotency WHERE julianday(created) < julianday(?)`,
			c.ExpireIdempotency.UTC().Format(time.RFC3339Nano)); err != nil {
			return fmt.Errorf("expire idempotency keys: %w", err)
		}
	}
	if r := c.Idempotency; r != nil {
		ids, _ := json.Marshal(r.IDs)
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO troopmap_idempotency VALUES (?,?,?,?,?,?,?)`,
			r.Actor, r.Key, r.RequestHash, r.Collection, string(ids), r.Batch, r.Created.UTC().Format(time.RFC3339Nano)); err != nil {
			return fmt.Errorf("idempotency key: %w", err)
		}
	}
	for k, v := range c.Meta {
		if _, err := tx.ExecContext(ctx, `INSERT INTO troopmap_meta VALUES (?,?) ON CONFLICT(key) DO UPDATE SET value=excluded.value`, k, v); err != nil {
			return fmt.Errorf("meta %s: %w", k, err)
		}
	}
	now := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	for name := range touched {
		if _, err := tx.ExecContext(ctx, `UPDATE gpkg_contents SET last_change = ? WHERE table_name IN (?, ?)`, now, name, HistoryTable); err != nil {
			return fmt.Errorf("gpkg_contents: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func (t *table) row(f *layers.Feature) ([]any, error) {
	args := make([]any, 0, 2+len(t.fields))
	var g any
	if f.Geometry != nil {
		b, err := gpb.Encode(f.Geometry)
		if err != nil {
			return nil, err
		}
		g = b
	}
	args = append(args, g, f.ID)
	for _, fd := range t.fields {
		v, err := columnOf(fd, f.Props)
		if err != nil {
			return nil, err
		}
		args = append(args, v)
	}
	return args, nil
}

// History returns a report's revisions, newest first.
func (s *Store) History(ctx context.Context, collection, id string) ([]layers.Revision, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT version, operation, actor, time, feature FROM `+HistoryTable+`
		WHERE collection = ? AND report_id = ? ORDER BY version DESC`, collection, id)
	if err != nil {
		return nil, fmt.Errorf("history of %s: %w", id, err)
	}
	defer rows.Close()
	var out []layers.Revision
	for rows.Next() {
		var rv layers.Revision
		var op, ts, fj string
		if err := rows.Scan(&rv.Version, &op, &rv.Actor, &ts, &fj); err != nil {
			return nil, fmt.Errorf("history of %s: %w", id, err)
		}
		rv.Collection, rv.ID, rv.Op = collection, id, layers.Op(op)
		rv.Time, _ = time.Parse(time.RFC3339Nano, ts)
		if rv.Feature, err = layers.UnmarshalFeature([]byte(fj)); err != nil {
			return nil, fmt.Errorf("history of %s v%d: %w", id, rv.Version, err)
		}
		out = append(out, rv)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, layers.Errorf(layers.ENOTFOUND, "report %q has no history in %s", id, collection)
	}
	return out, nil
}

// Idempotency returns the record stored under an actor's key.
func (s *Store) Idempotency(ctx context.Context, actor, key string) (layers.IdempotencyRecord, bool, error) {
	r := layers.IdempotencyRecord{Actor: actor, Key: key}
	var ids, created string
	err := s.db.QueryRowContext(ctx, `SELECT request_hash, collection, ids, batch, created FROM troopmap_idempotency
		WHERE actor = ? AND key = ?`, actor, key).Scan(&r.RequestHash, &r.Collection, &ids, &r.Batch, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return r, false, nil
	} else if err != nil {
		return r, false, fmt.Errorf("idempotency key: %w", err)
	}
	if err := json.Unmarshal([]byte(ids), &r.IDs); err != nil {
		return r, false, fmt.Errorf("idempotency key ids: %w", err)
	}
	r.Created, _ = time.Parse(time.RFC3339Nano, created)
	return r, true, nil
}

// Meta returns a stored fact.
func (s *Store) Meta(ctx context.Context, key string) (string, bool, error) {
	var v string
	err := s.db.QueryRowContext(ctx, `SELECT value FROM troopmap_meta WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	} else if err != nil {
		return "", false, fmt.Errorf("meta %s: %w", key, err)
	}
	return v, true, nil
}

// AddKey stores a new API key, and its audit row naming by; the name must
// be unused.
func (s *Store) AddKey(ctx context.Context, k layers.Key, by string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("add key: %w", err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM troopmap_keys WHERE name = ?`, k.Name).Scan(&n); err != nil {
		return fmt.Errorf("add key: %w", err)
	}
	if n > 0 {
		return layers.Errorf(layers.ECONFLICT, "a key named %q exists already; revoke it or choose another name", k.Name)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO troopmap_keys (id, name, role, salt, hash, created) VALUES (?,?,?,?,?,?)`,
		k.ID, k.Name, k.Role, k.Salt, k.Hash, k.Created.UTC().Format(time.RFC3339)); err != nil {
		return fmt.Errorf("add key: %w", err)
	}
	if err := keyChange(ctx, tx, k.Created, by, layers.KeyCreated, k.Name, k.Role); err != nil {
		return fmt.Errorf("add key: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("add key: %w", err)
	}
	return nil
}

func keyChange(ctx context.Context, tx *sql.Tx, at time.Time, by, action, name, role string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO `+KeyHistoryTable+` (time, actor, action, key_name, role) VALUES (?,?,?,?,?)`,
		at.UTC().Format(time.RFC3339Nano), by, action, name, role)
	return err
}

// KeyChanges lists the audited changes of the named key (of every key when
// name is empty), newest first.
func (s *Store) KeyChanges(ctx context.Context, name string) ([]layers.KeyChange, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT time, actor, action, key_name, role FROM `+KeyHistoryTable+`
		WHERE ? = '' OR key_name = ? ORDER BY fid DESC`, name, name)
	if err != nil {
		return nil, fmt.Errorf("key history: %w", err)
	}
	defer rows.Close()
	out := []layers.KeyChange{}
	for rows.Next() {
		var kc layers.KeyChange
		var ts string
		if err := rows.Scan(&ts, &kc.Actor, &kc.Action, &kc.Key, &kc.Role); err != nil {
			return nil, fmt.Errorf("key history: %w", err)
		}
		kc.Time, _ = time.Parse(time.RFC3339Nano, ts)
		out = append(out, kc)
	}
	return out, rows.Err()
}

// Keys lists every key, revoked ones included, by name.
func (s *Store) Keys(ctx context.Context) ([]layers.Key, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, name, role, salt, hash, created, revoked FROM troopmap_keys ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	defer rows.Close()
	var out []layers.Key
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

type scanner interface{ Scan(...any) error }

func scanKey(r scanner) (layers.Key, error) {
	var k layers.Key
	var created string
	var revoked sql.NullString
	if err := r.Scan(&k.ID, &k.Name, &k.Role, &k.Salt, &k.Hash, &created, &revoked); err != nil {
		return k, err
	}
	k.Created, _ = time.Parse(time.RFC3339, created)
	if revoked.Valid {
		k.Revoked, _ = time.Parse(time.RFC3339, revoked.String)
	}
	return k, nil
}

// KeyByID finds a key by the public part of its token.
func (s *Store) KeyByID(ctx context.Context, id string) (layers.Key, error) {
	k, err := scanKey(s.db.QueryRowContext(ctx, `SELECT id, name, role, salt, hash, created, revoked FROM troopmap_keys WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return k, layers.Errorf(layers.ENOTFOUND, "no such key")
	} else if err != nil {
		return k, fmt.Errorf("find key: %w", err)
	}
	return k, nil
}

// RevokeKey marks the named key revoked, and records by as the actor; it
// stops working at once.
func (s *Store) RevokeKey(ctx context.Context, name string, at time.Time, by string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("revoke key: %w", err)
	}
	defer tx.Rollback()
	var role string
	err = tx.QueryRowContext(ctx, `SELECT role FROM troopmap_keys WHERE name = ? AND revoked IS NULL`, name).Scan(&role)
	if errors.Is(err, sql.ErrNoRows) {
		return layers.Errorf(layers.ENOTFOUND, "no valid key named %q", name)
	} else if err != nil {
		return fmt.Errorf("revoke key: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE troopmap_keys SET revoked = ? WHERE name = ?`, at.UTC().Format(time.RFC3339), name); err != nil {
		return fmt.Errorf("revoke key: %w", err)
	}
	if err := keyChange(ctx, tx, at, by, layers.KeyRevoked, name, role); err != nil {
		return fmt.Errorf("revoke key: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("revoke key: %w", err)
	}
	return nil
}

var _ layers.Store = (*Store)(nil)

// restoreHint ends the errors about a damaged store file.
const restoreHint = "restore it from a copy made with `troopmap backup`, or move it away to start a new, empty store"

// checkFile refuses a store file that exists but cannot be a database: an
// empty file (SQLite would silently make it a new, empty store) or one
// without the SQLite header, as a full disk or a bad copy leaves them.
func checkFile(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("open store %s: %w", path, err)
	}
	defer f.Close()
	head := make([]byte, 16)
	n, err := io.ReadFull(f, head)
	switch {
	case n == 0:
		if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() > 0 {
			return fmt.Errorf("store %s is empty but its write-ahead log %s-wal is not: the file was truncated, perhaps by a full disk; %s", path, path, restoreHint)
		}
		return fmt.Errorf("store %s is an empty file (0 bytes): it was truncated, perhaps by a full disk, or created by hand; %s", path, restoreHint)
	case err != nil && !errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("open store %s: %w", path, err)
	case string(head[:n]) != "SQLite format 3\x00":
		return fmt.Errorf("store %s is not a GeoPackage (SQLite) file, or its first page is damaged; %s", path, restoreHint)
	}
	return nil
}

// quickCheck runs SQLite's quick_check over the whole file, so that a
// truncated or damaged store stops the server at startup instead of
// failing later or looking empty.
func (s *Store) quickCheck(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, `PRAGMA quick_check(5)`)
	if err != nil {
		return fmt.Errorf("store %s cannot be read (%v): it may be truncated or damaged; %s", s.path, err, restoreHint)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var msg string
		if err := rows.Scan(&msg); err != nil {
			return fmt.Errorf("store %s cannot be read (%v); %s", s.path, err, restoreHint)
		}
		if msg != "ok" {
			problems = append(problems, msg)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store %s cannot be read (%v): it may be truncated or damaged; %s", s.path, err, restoreHint)
	}
	if len(problems) > 0 {
		return fmt.Errorf("store %s is damaged (%s); %s", s.path, strings.Join(problems, "; "), restoreHint)
	}
	return nil
}

// Backup writes a consistent copy of the store to path, which must not
// exist, while the store stays open for reads and writes: SQLite's VACUUM
// INTO reads one snapshot, so the copy holds every commit made before it
// began and none made after.
func (s *Store) Backup(ctx context.Context, path string) error {
	if _, err := os.Stat(path); err == nil {
		return layers.Errorf(layers.ECONFLICT, "%s exists already; choose a new file for the backup", path)
	}
	if _, err := s.db.ExecContext(ctx, `VACUUM INTO ?`, path); err != nil {
		os.Remove(path)
		return fmt.Errorf("backup to %s: %w", path, err)
	}
	return nil
}

// Counts returns the number of rows of every feature table (by collection)
// and of the history table (under HistoryTable).
func (s *Store) Counts(ctx context.Context) (map[string]int, error) {
	out := map[string]int{}
	names := map[string]string{HistoryTable: HistoryTable}
	for c, t := range s.tables {
		names[c] = t.name
	}
	for k, name := range names {
		var n int
		if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM "+quote(name)).Scan(&n); err != nil {
			return nil, fmt.Errorf("count %s: %w", name, err)
		}
		out[k] = n
	}
	return out, nil
}

// IntegrityCheck runs SQLite's full integrity_check and returns its
// findings, nil when the file is sound.
func (s *Store) IntegrityCheck(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `PRAGMA integrity_check`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var msg string
		if err := rows.Scan(&msg); err != nil {
			return nil, err
		}
		if msg != "ok" {
			out = append(out, msg)
		}
	}
	return out, rows.Err()
}
