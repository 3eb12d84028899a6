package layers

import (
	"context"
	"slices"
	"time"
)

// Time travel: the reports of a collection as they stood at a past moment,
// rebuilt from the store's history, which keeps the full feature after every
// change. The moment is the time a change was committed (transaction time),
// not the time a report says it was observed: asof answers "what did the map
// show then", so reports created after it are absent and later edits and
// retractions are undone.

// Timeline is implemented by stores that can list, for one collection, the
// newest revision of every report committed at or before a time. It returns
// at least those revisions; StateAt picks among whatever extra it is given.
type Timeline interface {
	RevisionsAt(ctx context.Context, collection string, t time.Time) ([]Revision, error)
}

// StateAt returns the reports as they stood at t: for every report its
// newest revision committed at or before t, left out when that revision
// retracted it (a delete leaves the current view, so it leaves the past one
// too). revs may come in any order; the result is sorted by id.
func StateAt(ctx context.Context, revs []Revision, t time.Time) ([]*Feature, error) {
	latest := make(map[string]int, len(revs)) // id -> index in revs
	for i, rv := range revs {
		if i&1023 == 1023 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		if rv.Time.After(t) {
			continue
		}
		if j, ok := latest[rv.ID]; !ok || rv.Version > revs[j].Version {
			latest[rv.ID] = i
		}
	}
	out := make([]*Feature, 0, len(latest))
	for _, i := range latest {
		if rv := revs[i]; rv.Op != OpDelete && rv.Feature != nil {
			out = append(out, rv.Feature)
		}
	}
	slices.SortFunc(out, func(a, b *Feature) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return out, nil
}

// LayerAt builds a layer with meta m holding the reports as they stood at t,
// read from tl. The layer is new and private to the caller: nothing writes
// to it afterwards, so it may be cached and shared for as long as history
// before t cannot change.
func LayerAt(ctx context.Context, tl Timeline, m Meta, t time.Time) (*Layer, error) {
	revs, err := tl.RevisionsAt(ctx, m.ID, t)
	if err != nil {
		return nil, err
	}
	fs, err := StateAt(ctx, revs, t)
	if err != nil {
		return nil, err
	}
	l := NewLayer(m)
	if err := l.Load(fs); err != nil {
		return nil, err
	}
	return l, nil
}

// LayerAt returns a report collection as it stood at t, from the store's
// history. It fails with EINVALID when the store keeps no timeline.
func (r *Reports) LayerAt(ctx context.Context, collection string, t time.Time) (*Layer, error) {
	l, ok := r.layers[collection]
	if !ok {
		return nil, Errorf(ENOTFOUND, "collection %q keeps no history; only %s and %s do", collection, TroopConcentrations, Incidents)
	}
	tl, ok := r.cfg.Store.(Timeline)
	if !ok {
		return nil, Errorf(EINVALID, "parameter asof: this server's store keeps no timeline")
	}
	return LayerAt(ctx, tl, l.Meta, t)
}

// Retracted returns the last version of every report of collection that
// has left the current view (its newest revision retracted it), by id. It
// lets readers of the past judge a report by what it says now.
func (r *Reports) Retracted(ctx context.Context, collection string) (map[string]*Feature, error) {
	l, ok := r.layers[collection]
	if !ok {
		return nil, Errorf(ENOTFOUND, "collection %q keeps no history", collection)
	}
	tl, ok := r.cfg.Store.(Timeline)
	if !ok {
		return nil, Errorf(EINVALID, "parameter asof: this server's store keeps no timeline")
	}
	revs, err := tl.RevisionsAt(ctx, l.ID, time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC))
	if err != nil {
		return nil, err
	}
	newest := map[string]Revision{}
	for _, rv := range revs {
		if cur, ok := newest[rv.ID]; !ok || rv.Version > cur.Version {
			newest[rv.ID] = rv
		}
	}
	out := map[string]*Feature{}
	for id, rv := range newest {
		if rv.Op == OpDelete && rv.Feature != nil {
			out[id] = rv.Feature
		}
	}
	return out, nil
}
