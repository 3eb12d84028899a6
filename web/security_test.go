package web

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"troopmap/layers"
)

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestAPIKeysNeverLogged sends writes with valid and invalid bearer keys
// that fail in several ways, with the most verbose log level, and checks
// that no part of any key's secret reaches the log.
func TestAPIKeysNeverLogged(t *testing.T) {
	var logs syncBuffer
	e := newWriteEnv(t, Config{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	bad := "tm_0123456789abcdef_thisisnotarealsecretvalue0000"
	body := mustJSON(incidentFeature(1))
	for _, key := range []string{e.analyst, e.editor, bad} {
		for _, r := range []struct {
			method, path, ctype string
			body                []byte
		}{
			{"POST", "/collections/incidents/items", "application/geo+json", []byte(`{"type":"Feature"`)},
			{"POST", "/collections/incidents/items", "text/plain", body},
			{"POST", "/collections/donbas/items", "application/geo+json", body},
			{"PATCH", "/collections/incidents/items/nosuch", "application/merge-patch+json", []byte(`{}`)},
			{"DELETE", "/collections/incidents/items/nosuch", "", nil},
			{"POST", "/collections/incidents/items?key=" + key, "application/geo+json", []byte(`[]`)},
		} {
			rec := send(t, e.h, r.method, r.path, r.body, "Authorization", "Bearer "+key, "Content-Type", r.ctype)
			if rec.Code < 400 {
				t.Fatalf("%s %s succeeded: %d", r.method, r.path, rec.Code)
			}
		}
	}
	out := logs.String()
	if !strings.Contains(out, "status=4") {
		t.Fatalf("the requests were not logged at all:\n%s", out)
	}
	for _, key := range []string{e.analyst, e.editor, bad} {
		_, secret, _ := layers.ParseToken(key)
		if secret == "" {
			secret = key[len(key)-20:]
		}
		if strings.Contains(out, secret) {
			t.Fatalf("a key's secret is in the log:\n%s", out)
		}
	}
	if strings.Contains(out, "key=tm_") {
		t.Fatalf("a key in the query string was logged:\n%s", out)
	}
}

// TestNoPathTraversal asks the static and tile routes (and others with path
// parameters) for files outside them, plainly and encoded: every answer is
// a 4xx without any file's content.
func TestNoPathTraversal(t *testing.T) {
	s := New(Config{})
	e := newWriteEnv(t, Config{})
	ts := httptest.NewServer(e.h)
	defer ts.Close()
	hash := s.assets.Hash()
	names := s.assets.Names()
	if len(names) == 0 {
		t.Fatal("no static assets")
	}
	if resp, err := http.Get(ts.URL + "/static/" + hash + "/" + names[0]); err != nil || resp.StatusCode != 200 {
		t.Fatalf("a real static file is not served: %v", err)
	}
	for _, p := range []string{
		"/static/" + hash + "/../../go.mod",
		"/static/" + hash + "/..%2f..%2fgo.mod",
		"/static/" + hash + "/%2e%2e/%2e%2e/go.mod",
		"/static/" + hash + "/%252e%252e/%252e%252e/go.mod",
		"/static/" + hash + "/....//....//go.mod",
		"/static/" + hash + "/..\\..\\go.mod",
		"/static/" + hash + "/%2e%2e%5c%2e%2e%5cgo.mod",
		"/static/" + hash + "/" + names[0] + "/../../../../etc/passwd",
		"/static/" + hash + "/%00../../etc/passwd",
		"/static/../web/server.go",
		"/static/%2e%2e/%2e%2e/etc/passwd",
		"/tiles/..%2f..%2fetc%2fpasswd/1/1/1.mvt",
		"/tiles/incidents/../../../etc/passwd",
		"/tiles/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
		"/tiles/incidents/1/1/..%2f..%2f..%2fetc%2fpasswd",
		"/tiles/..%2f..%2fgo.mod.json",
		"/collections/..%2f..%2fetc%2fpasswd",
		"/collections/incidents/items/..%2f..%2f..%2fgo.mod",
		"/collections/%2e%2e/items",
		"/styles/..%2f..%2fgo.mod",
		"/map/../../go.mod",
	} {
		req, err := http.NewRequest("GET", ts.URL+p, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.URL.RawPath = "" // send exactly what is written
		req.URL.Opaque = p
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 && !strings.HasPrefix(p, "/map") {
			t.Errorf("%s: 200", p)
		}
		if resp.StatusCode >= 500 {
			t.Errorf("%s: %d", p, resp.StatusCode)
		}
		for _, leak := range []string{"module troopmap", "root:x:0:0", "package web"} {
			if bytes.Contains(b, []byte(leak)) {
				t.Errorf("%s: the answer holds a file (%q)", p, leak)
			}
		}
	}
}

// TestCORSNeverAllowsCredentials checks the CORS answers, for any origin and
// for a configured list: never Access-Control-Allow-Credentials, never an
// echoed origin together with credentials, and writes are not allowed
// cross-origin.
func TestCORSNeverAllowsCredentials(t *testing.T) {
	for _, origins := range [][]string{nil, {"https://maps.example.org"}} {
		h := New(Config{CORSOrigins: origins}).Handler()
		for _, r := range []struct{ method, path string }{
			{"OPTIONS", "/collections"}, {"GET", "/collections"}, {"GET", "/tiles/incidents.json"}, {"OPTIONS", "/collections/incidents/items"},
		} {
			req := httptest.NewRequest(r.method, r.path, nil)
			req.Header.Set("Origin", "https://maps.example.org")
			if r.method == "OPTIONS" {
				req.Header.Set("Access-Control-Request-Method", "POST")
				req.Header.Set("Access-Control-Request-Headers", "Authorization")
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			hd := rec.Header()
			if v := hd.Get("Access-Control-Allow-Credentials"); v != "" {
				t.Errorf("%v %s %s: Access-Control-Allow-Credentials = %q", origins, r.method, r.path, v)
			}
			if origins == nil && hd.Get("Access-Control-Allow-Origin") != "" && hd.Get("Access-Control-Allow-Origin") != "*" {
				t.Errorf("%s %s: any-origin CORS echoes the origin %q", r.method, r.path, hd.Get("Access-Control-Allow-Origin"))
			}
			if m := hd.Get("Access-Control-Allow-Methods"); strings.Contains(m, "POST") || strings.Contains(m, "DELETE") {
				t.Errorf("%v %s %s: cross-origin writes allowed: %q", origins, r.method, r.path, m)
			}
		}
	}
}

func TestRedactURI(t *testing.T) {
	for in, want := range map[string]string{
		"/collections":                          "/collections",
		"/collections?limit=10":                 "/collections?limit=10",
		"/x?key=abc&limit=5":                    "/x?key=REDACTED&limit=5",
		"/x?bbox=1,2,3,4&q=tm_01_secret":        "/x?bbox=1,2,3,4&q=REDACTED",
		"/x?Access_Token=zzz":                   "/x?Access_Token=REDACTED",
		"/x?f=json&note=TM%5Fabc_def&api_key=1": "/x?f=json&note=REDACTED&api_key=REDACTED",
	} {
		if got := redactURI(in); got != want {
			t.Errorf("redactURI(%q) = %q, want %q", in, got, want)
		}
	}
}
