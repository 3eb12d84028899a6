package web

import (
	"container/list"
	"context"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"troopmap/layers"
)

// Time travel: ?asof=TIME on items, tiles and /stats/zones answers from the
// report layers as they stood at that moment, rebuilt from the store's
// history. History before a moment never changes once that moment is past
// the commit horizon, so such layers are cached (a few, least recently
// used first out) and their tiles may be cached by clients forever.

// asofSettle is how far in the past a moment must lie before nothing more
// can be committed at or before it: a commit takes its time before it is
// durable, so a moment close to now may still gain revisions.
const asofSettle = time.Minute

// immutable is the Cache-Control of answers about a settled past moment.
const immutable = "public, max-age=31536000, immutable"

// asofCacheSize bounds the cached past layers (each holds one collection).
const asofCacheSize = 8

// asof is a parsed asof parameter.
type asof struct {
	t       time.Time
	set     bool
	settled bool // far enough in the past to cache forever
}

// parseAsOf reads ?asof=: an RFC 3339 time or a date (its midnight UTC),
// not in the future.
func parseAsOf(c echo.Context, now time.Time) (asof, error) {
	v, ok := c.QueryParams()["asof"]
	if !ok {
		return asof{}, nil
	}
	// An unescaped "+" of a zone offset arrives as a space.
	t, err := time.Parse(time.RFC3339Nano, strings.ReplaceAll(v[0], " ", "+"))
	if err != nil {
		d, derr := time.Parse("2006-01-02", v[0])
		if derr != nil {
			return asof{}, layers.Errorf(layers.EINVALID, "parameter asof: %q is not an RFC 3339 time (2021-04-06T12:00:00Z) or a date (2021-04-06)", v[0])
		}
		t = d
	}
	if t.After(now) {
		return asof{}, layers.Errorf(layers.EINVALID, "parameter asof: %s is in the future", t.UTC().Format(time.RFC3339))
	}
	return asof{t: t.UTC(), set: true, settled: t.Before(now.Add(-asofSettle))}, nil
}

// pastLayers builds and caches report layers at past moments.
type pastLayers struct {
	mu      sync.Mutex
	entries map[pastKey]*list.Element
	lru     list.List // of *pastEntry, most recent first
	// building deduplicates concurrent builds of the same layer.
	building map[pastKey]*pastBuild
	// gone holds per collection the retracted reports' last versions.
	gone map[string]goneEntry
}

type goneEntry struct {
	version uint64 // of the live layer when read
	byID    map[string]*layers.Feature
}

type pastKey struct {
	collection string
	t          int64 // UnixNano
}

type pastEntry struct {
	key   pastKey
	layer *layers.Layer
}

type pastBuild struct {
	done  chan struct{}
	layer *layers.Layer
	err   error
}

// layerAt returns l as it stood at a: l itself when a is not set or l is an
// area layer (shipped, unchanging), a layer rebuilt from the store's history
// for a report layer, and EINVALID for a derived layer. For a reader whose
// view hides reports, it also narrows the request's view (see pastView), so
// callers take the view after calling it.
func (s *Server) layerAt(c echo.Context, l *layers.Layer, a asof) (*layers.Layer, error) {
	past, err := s.pastLayer(ctx(c), l, a)
	if err != nil || past == l {
		return past, err
	}
	v := s.viewOf(c)
	if !v.Reader.Hides() {
		return past, nil
	}
	gone, err := s.retracted(ctx(c), l)
	if err != nil {
		return nil, err
	}
	c.Set(viewKey, pastView(v, l, past, gone))
	return past, nil
}

// pastView narrows v for one layer rebuilt at a past moment: a reader whose
// view hides reports sees a past version only while the report as it is
// now (or as it was retracted) is visible to them too. Otherwise a report
// made restricted or embargoed later would still show through asof, which
// history already refuses.
func pastView(v view, live, past *layers.Layer, gone map[string]*layers.Feature) view {
	show, visible := v.Show, v.Visible
	visibleNow := func(f *layers.Feature) bool {
		now, ok := live.Snapshot().Get(f.ID)
		if !ok {
			now = gone[f.ID]
		}
		return now != nil && visible(live, now)
	}
	v.Show = func(l *layers.Layer, f *layers.Feature) *layers.Feature {
		if l != past || f == nil {
			return show(l, f)
		}
		if !visibleNow(f) {
			return nil
		}
		return show(l, f)
	}
	v.Visible = func(l *layers.Layer, f *layers.Feature) bool {
		if l != past || f == nil {
			return visible(l, f)
		}
		return visibleNow(f) && visible(l, f)
	}
	return v
}

// retracted returns the last versions of l's retracted reports, read once
// per version of the live layer.
func (s *Server) retracted(cx context.Context, l *layers.Layer) (map[string]*layers.Feature, error) {
	ver := l.Snapshot().Version() // before the read: the data is at least this new
	s.past.mu.Lock()
	e, ok := s.past.gone[l.ID]
	s.past.mu.Unlock()
	if ok && e.version == ver {
		return e.byID, nil
	}
	r := s.reports.Load()
	if r == nil {
		return nil, layers.Errorf(layers.EINVALID, "parameter asof: collection %q keeps no history", l.ID)
	}
	m, err := r.Retracted(cx, l.ID)
	if err != nil {
		return nil, err
	}
	s.past.mu.Lock()
	if s.past.gone == nil {
		s.past.gone = map[string]goneEntry{}
	}
	s.past.gone[l.ID] = goneEntry{ver, m}
	s.past.mu.Unlock()
	return m, nil
}

// pastLayer rebuilds a report layer at a (see layerAt).
func (s *Server) pastLayer(cx context.Context, l *layers.Layer, a asof) (*layers.Layer, error) {
	if !a.set || l.Kind == layers.KindArea {
		return l, nil
	}
	if l.Kind != layers.KindReports {
		return nil, layers.Errorf(layers.EINVALID, "parameter asof: collection %q is derived and has no history; asof applies to the report collections (and the unchanging area layers)", l.ID)
	}
	r := s.reports.Load()
	if r == nil || !r.Writable(l.ID) {
		return nil, layers.Errorf(layers.EINVALID, "parameter asof: collection %q keeps no history", l.ID)
	}
	build := func(cx context.Context) (*layers.Layer, error) { return r.LayerAt(cx, l.ID, a.t) }
	if !a.settled {
		return build(cx)
	}
	return s.past.get(cx, pastKey{l.ID, a.t.UnixNano()}, build)
}

func (p *pastLayers) get(cx context.Context, k pastKey, build func(context.Context) (*layers.Layer, error)) (*layers.Layer, error) {
	p.mu.Lock()
	if p.entries == nil {
		p.entries, p.building = map[pastKey]*list.Element{}, map[pastKey]*pastBuild{}
	}
	if e, ok := p.entries[k]; ok {
		p.lru.MoveToFront(e)
		l := e.Value.(*pastEntry).layer
		p.mu.Unlock()
		return l, nil
	}
	if b, ok := p.building[k]; ok {
		p.mu.Unlock()
		select {
		case <-b.done:
			return b.layer, b.err
		case <-cx.Done():
			return nil, cx.Err()
		}
	}
	b := &pastBuild{done: make(chan struct{})}
	p.building[k] = b
	p.mu.Unlock()

	b.layer, b.err = build(cx)
	p.mu.Lock()
	delete(p.building, k)
	if b.err == nil {
		p.entries[k] = p.lru.PushFront(&pastEntry{key: k, layer: b.layer})
		for p.lru.Len() > asofCacheSize {
			old := p.lru.Back()
			p.lru.Remove(old)
			delete(p.entries, old.Value.(*pastEntry).key)
		}
	}
	p.mu.Unlock()
	close(b.done)
	return b.layer, b.err
}
