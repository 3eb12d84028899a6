package layers

import (
	"context"
	"slices"

	"troopmap/geo"
)

// Query selects features from a snapshot. The zero Query matches everything.
type Query struct {
	BBox *geo.BBox    // nil: no spatial restriction
	Time geo.Interval // zero: no time restriction
	// Match, when set, must also accept a feature (attribute and CQL2
	// filters). It is called from the query's goroutine only.
	Match func(*Feature) bool
	// Less orders the result; nil means by id.
	Less func(a, b *Feature) bool
	// Near, when set, keeps only features within its radius and orders
	// them nearest first (Less is then ignored); Page.DistancesKm holds
	// their distances.
	Near   *Near
	Offset int
	Limit  int // 0 or less: no limit
}

// Page is one page of a query's result.
type Page struct {
	Features []*Feature
	Matched  int // exact number of features matching, over all pages
	// DistancesKm[i] is the ground distance of Features[i] from Query.Near's
	// centre; nil unless the query had Near.
	DistancesKm []float64
}

// pick applies the query's time window, bbox and Match to f and returns the
// feature to output: f, or a copy cut to the time window when the layer cuts
// its features (movements), or nil when f does not match. The bbox is
// checked after the cut, so a track is found only where its kept part is.
func (q *Query) pick(s *Snapshot, f *Feature) *Feature {
	if !q.Time.Overlaps(f.Start, f.End) {
		return nil
	}
	if f = s.Windowed(f, q.Time); f == nil {
		return nil
	}
	if q.BBox != nil && f.Geometry != nil && !q.BBox.IntersectsGeometry(f.Geometry) {
		return nil
	}
	if q.Match != nil && !q.Match(f) {
		return nil
	}
	return f
}

// Query runs q against the snapshot. Results come in a stable order (by id
// unless q.Less says otherwise). Features without geometry match any bbox, as
// OGC API – Features requires. It checks ctx between features in long scans.
func (s *Snapshot) Query(ctx context.Context, q Query) (Page, error) {
	var matches []*Feature
	var err error
	if q.Near != nil {
		return s.nearPage(ctx, q)
	}
	if q.BBox == nil && q.Less == nil {
		return s.scanPage(ctx, q)
	}
	if q.BBox == nil {
		matches, err = s.collectAll(ctx, q)
	} else {
		matches, err = s.collectBBox(ctx, q)
	}
	if err != nil {
		return Page{}, err
	}
	less := q.Less
	if less == nil {
		less = byID
	}
	slices.SortStableFunc(matches, func(a, b *Feature) int {
		switch {
		case less(a, b):
			return -1
		case less(b, a):
			return 1
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return pageOf(matches, q.Offset, q.Limit), nil
}

func pageOf(matches []*Feature, offset, limit int) Page {
	p := Page{Matched: len(matches)}
	if offset < 0 {
		offset = 0
	}
	if offset >= len(matches) {
		return p
	}
	end := len(matches)
	if limit > 0 && offset+limit < end {
		end = offset + limit
	}
	p.Features = matches[offset:end:end]
	return p
}

// scanPage walks the id index in order, counting every match but keeping
// only the requested page.
func (s *Snapshot) scanPage(ctx context.Context, q Query) (Page, error) {
	var p Page
	var err error
	i := 0
	s.ids.Scan(func(f *Feature) bool {
		if i++; i&1023 == 0 && ctx.Err() != nil {
			err = ctx.Err()
			return false
		}
		if f = q.pick(s, f); f == nil {
			return true
		}
		if p.Matched >= q.Offset && (q.Limit <= 0 || len(p.Features) < q.Limit) {
			p.Features = append(p.Features, f)
		}
		p.Matched++
		return true
	})
	return p, err
}

func (s *Snapshot) collectAll(ctx context.Context, q Query) ([]*Feature, error) {
	var out []*Feature
	var err error
	i := 0
	s.ids.Scan(func(f *Feature) bool {
		if i++; i&1023 == 0 && ctx.Err() != nil {
			err = ctx.Err()
			return false
		}
		if f = q.pick(s, f); f != nil {
			out = append(out, f)
		}
		return true
	})
	return out, err
}

func (s *Snapshot) collectBBox(ctx context.Context, q Query) ([]*Feature, error) {
	var out []*Feature
	var err error
	bounds := q.BBox.Bounds()
	var seen map[*Feature]struct{}
	if len(bounds) > 1 {
		seen = map[*Feature]struct{}{}
	}
	i := 0
	for _, b := range bounds {
		s.Search(b, func(f *Feature) bool {
			if i++; i&1023 == 0 && ctx.Err() != nil {
				err = ctx.Err()
				return false
			}
			if seen != nil {
				if _, dup := seen[f]; dup {
					return true
				}
				seen[f] = struct{}{}
			}
			if f = q.pick(s, f); f != nil {
				out = append(out, f)
			}
			return true
		})
		if err != nil {
			return nil, err
		}
	}
	if s.noGeom > 0 {
		s.ids.Scan(func(f *Feature) bool {
			if f.Geometry == nil {
				if f = q.pick(s, f); f != nil {
					out = append(out, f)
				}
			}
			return true
		})
	}
	return out, nil
}
