package web

import (
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"

	"troopmap/geo/tile"
	"troopmap/layers"
)

// tileService holds the tile cache and keeps it live: every committed
// change drops exactly the cached tiles whose content it can alter.
type tileService struct {
	cfg   TileConfig
	cache *tile.Cache
}

func newTileService(cfg TileConfig) *tileService {
	cfg = cfg.withDefaults()
	return &tileService{cfg: cfg, cache: tile.NewCache(cfg.CacheBytes)}
}

// wire subscribes to every layer of the catalog.
func (ts *tileService) wire(c *layers.Catalog) {
	for _, l := range c.Layers() {
		l.Subscribe(func(ch layers.Change) { ts.invalidate(l, ch) })
	}
}

// clustered reports whether layer l is drawn as clusters at zoom z.
func (ts *tileService) clustered(l *layers.Layer, z maptile.Zoom) bool {
	return l.Kind == layers.KindReports && ts.cfg.ClusterMaxZoom > 0 && int(z) < ts.cfg.ClusterMaxZoom
}

// invalidate drops the cached tiles that the old or new bound of a changed
// feature touches: at plain zooms, the tiles whose buffered bound meets it;
// at cluster zooms, the tiles whose buffered bound meets a cluster cell that
// the bound touches, since the whole cell's cluster moves.
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
	ts.cache.Invalidate(l.ID, func(t maptile.Tile) bool {
		tb := tile.BufferedBound(t)
		for _, b := range bounds {
			if ts.clustered(l, t.Z) {
				b = tile.CellCover(b, t.Z)
			}
			if tb.Intersects(b) {
				return true
			}
		}
		return false
	})
}
