package tile

import (
	"container/list"
	"sync"

	"github.com/paulmach/orb/maptile"
)

// Key names one cached tile: the layer list as requested, the tile, and a
// variant that folds in everything else the bytes depend on (the reader's
// audience and the canonical query string).
type Key struct {
	Layers  string
	Tile    maptile.Tile
	Variant string
}

// Entry is a cached tile. Its fields must not be changed once stored.
type Entry struct {
	Data    []byte // uncompressed MVT; empty for an empty tile
	Gzip    []byte // gzipped Data, filled on first demand (see Cache.Gzip)
	ETag    string // strong ETag of Data, quoted
	Dropped map[string]int
	layers  []string
}

func (e *Entry) size() int64 { return int64(len(e.Data)+len(e.Gzip)) + 256 }

// Cache is an LRU of encoded tiles, bounded by bytes, that can drop exactly
// the tiles a change touches. It is safe for concurrent use.
type Cache struct {
	mu      sync.Mutex
	max     int64
	size    int64
	lru     *list.List // front: most recent; values are *item
	items   map[Key]*list.Element
	byLayer map[string]map[Key]struct{}
	gen     map[string]uint64 // per layer, bumped by every invalidation
	hits    uint64
	misses  uint64
}

type item struct {
	key   Key
	entry *Entry
}

// NewCache returns a cache holding at most maxBytes of tiles; maxBytes <= 0
// disables caching.
func NewCache(maxBytes int64) *Cache {
	return &Cache{max: maxBytes, lru: list.New(), items: map[Key]*list.Element{},
		byLayer: map[string]map[Key]struct{}{}, gen: map[string]uint64{}}
}

// Generation returns a token that changes whenever any of the layers is
// invalidated. Take it before reading the layers' snapshots and pass it to
// Put, so that a tile built from data a concurrent write has since changed
// is not cached.
func (c *Cache) Generation(layers []string) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.genOf(layers)
}

// genOf sums the layers' counters: they only grow, so any invalidation
// changes the sum.
func (c *Cache) genOf(layers []string) uint64 {
	var g uint64
	for _, l := range layers {
		g += c.gen[l]
	}
	return g
}

// Get returns the cached entry for k.
func (c *Cache) Get(k Key) (*Entry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[k]
	if !ok {
		c.misses++
		return nil, false
	}
	c.hits++
	c.lru.MoveToFront(el)
	return el.Value.(*item).entry, true
}

// Put stores e under k unless one of layers was invalidated since gen was
// taken. It reports whether it stored the entry.
func (c *Cache) Put(k Key, e *Entry, layers []string, gen uint64) bool {
	if c.max <= 0 {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.genOf(layers) != gen || e.size() > c.max {
		return false
	}
	if el, ok := c.items[k]; ok {
		c.remove(el)
	}
	e.layers = layers
	c.items[k] = c.lru.PushFront(&item{key: k, entry: e})
	c.size += e.size()
	for _, l := range layers {
		m := c.byLayer[l]
		if m == nil {
			m = map[Key]struct{}{}
			c.byLayer[l] = m
		}
		m[k] = struct{}{}
	}
	for c.size > c.max {
		c.remove(c.lru.Back())
	}
	return true
}

// SetGzip records the gzipped form of a cached entry's data and returns the
// entry to use from now on (a copy: entries are immutable).
func (c *Cache) SetGzip(k Key, e *Entry, gz []byte) *Entry {
	n := *e
	n.Gzip = gz
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[k]; ok && el.Value.(*item).entry == e {
		c.size += n.size() - e.size()
		el.Value.(*item).entry = &n
		for c.size > c.max {
			c.remove(c.lru.Back())
		}
	}
	return &n
}

func (c *Cache) remove(el *list.Element) {
	it := el.Value.(*item)
	c.lru.Remove(el)
	delete(c.items, it.key)
	c.size -= it.entry.size()
	for _, l := range it.entry.layers {
		delete(c.byLayer[l], it.key)
	}
}

// Invalidate drops every cached tile containing layer for which affected
// returns true, and returns how many it dropped. Every later Put of a tile
// built before this call is refused (see Generation).
func (c *Cache) Invalidate(layer string, affected func(maptile.Tile) bool) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen[layer]++
	n := 0
	for k := range c.byLayer[layer] {
		if affected(k.Tile) {
			c.remove(c.items[k])
			n++
		}
	}
	return n
}

// Stats reports the cache's use.
type Stats struct {
	Entries      int
	Bytes        int64
	Hits, Misses uint64
}

// Stats returns the current counts.
func (c *Cache) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Stats{Entries: len(c.items), Bytes: c.size, Hits: c.hits, Misses: c.misses}
}

// Has reports whether k is cached, without touching the LRU order.
func (c *Cache) Has(k Key) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.items[k]
	return ok
}
