package web

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"

	"troopmap/geo/tile"
	"troopmap/layers"
	"troopmap/layers/ptindex"
)

// tileService holds the tile cache and keeps it live: every committed
// change drops exactly the cached tiles whose content it can alter.
type tileService struct {
	cfg     TileConfig
	cache   *tile.Cache
	keepers map[string]*ptindex.Keeper // point indexes of clustered layers
	live    map[string]*layers.Layer   // the catalog's layers, whose indexes the keepers hold
	noIndex bool                       // tests: always take the R-tree path
	log     *slog.Logger
	ceiling []byte // the fixed body of /bench/ceiling, when enabled
	// coarsenKm is the grid anonymous readers' points are snapped to (0:
	// none): a change moves what they see up to that far from the change.
	coarsenKm float64
	// Encoders and cluster grids are reused from tile to tile: building
	// tiles is most of a busy server's garbage.
	encoders, grids sync.Pool
}

func newTileService(cfg TileConfig, log *slog.Logger) *tileService {
	cfg = cfg.withDefaults()
	ts := &tileService{cfg: cfg, cache: tile.NewCache(cfg.CacheBytes), log: log}
	ts.encoders.New = func() any { return tile.NewEncoder() }
	ts.grids.New = func() any { return new(tile.Grid) }
	if cfg.BenchCeiling {
		ts.ceiling = make([]byte, ceilingSize)
		for i := range ts.ceiling {
			ts.ceiling[i] = byte(i * 7)
		}
	}
	return ts
}

// wire subscribes to every layer of the catalog and starts building the
// point indexes of the clustered layers, and after each the view of it that
// anonymous readers get (the audience most tiles are drawn for), so that no
// request waits for it. It runs before the catalog is published, so the
// keepers map is not written once readers exist.
func (ts *tileService) wire(c *layers.Catalog, anonymous func() (view, bool)) {
	if v, ok := anonymous(); ok {
		ts.coarsenKm = v.Reader.PrecisionKm()
	}
	ts.keepers = map[string]*ptindex.Keeper{}
	ts.live = map[string]*layers.Layer{}
	for _, l := range c.Layers() {
		ts.live[l.ID] = l
		var k *ptindex.Keeper
		if spec, ok := clusterSpecOf(l); ok && ts.cfg.ClusterMaxZoom > 0 {
			k = ptindex.NewKeeper(l, spec.describe)
			id := l.ID
			k.OnBuilt = func(n int, took time.Duration) {
				ts.log.Info("point index built", "layer", id, "n", n, "took", took.Round(time.Millisecond))
				if v, ok := anonymous(); ok && v.Reader.Hides() {
					show := func(f *layers.Feature) *layers.Feature { return v.Placed(l, f) }
					k.BuildView(context.Background(), l.Snapshot(), v.Key, show)
				}
			}
			k.OnView = func(key string, n int, took time.Duration) {
				ts.log.Info("point index view built", "layer", id, "audience", key, "n", n, "took", took.Round(time.Millisecond))
			}
			ts.keepers[l.ID] = k
		}
		// The keeper, subscribed first, has the change in its index
		// before any tile it touches is dropped.
		l.Subscribe(func(ch layers.Change) { ts.invalidate(l, ch) })
	}
	// Builds start once the maps are complete: their callbacks read them.
	for _, k := range ts.keepers {
		k.Refresh()
	}
}

// indexed returns the keeper of l's point index, or nil when l has none
// to use: a past layer (asof) has none, since versions would collide.
func (ts *tileService) indexed(l *layers.Layer) *ptindex.Keeper {
	if ts.noIndex || ts.live[l.ID] != l {
		return nil
	}
	return ts.keepers[l.ID]
}

// index returns the point index of l's snapshot s, or nil while it builds.
func (ts *tileService) index(l *layers.Layer, s *layers.Snapshot) *ptindex.Index {
	if k := ts.indexed(l); k != nil {
		return k.For(s)
	}
	return nil
}

// viewIndex returns the point index of l's snapshot s as reader v sees it,
// or nil while it builds.
func (ts *tileService) viewIndex(l *layers.Layer, s *layers.Snapshot, v view) *ptindex.Index {
	k := ts.indexed(l)
	if k == nil || !v.Reader.Hides() {
		return ts.index(l, s)
	}
	return k.View(s, v.Key, func(f *layers.Feature) *layers.Feature { return v.Placed(l, f) })
}

// clustered reports whether layer l is drawn as clusters at zoom z.
func (ts *tileService) clustered(l *layers.Layer, z maptile.Zoom) bool {
	_, ok := ts.keepers[l.ID]
	return ok && int(z) < ts.cfg.ClusterMaxZoom
}

// invalidate drops the cached tiles that the old or new bound of a changed
// feature touches: at plain zooms, the tiles whose buffered bound meets it;
// at cluster zooms, the tiles whose cluster grid holds a cell the bound
// meets, since every cluster decided from those counts may change.
func (ts *tileService) invalidate(l *layers.Layer, ch layers.Change) {
	var bounds []orb.Bound
	for _, fs := range [][]*layers.Feature{ch.Old, ch.New} {
		for _, f := range fs {
			if f != nil && f.Geometry != nil {
				bounds = append(bounds, f.Bound)
			}
		}
	}
	if len(bounds) == 0 {
		return
	}
	if ts.coarsenKm > 0 {
		// Anonymous readers see coarsened points up to a grid cell away.
		for i, b := range bounds {
			bounds[i] = growKm(b, ts.coarsenKm)
		}
	}
	ts.cache.Invalidate(l.ID, func(t maptile.Tile) bool {
		clustered := ts.clustered(l, t.Z)
		tb := tile.BufferedBound(t)
		for _, b := range bounds {
			if clustered && tile.GridTouches(t, b) || !clustered && tb.Intersects(b) {
				return true
			}
		}
		return false
	})
}
