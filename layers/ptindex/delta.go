package ptindex

import (
	"slices"
	"strings"

	"github.com/paulmach/orb"

	"troopmap/geo/tile"
	"troopmap/layers"
)

// A write must not cost a rebuild: sorting a million entries takes seconds,
// and cluster tiles would fall back to a full scan meanwhile. So a change
// is applied as a small delta on top of the sorted core (the entries and
// sums of the last build): points put since are kept sorted beside it, and
// core entries replaced or deleted since are skipped by id. A background
// rebuild folds the delta in once it grows past maxDelta.

// maxDelta is the delta size (and the largest change) applied in place;
// past it the keeper rebuilds.
const maxDelta = 8192

// core is the identity of one build's entries and sums, shared by every
// index derived from it by deltas.
type core struct{ version uint64 }

// delta is what changed since the core was built.
type delta struct {
	added   []Entry             // points put since, in code order
	removed []Entry             // core entries replaced or deleted since, in code order
	gone    map[string]struct{} // ids of the removed core entries
}

func (d *delta) size() int {
	if d == nil {
		return 0
	}
	return len(d.added) + len(d.removed)
}

// entryOf files a point feature.
func entryOf(f *layers.Feature, p orb.Point, describe Describe) Entry {
	qx, qy := tile.Quantize(p)
	e := Entry{Code: tile.Morton(qx, qy), QX: qx, QY: qy, Start: unixNano(f.Start), End: unixNano(f.End), F: f, Cat: -1}
	e.Weight, e.Cat = describe(f)
	return e
}

// apply returns the index of the snapshot after ch, or false when ch does
// not follow ix or is too large to apply in place.
func (ix *Index) apply(ch layers.Change, describe Describe) (*Index, bool) {
	if ch.Version != ix.Version+1 || len(ch.Old)+len(ch.New)+ix.delta.size() > maxDelta {
		return nil, false
	}
	nx := *ix
	nx.Version = ch.Version
	d := &delta{gone: map[string]struct{}{}}
	if ix.delta != nil {
		d.added = slices.Clone(ix.delta.added)
		d.removed = slices.Clone(ix.delta.removed)
		for id := range ix.delta.gone {
			d.gone[id] = struct{}{}
		}
	}
	nx.delta = d
	others := slices.Clone(ix.Others)
	for i := range ch.Old {
		if old := ch.Old[i]; old != nil && old.Geometry != nil {
			if _, isPoint := old.Geometry.(orb.Point); !isPoint {
				others = slices.DeleteFunc(others, func(f *layers.Feature) bool { return f == old })
			} else if j := slices.IndexFunc(d.added, func(e Entry) bool { return e.F == old }); j >= 0 {
				d.added = slices.Delete(d.added, j, j+1)
			} else if e, ok := ix.coreEntry(old); ok {
				d.removed = insertSorted(d.removed, e)
				d.gone[old.ID] = struct{}{}
			} else {
				return nil, false // not where it should be: rebuild
			}
		}
		if f := ch.New[i]; f != nil && f.Geometry != nil {
			if p, isPoint := f.Geometry.(orb.Point); isPoint {
				d.added = insertSorted(d.added, entryOf(f, p, describe))
			} else {
				j, _ := slices.BinarySearchFunc(others, f.ID, func(o *layers.Feature, id string) int { return strings.Compare(o.ID, id) })
				others = slices.Insert(others, j, f)
			}
		}
	}
	nx.Others = others
	return &nx, true
}

// coreEntry finds the core entry of feature f.
func (ix *Index) coreEntry(f *layers.Feature) (Entry, bool) {
	p := f.Geometry.(orb.Point)
	qx, qy := tile.Quantize(p)
	code := tile.Morton(qx, qy)
	i, j := ix.span(code, code)
	for k := i; k < j; k++ {
		if ix.entries[k].F == f {
			return ix.entries[k], true
		}
	}
	return Entry{}, false
}

func insertSorted(es []Entry, e Entry) []Entry {
	i, _ := slices.BinarySearchFunc(es, e.Code, func(x Entry, c uint64) int {
		if x.Code <= c {
			return -1 // after equal codes: arrival order among equals
		}
		return 1
	})
	return slices.Insert(es, i, e)
}

// inRange returns the entries of a code-ordered slice with codes in [lo, hi].
func inRange(es []Entry, lo, hi uint64) []Entry {
	i, j := spanOf(es, lo, hi)
	return es[i:j]
}

// Each calls fn for every entry with a code in [lo, hi]: the core's that
// are still current, then those added since. fn must not keep the pointer.
func (ix *Index) Each(lo, hi uint64, fn func(e *Entry)) {
	i, j := ix.span(lo, hi)
	d := ix.delta
	for k := i; k < j; k++ {
		e := &ix.entries[k]
		if d != nil && len(d.gone) > 0 {
			if _, gone := d.gone[e.F.ID]; gone {
				continue
			}
		}
		fn(e)
	}
	if d != nil {
		es := inRange(d.added, lo, hi)
		for k := range es {
			fn(&es[k])
		}
	}
}
