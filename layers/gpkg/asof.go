package gpkg

import (
	"context"
	"fmt"
	"time"

	"troopmap/layers"
)

// RevisionsAt returns the newest revision of every report of collection
// committed at or before t (a layers.Timeline). History times are stored as
// RFC 3339 in UTC with a variable fraction, so their first 19 characters (to
// the second) compare as text: revisions from earlier seconds are picked in
// SQL, newest per report, and those from t's own second are returned too,
// for layers.StateAt to compare exactly.
func (s *Store) RevisionsAt(ctx context.Context, collection string, t time.Time) ([]layers.Revision, error) {
	sec := t.UTC().Format("2006-01-02T15:04:05")
	rows, err := s.db.QueryContext(ctx, `
		SELECT report_id, version, operation, actor, time, feature FROM (
			SELECT report_id, version, operation, actor, time, feature,
				row_number() OVER (PARTITION BY report_id ORDER BY version DESC) AS n
			FROM `+HistoryTable+` WHERE collection = ? AND substr(time, 1, 19) < ?)
		WHERE n = 1
		UNION ALL
		SELECT report_id, version, operation, actor, time, feature FROM `+HistoryTable+`
		WHERE collection = ? AND substr(time, 1, 19) = ?`, collection, sec, collection, sec)
	if err != nil {
		return nil, fmt.Errorf("history of %s at %s: %w", collection, t.Format(time.RFC3339Nano), err)
	}
	defer rows.Close()
	var out []layers.Revision
	for rows.Next() {
		if len(out)&1023 == 1023 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		rv := layers.Revision{Collection: collection}
		var op, ts, fj string
		if err := rows.Scan(&rv.ID, &rv.Version, &op, &rv.Actor, &ts, &fj); err != nil {
			return nil, fmt.Errorf("history of %s: %w", collection, err)
		}
		rv.Op = layers.Op(op)
		if rv.Time, err = time.Parse(time.RFC3339Nano, ts); err != nil {
			return nil, fmt.Errorf("history of %s/%s v%d: time %q: %w", collection, rv.ID, rv.Version, ts, err)
		}
		if rv.Feature, err = layers.UnmarshalFeature([]byte(fj)); err != nil {
			return nil, fmt.Errorf("history of %s/%s v%d: %w", collection, rv.ID, rv.Version, err)
		}
		out = append(out, rv)
	}
	return out, rows.Err()
}

var _ layers.Timeline = (*Store)(nil)
