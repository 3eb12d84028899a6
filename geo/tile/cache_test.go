package tile

import (
	"testing"

	"github.com/paulmach/orb/maptile"
)

func TestCacheEvictsByBytesAndRefusesStalePuts(t *testing.T) {
	c := NewCache(3 * (1000 + 256))
	key := func(x uint32) Key { return Key{Layers: "a", Tile: maptile.New(x, 0, 5)} }
	entry := func() *Entry { return &Entry{Data: make([]byte, 1000), ETag: `"x"`} }
	for x := range uint32(3) {
		if !c.Put(key(x), entry(), []string{"a"}, c.Generation([]string{"a"})) {
			t.Fatal("put refused")
		}
	}
	c.Get(key(0)) // 0 is now the most recent; 1 the least
	c.Put(key(3), entry(), []string{"a"}, c.Generation([]string{"a"}))
	if c.Has(key(1)) || !c.Has(key(0)) || !c.Has(key(3)) || c.Stats().Entries != 3 {
		t.Fatalf("LRU kept the wrong entries: %+v", c.Stats())
	}
	gen := c.Generation([]string{"a", "b"})
	if n := c.Invalidate("b", func(maptile.Tile) bool { return true }); n != 0 {
		t.Errorf("invalidating layer b dropped %d tiles of layer a", n)
	}
	if c.Put(key(9), entry(), []string{"a", "b"}, gen) {
		t.Error("a tile built before an invalidation was cached")
	}
	if n := c.Invalidate("a", func(tl maptile.Tile) bool { return tl.X == 3 }); n != 1 || c.Has(key(3)) || !c.Has(key(0)) {
		t.Errorf("invalidate dropped %d", n)
	}
}
