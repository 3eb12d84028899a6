package layers

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/paulmach/orb"
	"github.com/tidwall/rtree"

	"troopmap/geo"
)

// The report properties that Places derives.
const (
	PropZones    = "zones"
	PropAdmin1   = "admin1"
	PropBorderKm = "border_distance_km"
)

// Location is what the server derives about a report's place.
type Location struct {
	Zones    []string // ids of the zone layers that intersect the geometry, sorted
	Admin1   string   // ISO 3166-2 code of the oblast holding the representative point
	BorderKm float64  // ground distance from the representative point to the land border
	HasAdmin bool
	// HasBorder is false when no border lines are configured.
	HasBorder bool
}

// SetOn writes the location into report properties: zones (always, [] when
// none), admin1 and border_distance_km (removed when unknown). props must be
// a private copy, not a published feature's map.
func (loc Location) SetOn(props map[string]any) {
	zones := make([]any, len(loc.Zones))
	for i, z := range loc.Zones {
		zones[i] = z
	}
	props[PropZones] = zones
	if loc.HasAdmin {
		props[PropAdmin1] = loc.Admin1
	} else {
		delete(props, PropAdmin1)
	}
	if loc.HasBorder {
		props[PropBorderKm] = round(loc.BorderKm, 1)
	} else {
		delete(props, PropBorderKm)
	}
}

// Places locates geometries against the area layers: which zones intersect
// them, which oblast holds them and how far they are from the border. It
// keeps a point-in-polygon index over the area layers (R-trees of prepared
// polygons), rebuilt lazily whenever one of the layers publishes a new
// snapshot, so edits to area layers are seen at once. It is safe for
// concurrent use.
type Places struct {
	zones   []*Layer
	oblasts *Layer
	borders rtree.RTreeG[[2]orb.Point]
	nborder int

	mu  sync.Mutex // serialises index rebuilds
	idx atomic.Pointer[placeIndex]
}

// placeIndex is the prepared form of the area layers at given versions.
type placeIndex struct {
	versions []uint64 // of zones..., then oblasts
	zones    []zoneIndex
	oblasts  rtree.RTreeG[*preparedArea]
}

type zoneIndex struct {
	id   string
	tree rtree.RTreeG[*preparedArea]
}

type preparedArea struct {
	id   string
	code string // iso_3166_2, for oblasts
	*geo.Prepared
}

// NewPlaces builds a locator over zone layers, the oblasts layer (features
// carrying iso_3166_2) and the land border lines.
func NewPlaces(zones []*Layer, oblasts *Layer, borders []*Feature) *Places {
	p := &Places{zones: zones, oblasts: oblasts}
	for _, f := range borders {
		var lines []orb.LineString
		switch g := f.Geometry.(type) {
		case orb.LineString:
			lines = append(lines, g)
		case orb.MultiLineString:
			lines = append(lines, g...)
		}
		for _, ls := range lines {
			for i := 1; i < len(ls); i++ {
				b := orb.LineString{ls[i-1], ls[i]}.Bound()
				p.borders.Insert(b.Min, b.Max, [2]orb.Point{ls[i-1], ls[i]})
				p.nborder++
			}
		}
	}
	return p
}

// Layers returns the area layers Places depends on: the zones, then the
// oblasts when configured.
func (p *Places) Layers() []*Layer {
	out := slices.Clone(p.zones)
	if p.oblasts != nil {
		out = append(out, p.oblasts)
	}
	return out
}

// index returns the prepared index for the layers' current snapshots.
func (p *Places) index() *placeIndex {
	ls := p.Layers()
	current := func(ix *placeIndex) bool {
		if ix == nil {
			return false
		}
		for i, l := range ls {
			if l.Snapshot().Version() != ix.versions[i] {
				return false
			}
		}
		return true
	}
	if ix := p.idx.Load(); current(ix) {
		return ix
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if ix := p.idx.Load(); current(ix) {
		return ix
	}
	ix := &placeIndex{}
	prep := func(s *Snapshot, tree *rtree.RTreeG[*preparedArea]) {
		s.All(func(f *Feature) bool {
			if pg, ok := geo.Prepare(f.Geometry); ok {
				code, _ := f.Props.String("iso_3166_2")
				tree.Insert(pg.Bound.Min, pg.Bound.Max, &preparedArea{id: f.ID, code: code, Prepared: pg})
			}
			return true
		})
	}
	for _, z := range p.zones {
		s := z.Snapshot()
		ix.versions = append(ix.versions, s.Version())
		zi := zoneIndex{id: z.ID}
		prep(s, &zi.tree)
		ix.zones = append(ix.zones, zi)
	}
	if p.oblasts != nil {
		s := p.oblasts.Snapshot()
		ix.versions = append(ix.versions, s.Version())
		prep(s, &ix.oblasts)
	}
	p.idx.Store(ix)
	return ix
}

// Locate derives a geometry's zones, oblast and border distance. Zones use
// intersection, the oblast and the distance use the representative point. A
// point on a zone's edge is in the zone; a point on the edge between two
// oblasts gets the one whose code sorts first.
func (p *Places) Locate(g orb.Geometry) Location {
	var loc Location
	if g == nil {
		return loc
	}
	ix := p.index()
	b := g.Bound()
	for _, z := range ix.zones {
		hit := false
		z.tree.Search(b.Min, b.Max, func(_, _ [2]float64, a *preparedArea) bool {
			hit = a.Intersects(g)
			return !hit
		})
		if hit {
			loc.Zones = append(loc.Zones, z.id)
		}
	}
	slices.Sort(loc.Zones)
	rp, ok := geo.RepresentativePoint(g)
	if !ok {
		return loc
	}
	ix.oblasts.Search(rp, rp, func(_, _ [2]float64, a *preparedArea) bool {
		if a.code != "" && (!loc.HasAdmin || a.code < loc.Admin1) && a.ContainsPoint(rp) {
			loc.Admin1, loc.HasAdmin = a.code, true
		}
		return true
	})
	if p.nborder > 0 {
		loc.BorderKm, loc.HasBorder = p.borderKm(rp), true
	}
	return loc
}

// borderKm finds the nearest border segment by a best-first walk of the
// segments' R-tree. Boxes and segments are measured in the same local
// flat-earth frame around pt (that of geo.SegmentDistanceKm), so a box is
// never farther than the segments inside it and the first segment reached
// is the nearest.
func (p *Places) borderKm(pt orb.Point) float64 {
	k := math.Cos(pt[1] * math.Pi / 180)
	best := math.Inf(1)
	p.borders.Nearby(func(min, max [2]float64, s [2]orb.Point, item bool) float64 {
		if item {
			return geo.SegmentDistanceKm(pt, s[0], s[1])
		}
		dx := math.Max(0, math.Max(min[0]-pt[0], pt[0]-max[0])) * k
		dy := math.Max(0, math.Max(min[1]-pt[1], pt[1]-max[1]))
		return math.Hypot(dx, dy) * geo.KmPerDegree
	}, func(_, _ [2]float64, _ [2]orb.Point, d float64) bool {
		best = d
		return false
	})
	return best
}

// Relocated returns f with zones, admin1 and border_distance_km derived
// afresh, and whether they changed; f itself when they did not. f is not
// changed.
func (p *Places) Relocated(f *Feature) (*Feature, bool) {
	if f.Geometry == nil {
		return f, false
	}
	set := map[string]any{}
	p.Locate(f.Geometry).SetOn(set)
	np := f.Props.Edit(set, PropZones, PropAdmin1, PropBorderKm)
	if np == f.Props {
		return f, false
	}
	nf := *f
	nf.Props = np
	return &nf, true
}

// relocateBatch bounds how many reports one Update publishes, so that a
// pass over a large layer never holds writers up for long.
const relocateBatch = 1000

// RelocateAll derives the place fields of every report in l afresh and
// publishes the reports whose fields changed. The work is done outside the
// layer's writer lock; a report written meanwhile was located by its
// writer against the current areas and is left alone. It returns the number
// of reports changed.
func (p *Places) RelocateAll(ctx context.Context, l *Layer) (int, error) {
	type swap struct{ old, new *Feature }
	var batch []swap
	n := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := l.Update(func(w *Writer) error {
			for _, sw := range batch {
				// Features are immutable: the same pointer means the
				// report is unchanged since it was located.
				if cur, ok := w.Get(sw.old.ID); ok && cur == sw.old {
					if err := w.Put(sw.new); err != nil {
						return err
					}
					n++
				}
			}
			return nil
		})
		batch = batch[:0]
		return err
	}
	var err error
	i := 0
	l.Snapshot().All(func(f *Feature) bool {
		if i++; i&255 == 0 && ctx.Err() != nil {
			err = ctx.Err()
			return false
		}
		if nf, changed := p.Relocated(f); changed {
			batch = append(batch, swap{f, nf})
			if len(batch) >= relocateBatch {
				err = flush()
			}
		}
		return err == nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return n, fmt.Errorf("relocate %s: %w", l.ID, err)
	}
	return n, nil
}

// Watch runs pass whenever one of the area layers changes, so that zones,
// admin1 and border_distance_km always follow the areas; pass is
// Reports.Relocate (which persists), or RelocateAll over in-memory layers.
// Passes run in one background goroutine; changes that arrive during a
// pass are folded into one more pass. done, when not nil, is called after
// each pass. Watch subscribes to the area layers, so call it at start-up;
// it stops when ctx ends.
func (p *Places) Watch(ctx context.Context, pass func(context.Context) (int, error), done func(changed int, err error)) {
	kick := make(chan struct{}, 1)
	for _, a := range p.Layers() {
		a.Subscribe(func(Change) {
			select {
			case kick <- struct{}{}:
			default: // a pass is already due
			}
		})
	}
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-kick:
			}
			n, err := pass(ctx)
			if done != nil {
				done(n, err)
			}
		}
	}()
}

// RelocateLayers returns a pass for Watch over in-memory layers.
func (p *Places) RelocateLayers(ls ...*Layer) func(context.Context) (int, error) {
	return func(ctx context.Context) (int, error) {
		total := 0
		for _, l := range ls {
			n, err := p.RelocateAll(ctx, l)
			total += n
			if err != nil {
				return total, err
			}
		}
		return total, nil
	}
}
