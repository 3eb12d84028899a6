package web

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
)

func TestBodyLimit(t *testing.T) {
	s := New(Config{Limits: Limits{MaxBodyBytes: 1024}})
	req := httptest.NewRequest("POST", "/healthz", strings.NewReader(strings.Repeat("x", 4096)))
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge || !strings.Contains(rec.Body.String(), "1024") {
		t.Fatalf("got %d %s", rec.Code, rec.Body)
	}
	// A body that lies about its length is cut off at the limit when read.
	s.echo.POST("/test/echo-body", func(c echo.Context) error {
		buf := make([]byte, 8192)
		n := 0
		for {
			m, err := c.Request().Body.Read(buf[n:])
			n += m
			if err != nil {
				if strings.Contains(err.Error(), "too large") {
					return c.String(http.StatusRequestEntityTooLarge, "cut")
				}
				return c.String(200, "read all")
			}
		}
	})
	req = httptest.NewRequest("POST", "/test/echo-body", strings.NewReader(strings.Repeat("x", 4096)))
	req.ContentLength = -1
	rec = httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("chunked oversize body: got %d %s", rec.Code, rec.Body)
	}
}

func TestRequestDeadlineFlowsDown(t *testing.T) {
	s := New(Config{Limits: Limits{RequestTimeout: 50 * time.Millisecond}})
	s.echo.GET("/test/slow", func(c echo.Context) error {
		if _, ok := c.Request().Context().Deadline(); !ok {
			t.Error("request context has no deadline")
		}
		<-c.Request().Context().Done()
		return c.Request().Context().Err()
	})
	rec := do(t, s.Handler(), "GET", "/test/slow")
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "deadline") {
		t.Fatalf("got %d %s", rec.Code, rec.Body)
	}
	// Streams are exempt.
	s.echo.GET("/events", func(c echo.Context) error {
		if _, ok := c.Request().Context().Deadline(); ok {
			t.Error("/events got a deadline")
		}
		return c.NoContent(204)
	})
	do(t, s.Handler(), "GET", "/events")
}

func TestIsExpensive(t *testing.T) {
	s := New(Config{Limits: Limits{ExpensiveLimit: 1000, ExpensiveMaxZoom: 5}})
	for _, c := range []struct {
		target string
		want   bool
	}{
		{"/collections/incidents/items", false},
		{"/collections/incidents/items?limit=100", false},
		{"/collections/incidents/items?limit=1000", true},
		{"/collections/incidents/items?f=gpkg", true},
		{"/collections/incidents/items/abc", false},
		{"/tiles/incidents/4/9/5.mvt", true},
		{"/tiles/incidents,donbas/5/19/11.mvt", true},
		{"/tiles/incidents/6/38/22.mvt", false},
		{"/tiles/incidents.json", false},
	} {
		if got := s.isExpensive(httptest.NewRequest("GET", c.target, nil)); got != c.want {
			t.Errorf("%s: expensive = %v, want %v", c.target, got, c.want)
		}
	}
	for _, c := range []struct {
		length int64
		want   bool
	}{{100, false}, {largeBody, false}, {largeBody + 1, true}, {-1, true}} {
		r := httptest.NewRequest("POST", "/collections/incidents/items", nil)
		r.ContentLength = c.length
		if got := s.isExpensive(r); got != c.want {
			t.Errorf("POST of %d bytes: expensive = %v, want %v", c.length, got, c.want)
		}
	}
}

// TestExpensiveRequestsAreCapped holds MaxExpensive expensive requests open
// and checks that the next one gets 503 with Retry-After while cheap ones
// still pass.
func TestExpensiveRequestsAreCapped(t *testing.T) {
	s := New(Config{Limits: Limits{MaxExpensive: 2}})
	release := make(chan struct{})
	entered := make(chan struct{}, 10)
	slow := s.limitExpensive(func(c echo.Context) error {
		entered <- struct{}{}
		<-release
		return c.NoContent(200)
	})
	call := func(target string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		c := s.echo.NewContext(httptest.NewRequest("GET", target, nil), rec)
		if err := slow(c); err != nil {
			s.handleError(err, c)
		}
		return rec
	}
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() { defer wg.Done(); call("/tiles/incidents/3/4/2.mvt") }()
	}
	<-entered
	<-entered
	rec := call("/collections/incidents/items?limit=5000")
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("third expensive request: got %d, Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
	done := make(chan *httptest.ResponseRecorder)
	go func() { done <- call("/tiles/incidents/12/2400/1400.mvt") }()
	<-entered
	close(release)
	if rec := <-done; rec.Code != 200 {
		t.Fatalf("cheap request while capped: got %d", rec.Code)
	}
	wg.Wait()
	if rec := call("/collections/incidents/items?limit=5000"); rec.Code != 200 {
		t.Fatalf("after release: got %d", rec.Code)
	}
	_ = context.Background()
}

func TestSecurityHeaders(t *testing.T) {
	rec := do(t, New(Config{}).Handler(), "GET", "/healthz")
	for h, want := range map[string]string{
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "strict-origin-when-cross-origin",
		"Content-Security-Policy": "script-src 'self';",
	} {
		if got := rec.Header().Get(h); !strings.Contains(got, want) {
			t.Errorf("%s = %q, want it to contain %q", h, got, want)
		}
	}
	if csp := rec.Header().Get("Content-Security-Policy"); strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("CSP allows inline or eval: %s", csp)
	}
}

func TestMetrics(t *testing.T) {
	s := New(Config{})
	do(t, s.Handler(), "GET", "/healthz")
	do(t, s.Handler(), "GET", "/no/such")
	rec := do(t, s.Handler(), "GET", "/metrics")
	body := rec.Body.String()
	for _, want := range []string{
		`troopmap_http_requests_total{method="GET",route="/healthz",status="200"} 1`,
		`troopmap_http_request_duration_seconds_bucket{method="GET",route="/healthz"`,
		`status="404"`,
		"troopmap_sse_subscribers 0",
		"go_goroutines",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// TestAcceptDownloadsAreExpensive fills every expensive-request slot and
// checks over HTTP that a download chosen by Accept is turned away just like
// one chosen by ?f=, while a plain GeoJSON page still passes; once a slot is
// free, the same Accept download is served.
func TestAcceptDownloadsAreExpensive(t *testing.T) {
	s, l := exportServer(t)
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	get := func(query, accept string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", ts.URL+"/collections/"+l.ID+"/items"+query, nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	for range cap(s.expensive) {
		s.expensive <- struct{}{}
	}
	for _, c := range []struct {
		query, accept string
		want          int
	}{
		{"?f=csv", "", http.StatusServiceUnavailable},
		{"", "text/csv", http.StatusServiceUnavailable},
		{"", "application/vnd.google-earth.kml+xml", http.StatusServiceUnavailable},
		{"", "application/geopackage+sqlite3", http.StatusServiceUnavailable},
		{"", "text/csv;q=0.9, application/json;q=0.5", http.StatusServiceUnavailable},
		{"", "application/geo+json", http.StatusOK},
		{"", "application/json, text/csv;q=0.5", http.StatusOK}, // JSON preferred: a page, not a download
		{"?f=json", "text/csv", http.StatusOK},                  // f wins over Accept
	} {
		resp := get(c.query, c.accept)
		if resp.StatusCode != c.want {
			t.Errorf("%q Accept %q while full: got %d, want %d", c.query, c.accept, resp.StatusCode, c.want)
		}
		if c.want == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
			t.Errorf("%q Accept %q: 503 without Retry-After", c.query, c.accept)
		}
	}
	<-s.expensive
	resp := get("", "text/csv")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("Accept text/csv with a free slot: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}
