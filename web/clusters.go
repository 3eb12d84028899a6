package web

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
	"github.com/paulmach/orb/maptile"

	"troopmap/geo"
	"troopmap/geo/tile"
	"troopmap/layers"
	"troopmap/layers/ptindex"
)

// clusterSpec says what a report layer's clusters aggregate: a count per
// value of one category property and the sum of one numeric property.
type clusterSpec struct {
	category string   // property counted per value, e.g. side
	values   []string // its vocabulary, in schema order (at most 8)
	weight   []string // path of the summed property
	sumName  string   // tile property holding the sum
	// countNames are the tile properties of the counts, {category}_{value}.
	countNames []string
}

func clusterSpecOf(l *layers.Layer) (clusterSpec, bool) {
	var cs clusterSpec
	switch l.ID {
	case layers.TroopConcentrations:
		cs = clusterSpec{category: "side", values: layers.Sides(),
			weight: []string{"strength", "personnel", "best"}, sumName: "personnel_best_sum"}
	case layers.Incidents:
		schema, _ := l.Schema()
		et, _ := schema.Field("event_type")
		cs = clusterSpec{category: "event_type", values: et.Enum,
			weight: []string{"fatalities", "best"}, sumName: "fatalities_best_sum"}
	default:
		return clusterSpec{}, false
	}
	for _, v := range cs.values {
		cs.countNames = append(cs.countNames, cs.category+"_"+v)
	}
	return cs, true
}

// describe returns the weight and category index of a feature.
func (cs clusterSpec) describe(f *layers.Feature) (float64, int8) {
	w, _ := f.Props.PathNumber(cs.weight...)
	v, _ := f.Props.String(cs.category)
	for i, x := range cs.values {
		if x == v && i < 8 {
			return w, int8(i)
		}
	}
	return w, -1
}

// fillGrid adds to every cell of grid the matching reports that reader v
// sees there, and returns the layer's non-point features (unfiltered).
func (s *Server) fillGrid(cx context.Context, l *layers.Layer, spec clusterSpec, grid *tile.Grid, q layers.Query, v view) ([]*layers.Feature, error) {
	snap := l.Snapshot()
	lo, hi := ptindex.Bounds(q.Time)
	var others []*layers.Feature
	// add takes one candidate point through the filters and the view.
	// Filters are judged on what the reader sees, so that a coarsened
	// reader cannot filter on a dropped property.
	coarsens := v.Reader.Coarsens()
	add := func(a *tile.Agg, f *layers.Feature, qx, qy uint32, w float64, cat int8, start int64) {
		// Without coarsening the reader's view moves nothing and filters
		// cannot name what it drops: test visibility, copy nothing.
		sf := f
		if coarsens {
			sf = v.Show(l, f)
		} else if !v.Visible(l, f) {
			sf = nil
		}
		if sf == nil {
			return
		}
		if q.Match != nil && !q.Match(sf) {
			return
		}
		if sf != f { // coarsened: cluster it where the reader sees it
			p, ok := sf.Geometry.(orb.Point)
			if !ok {
				return
			}
			qx, qy = tile.Quantize(p)
			a = grid.At(qx, qy)
		}
		if a == nil {
			return
		}
		a.Add(qx, qy, w, int(cat), start, start != 0, sf, 0)
	}
	// eachCell calls fill for every cell with its code range.
	eachCell := func(fill func(a *tile.Agg, clo, chi uint64)) error {
		for i := range grid.Cells {
			if err := cx.Err(); err != nil {
				return err
			}
			a := &grid.Cells[i]
			clo, chi := a.Cell.Range()
			fill(a, clo, chi)
		}
		return nil
	}
	// The reader's point index holds the points as the reader sees them.
	// Without filters a cell's cluster is a sum over one run of it.
	if ix := s.tiles.viewIndex(l, snap, v); ix != nil {
		unfiltered := q.Match == nil && q.Time.Start.IsZero() && q.Time.End.IsZero()
		err := eachCell(func(a *tile.Agg, clo, chi uint64) {
			if unfiltered {
				ix.Aggregate(clo, chi, a)
				return
			}
			ix.Each(clo, chi, func(e *ptindex.Entry) {
				if e.Overlaps(lo, hi) && (q.Match == nil || q.Match(e.F)) {
					e.AddTo(a)
				}
			})
		})
		return ix.Others, err
	}
	if ix := s.tiles.index(l, snap); ix != nil && !coarsens {
		// The reader's view is still being built: the full index, with
		// the view applied to each point.
		err := eachCell(func(a *tile.Agg, clo, chi uint64) {
			ix.Each(clo, chi, func(e *ptindex.Entry) {
				if e.Overlaps(lo, hi) {
					add(a, e.F, e.QX, e.QY, e.Weight, e.Cat, e.StartNs())
				}
			})
		})
		return ix.Others, err
	}
	// No index yet (start-up) or a coarsened reader: walk the R-tree.
	var cover orb.Bound
	for i, c := range grid.Cells {
		if i == 0 {
			cover = c.Cell.Bound()
		} else {
			cover = cover.Union(c.Cell.Bound())
		}
	}
	cover = pad(cover)
	if coarsens {
		cover = growKm(cover, v.Reader.PrecisionKm())
	}
	var err error
	n := 0
	snap.Search(cover, func(f *layers.Feature) bool {
		if n++; n&1023 == 0 && cx.Err() != nil {
			err = cx.Err()
			return false
		}
		p, ok := f.Geometry.(orb.Point)
		if !ok {
			others = append(others, f)
			return true
		}
		if !q.Time.Overlaps(f.Start, f.End) {
			return true
		}
		qx, qy := tile.Quantize(p)
		if a := grid.At(qx, qy); a != nil || coarsens {
			w, cat := spec.describe(f)
			add(a, f, qx, qy, w, cat, startNs(f))
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	return others, nil
}

// clusterLayer draws a point report layer at a cluster zoom: the reports
// are counted per grid cell and the cells joined into clusters (see
// tile.Grid.Clusters); a cluster of two or more reports becomes one feature
// at their mean position, a cluster of one shows that report. Non-point
// reports are drawn as they are.
func (s *Server) clusterLayer(cx context.Context, l *layers.Layer, spec clusterSpec, t maptile.Tile, q layers.Query, v view) (tile.Layer, error) {
	tl := tile.Layer{Name: l.ID}
	grid := s.tiles.grids.Get().(*tile.Grid)
	defer s.tiles.grids.Put(grid)
	grid.Reset(t)
	buffered := tile.BufferedBound(t)
	others, err := s.fillGrid(cx, l, spec, grid, q, v)
	if err != nil {
		return tl, err
	}
	withheld := v.Reader.Withheld(l)
	for _, cl := range grid.Clusters() {
		a := &cl.Agg
		c := a.Centroid()
		if !tile.InBuffer(t, c) {
			continue // drawn by the neighbouring tile
		}
		if a.N == 1 {
			// The point index keeps reports as placed, not as shown:
			// what the reader may not get (created_by) is left out here
			// rather than by a copy of each report.
			f := a.First.(*layers.Feature)
			tl.Features = append(tl.Features, tile.Feature{Geometry: f.Geometry, Props: tileProps(f, withheld)})
			continue
		}
		tl.Features = append(tl.Features, tile.Feature{ID: a.Cell.ID(), Geometry: c, Props: spec.props(a)})
	}
	// Lines and areas among reports are not clustered.
	bb := geo.BBox{West: buffered.Min[0], South: buffered.Min[1], East: buffered.Max[0], North: buffered.Max[1]}
	var rest []*layers.Feature
	for _, f := range others {
		if _, isPoint := f.Geometry.(orb.Point); isPoint || !q.Time.Overlaps(f.Start, f.End) {
			continue
		}
		sf := v.Show(l, f)
		if sf == nil || sf.Geometry == nil || !bb.IntersectsGeometry(sf.Geometry) {
			continue
		}
		if q.Match != nil && !q.Match(sf) {
			continue
		}
		rest = append(rest, sf)
	}
	sortByPriority(rest)
	for _, f := range rest {
		tl.Features = append(tl.Features, tile.Feature{Geometry: f.Geometry, Props: tileProps(f, nil)})
	}
	return tl, nil
}

func startNs(f *layers.Feature) int64 {
	if f.Start.IsZero() {
		return 0
	}
	return f.Start.UnixNano()
}

// props are a cluster's tile properties: clustered, cluster_id,
// point_count, point_count_abbreviated, latest_observed_at, the sum named by
// sumName and one count per category value ({category}_{value}).
func (cs clusterSpec) props(a *tile.Agg) map[string]any {
	m := make(map[string]any, 6+len(cs.values))
	m["clustered"] = true
	m["cluster_id"] = strconv.FormatUint(a.Cell.ID(), 10)
	m["point_count"] = a.N
	m["point_count_abbreviated"] = tile.Abbreviate(a.N)
	m[cs.sumName] = a.Sum
	if a.HasLatest {
		m["latest_observed_at"] = time.Unix(0, a.Latest).UTC().Format(time.RFC3339)
	}
	for i, name := range cs.countNames {
		if i < len(a.Counts) {
			m[name] = a.Counts[i]
		}
	}
	return m
}

// handleClusterLeaves serves GET /collections/{id}/clusters/{cluster_id}/leaves:
// the reports of a tile cluster, with the same filter parameters as the tile
// (pass the tile's query string), as a GeoJSON FeatureCollection paged by
// limit (default 100, at most 10,000) and offset.
func (s *Server) handleClusterLeaves(c echo.Context) error {
	l, err := s.layer(c)
	if err != nil {
		return err
	}
	if _, ok := clusterSpecOf(l); !ok {
		return layers.Errorf(layers.ENOTFOUND, "collection %q is not clustered", l.ID)
	}
	cell, ok := tile.ParseClusterID(c.Param("cluster_id"))
	if !ok || cell.Z < tile.CellShift {
		return layers.Errorf(layers.ENOTFOUND, "cluster %q does not exist", c.Param("cluster_id"))
	}
	limit, offset := 100, 0
	if v := c.QueryParam("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 10000 {
			return layers.Errorf(layers.EINVALID, "parameter limit: want an integer from 1 to 10000, got %q", v)
		}
	}
	if v := c.QueryParam("offset"); v != "" {
		if offset, err = strconv.Atoi(v); err != nil || offset < 0 {
			return layers.Errorf(layers.EINVALID, "parameter offset: want an integer >= 0, got %q", v)
		}
	}
	q, err := s.parseFilters(c, l)
	if err != nil {
		return err
	}
	v := s.viewOf(c)
	spec, _ := clusterSpecOf(l)
	leaves, err := s.clusterLeaves(ctx(c), l, spec, cell, q, v)
	if err != nil {
		return err
	}
	fc := geojson.NewFeatureCollection()
	for i := offset; i < len(leaves) && i < offset+limit; i++ {
		f := leaves[i]
		gf := geojson.NewFeature(f.Geometry)
		gf.ID = f.ID
		gf.Properties = f.Props.Map()
		fc.Append(gf)
	}
	fc.ExtraMembers = geojson.Properties{"numberMatched": len(leaves), "numberReturned": len(fc.Features),
		"cluster_id": c.Param("cluster_id"), "bbox": []float64{cell.Bound().Min[0], cell.Bound().Min[1], cell.Bound().Max[0], cell.Bound().Max[1]}}
	return c.JSON(http.StatusOK, fc)
}

// clusterLeaves returns the visible point reports of a cell that pass the
// filters, in id order, as the reader may see them.
func (s *Server) clusterLeaves(cx context.Context, l *layers.Layer, spec clusterSpec, cell tile.Cell, q layers.Query, v view) ([]*layers.Feature, error) {
	// The cells the cluster joined are decided from the counts around it,
	// exactly as the tile decided them.
	grid := tile.NewGridAround(cell)
	if _, err := s.fillGrid(cx, l, spec, grid, q, v); err != nil {
		return nil, err
	}
	// An id from a tile drawn for another audience or before a change
	// may name no cluster in this reader's view: then it answers for the
	// reports of that cell alone.
	members := []tile.Cell{cell}
	for _, cl := range grid.Clusters() {
		if cl.Cell == cell {
			members = cl.Members
		}
	}
	var b orb.Bound
	for i, m := range members {
		if i == 0 {
			b = m.Bound()
		} else {
			b = b.Union(m.Bound())
		}
	}
	b = pad(b)
	q.BBox = &geo.BBox{West: b.Min[0], South: b.Min[1], East: b.Max[0], North: b.Max[1]}
	q = visibleQuery(v, l, q)
	page, err := l.Snapshot().Query(cx, q)
	if err != nil {
		return nil, err
	}
	var out []*layers.Feature
	for _, f := range page.Features {
		sf := v.Show(l, f)
		if sf == nil {
			continue
		}
		p, ok := sf.Geometry.(orb.Point)
		if !ok {
			continue
		}
		if qx, qy := tile.Quantize(p); !slices.Contains(members, tile.CellOf(qx, qy, cell.Z)) {
			continue
		}
		out = append(out, sf)
	}
	return out, nil
}

// growKm widens a bound by km on every side.
func growKm(b orb.Bound, km float64) orb.Bound {
	g := geo.BBox{West: b.Min[0], South: b.Min[1], East: b.Max[0], North: b.Max[1]}.Grow(km)
	if g.CrossesAntimeridian() {
		g.West, g.East = -180, 180
	}
	return orb.Bound{Min: orb.Point{g.West, g.South}, Max: orb.Point{g.East, g.North}}
}

// pad grows a cell's bound by a hair so that float rounding in the bound
// never loses a point that tile.Quantize puts in the cell; callers then keep
// only the points whose quantised cell matches.
func pad(b orb.Bound) orb.Bound {
	const eps = 1e-9
	return orb.Bound{Min: orb.Point{b.Min[0] - eps, b.Min[1] - eps}, Max: orb.Point{b.Max[0] + eps, b.Max[1] + eps}}
}
