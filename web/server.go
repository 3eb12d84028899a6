// Package web is troopmap's HTTP face: the echo server, its routes, handlers,
// content negotiation and the mapping of domain errors to HTTP statuses. It is
// the only package that imports echo.
package web

import (
	"context"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"troopmap/layers"
	"troopmap/web/ui"
)

// Config holds what the web layer needs from the operator.
type Config struct {
	// BaseURL is the externally visible root of the server, e.g.
	// https://maps.example.org/troopmap, used for absolute links. When
	// empty, links are built from each request's Host.
	BaseURL string
	Logger  *slog.Logger
	Limits  Limits
	// CORSOrigins may read the server with GET from a browser; nil means
	// any origin ("*"), an empty non-nil list turns CORS off.
	CORSOrigins []string
	// Tiles configures the vector tile routes.
	Tiles TileConfig
	// MapStyleURL is an optional outside MapLibre style that the map page
	// draws beneath troopmap's layers, e.g. a basemap on the operator's own
	// network. Empty: the page draws only troopmap's own area layers.
	MapStyleURL string
	// Access decides what each reader sees; nil means anonymous reading
	// of public, unembargoed reports at full precision.
	Access *layers.Access
	// Keys resolves API keys; nil means no key is accepted.
	Keys layers.Authenticator
	// ReadLimit limits requests that read, per client address; WriteLimit
	// limits writes, per key. A zero Rate turns a limit off.
	ReadLimit, WriteLimit RateLimit
	// TrustProxy takes the client address from X-Forwarded-For, for
	// servers behind a reverse proxy.
	TrustProxy bool
	// Now is the clock for rate limits (time.Now when nil).
	Now func() time.Time
}

// Server serves troopmap over HTTP. Create it with New, then call SetCatalog
// once the layers are loaded; until then /readyz answers 503 and data routes
// answer 503 too.
type Server struct {
	cfg     Config
	log     *slog.Logger
	echo    *echo.Echo
	catalog atomic.Pointer[layers.Catalog]

	limits    Limits
	expensive chan struct{} // semaphore for expensive requests
	metrics   *metrics
	tiles     *tileService
	pages     *template.Template // the HTML pages, parsed once
	assets    *ui.Assets
	reports   atomic.Pointer[layers.Reports]
	hub       *hub        // live change events
	past      pastLayers  // report layers rebuilt at past moments (asof)
	acc       accessState // who sees what; see access.go
}

// New builds the server and its routes.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	assets, err := ui.New()
	if err != nil {
		// The files are embedded at build time; failing here is a defect
		// of the build, not of input.
		panic(fmt.Sprintf("web: embedded map page: %v", err))
	}
	s := &Server{cfg: cfg, log: cfg.Logger, limits: cfg.Limits.withDefaults(), pages: parsePages(), assets: assets, hub: newHub()}
	s.expensive = make(chan struct{}, s.limits.MaxExpensive)
	s.metrics = newMetrics(s)
	s.tiles = newTileService(cfg.Tiles, cfg.Logger)
	s.initAccess()

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	e.Use(middleware.Recover())
	e.Use(s.metrics.observe, securityHeaders, s.limitRequest)
	e.Use(middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogStatus: true, LogURI: true, LogMethod: true, LogLatency: true, LogError: true,
		HandleError: true,
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			level := slog.LevelInfo
			if v.Status >= 500 {
				level = slog.LevelError
			}
			s.log.LogAttrs(c.Request().Context(), level, "request",
				slog.String("method", v.Method), slog.String("uri", redactURI(v.URI)),
				slog.Int("status", v.Status), slog.Duration("latency", v.Latency))
			return nil
		},
	}))
	if cfg.CORSOrigins == nil {
		cfg.CORSOrigins = []string{"*"}
	}
	if len(cfg.CORSOrigins) > 0 {
		e.Use(middleware.CORSWithConfig(middleware.CORSConfig{
			// A plain OPTIONS (no preflight headers) is OGC API Part 4's
			// capability query: let it reach the route, which lists Allow.
			Skipper: func(c echo.Context) bool {
				r := c.Request()
				return r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") == ""
			},
			AllowOrigins:  cfg.CORSOrigins,
			AllowMethods:  []string{http.MethodGet, http.MethodHead},
			ExposeHeaders: []string{"ETag", "X-Tile-Dropped", "Link"},
		}))
	}
	// Who is asking comes first: rate limits charge their key, and a
	// refused request never takes an expensive-request slot.
	e.Use(s.authenticate, s.rateLimit, s.limitExpensive)
	s.echo = e
	s.routes()
	return s
}

// SetCatalog publishes the loaded layers and marks the server ready. It
// subscribes to the layers' changes first (embargo tracking, tile
// invalidation), so it must be called before anything writes to them.
func (s *Server) SetCatalog(c *layers.Catalog) {
	s.watchAccess(c)
	s.tiles.wire(c, s.anonymousView)
	s.catalog.Store(c)
}

// anonymousView is what a reader without a key sees now.
func (s *Server) anonymousView() (view, bool) {
	r, err := s.acc.policy.Reader(layers.Anonymous())
	if err != nil {
		return view{}, false
	}
	return derivedView(view{Key: r.Key, Show: r.Show, Placed: r.Placed, Reader: r}), true
}

// Handler returns the server's http.Handler.
func (s *Server) Handler() http.Handler { return s.echo }

// Catalog returns the loaded catalog, or a 503 error while loading.
func (s *Server) Catalog() (*layers.Catalog, error) {
	c := s.catalog.Load()
	if c == nil {
		return nil, layers.Errorf(layers.EUNAVAILABLE, "layers are still loading; retry shortly")
	}
	return c, nil
}

// baseURL returns the absolute root URL for links in a response.
func (s *Server) baseURL(r *http.Request) string {
	if s.cfg.BaseURL != "" {
		return s.cfg.BaseURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// ctx is a small helper so that handlers pass the request context down.
func ctx(c echo.Context) context.Context { return c.Request().Context() }

// redactURI hides secrets a client put in the query string (keys belong in
// the Authorization header, which is never logged): the values of
// secret-sounding parameters and anything shaped like an API key.
func redactURI(uri string) string {
	path, query, ok := strings.Cut(uri, "?")
	if !ok {
		return uri
	}
	parts := strings.Split(query, "&")
	for i, p := range parts {
		name, val, _ := strings.Cut(p, "=")
		lval := strings.ToLower(val)
		secret := strings.Contains(lval, "tm_") || strings.Contains(lval, "tm%5f")
		switch strings.ToLower(name) {
		case "key", "api_key", "apikey", "token", "access_token", "auth", "authorization", "password":
			secret = true
		}
		if secret {
			parts[i] = name + "=REDACTED"
		}
	}
	return path + "?" + strings.Join(parts, "&")
}
