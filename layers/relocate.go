package layers

import (
	"context"
	"fmt"
)

// RelocateActor names the server in the history of the reports whose
// zones, admin1 or border distance it re-derived after an area change.
const RelocateActor = "troopmap-places"

// Relocate derives the place fields of every stored report afresh, against
// the area layers as they are now, and commits the reports whose fields
// changed, as one update each by RelocateActor (a new version, in history),
// before publishing them; subscribers (change events) hear of them as of
// any write. The work runs in batches outside the write lock; a report
// written meanwhile was located by its writer and is left alone. It
// returns the number of reports changed.
func (r *Reports) Relocate(ctx context.Context) (int, error) {
	if r.cfg.Places == nil {
		return 0, nil
	}
	n := 0
	for _, l := range r.cfg.Layers {
		var batch []*Feature // the reports whose fields changed, as located
		var err error
		i := 0
		l.Snapshot().All(func(f *Feature) bool {
			if i++; i&255 == 0 && ctx.Err() != nil {
				err = ctx.Err()
				return false
			}
			if _, changed := r.cfg.Places.Relocated(f); changed {
				batch = append(batch, f)
				if len(batch) >= relocateBatch {
					var k int
					k, err = r.relocateBatch(ctx, l, batch)
					n += k
					batch = batch[:0]
				}
			}
			return err == nil
		})
		if err == nil && len(batch) > 0 {
			var k int
			k, err = r.relocateBatch(ctx, l, batch)
			n += k
		}
		if err != nil {
			return n, fmt.Errorf("relocate %s: %w", l.ID, err)
		}
	}
	return n, nil
}

// relocateBatch commits and publishes new versions of the reports in olds
// that are still current.
func (r *Reports) relocateBatch(ctx context.Context, l *Layer, olds []*Feature) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.cfg.Now().UTC()
	ts := now.Format("2006-01-02T15:04:05.000Z")
	s := l.Snapshot()
	var revs []Revision
	for _, old := range olds {
		// Features are immutable: the same pointer means no write since.
		if cur, ok := s.Get(old.ID); !ok || cur != old {
			continue
		}
		nf, changed := r.cfg.Places.Relocated(old)
		if !changed {
			continue
		}
		nf.Props = nf.Props.Edit(map[string]any{"version": VersionOf(old) + 1, "updated_at": ts})
		revs = append(revs, Revision{Collection: l.ID, ID: old.ID, Version: VersionOf(old) + 1, Op: OpUpdate,
			Actor: RelocateActor, Time: now, Feature: nf})
	}
	if len(revs) == 0 {
		return 0, nil
	}
	if err := r.commit(ctx, Commit{Revisions: revs}); err != nil {
		return 0, err
	}
	return len(revs), r.publish(revs)
}
