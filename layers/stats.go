package layers

import (
	"context"
	"encoding/json"
	"math"
	"time"

	"github.com/paulmach/orb"

	"troopmap/geo"
)

// Stats intervals.
const (
	StatsDay  = "day"
	StatsWeek = "week"
)

// MaxStatsIntervals bounds the number of intervals one stats answer may
// hold, per area.
const MaxStatsIntervals = 1000

// EventTypes lists the incident event types (ACLED's six) in schema order.
func EventTypes() []string {
	s, _ := ReportSchema(Incidents)
	f, _ := s.Field("event_type")
	return f.Enum
}

// Range is a low/best/high triple of sums.
type Range struct {
	Low  int64 `json:"low"`
	Best int64 `json:"best"`
	High int64 `json:"high"`
}

func (r Range) minus(o Range) Range {
	return Range{r.Low - o.Low, r.Best - o.Best, r.High - o.High}
}

// Figures are the numbers of one area in one interval.
type Figures struct {
	TroopConcentrations int            `json:"troop_concentrations"`
	Personnel           Range          `json:"personnel"`
	Incidents           int            `json:"incidents"`
	ByEventType         map[string]int `json:"incidents_by_event_type"`
	Fatalities          Range          `json:"fatalities"`
}

func newFigures() Figures {
	f := Figures{ByEventType: map[string]int{}}
	for _, t := range EventTypes() {
		f.ByEventType[t] = 0
	}
	return f
}

func (f Figures) minus(o Figures) Figures {
	d := Figures{
		TroopConcentrations: f.TroopConcentrations - o.TroopConcentrations,
		Personnel:           f.Personnel.minus(o.Personnel),
		Incidents:           f.Incidents - o.Incidents,
		ByEventType:         map[string]int{},
		Fatalities:          f.Fatalities.minus(o.Fatalities),
	}
	for k, v := range f.ByEventType {
		d.ByEventType[k] = v - o.ByEventType[k]
	}
	for k, v := range o.ByEventType {
		if _, ok := f.ByEventType[k]; !ok {
			d.ByEventType[k] = -v
		}
	}
	return d
}

// IntervalStats are an area's figures over [Start, End) and their change
// from the interval before.
type IntervalStats struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	Figures
	Change Figures `json:"change"`
}

// AreaStats are one area's figures interval by interval.
type AreaStats struct {
	ID         string          `json:"id"`
	Collection string          `json:"collection,omitempty"`
	Title      string          `json:"title,omitempty"`
	Intervals  []IntervalStats `json:"intervals"`
}

// StatsArea is an area to count reports in.
type StatsArea struct {
	ID, Collection, Title string
	// Contains says whether a report counts for the area.
	Contains func(*Feature) bool
	// Bound, when set, limits the reports looked at to those whose bound
	// meets it (an R-tree search instead of a scan).
	Bound *orb.Bound
}

// ZoneArea counts the reports whose zones property names zone.
func ZoneArea(zone *Layer) StatsArea {
	id := zone.ID
	return StatsArea{ID: id, Title: zone.Title, Contains: func(f *Feature) bool {
		return f.Props.HasElement(PropZones, id)
	}}
}

// FeatureArea counts the reports whose geometry meets an area feature's
// polygon, for the statistics of one feature of an area layer.
func FeatureArea(collection string, f *Feature) (StatsArea, bool) {
	pg, ok := geo.Prepare(f.Geometry)
	if !ok {
		return StatsArea{}, false
	}
	title, _ := f.Props.String("name")
	b := pg.Bound
	return StatsArea{ID: f.ID, Collection: collection, Title: title, Bound: &b,
		Contains: func(r *Feature) bool { return r.Geometry != nil && pg.Intersects(r.Geometry) }}, true
}

// StatsRequest selects the intervals: those of the given length that meet
// [From, To], day intervals starting at 00:00 UTC, weeks on Monday.
type StatsRequest struct {
	From, To time.Time
	Interval string // StatsDay or StatsWeek
}

// Intervals returns the start of the first interval, the interval length
// and the number of intervals of the request.
func (r StatsRequest) Intervals() (time.Time, time.Duration, int) {
	step := 24 * time.Hour
	f := r.From.UTC()
	start := time.Date(f.Year(), f.Month(), f.Day(), 0, 0, 0, 0, time.UTC)
	if r.Interval == StatsWeek {
		step = 7 * 24 * time.Hour
		start = start.AddDate(0, 0, -((int(start.Weekday()) + 6) % 7))
	}
	n := int(r.To.Sub(start)/step) + 1
	return start, step, max(n, 1)
}

// StatsSource is a report layer as the reader sees it.
type StatsSource struct {
	Layer *Layer
	// Show is the reader's view: the report as they may see it, or nil.
	Show func(*Layer, *Feature) *Feature
}

// ComputeStats counts troop concentrations and incidents per area and
// interval, by observed_at. Each interval also gets its change from the
// one before (the first one's too: the interval before From is counted for
// it). Reports the reader may not see are not counted. Missing low or high
// bounds of a range count as its best figure and a missing best as the mean
// of the bounds given, so that a partial range adds to every column.
func ComputeStats(ctx context.Context, req StatsRequest, areas []StatsArea, sources []StatsSource) ([]AreaStats, error) {
	start, step, n := req.Intervals()
	first := start.Add(-step) // the interval before, for the first change
	end := start.Add(time.Duration(n) * step)
	figs := make([][]Figures, len(areas))
	for i := range areas {
		figs[i] = make([]Figures, n+1)
		for j := range figs[i] {
			figs[i][j] = newFigures()
		}
	}
	for _, src := range sources {
		s := src.Layer.Snapshot()
		count := func(f *Feature, areaIdx []int) error {
			if f.Start.IsZero() || f.Start.Before(first) || !f.Start.Before(end) {
				return nil
			}
			if src.Show != nil {
				if f = src.Show(src.Layer, f); f == nil {
					return nil
				}
			}
			b := int(f.Start.Sub(first) / step)
			for _, ai := range areaIdx {
				if areas[ai].Contains(f) {
					add(&figs[ai][b], src.Layer.ID, f)
				}
			}
			return nil
		}
		var err error
		var scan []int
		i := 0
		for ai, a := range areas {
			if a.Bound == nil {
				scan = append(scan, ai)
				continue
			}
			s.Search(*a.Bound, func(f *Feature) bool {
				if i++; i&1023 == 0 && ctx.Err() != nil {
					err = ctx.Err()
					return false
				}
				_ = count(f, []int{ai})
				return true
			})
			if err != nil {
				return nil, err
			}
		}
		if len(scan) > 0 {
			s.All(func(f *Feature) bool {
				if i++; i&1023 == 0 && ctx.Err() != nil {
					err = ctx.Err()
					return false
				}
				_ = count(f, scan)
				return true
			})
			if err != nil {
				return nil, err
			}
		}
	}
	out := make([]AreaStats, len(areas))
	for ai, a := range areas {
		as := AreaStats{ID: a.ID, Collection: a.Collection, Title: a.Title, Intervals: make([]IntervalStats, n)}
		for j := range n {
			st := start.Add(time.Duration(j) * step)
			cur := figs[ai][j+1]
			as.Intervals[j] = IntervalStats{Start: st, End: st.Add(step), Figures: cur, Change: cur.minus(figs[ai][j])}
		}
		out[ai] = as
	}
	return out, nil
}

func add(fig *Figures, layer string, f *Feature) {
	switch layer {
	case TroopConcentrations:
		fig.TroopConcentrations++
		if pers, ok := f.Props.Path("strength", "personnel"); ok {
			fig.Personnel = fig.Personnel.plus(rangeOf(pers))
		}
	case Incidents:
		fig.Incidents++
		if et, ok := f.Props.String("event_type"); ok {
			fig.ByEventType[et]++
		}
		fig.Fatalities = fig.Fatalities.plus(rangeOf(f.Props.Get("fatalities")))
	}
}

func (r Range) plus(o Range) Range { return Range{r.Low + o.Low, r.Best + o.Best, r.High + o.High} }

// rangeOf reads a {low, best, high} object, filling missing members as
// ComputeStats describes.
func rangeOf(v any) Range {
	m, ok := v.(map[string]any)
	if !ok {
		return Range{}
	}
	low, hasLow := intOf(m["low"])
	best, hasBest := intOf(m["best"])
	high, hasHigh := intOf(m["high"])
	switch {
	case !hasBest && hasLow && hasHigh:
		best, hasBest = (low+high)/2, true
	case !hasBest && hasLow:
		best, hasBest = low, true
	case !hasBest && hasHigh:
		best, hasBest = high, true
	}
	if !hasBest {
		return Range{}
	}
	if !hasLow {
		low = best
	}
	if !hasHigh {
		high = best
	}
	return Range{low, best, high}
}

func intOf(v any) (int64, bool) {
	switch v := v.(type) {
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return 0, false
		}
		return int64(v), true
	case int:
		return int64(v), v >= 0
	case int64:
		return v, v >= 0
	case json.Number:
		i, err := v.Int64()
		return i, err == nil && i >= 0
	}
	return 0, false
}
