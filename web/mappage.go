package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"troopmap/layers"
	"troopmap/web/ui"
)

// The map page's filter parameters, in the order its filter panel shows
// them. Each applies to the report layers whose schema declares it.
func mapFilterNames() []string {
	return []string{"side", "echelon", "posture", "event_type", "verification", "zones"}
}

// mapLayer describes one layer to the page.
type mapLayer struct {
	ID       string `json:"id"`
	Title    string `json:"title"`
	Kind     string `json:"kind"`
	MinZoom  int    `json:"minzoom"`
	MaxZoom  int    `json:"maxzoom"`
	Writable bool   `json:"writable"`
}

// mapConfig is what the page's scripts read from the body's data-config.
type mapConfig struct {
	Root     string                         `json:"root"`
	Static   string                         `json:"static"`
	StyleURL string                         `json:"styleURL,omitempty"`
	Layers   []mapLayer                     `json:"layers"`
	Filters  map[string]map[string][]string `json:"filters"`
	Time     [2]string                      `json:"time"`
	BBox     [4]float64                     `json:"bbox"`
}

// rootPath is the path part of the configured base URL ("" or "/prefix"),
// so that the page's links work behind a proxy that mounts troopmap below a
// path.
func (s *Server) rootPath() string {
	if s.cfg.BaseURL == "" {
		return ""
	}
	u, err := url.Parse(s.cfg.BaseURL)
	if err != nil {
		return ""
	}
	return strings.TrimRight(u.Path, "/")
}

func (s *Server) staticPrefix() string { return s.rootPath() + "/static/" + s.assets.Hash() }

// mapConfigFor builds the page configuration from the catalog. extent is a
// layer's extent as the page's reader sees it, so that the time slider does
// not reach out to reports hidden from them.
func (s *Server) mapConfigFor(cat *layers.Catalog, now time.Time, extent func(*layers.Layer) (layers.Extent, error)) (mapConfig, error) {
	cfg := mapConfig{
		Root: s.rootPath(), Static: s.staticPrefix(), StyleURL: s.cfg.MapStyleURL,
		Filters: map[string]map[string][]string{}, BBox: layers.AreaOfInterest(),
	}
	var zones []string
	var start, end time.Time
	for _, l := range cat.Layers() {
		cfg.Layers = append(cfg.Layers, mapLayer{ID: l.ID, Title: l.Title, Kind: string(l.Kind),
			MinZoom: l.MinZoom, MaxZoom: l.MaxZoom, Writable: l.Kind == layers.KindReports})
		if l.Kind == layers.KindArea && l.ID != "oblasts" {
			zones = append(zones, l.ID)
		}
		if l.Kind == layers.KindArea {
			continue
		}
		e, err := extent(l)
		if err != nil {
			return cfg, err
		}
		if !e.Start.IsZero() && (start.IsZero() || e.Start.Before(start)) {
			start = e.Start
		}
		if e.End.After(end) {
			end = e.End
		}
	}
	// The slider reaches the present so that new reports fall inside it.
	if now.After(end) {
		end = now
	}
	if start.IsZero() {
		start = end.AddDate(0, -1, 0)
	}
	cfg.Time = [2]string{start.UTC().Format(time.RFC3339), end.UTC().Truncate(time.Second).Format(time.RFC3339)}
	for _, l := range cat.Layers() {
		schema, ok := l.Schema()
		if !ok {
			continue
		}
		fs := map[string][]string{}
		for _, name := range mapFilterNames() {
			f, ok := schema.Field(name)
			if !ok || !f.Queryable {
				continue
			}
			switch {
			case name == "zones":
				fs[name] = zones
			case len(f.Enum) > 0:
				fs[name] = f.Enum
			}
		}
		cfg.Filters[l.ID] = fs
	}
	return cfg, nil
}

// contentSecurityPolicy is the map page's policy: scripts, styles and
// workers only from this server (MapLibre may start its worker from a blob:
// URL), images also from data: and blob: URLs (symbols drawn on canvases),
// and connections only to this server and, when the operator set one, the
// outside style's origin.
func (s *Server) contentSecurityPolicy() string {
	connect, img := "'self'", "'self' data: blob:"
	if o := originOf(s.cfg.MapStyleURL); o != "" {
		connect += " " + o
		img += " " + o
	}
	return strings.Join([]string{
		"default-src 'none'",
		"script-src 'self'",
		"style-src 'self'",
		"img-src " + img,
		"font-src 'self'",
		"connect-src " + connect,
		"worker-src 'self' blob:",
		"child-src 'self' blob:",
		"base-uri 'none'",
		"form-action 'none'",
		"frame-ancestors 'none'",
	}, "; ")
}

func originOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// handleMap serves the map page.
func (s *Server) handleMap(c echo.Context) error {
	cat, err := s.Catalog()
	if err != nil {
		return err
	}
	v := s.viewOf(c)
	mc, err := s.mapConfigFor(cat, time.Now(), func(l *layers.Layer) (layers.Extent, error) {
		vis, err := s.visible(c, v, l)
		return vis.Extent, err
	})
	if err != nil {
		return err
	}
	cfg, err := json.Marshal(mc)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := s.assets.RenderPage(&buf, ui.PageData{Static: s.staticPrefix(), Config: string(cfg)}); err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Content-Security-Policy", s.contentSecurityPolicy())
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	// The page names the current asset hash and data extent: always revalidate.
	h.Set("Cache-Control", "no-cache")
	return c.HTMLBlob(http.StatusOK, buf.Bytes())
}

// handleStatic serves the embedded scripts, styles and libraries. Under the
// current hash they are immutable; under an old hash (a page cached before
// an upgrade) they are served but not cached.
func (s *Server) handleStatic(c echo.Context) error {
	a, ok := s.assets.Lookup(c.Param("*"))
	if !ok {
		return layers.Errorf(layers.ENOTFOUND, "no static file %q", c.Param("*"))
	}
	h := c.Response().Header()
	if c.Param("hash") == s.assets.Hash() {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	h.Set("ETag", a.ETag)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Vary", "Accept-Encoding")
	if etagMatches(c.Request().Header.Get("If-None-Match"), a.ETag) {
		return c.NoContent(http.StatusNotModified)
	}
	body := a.Body
	if acceptsGzip(c.Request().Header.Get("Accept-Encoding")) {
		if gz := a.Gzipped(); gz != nil {
			h.Set("Content-Encoding", "gzip")
			body = gz
		}
	}
	if c.Request().Method == http.MethodHead {
		h.Set("Content-Type", a.ContentType)
		return c.NoContent(http.StatusOK)
	}
	return c.Blob(http.StatusOK, a.ContentType, body)
}
