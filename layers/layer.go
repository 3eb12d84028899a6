package layers

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paulmach/orb"
	"github.com/tidwall/btree"
	"github.com/tidwall/rtree"

	"troopmap/geo"
)

// Kind says where a layer's features come from.
type Kind string

const (
	KindArea    Kind = "area"    // shipped boundary layers
	KindReports Kind = "reports" // analysts' reports, writable
	KindDerived Kind = "derived" // computed from other layers, read-only
)

// Meta describes a layer. It does not change after the layer is created.
type Meta struct {
	ID          string
	Title       string
	Description string
	Kind        Kind
	// TimeKeys name the properties holding a feature's start and end time.
	TimeKeys    []string
	MinZoom     int
	MaxZoom     int
	Attribution string
	// Zone marks an area layer whose id reports carry in their zones
	// property when they lie in it; /stats/zones reports per zone layer.
	Zone bool
	// Window, when set, cuts a feature to a query's time window: the
	// movements layer keeps only the part of a track whose reports fall in
	// it. It returns nil when nothing is left and never changes f. Queries
	// with a datetime apply it (Snapshot.Query); other output paths call
	// Snapshot.Windowed.
	Window func(f *Feature, iv geo.Interval) *Feature
	// ForReader, set on derived layers, rebuilds f from its source reports
	// as one reader sees them: show is the reader's view (the report as
	// they may see it, or nil when hidden). It returns f itself when the
	// reader sees every source report unchanged, and nil when nothing is
	// left. The reader's view calls it so that a derived feature never
	// shows a report, a position or a name the reader may not see.
	ForReader func(f *Feature, show func(*Layer, *Feature) *Feature) *Feature
}

// Layer holds features behind an immutable snapshot. Readers call Snapshot and
// may use it for as long as they like; writers go through Update, which copies
// the indexes (cheaply, copy-on-write), changes the copy and publishes it.
// Layer is safe for concurrent use.
type Layer struct {
	Meta
	snap atomic.Pointer[Snapshot]
	mu   sync.Mutex // serialises writers
	subs []func(Change)
	// schema is the report schema of the layer, built once: it is asked
	// for on every request that takes filters.
	schema struct {
		once sync.Once
		s    Schema
		ok   bool
	}
}

// Schema returns the report schema of the layer's collection; ok is false
// for layers that take no reports.
func (l *Layer) Schema() (Schema, bool) {
	l.schema.once.Do(func() { l.schema.s, l.schema.ok = ReportSchema(l.ID) })
	return l.schema.s, l.schema.ok
}

// Change describes one published update: the features replaced or removed
// (Old, nil when created) and their new state (New, nil when removed).
type Change struct {
	Layer    string
	Version  uint64
	Old, New []*Feature
}

// NewLayer returns an empty layer.
func NewLayer(m Meta) *Layer {
	l := &Layer{Meta: m}
	s := newSnapshot()
	s.window = m.Window
	l.snap.Store(s)
	return l
}

// Snapshot returns the current immutable view of the layer.
func (l *Layer) Snapshot() *Snapshot { return l.snap.Load() }

// Subscribe registers fn to be called, in the writer's goroutine and after
// publication, for every Update that changed something. fn must be quick and
// must not call Update. Subscribe is meant for wiring at start-up and is not
// safe to call concurrently with Update.
func (l *Layer) Subscribe(fn func(Change)) { l.subs = append(l.subs, fn) }

// Update runs fn on a writable copy of the current snapshot and publishes it
// if fn returns nil. If fn fails, nothing is published. Writers are
// serialised; readers are never blocked.
func (l *Layer) Update(fn func(w *Writer) error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	cur := l.snap.Load()
	w := &Writer{s: cur.copy(), layer: l.ID}
	if err := fn(w); err != nil {
		return err
	}
	if len(w.old) == 0 && len(w.new) == 0 {
		return nil
	}
	w.s.version = cur.version + 1
	l.snap.Store(w.s)
	ch := Change{Layer: l.ID, Version: w.s.version, Old: w.old, New: w.new}
	for _, fn := range l.subs {
		fn(ch)
	}
	return nil
}

// Load replaces the layer's content with fs, for start-up loading.
func (l *Layer) Load(fs []*Feature) error {
	return l.Update(func(w *Writer) error {
		for _, f := range fs {
			if err := w.Put(f); err != nil {
				return err
			}
		}
		return nil
	})
}

// Snapshot is an immutable view of a layer's features, indexed by bound (an
// R-tree) and by id (a B-tree, which also gives the stable default order).
type Snapshot struct {
	version uint64
	tree    *rtree.RTreeG[*Feature]
	ids     *btree.BTreeG[*Feature]
	noGeom  int
	window  func(*Feature, geo.Interval) *Feature

	extentOnce sync.Once
	extent     Extent
}

// Extent is a snapshot's spatial and temporal extent.
type Extent struct {
	Bound      orb.Bound
	HasBound   bool
	Start, End time.Time
}

func byID(a, b *Feature) bool { return a.ID < b.ID }

func newSnapshot() *Snapshot {
	return &Snapshot{
		tree: &rtree.RTreeG[*Feature]{},
		ids:  btree.NewBTreeGOptions(byID, btree.Options{NoLocks: true}),
	}
}

func (s *Snapshot) copy() *Snapshot {
	return &Snapshot{version: s.version, tree: s.tree.Copy(), ids: s.ids.Copy(), noGeom: s.noGeom, window: s.window}
}

// Version increases by one with every published update; it suits cache keys.
func (s *Snapshot) Version() uint64 { return s.version }

// Len returns the number of features.
func (s *Snapshot) Len() int { return s.ids.Len() }

// Get returns the feature with the given id.
func (s *Snapshot) Get(id string) (*Feature, bool) {
	return s.ids.Get(&Feature{ID: id})
}

// All calls fn for every feature in id order until fn returns false.
func (s *Snapshot) All(fn func(*Feature) bool) { s.ids.Scan(fn) }

// Search calls fn for every feature with geometry whose bound intersects b,
// in no particular order, until fn returns false.
func (s *Snapshot) Search(b orb.Bound, fn func(*Feature) bool) {
	s.tree.Search(b.Min, b.Max, func(_, _ [2]float64, f *Feature) bool { return fn(f) })
}

// Nearby calls fn with features in increasing order of distance until fn
// returns false. dist is called with f == nil for a node's box, where it must
// not exceed the distance of any feature inside the box, and with the
// feature itself for an item. It is a best-first search of the R-tree: only
// the boxes nearer than the last feature returned are opened.
func (s *Snapshot) Nearby(dist func(min, max [2]float64, f *Feature) float64, fn func(f *Feature, d float64) bool) {
	s.tree.Nearby(func(min, max [2]float64, f *Feature, item bool) float64 {
		if !item {
			f = nil
		}
		return dist(min, max, f)
	},
		func(_, _ [2]float64, f *Feature, d float64) bool { return fn(f, d) })
}

// Windowed returns f cut to the time window iv by the layer's Meta.Window:
// f itself when the layer has none or iv is open, nil when nothing is left.
func (s *Snapshot) Windowed(f *Feature, iv geo.Interval) *Feature {
	if s.window == nil || iv.IsZero() {
		return f
	}
	return s.window(f, iv)
}

// Extent returns the spatial and temporal extent, computed once per snapshot.
func (s *Snapshot) Extent() Extent {
	s.extentOnce.Do(func() {
		var e Extent
		if s.tree.Len() > 0 {
			min, max := s.tree.Bounds()
			e.Bound, e.HasBound = orb.Bound{Min: min, Max: max}, true
		}
		s.ids.Scan(func(f *Feature) bool {
			if !f.Start.IsZero() && (e.Start.IsZero() || f.Start.Before(e.Start)) {
				e.Start = f.Start
			}
			end := f.End
			if end.IsZero() {
				end = f.Start
			}
			if !end.IsZero() && end.After(e.End) {
				e.End = end
			}
			return true
		})
		s.extent = e
	})
	return s.extent
}

// Add returns the extent grown to cover f.
func (e Extent) Add(f *Feature) Extent {
	if f.Geometry != nil {
		if e.HasBound {
			e.Bound = e.Bound.Union(f.Bound)
		} else {
			e.Bound, e.HasBound = f.Bound, true
		}
	}
	if !f.Start.IsZero() && (e.Start.IsZero() || f.Start.Before(e.Start)) {
		e.Start = f.Start
	}
	end := f.End
	if end.IsZero() {
		end = f.Start
	}
	if !end.IsZero() && end.After(e.End) {
		e.End = end
	}
	return e
}

// Writer changes a private copy of a snapshot inside Layer.Update.
type Writer struct {
	s     *Snapshot
	layer string
	old   []*Feature
	new   []*Feature
}

// Get returns the feature with the given id as the writer currently sees it.
func (w *Writer) Get(id string) (*Feature, bool) { return w.s.Get(id) }

// Put inserts f, replacing any feature with the same id. f must not be
// changed afterwards.
func (w *Writer) Put(f *Feature) error {
	if f.ID == "" {
		return fmt.Errorf("layer %q: feature without id", w.layer)
	}
	old, _ := w.remove(f.ID)
	w.s.ids.Set(f)
	if f.Geometry != nil {
		w.s.tree.Insert(f.Bound.Min, f.Bound.Max, f)
	} else {
		w.s.noGeom++
	}
	w.old = append(w.old, old)
	w.new = append(w.new, f)
	return nil
}

// Delete removes the feature with the given id and reports whether it existed.
func (w *Writer) Delete(id string) bool {
	old, ok := w.remove(id)
	if ok {
		w.old = append(w.old, old)
		w.new = append(w.new, nil)
	}
	return ok
}

func (w *Writer) remove(id string) (*Feature, bool) {
	old, ok := w.s.ids.Delete(&Feature{ID: id})
	if !ok {
		return nil, false
	}
	if old.Geometry != nil {
		w.s.tree.Delete(old.Bound.Min, old.Bound.Max, old)
	} else {
		w.s.noGeom--
	}
	return old, true
}
