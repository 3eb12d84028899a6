package ptindex

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/paulmach/orb"

	"troopmap/geo/tile"
	"troopmap/layers"
)

// Show is an audience's view of a feature: the feature itself, a copy
// moved or trimmed for the audience, or nil when it is hidden.
type Show func(*layers.Feature) *layers.Feature

// showEntries files entries as show presents them: hidden ones are left
// out, moved ones (coarsening) are refiled at their shown position, and
// every Entry.F becomes the feature as shown. The result is in code order.
func showEntries(ctx context.Context, es []Entry, show Show) ([]Entry, error) {
	out := make([]Entry, 0, len(es))
	moved := false
	for i := range es {
		if i&4095 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		e := es[i]
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
		out = append(out, e)
	}
	if moved {
		// Stable: equal codes keep their order, so a view is a pure
		// function of the snapshot too.
		slices.SortStableFunc(out, func(a, b Entry) int { return cmp(a.Code, b.Code) })
	}
	return out, nil
}

// View returns the index as one audience sees it through show. Clustering
// for that audience then needs neither show nor a wider search per request.
func (ix *Index) View(ctx context.Context, show Show) (*Index, error) {
	cv, err := ix.coreView(ctx, show)
	if err != nil {
		return nil, err
	}
	return ix.onView(cv, show), nil
}

// coreView is the view of the core alone.
func (ix *Index) coreView(ctx context.Context, show Show) (*Index, error) {
	es, err := showEntries(ctx, ix.entries, show)
	if err != nil {
		return nil, err
	}
	out := &Index{Version: ix.core.version, entries: es, core: &core{version: ix.core.version}, Others: ix.Others}
	out.buildSums()
	return out, nil
}

// onView lays ix's delta, as show presents it, over cv, the view of ix's
// core.
func (ix *Index) onView(cv *Index, show Show) *Index {
	nx := *cv
	nx.Version, nx.Others = ix.Version, ix.Others
	if d := ix.delta; d != nil {
		added, _ := showEntries(context.Background(), d.added, show)
		removed, _ := showEntries(context.Background(), d.removed, show)
		nx.delta = &delta{added: added, removed: removed, gone: d.gone}
	}
	return &nx
}

// views caches, per audience, the view of the current core and of the
// latest version over it.
type views struct {
	mu sync.Mutex
	m  map[string]*viewBuild
}

type viewBuild struct {
	core   *core
	done   chan struct{}
	cv     *Index // the core's view, once done
	latest *Index // the view of the latest version asked for, under views.mu
}

// maxViews bounds the audiences kept; anonymous readers' key changes with
// each embargo epoch, so older ones are dropped.
const maxViews = 4

// View returns the index of snapshot s as the audience named key sees it
// through show, or nil when it is not ready: then a background build
// starts, and the caller takes a slower path meanwhile.
func (k *Keeper) View(s *layers.Snapshot, key string, show Show) *Index {
	ix := k.For(s)
	if ix == nil {
		return nil
	}
	b := k.viewBuild(ix, key, show)
	select {
	case <-b.done:
		return k.latest(b, ix, show)
	default:
		return nil
	}
}

// BuildView is View that waits for the build (or for ctx to end).
func (k *Keeper) BuildView(ctx context.Context, s *layers.Snapshot, key string, show Show) *Index {
	ix := k.For(s)
	if ix == nil {
		return nil
	}
	b := k.viewBuild(ix, key, show)
	select {
	case <-b.done:
		return k.latest(b, ix, show)
	case <-ctx.Done():
		return nil
	}
}

// viewBuild returns the build of key's view of ix's core, starting it when
// there is none.
func (k *Keeper) viewBuild(ix *Index, key string, show Show) *viewBuild {
	k.views.mu.Lock()
	defer k.views.mu.Unlock()
	if k.views.m == nil {
		k.views.m = map[string]*viewBuild{}
	}
	if b := k.views.m[key]; b != nil && b.core == ix.core {
		return b
	}
	for name, old := range k.views.m {
		if old.core != ix.core {
			delete(k.views.m, name)
		}
	}
	for name := range k.views.m {
		if len(k.views.m) < maxViews {
			break
		}
		delete(k.views.m, name)
	}
	b := &viewBuild{core: ix.core, done: make(chan struct{})}
	k.views.m[key] = b
	go func() {
		start := time.Now()
		cv, err := ix.coreView(context.Background(), show)
		if err == nil {
			b.cv = cv
		}
		close(b.done)
		if k.OnView != nil && cv != nil {
			k.OnView(key, cv.Len(), time.Since(start))
		}
	}()
	return b
}

// latest returns key's view of ix, deriving it from the core's view once
// per version.
func (k *Keeper) latest(b *viewBuild, ix *Index, show Show) *Index {
	if b.cv == nil {
		return nil
	}
	if ix.delta == nil {
		return b.cv
	}
	k.views.mu.Lock()
	defer k.views.mu.Unlock()
	if b.latest == nil || b.latest.Version != ix.Version {
		b.latest = ix.onView(b.cv, show)
	}
	return b.latest
}
