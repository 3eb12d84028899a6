package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"troopmap/layers"
)

// do sends a request through the router, as a client would.
func do(t testing.TB, h http.Handler, method, target string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestHealthAndReadiness(t *testing.T) {
	s := New(Config{})
	if rec := do(t, s.Handler(), "GET", "/healthz"); rec.Code != 200 {
		t.Fatalf("/healthz before load = %d", rec.Code)
	}
	rec := do(t, s.Handler(), "GET", "/readyz")
	if rec.Code != 503 || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("/readyz before load = %d, Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
	l := layers.NewLayer(layers.Meta{ID: "x"})
	cat, _ := layers.NewCatalog(l)
	s.SetCatalog(cat)
	if rec := do(t, s.Handler(), "GET", "/readyz"); rec.Code != 200 {
		t.Fatalf("/readyz after load = %d", rec.Code)
	}
}

func TestUnknownRouteIsJSON404(t *testing.T) {
	rec := do(t, New(Config{}).Handler(), "GET", "/no/such/thing")
	var body errorBody
	if rec.Code != 404 || json.Unmarshal(rec.Body.Bytes(), &body) != nil || body.Code != layers.ENOTFOUND {
		t.Fatalf("got %d %s", rec.Code, rec.Body)
	}
}
