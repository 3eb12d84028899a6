package web

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"troopmap/layers"
)

// mapTestServer has area and report layers like the real catalog, with one
// report in March 2022.
func mapTestServer(t *testing.T, cfg Config) *Server {
	t.Helper()
	s := New(cfg)
	donbas := layers.NewLayer(layers.Meta{ID: "donbas", Title: "Donbas", Kind: layers.KindArea})
	oblasts := layers.NewLayer(layers.Meta{ID: "oblasts", Title: "Oblasts", Kind: layers.KindArea})
	tc := layers.NewLayer(layers.ReportMetas()[0])
	inc := layers.NewLayer(layers.ReportMetas()[1])
	if err := tc.Load([]*layers.Feature{layers.NewFeature("r1", orb.Point{37.8, 48}, map[string]any{
		"observed_at": "2022-03-01T00:00:00Z", "side": "ru", "sensitivity": "public",
	}, layers.ReportTimeKeys()...)}); err != nil {
		t.Fatal(err)
	}
	cat, err := layers.NewCatalog(donbas, oblasts, tc, inc)
	if err != nil {
		t.Fatal(err)
	}
	s.SetCatalog(cat)
	return s
}

func pageConfig(t *testing.T, body string) mapConfig {
	t.Helper()
	m := regexp.MustCompile(`data-config="([^"]*)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("page has no data-config:\n%s", body)
	}
	var cfg mapConfig
	if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &cfg); err != nil {
		t.Fatalf("data-config: %v", err)
	}
	return cfg
}

func TestMapPage(t *testing.T) {
	s := mapTestServer(t, Config{})
	rec := do(t, s.Handler(), "GET", "/map")
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("GET /map = %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	body := rec.Body.String()
	csp := rec.Header().Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self';", "worker-src 'self' blob:", "connect-src 'self';", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-") {
		t.Errorf("CSP allows unsafe sources: %s", csp)
	}
	// No inline script and no inline handlers: every <script> has a src.
	if regexp.MustCompile(`<script(?:\s+type="module")?\s*>`).MatchString(body) || regexp.MustCompile(`\son[a-z]+=`).MatchString(body) {
		t.Errorf("page has inline script or event handlers:\n%s", body)
	}
	cfg := pageConfig(t, body)
	if cfg.Static != "/static/"+s.assets.Hash() {
		t.Errorf("static prefix %q, hash %q", cfg.Static, s.assets.Hash())
	}
	var ids []string
	for _, l := range cfg.Layers {
		ids = append(ids, l.ID+":"+l.Kind)
	}
	if got := strings.Join(ids, ","); got != "donbas:area,oblasts:area,troop-concentrations:reports,incidents:reports" {
		t.Errorf("layers %s", got)
	}
	if got := cfg.Filters["troop-concentrations"]["side"]; strings.Join(got, ",") != "ru,ua,by,unknown" {
		t.Errorf("side filter %v", got)
	}
	if got := cfg.Filters["troop-concentrations"]["zones"]; strings.Join(got, ",") != "donbas" {
		t.Errorf("zones filter %v (oblasts is not a zone)", got)
	}
	if _, ok := cfg.Filters["troop-concentrations"]["event_type"]; ok {
		t.Error("event_type offered for troop concentrations")
	}
	if _, ok := cfg.Filters["incidents"]["event_type"]; !ok {
		t.Error("event_type not offered for incidents")
	}
	if cfg.Time[0] != "2022-03-01T00:00:00Z" {
		t.Errorf("time window starts %s, want the first report", cfg.Time[0])
	}
	if end, err := time.Parse(time.RFC3339, cfg.Time[1]); err != nil || time.Since(end) > time.Minute {
		t.Errorf("time window ends %s, want now", cfg.Time[1])
	}
	// Every asset the page names is served.
	for _, m := range regexp.MustCompile(`(?:src|href)="(/static/[^"]+)"`).FindAllStringSubmatch(body, -1) {
		if rec := do(t, s.Handler(), "GET", m[1]); rec.Code != 200 {
			t.Errorf("GET %s = %d", m[1], rec.Code)
		}
	}
}

func TestMapPageBehindPrefixAndOutsideStyle(t *testing.T) {
	s := mapTestServer(t, Config{BaseURL: "https://maps.example.org/tm/", MapStyleURL: "https://tiles.example.net/styles/base.json"})
	rec := do(t, s.Handler(), "GET", "/map")
	cfg := pageConfig(t, rec.Body.String())
	if cfg.Root != "/tm" || !strings.HasPrefix(cfg.Static, "/tm/static/") || cfg.StyleURL != "https://tiles.example.net/styles/base.json" {
		t.Errorf("config root %q static %q style %q", cfg.Root, cfg.Static, cfg.StyleURL)
	}
	if !strings.Contains(rec.Body.String(), `src="/tm/static/`) {
		t.Error("asset URLs lack the base path")
	}
	csp := rec.Header().Get("Content-Security-Policy")
	if !strings.Contains(csp, "connect-src 'self' https://tiles.example.net;") || !strings.Contains(csp, "img-src 'self' data: blob: https://tiles.example.net;") {
		t.Errorf("CSP does not allow the outside style's origin: %s", csp)
	}
}

func TestMapPageWhileLoading(t *testing.T) {
	rec := do(t, New(Config{}).Handler(), "GET", "/map")
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("GET /map before load = %d", rec.Code)
	}
}

func TestStaticAssets(t *testing.T) {
	s := New(Config{})
	h := s.Handler()
	hash := s.assets.Hash()
	cases := []struct {
		path, ctype string
	}{
		{"/static/" + hash + "/vendor/maplibre-gl/maplibre-gl.mjs", "text/javascript; charset=utf-8"},
		{"/static/" + hash + "/vendor/maplibre-gl/maplibre-gl-worker.mjs", "text/javascript; charset=utf-8"},
		{"/static/" + hash + "/vendor/maplibre-gl/maplibre-gl.css", "text/css; charset=utf-8"},
		{"/static/" + hash + "/vendor/milsymbol/milsymbol.js", "text/javascript; charset=utf-8"},
		{"/static/" + hash + "/vendor/maplibre-gl/LICENSE.txt", "text/plain; charset=utf-8"},
		{"/static/" + hash + "/vendor/milsymbol/LICENSE", "text/plain; charset=utf-8"},
		{"/static/" + hash + "/map/main.js", "text/javascript; charset=utf-8"},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			rec := do(t, h, "GET", c.path)
			if rec.Code != 200 || rec.Header().Get("Content-Type") != c.ctype {
				t.Fatalf("= %d %q", rec.Code, rec.Header().Get("Content-Type"))
			}
			if cc := rec.Header().Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
				t.Errorf("Cache-Control %q", cc)
			}
			etag := rec.Header().Get("ETag")
			if etag == "" || rec.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("ETag %q, nosniff %q", etag, rec.Header().Get("X-Content-Type-Options"))
			}
			if rec := do(t, h, "GET", c.path, "If-None-Match", etag); rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
				t.Errorf("If-None-Match = %d with %d bytes", rec.Code, rec.Body.Len())
			}
			gz := do(t, h, "GET", c.path, "Accept-Encoding", "br;q=1, gzip;q=0.8")
			if gz.Header().Get("Content-Encoding") == "gzip" {
				zr, err := gzip.NewReader(gz.Body)
				if err != nil {
					t.Fatal(err)
				}
				plain, _ := io.ReadAll(zr)
				if !bytes.Equal(plain, rec.Body.Bytes()) {
					t.Error("gzipped body differs from the plain one")
				}
			} else if rec.Body.Len() > 4096 {
				t.Errorf("a %d-byte file was not gzipped", rec.Body.Len())
			}
			if gz.Header().Get("Vary") != "Accept-Encoding" {
				t.Errorf("Vary %q", gz.Header().Get("Vary"))
			}
			if rec := do(t, h, "GET", c.path, "Accept-Encoding", "gzip;q=0"); rec.Header().Get("Content-Encoding") != "" {
				t.Error("gzip sent although the client refused it")
			}
		})
	}
	// A page cached before an upgrade still gets its files, uncached.
	old := do(t, h, "GET", "/static/0123456789abcdef/map/main.js")
	if old.Code != 200 || old.Header().Get("Cache-Control") != "no-cache" {
		t.Errorf("old hash = %d, Cache-Control %q", old.Code, old.Header().Get("Cache-Control"))
	}
	for _, p := range []string{"/static/" + hash + "/no/such.js", "/static/" + hash + "/../ui.go", "/static/" + hash + "/"} {
		if rec := do(t, h, "GET", p); rec.Code != 404 {
			t.Errorf("GET %s = %d, want 404", p, rec.Code)
		}
	}
}

// The licences of the vendored libraries ship with them.
func TestVendoredLicences(t *testing.T) {
	s := New(Config{})
	for name, want := range map[string]string{
		"vendor/maplibre-gl/LICENSE.txt": "BSD",
		"vendor/milsymbol/LICENSE":       "MIT License",
	} {
		a, ok := s.assets.Lookup(name)
		if !ok || !bytes.Contains(a.Body, []byte(want)) {
			t.Errorf("%s missing or without %q", name, want)
		}
	}
}

func TestAcceptsGzip(t *testing.T) {
	for h, want := range map[string]bool{
		"":                    false,
		"gzip":                true,
		"GZIP":                true,
		"deflate, gzip;q=0.5": true,
		"gzip;q=0":            false,
		"gzip; q=0.0":         false,
		"*":                   true,
		"*;q=0":               false,
		"br":                  false,
		"gzip;q=0, *":         false,
		"identity, *;q=0.1":   true,
	} {
		if got := acceptsGzip(h); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", h, got, want)
		}
	}
}

func FuzzAcceptsGzip(f *testing.F) {
	for _, s := range []string{"gzip", "gzip;q=0", "*;q=0.5, br", ";;,,q=", "gzip;q=abc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		got := acceptsGzip(h)
		// Without the word gzip or a star, gzip is never chosen.
		if got && !strings.Contains(strings.ToLower(h), "gzip") && !strings.Contains(h, "*") {
			t.Fatalf("acceptsGzip(%q) = true", h)
		}
	})
}

// The HTML landing page at / is the OGC one; it leads browsers to the map.
func TestLandingPageLinksToMap(t *testing.T) {
	s := mapTestServer(t, Config{})
	rec := do(t, s.Handler(), "GET", "/", "Accept", "text/html")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `href="http://example.com/map"`) {
		t.Fatalf("HTML landing page = %d without a link to /map:\n%s", rec.Code, rec.Body)
	}
	rec = do(t, s.Handler(), "GET", "/", "Accept", "application/json")
	var doc struct {
		Links []struct{ Href, Rel, Type string }
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, l := range doc.Links {
		found = found || (l.Href == "http://example.com/map" && l.Type == "text/html")
	}
	if !found {
		t.Errorf("JSON landing page lacks the map link: %+v", doc.Links)
	}
}
