package web

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"troopmap/layers"
)

// Every path that sends features out (items, item, tiles, clusters, history,
// events, exports, stats) must pass them through the reader's view: it hides
// what the reader may not see and coarsens what they may see only roughly.
// Caches must key on view.Key so that different audiences never share an
// entry. The rules themselves live in layers.Access.

// view is what one reader may see.
type view struct {
	// Key names the audience for cache keys and ETags: "keyed" for API
	// keys, "public-…" for anonymous readers (with the operator's settings
	// and the current embargo epoch, so it changes when an embargo ends).
	Key string
	// Show returns the feature as this reader may see it: f itself, a
	// coarsened copy, or nil when it is hidden. It never changes f.
	Show func(l *layers.Layer, f *layers.Feature) *layers.Feature
	// Placed is Show short of dropping identifying properties (see
	// layers.Reader.Placed): what the point index keeps. Unlike Show it
	// is not narrowed for derived layers or asof, so it serves the point
	// index of live report layers only.
	Placed func(l *layers.Layer, f *layers.Feature) *layers.Feature
	// Visible reports whether Show returns a feature, without the copy
	// Show may make (anonymous readers get reports without created_by).
	Visible func(l *layers.Layer, f *layers.Feature) bool
	// Reader is the policy's view behind Show.
	Reader layers.Reader
}

// accessState is the server's part of access control: the policy, the rate
// limiters and the per-audience layer summaries.
type accessState struct {
	policy        *layers.Access
	now           func() time.Time
	reads, writes *limiters // nil when off
	extents       extentCache
	// metricsFull and metricsPublic serve /metrics to keys and to
	// anonymous readers.
	metricsFull, metricsPublic http.Handler
}

// initAccess sets up access control from the config; New calls it.
func (s *Server) initAccess() {
	a := &s.acc
	a.now = s.cfg.Now
	if a.now == nil {
		a.now = time.Now
	}
	a.policy = s.cfg.Access
	if a.policy == nil {
		a.policy = layers.NewAccess(layers.PublicPolicy{Read: true}, s.cfg.Now)
	}
	if s.cfg.ReadLimit.on() {
		a.reads = newLimiters(s.cfg.ReadLimit)
	}
	if s.cfg.WriteLimit.on() {
		a.writes = newLimiters(s.cfg.WriteLimit)
	}
	a.metricsFull, a.metricsPublic = s.metrics.handler(), s.metrics.publicHandler()
}

// watchAccess follows the embargoes of the catalog's report layers.
func (s *Server) watchAccess(c *layers.Catalog) {
	for _, l := range c.Layers() {
		s.acc.policy.Watch(l)
	}
}

// principalKey is where the auth middleware leaves the request's principal.
const principalKey = "troopmap.principal"

// principal returns who makes the request (anonymous when no key was sent).
func principal(c echo.Context) layers.Principal {
	if p, ok := c.Get(principalKey).(layers.Principal); ok {
		return p
	}
	if a, ok := ctx(c).Value(actorKey{}).(layers.Actor); ok {
		return a // in-process use by the command line (HandlerAs)
	}
	return layers.Anonymous()
}

// viewOf returns the reader's view for a request, evaluated now. When the
// reader may see nothing (anonymous reading turned off; the middleware has
// answered 401 before any handler runs) it hides everything, failing closed.
func (s *Server) viewOf(c echo.Context) view {
	if v, ok := c.Get(viewKey).(view); ok {
		return v // one request, one moment: every part of a response agrees
	}
	r, err := s.acc.policy.Reader(principal(c))
	v := derivedView(view{Key: r.Key, Show: r.Show, Placed: r.Placed, Visible: r.Visible, Reader: r})
	if err != nil {
		none := func(*layers.Layer, *layers.Feature) *layers.Feature { return nil }
		v = view{Key: "none", Show: none, Placed: none,
			Visible: func(*layers.Layer, *layers.Feature) bool { return false }}
	}
	c.Set(viewKey, v)
	return v
}

// viewKey is where viewOf keeps the request's view.
const viewKey = "troopmap.view"

// visibleQuery adds the view's filter to q so that counts (numberMatched)
// and pages see only visible features. For coarsening readers, filters, the
// bbox and the sort order are judged on what the reader sees: a bbox or a
// property filter must not reveal the true position or a dropped property.
// The caller still sends each feature through view.Show.
func visibleQuery(v view, l *layers.Layer, q layers.Query) layers.Query {
	prev, less, bbox := q.Match, q.Less, q.BBox
	// Without coarsening, the reader's view differs from the stored
	// features only in properties no filter or sort may name (see
	// readerQueryables): visibility decides, and no copies are made.
	if !v.Reader.Coarsens() {
		q.Match = func(f *layers.Feature) bool {
			if !v.Visible(l, f) {
				return false
			}
			return prev == nil || prev(f)
		}
		return q
	}
	// Match and Less run on the query's goroutine only, so the memo needs
	// no lock.
	shown := func(f *layers.Feature) *layers.Feature { return v.Show(l, f) }
	if less != nil {
		// A sort compares each feature many times: show each once.
		memo := map[*layers.Feature]*layers.Feature{}
		shown = func(f *layers.Feature) *layers.Feature {
			s, ok := memo[f]
			if !ok {
				s = v.Show(l, f)
				memo[f] = s
			}
			return s
		}
	}
	if bbox != nil {
		// Search a box grown by one cell so that features whose snapped
		// position falls inside are found, then test the snapped geometry.
		grown := bbox.Grow(v.Reader.PrecisionKm())
		q.BBox = &grown
	}
	q.Match = func(f *layers.Feature) bool {
		s := shown(f)
		if s == nil {
			return false
		}
		if bbox != nil && s.Geometry != nil && !bbox.IntersectsGeometry(s.Geometry) {
			return false
		}
		return prev == nil || prev(s)
	}
	if less != nil {
		q.Less = func(a, b *layers.Feature) bool { return less(shown(a), shown(b)) }
	}
	return q
}

// visibleSummary is what a reader sees of a whole layer: how many features
// and their extent.
type visibleSummary struct {
	N      int
	Extent layers.Extent
}

// extentCache holds layer summaries as anonymous readers see them, per
// data version and audience key (which changes when an embargo ends).
type extentCache struct {
	mu sync.Mutex
	m  map[string]visibleSummary
}

// visible returns the number and extent of the features of l the reader
// sees, so that neither a count nor an extent gives hidden reports away.
// Anonymous summaries cost one scan per data version and audience key.
func (s *Server) visible(c echo.Context, v view, l *layers.Layer) (visibleSummary, error) {
	snap := l.Snapshot()
	if !v.Reader.Hides() && v.Key != "none" {
		return visibleSummary{N: snap.Len(), Extent: snap.Extent()}, nil
	}
	key := l.ID + "\x00" + v.Key + "\x00" + strconv.FormatUint(snap.Version(), 10)
	s.acc.extents.mu.Lock()
	sum, ok := s.acc.extents.m[key]
	s.acc.extents.mu.Unlock()
	if ok {
		return sum, nil
	}
	var err error
	i := 0
	snap.All(func(f *layers.Feature) bool {
		if i++; i&1023 == 0 && ctx(c).Err() != nil {
			err = ctx(c).Err()
			return false
		}
		sf := f // without coarsening, what is seen is where it is
		if v.Reader.Coarsens() {
			sf = v.Show(l, f)
		} else if !v.Visible(l, f) {
			sf = nil
		}
		if sf != nil {
			sum.N++
			sum.Extent = sum.Extent.Add(sf)
		}
		return true
	})
	if err != nil {
		return visibleSummary{}, err
	}
	s.acc.extents.mu.Lock()
	if s.acc.extents.m == nil || len(s.acc.extents.m) > 1024 {
		s.acc.extents.m = map[string]visibleSummary{}
	}
	s.acc.extents.m[key] = sum
	s.acc.extents.mu.Unlock()
	return sum, nil
}

// authenticate reads the API key, if any, and records the principal. A
// malformed header or an unknown or revoked key gets 401; no key at all is
// an anonymous reader.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Request().Header.Get(echo.HeaderAuthorization)
		if h != "" {
			scheme, key, _ := strings.Cut(h, " ")
			key = strings.TrimSpace(key)
			if !strings.EqualFold(scheme, "Bearer") || key == "" {
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="troopmap"`)
				return layers.Errorf(layers.EUNAUTHORIZED, "header Authorization: want \"Bearer <key>\"; an admin creates keys with \"troopmap keys add\"")
			}
			p, err := s.keys().Authenticate(ctx(c), key)
			if layers.ErrorCode(err) == layers.EUNAUTHORIZED {
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="troopmap", error="invalid_token"`)
				if lerr := s.limitFailedAuth(c); lerr != nil {
					return lerr
				}
			}
			if err != nil {
				return err
			}
			if !p.Role.Keyed() {
				return layers.Errorf(layers.EUNAUTHORIZED, "the API key has no role; an admin creates keys with \"troopmap keys add\"")
			}
			c.Set(principalKey, p)
		}
		p := principal(c)
		hdr := c.Response().Header()
		hdr.Add(echo.HeaderVary, echo.HeaderAuthorization)
		if p.Role.Keyed() {
			// A keyed answer may hold restricted reports: no shared cache
			// (proxy, CDN) may keep it for someone else.
			c.Response().Before(func() { privateCache(hdr) })
		} else if isRead(c.Request().Method) && !s.acc.policy.Public().Read && !openPath(c.Path()) && !strings.HasPrefix(c.Path(), "/admin/") {
			// (The admin routes answer for themselves, naming role admin.)
			_, err := s.acc.policy.Reader(p)
			return err
		}
		return next(c)
	}
}

// keys is what resolves API keys: Config.Keys, else the report service's
// key store, else nothing (every key is refused).
func (s *Server) keys() layers.Authenticator {
	if s.cfg.Keys != nil {
		return s.cfg.Keys
	}
	if r := s.reports.Load(); r != nil {
		return r
	}
	return noKeys{}
}

type noKeys struct{}

func (noKeys) Authenticate(context.Context, string) (layers.Actor, error) {
	return layers.Actor{}, layers.Errorf(layers.EUNAUTHORIZED, "the API key is unknown or revoked; this server has no key store yet")
}

// privateCache rewrites a response's Cache-Control so that only the
// requester's own cache may keep it.
func privateCache(h http.Header) {
	cc := h.Get(echo.HeaderCacheControl)
	if cc == "" {
		h.Set(echo.HeaderCacheControl, "private")
		return
	}
	var parts []string
	for _, d := range strings.Split(cc, ",") {
		d = strings.TrimSpace(d)
		if d == "" || strings.EqualFold(d, "public") || strings.HasPrefix(strings.ToLower(d), "s-maxage") {
			continue
		}
		parts = append(parts, d)
	}
	h.Set(echo.HeaderCacheControl, strings.Join(append([]string{"private"}, parts...), ", "))
}

// isRead reports whether a method reads. OPTIONS is left out: browsers send
// CORS preflights without credentials.
func isRead(method string) bool {
	return method == http.MethodGet || method == http.MethodHead
}

// openPath lists what anonymous clients may fetch even when anonymous
// reading is off: health checks, which hold no reports.
func openPath(route string) bool {
	switch route {
	case "/healthz", "/readyz":
		return true
	}
	return false
}
