// Package ptindex keeps, per layer, the point features of one snapshot in
// Morton (Z-order) order with the few values clustering needs stored inline.
// Every clustering cell at every zoom is then one contiguous, cache-friendly
// run of entries, so a low-zoom tile over hundreds of thousands of reports is
// one linear pass instead of an R-tree walk that chases a pointer per point.
package ptindex

import (
	"context"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paulmach/orb"

	"troopmap/geo"
	"troopmap/layers"
)

// Entry is one point feature.
type Entry struct {
	Code       uint64 // Morton code of (QX, QY)
	QX, QY     uint32 // quantised position (tile.Quantize)
	Start, End int64  // Unix ns; noTime when the feature has none
	F          *layers.Feature
	Weight     float64 // summed by clusters (e.g. personnel best)
	Cat        int8    // category index (e.g. side), -1 for none
}

const noTime = math.MinInt64

// Index is the immutable set of point entries of one snapshot version: a
// sorted core with its prefix sums, shared between versions, and the delta
// of the changes since the core was built.
type Index struct {
	Version uint64
	entries []Entry // the core, in code order
	sums    sums
	core    *core
	delta   *delta // nil when the core is the whole index
	// Others are the features with a geometry other than a point, in id
	// order; they are few in report layers and are drawn unclustered.
	Others []*layers.Feature
}

// Len returns the number of point entries.
func (ix *Index) Len() int {
	if ix.delta == nil {
		return len(ix.entries)
	}
	return len(ix.entries) - len(ix.delta.removed) + len(ix.delta.added)
}

func cmp(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Overlaps is geo.Interval.Overlaps on the entry's inline times.
func (e *Entry) Overlaps(lo, hi int64) bool {
	if e.Start == noTime && e.End == noTime {
		return true
	}
	s, t := e.Start, e.End
	if t == noTime {
		t = s
	}
	if s == noTime {
		s = t
	}
	return t >= lo && s <= hi
}

// StartNs returns the start time in Unix ns, 0 when there is none.
func (e *Entry) StartNs() int64 {
	if e.Start == noTime {
		return 0
	}
	return e.Start
}

// Bounds turns an interval into the inclusive Unix ns limits Overlaps takes.
func Bounds(iv geo.Interval) (int64, int64) {
	lo, hi := int64(math.MinInt64+1), int64(math.MaxInt64)
	if !iv.Start.IsZero() {
		lo = unixNano(iv.Start)
	}
	if !iv.End.IsZero() {
		hi = unixNano(iv.End)
	}
	return lo, hi
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return noTime
	}
	// Clamp times outside int64 nanoseconds (years before 1678 or after 2262).
	if t.Year() < 1679 {
		return math.MinInt64 + 1
	}
	if t.Year() > 2261 {
		return math.MaxInt64
	}
	return t.UnixNano()
}

// Describe extracts a feature's weight and category for clusters.
type Describe func(f *layers.Feature) (weight float64, cat int8)

// Build indexes the point features of a snapshot. It checks ctx every few
// thousand features.
func Build(ctx context.Context, s *layers.Snapshot, describe Describe) (*Index, error) {
	ix := &Index{Version: s.Version(), entries: make([]Entry, 0, s.Len()), core: &core{version: s.Version()}}
	var err error
	i := 0
	s.All(func(f *layers.Feature) bool {
		if i++; i&4095 == 0 && ctx.Err() != nil {
			err = ctx.Err()
			return false
		}
		p, ok := f.Geometry.(orb.Point)
		if !ok {
			if f.Geometry != nil {
				ix.Others = append(ix.Others, f)
			}
			return true
		}
		ix.entries = append(ix.entries, entryOf(f, p, describe))
		return true
	})
	if err != nil {
		return nil, err
	}
	// All visits in id order and the sort is stable, so equal codes stay in
	// id order: the index is a pure function of the snapshot.
	slices.SortStableFunc(ix.entries, func(a, b Entry) int { return cmp(a.Code, b.Code) })
	ix.buildSums()
	return ix, nil
}

// Keeper holds the index of one layer's latest snapshot. It follows the
// layer's changes as deltas and rebuilds in the background when a change is
// too large for that or the delta has grown. It never hands out an index of
// another version than asked for. It is safe for concurrent use.
type Keeper struct {
	layer    *layers.Layer
	describe Describe
	cur      atomic.Pointer[Index]
	mu       sync.Mutex
	building bool
	log      []layers.Change // changes seen while a build runs, replayed onto it
	views    views
	// OnBuilt, when set before use, is told how long each build took;
	// OnView likewise for each audience's view.
	OnBuilt func(n int, took time.Duration)
	OnView  func(key string, n int, took time.Duration)
}

// NewKeeper returns a keeper for l, subscribed to its changes; nothing is
// built until Refresh or Wait. Like Subscribe, it belongs to start-up
// wiring and must not run concurrently with writes to l.
func NewKeeper(l *layers.Layer, describe Describe) *Keeper {
	k := &Keeper{layer: l, describe: describe}
	l.Subscribe(k.apply)
	return k
}

// For returns the index of snapshot s, or nil when there is none yet (the
// first build runs, or s was published an instant before its change
// reached the keeper).
func (k *Keeper) For(s *layers.Snapshot) *Index {
	if ix := k.cur.Load(); ix != nil && ix.Version == s.Version() {
		return ix
	}
	return nil
}

// apply follows one published change: as a delta when it can, else by a
// rebuild. It runs in the writer's goroutine, so it only copies the delta.
func (k *Keeper) apply(ch layers.Change) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.building {
		k.log = append(k.log, ch)
	}
	if cur := k.cur.Load(); cur != nil {
		if nx, ok := cur.apply(ch, k.describe); ok {
			k.cur.Store(nx)
			if nx.delta.size() < maxDelta/2 {
				return
			}
		}
	}
	k.startBuild()
}

// Refresh starts a background build unless one is running or the index is
// current.
func (k *Keeper) Refresh() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if ix := k.cur.Load(); ix != nil && ix.Version == k.layer.Snapshot().Version() && ix.delta == nil {
		return
	}
	k.startBuild()
}

func (k *Keeper) startBuild() {
	if k.building {
		return
	}
	k.building = true
	k.log = nil
	go k.build()
}

func (k *Keeper) build() {
	for {
		s := k.layer.Snapshot()
		start := time.Now()
		ix, err := Build(context.Background(), s, k.describe)
		k.mu.Lock()
		ok := err == nil
		// Catch up with what was published during the build.
		for i := 0; ok && i < len(k.log); i++ {
			if ch := k.log[i]; ch.Version > ix.Version {
				ix, ok = ix.apply(ch, k.describe)
			}
		}
		k.log = nil
		if ok && ix.Version == k.layer.Snapshot().Version() {
			k.cur.Store(ix)
			k.building = false
			k.mu.Unlock()
			if k.OnBuilt != nil {
				k.OnBuilt(ix.Len(), time.Since(start))
			}
			return
		}
		k.mu.Unlock()
	}
}

// Wait blocks until the index matches the layer's current snapshot or ctx
// ends; for start-up and tests.
func (k *Keeper) Wait(ctx context.Context) error {
	for {
		if ix := k.cur.Load(); ix != nil && ix.Version == k.layer.Snapshot().Version() {
			return nil
		}
		k.Refresh()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}
