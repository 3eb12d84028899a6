package web

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"troopmap/layers"
)

// testKeys resolves keys from a map; the real key store lives with the
// store and is exercised in the matrix test once it exists.
type testKeys map[string]layers.Principal

func (k testKeys) Authenticate(_ context.Context, key string) (layers.Principal, error) {
	p, ok := k[key]
	if !ok {
		return p, layers.Errorf(layers.EUNAUTHORIZED, "the API key is unknown or revoked")
	}
	return p, nil
}

var roleKeys = testKeys{
	"k-viewer":  {Name: "vera", Role: layers.RoleOf(layers.RoleViewer)},
	"k-analyst": {Name: "ann", Role: layers.RoleOf(layers.RoleAnalyst)},
	"k-editor":  {Name: "ed", Role: layers.RoleOf(layers.RoleEditor)},
	"k-admin":   {Name: "root", Role: layers.RoleOf(layers.RoleAdmin)},
}

func bearer(key string) []string {
	if key == "" {
		return nil
	}
	return []string{"Authorization", "Bearer " + key}
}

func TestAuthenticationErrors(t *testing.T) {
	s := New(Config{Keys: roleKeys})
	for _, tc := range []struct {
		name, header string
		status       int
		mentions     string
	}{
		{"basic auth", "Basic dXNlcjpwdw==", 401, `want "Bearer <key>"`},
		{"empty bearer", "Bearer ", 401, `want "Bearer <key>"`},
		{"unknown key", "Bearer nope", 401, "unknown or revoked"},
		{"known key", "Bearer k-viewer", 200, ""},
		{"scheme is case-insensitive", "bearer k-editor", 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := do(t, s.Handler(), "GET", "/metrics", "Authorization", tc.header)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if tc.mentions != "" {
				if b := errorOf(t, rec); b.Code != layers.EUNAUTHORIZED || !strings.Contains(b.Description, tc.mentions) {
					t.Errorf("body %+v does not say %q", b, tc.mentions)
				}
			}
		})
	}
}

// Keyed answers may hold restricted reports: they vary on Authorization and
// no shared cache may keep them.
func TestKeyedAnswersArePrivate(t *testing.T) {
	s := New(Config{Keys: roleKeys})
	keyed := do(t, s.Handler(), "GET", "/healthz", bearer("k-viewer")...)
	anon := do(t, s.Handler(), "GET", "/healthz")
	for _, rec := range []*httptest.ResponseRecorder{keyed, anon} {
		if vary := strings.Join(rec.Header().Values("Vary"), ", "); !strings.Contains(vary, "Authorization") {
			t.Errorf("Vary = %q, want Authorization", vary)
		}
	}
	if cc := keyed.Header().Get("Cache-Control"); !strings.HasPrefix(cc, "private") || strings.Contains(cc, "public") {
		t.Errorf("keyed Cache-Control = %q, want private", cc)
	}
	if cc := anon.Header().Get("Cache-Control"); strings.Contains(cc, "private") {
		t.Errorf("anonymous Cache-Control = %q", cc)
	}
	h := map[string][]string{"Cache-Control": {"public, max-age=60, s-maxage=600"}}
	privateCache(h)
	if got := h["Cache-Control"][0]; got != "private, max-age=60" {
		t.Errorf("privateCache = %q", got)
	}
}

func TestPublicReadOff(t *testing.T) {
	s := New(Config{Keys: roleKeys, Access: layers.NewAccess(layers.PublicPolicy{Read: false}, nil)})
	rec := do(t, s.Handler(), "GET", "/metrics")
	if b := errorOf(t, rec); rec.Code != 401 || !strings.Contains(b.Description, "role viewer") {
		t.Fatalf("anonymous read with --public-read=false: %d %+v", rec.Code, b)
	}
	if rec := do(t, s.Handler(), "GET", "/healthz"); rec.Code != 200 {
		t.Errorf("/healthz must stay open: %d", rec.Code)
	}
	if rec := do(t, s.Handler(), "GET", "/metrics", bearer("k-viewer")...); rec.Code != 200 {
		t.Errorf("viewer read with --public-read=false: %d", rec.Code)
	}
}

// Counts give hidden reports away as surely as the reports themselves: the
// layer sizes in /readyz and /metrics follow the reader.
func TestCountsFollowTheReader(t *testing.T) {
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	s := New(Config{Keys: roleKeys, Access: layers.NewAccess(layers.PublicPolicy{Read: true}, func() time.Time { return now })})
	l := layers.NewLayer(layers.ReportMetas()[1])
	props := func(sens string) map[string]any {
		return map[string]any{"sensitivity": sens, "observed_at": "2026-02-01T00:00:00Z"}
	}
	if err := l.Load([]*layers.Feature{
		layers.NewFeature("a", orb.Point{37, 48}, props("public"), layers.ReportTimeKeys()...),
		layers.NewFeature("b", orb.Point{37, 48}, props("restricted"), layers.ReportTimeKeys()...),
	}); err != nil {
		t.Fatal(err)
	}
	cat, _ := layers.NewCatalog(l)
	s.SetCatalog(cat)
	for _, tc := range []struct {
		key  string
		want int
	}{{"", 1}, {"k-viewer", 2}} {
		var ready struct{ Layers map[string]int }
		rec := do(t, s.Handler(), "GET", "/readyz", bearer(tc.key)...)
		if err := json.Unmarshal(rec.Body.Bytes(), &ready); err != nil || ready.Layers[l.ID] != tc.want {
			t.Errorf("key %q: /readyz counts %v, want %d", tc.key, ready.Layers, tc.want)
		}
		m := do(t, s.Handler(), "GET", "/metrics", bearer(tc.key)...).Body.String()
		if has := strings.Contains(m, "troopmap_layer_features"); has != (tc.key != "") {
			t.Errorf("key %q: /metrics shows layer sizes: %v", tc.key, has)
		}
	}
}

func TestReadRateLimit(t *testing.T) {
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	s := New(Config{Keys: roleKeys, Now: func() time.Time { return now }, ReadLimit: RateLimit{Rate: 1, Burst: 2}})
	get := func(addr string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", "/metrics", nil)
		req.RemoteAddr = addr + ":5555"
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		return rec
	}
	for i := 0; i < 2; i++ {
		if rec := get("192.0.2.1"); rec.Code != 200 {
			t.Fatalf("read %d within the burst: %d", i+1, rec.Code)
		}
	}
	rec := get("192.0.2.1")
	if rec.Code != 429 || rec.Header().Get("Retry-After") != "1" {
		t.Fatalf("read over the limit: %d, Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
	if b := errorOf(t, rec); b.Code != layers.ERATELIMIT || !strings.Contains(b.Description, "192.0.2.1") || !strings.Contains(b.Description, "1 per second") {
		t.Errorf("429 body %+v", b)
	}
	if rec := get("192.0.2.2"); rec.Code != 200 {
		t.Errorf("another address is limited too: %d", rec.Code)
	}
	// Health checks are never limited.
	req := httptest.NewRequest("GET", "/healthz", nil)
	req.RemoteAddr = "192.0.2.1:5555"
	hrec := httptest.NewRecorder()
	s.Handler().ServeHTTP(hrec, req)
	if hrec.Code != 200 {
		t.Errorf("/healthz limited: %d", hrec.Code)
	}
	now = now.Add(time.Second)
	if rec := get("192.0.2.1"); rec.Code != 200 {
		t.Errorf("a second later: %d", rec.Code)
	}
}

// A spoofed X-Forwarded-For does not escape the read limit unless the
// operator trusts a proxy.
func TestReadRateLimitIgnoresForwardedFor(t *testing.T) {
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	s := New(Config{Now: func() time.Time { return now }, ReadLimit: RateLimit{Rate: 1, Burst: 1}})
	codes := []int{}
	for i := 0; i < 2; i++ {
		req := httptest.NewRequest("GET", "/metrics", nil)
		req.RemoteAddr = "192.0.2.1:5555"
		req.Header.Set("X-Forwarded-For", "198.51.100."+string(rune('1'+i)))
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		codes = append(codes, rec.Code)
	}
	if codes[1] != 429 {
		t.Errorf("codes %v: a fresh X-Forwarded-For escaped the limit", codes)
	}
}
