package ptindex

import (
	"context"
	"slices"
	"sync"

	"github.com/paulmach/orb"

	"troopmap/geo/tile"
	"troopmap/layers"
)

// View returns the index as one audience sees it: entries whose features
// show hides are left out, entries it moves (coarsening) are filed at their
// shown position, and every Entry.F is the feature as shown. Clustering for
// that audience then needs neither show nor a wider search per request.
func (ix *Index) View(ctx context.Context, show func(*layers.Feature) *layers.Feature) (*Index, error) {
	out := &Index{Version: ix.Version, Others: ix.Others, entries: make([]Entry, 0, len(ix.entries))}
	moved := false
	for i := range ix.entries {
		if i&4095 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		e := ix.entries[i]
		sf := show(e.F)
		if sf == nil {
			continue
		}
		if sf != e.F {
			p, ok := sf.Geometry.(orb.Point)
			if !ok {
				continue // clusters hold points only
			}
			if qx, qy := tile.Quantize(p); qx != e.QX || qy != e.QY {
				e.QX, e.QY, e.Code = qx, qy, tile.Morton(qx, qy)
				moved = true
			}
			e.F = sf
		}
		out.entries = append(out.entries, e)
	}
	if moved {
		// Stable: equal codes keep the base index's order, so the view
		// is a pure function of the snapshot too.
		slices.SortStableFunc(out.entries, func(a, b Entry) int { return cmp(a.Code, b.Code) })
	}
	out.buildSums()
	return out, nil
}

// views caches the audience views of the current index, built once each.
type views struct {
	mu sync.Mutex
	m  map[string]*viewBuild
}

type viewBuild struct {
	base *Index
	done chan struct{}
	ix   *Index
}

// maxViews bounds the audiences kept per index; anonymous readers' key
// changes with each embargo epoch, so older ones are dropped.
const maxViews = 4

// ForView returns the index of snapshot s as the audience named key sees it
// through show, building it on first use (concurrent callers wait for the
// same build). It returns nil while the base index is not built yet or when
// ctx ends first.
func (k *Keeper) ForView(ctx context.Context, s *layers.Snapshot, key string, show func(*layers.Feature) *layers.Feature) *Index {
	base := k.For(s)
	if base == nil {
		return nil
	}
	k.views.mu.Lock()
	if k.views.m == nil {
		k.views.m = map[string]*viewBuild{}
	}
	b := k.views.m[key]
	if b == nil || b.base != base {
		for name, old := range k.views.m {
			if old.base != base {
				delete(k.views.m, name)
			}
		}
		for name := range k.views.m {
			if len(k.views.m) < maxViews {
				break
			}
			delete(k.views.m, name)
		}
		b = &viewBuild{base: base, done: make(chan struct{})}
		k.views.m[key] = b
		k.views.mu.Unlock()
		// Built on a context of its own: the request that happens to
		// start it must not cancel it for everyone waiting.
		b.ix, _ = base.View(context.WithoutCancel(ctx), show)
		close(b.done)
		return b.ix
	}
	k.views.mu.Unlock()
	select {
	case <-b.done:
		return b.ix
	case <-ctx.Done():
		return nil
	}
}
