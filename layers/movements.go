package layers

import (
	"math"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/paulmach/orb"

	"troopmap/geo"
	"troopmap/layers/props"
)

// DefaultMaxSpeedKmh is the speed above which a movement segment of a ground
// unit is flagged implausible_speed.
const DefaultMaxSpeedKmh = 120

// MovementsMeta describes the derived movements layer.
func MovementsMeta() Meta {
	return Meta{ID: Movements, Title: "Movements", Kind: KindDerived,
		Description: "One track per unit (side and unit designation) through its troop-concentration reports in observed_at order, " +
			"with the distance, speed and bearing of every leg. Derived, read-only.",
		TimeKeys: []string{"first_observed_at", "last_observed_at"}, MinZoom: 0, MaxZoom: 16}
}

// MovementsDeriver keeps the movements layer in step with the troop
// concentrations it is derived from. It indexes reports by unit, so a change
// re-derives only the units it touches, in time proportional to their
// reports. It is safe for concurrent use.
type MovementsDeriver struct {
	src         *Layer
	out         *Layer
	maxSpeedKmh float64

	mu     sync.Mutex
	units  map[string]*unitTrack // by feature id (side:slug)
	unitOf map[string]string     // report id → unit id
}

// unitTrack is one unit's reports in track order.
type unitTrack struct {
	side   string
	points []trackPoint
}

// trackPoint is one report on a track.
type trackPoint struct {
	id          string
	idAny       any // id boxed once, for report_ids
	t           time.Time
	ts          string // t in RFC 3339
	pt          orb.Point
	designation string // as the report spells it
	// leg is the segment from the previous point, kept between changes so
	// that a new report re-derives only the two legs next to it; nil when
	// not yet derived. legKm is its unrounded length.
	leg   props.RawJSON
	legKm float64
}

func (a trackPoint) cmp(b trackPoint) int {
	if c := a.t.Compare(b.t); c != 0 {
		return c
	}
	return strings.Compare(a.id, b.id)
}

// NewMovements builds the movements layer from src (troop concentrations)
// and subscribes to src so that every later change is applied. Call it at
// start-up, before src takes writes (Subscribe is not safe concurrently with
// Update). maxSpeedKmh <= 0 means DefaultMaxSpeedKmh.
func NewMovements(src *Layer, maxSpeedKmh float64) (*MovementsDeriver, error) {
	m := newMovementsDeriver(maxSpeedKmh)
	m.src = src
	if err := m.load(src.Snapshot()); err != nil {
		return nil, err
	}
	src.Subscribe(m.Apply)
	return m, nil
}

func newMovementsDeriver(maxSpeedKmh float64) *MovementsDeriver {
	if maxSpeedKmh <= 0 {
		maxSpeedKmh = DefaultMaxSpeedKmh
	}
	m := &MovementsDeriver{maxSpeedKmh: maxSpeedKmh, units: map[string]*unitTrack{}, unitOf: map[string]string{}}
	meta := MovementsMeta()
	meta.Window = m.window
	meta.ForReader = m.forReader
	m.out = NewLayer(meta)
	return m
}

// Layer returns the derived, read-only movements layer.
func (m *MovementsDeriver) Layer() *Layer { return m.out }

// load derives every track from scratch.
func (m *MovementsDeriver) load(s *Snapshot) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s.All(func(f *Feature) bool {
		if key, side, tp, ok := trackPointOf(f); ok {
			u := m.units[key]
			if u == nil {
				u = &unitTrack{side: side}
				m.units[key] = u
			}
			u.points = append(u.points, tp)
			m.unitOf[f.ID] = key
		}
		return true
	})
	return m.out.Update(func(w *Writer) error {
		for key, u := range m.units {
			slices.SortFunc(u.points, trackPoint.cmp)
			if err := w.Put(m.build(key, u)); err != nil {
				return err
			}
		}
		return nil
	})
}

// Apply brings the tracks up to date with one change of the source layer.
// Only the units of the changed reports (before and after the change) are
// re-derived.
func (m *MovementsDeriver) Apply(ch Change) {
	m.mu.Lock()
	defer m.mu.Unlock()
	touched := map[string]bool{}
	for i := range ch.New {
		var id string
		if ch.Old[i] != nil {
			id = ch.Old[i].ID
		} else if ch.New[i] != nil {
			id = ch.New[i].ID
		}
		if key, ok := m.unitOf[id]; ok {
			m.remove(key, id)
			delete(m.unitOf, id)
			touched[key] = true
		}
		if f := ch.New[i]; f != nil {
			if key, side, tp, ok := trackPointOf(f); ok {
				u := m.units[key]
				if u == nil {
					u = &unitTrack{side: side}
					m.units[key] = u
				}
				at, _ := slices.BinarySearchFunc(u.points, tp, trackPoint.cmp)
				u.points = slices.Insert(u.points, at, tp)
				if at+1 < len(u.points) {
					u.points[at+1].leg = ""
				}
				m.unitOf[f.ID] = key
				touched[key] = true
			}
		}
	}
	if len(touched) == 0 {
		return
	}
	// The movements layer has no writers but this one, and building a
	// track cannot fail, so the update cannot fail either.
	_ = m.out.Update(func(w *Writer) error {
		for key := range touched {
			u := m.units[key]
			if u == nil || len(u.points) == 0 {
				delete(m.units, key)
				w.Delete(key)
				continue
			}
			if err := w.Put(m.build(key, u)); err != nil {
				return err
			}
		}
		return nil
	})
}

func (m *MovementsDeriver) remove(key, id string) {
	u := m.units[key]
	if u == nil {
		return
	}
	if i := slices.IndexFunc(u.points, func(p trackPoint) bool { return p.id == id }); i >= 0 {
		u.points = slices.Delete(u.points, i, i+1)
		if i < len(u.points) {
			u.points[i].leg = ""
		}
	}
}

// trackPointOf says whether a report belongs on a track and where: it needs
// a unit designation, a time and a geometry, and must not be retracted or
// rejected (those are withdrawn claims, not sightings).
func trackPointOf(f *Feature) (key, side string, tp trackPoint, ok bool) {
	if f == nil || f.Geometry == nil || f.Start.IsZero() {
		return "", "", tp, false
	}
	if v, _ := f.Props.String("verification"); v == "retracted" || v == "rejected" {
		return "", "", tp, false
	}
	desig, _ := f.Props.String("unit_designation")
	slug := UnitSlug(desig)
	if slug == "" {
		return "", "", tp, false
	}
	side, _ = f.Props.String("side")
	if side == "" {
		side = "unknown"
	}
	pt, ok := geo.RepresentativePoint(f.Geometry)
	if !ok {
		return "", "", tp, false
	}
	return side + ":" + slug, side, trackPoint{id: f.ID, idAny: f.ID, t: f.Start, ts: f.Start.Format(time.RFC3339Nano), pt: pt,
		designation: strings.TrimSpace(desig)}, true
}

// UnitSlug normalises a unit designation so that spellings differing only
// in case, spacing or punctuation name the same unit: "58th Combined Arms
// Army", "58th  combined-arms army" and "58TH COMBINED ARMS ARMY." all give
// "58th-combined-arms-army". It returns "" when nothing is left.
func UnitSlug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		} else {
			dash = true
		}
	}
	return b.String()
}

// build derives a unit's movement feature from its sorted reports, reusing
// the legs that have not changed (they are immutable once published, like
// the features holding them).
func (m *MovementsDeriver) build(key string, u *unitTrack) *Feature {
	pts := u.points
	line := make(orb.LineString, 0, max(len(pts), 2))
	ids := make([]any, len(pts))
	segs := make([]any, 0, len(pts))
	total := 0.0
	for i := range pts {
		p := &pts[i]
		line = append(line, p.pt)
		ids[i] = p.idAny
		if i == 0 {
			p.leg = ""
			continue
		}
		if p.leg == "" {
			// Encoded once: a unit's track is written again on each of
			// its reports, and its legs are most of it.
			var leg map[string]any
			leg, p.legKm = segment(pts[i-1], *p, m.maxSpeedKmh)
			p.leg = props.EncodeValue(leg)
		}
		segs = append(segs, p.leg)
		total += p.legKm
	}
	if len(line) == 1 {
		// A unit seen once still has a track, of one place: a LineString
		// needs two positions, so the place is repeated.
		line = append(line, line[0])
	}
	last := pts[len(pts)-1]
	props := map[string]any{
		"unit_designation":  last.designation,
		"side":              u.side,
		"first_observed_at": pts[0].ts,
		"last_observed_at":  last.ts,
		"report_ids":        ids,
		"report_count":      len(pts),
		"distance_km":       round(total, 3),
		"segments":          segs,
	}
	return NewFeature(key, line, props, MovementsMeta().TimeKeys...)
}

// segment describes the leg from a to b. Two sightings at the same instant
// in different places imply an infinite speed: speed_kmh is then null and
// the leg is flagged. A leg of zero length has no bearing.
func segment(a, b trackPoint, maxSpeedKmh float64) (map[string]any, float64) {
	d := geo.DistanceKm(a.pt, b.pt)
	hours := b.t.Sub(a.t).Hours()
	s := map[string]any{
		"from_id":     a.id,
		"to_id":       b.id,
		"from_time":   a.ts,
		"to_time":     b.ts,
		"distance_km": round(d, 3),
		"speed_kmh":   nil,
		"bearing_deg": nil,
	}
	implausible := false
	switch {
	case hours > 0:
		v := d / hours
		s["speed_kmh"] = round(v, 2)
		implausible = v > maxSpeedKmh
	case d == 0:
		s["speed_kmh"] = 0.0
	default:
		implausible = true
	}
	if d > 0 {
		s["bearing_deg"] = round(geo.BearingDeg(a.pt, b.pt), 1)
	}
	if implausible {
		s["implausible_speed"] = true
	}
	return s, d
}

func round(v float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(v*p) / p
}

// window cuts a track to the reports observed inside iv. Reports on a track
// are in time order, so those inside form one run and the legs between them
// are kept as they are.
func (m *MovementsDeriver) window(f *Feature, iv geo.Interval) *Feature {
	line, ok := f.Geometry.(orb.LineString)
	ids, _ := f.Props.Get("report_ids").([]any)
	segs, _ := f.Props.Get("segments").([]any)
	if !ok || len(ids) == 0 || len(segs) != len(ids)-1 {
		return f
	}
	times := make([]time.Time, len(ids))
	times[0] = f.Start
	for i, s := range segs {
		sm, _ := s.(map[string]any)
		str, _ := sm["to_time"].(string)
		t, err := time.Parse(time.RFC3339Nano, str)
		if err != nil {
			return f
		}
		times[i+1] = t
	}
	in := func(t time.Time) bool {
		return (iv.Start.IsZero() || !t.Before(iv.Start)) && (iv.End.IsZero() || !t.After(iv.End))
	}
	lo := slices.IndexFunc(times, in)
	if lo < 0 {
		return nil
	}
	hi := lo
	for hi+1 < len(times) && in(times[hi+1]) {
		hi++
	}
	if lo == 0 && hi == len(times)-1 {
		return f
	}
	props := f.Props.Map()
	kept := slices.Clone(line[lo : hi+1])
	if len(kept) == 1 {
		kept = append(kept, kept[0])
	}
	total := 0.0
	for _, s := range segs[lo:hi] {
		d, _ := s.(map[string]any)["distance_km"].(float64)
		total += d
	}
	props["first_observed_at"] = times[lo].Format(time.RFC3339Nano)
	props["last_observed_at"] = times[hi].Format(time.RFC3339Nano)
	props["report_ids"] = slices.Clone(ids[lo : hi+1])
	props["report_count"] = hi - lo + 1
	props["segments"] = slices.Clone(segs[lo:hi])
	props["distance_km"] = round(total, 3)
	return NewFeature(f.ID, kept, props, MovementsMeta().TimeKeys...)
}

// forReader rebuilds a track from its reports as a reader sees them:
// hidden reports leave it, coarsened positions are used as shown. When the
// reader may not see a report's unit (its designation or side hidden or
// changed), the whole track is hidden: its id and name would tell them.
func (m *MovementsDeriver) forReader(f *Feature, show func(*Layer, *Feature) *Feature) *Feature {
	if m.src == nil {
		return f
	}
	ids, _ := f.Props.Get("report_ids").([]any)
	s := m.src.Snapshot()
	pts := make([]trackPoint, 0, len(ids))
	same := true
	var side string
	for _, v := range ids {
		id, _ := v.(string)
		r, ok := s.Get(id)
		if !ok {
			same = false // retracted since the track was published
			continue
		}
		shown := show(m.src, r)
		if shown != r {
			same = false
		}
		if shown == nil {
			continue
		}
		key, sd, tp, ok := trackPointOf(shown)
		if !ok || key != f.ID {
			return nil
		}
		side = sd
		pts = append(pts, tp)
	}
	if same {
		return f
	}
	if len(pts) == 0 {
		return nil
	}
	slices.SortFunc(pts, trackPoint.cmp)
	return m.build(f.ID, &unitTrack{side: side, points: pts})
}
