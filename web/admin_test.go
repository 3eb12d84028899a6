package web

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"

	"troopmap/layers"
)

type keyList struct {
	Keys []struct {
		Name, Role, Status, Created, Revoked string
	}
}

type auditList struct {
	Changes []struct {
		Time, Actor, Action, Key, Role string
	}
}

func (e *writeEnv) admin(t *testing.T, method, target, key string, body []byte) *httptest.ResponseRecorder {
	t.Helper()
	hdr := []string{"Content-Type", "application/json"}
	if key != "" {
		hdr = append(hdr, "Authorization", "Bearer "+key)
	}
	return send(t, e.h, method, target, body, hdr...)
}

func decode[T any](t *testing.T, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("%d %s: %v", rec.Code, rec.Body, err)
	}
	return v
}

// Only admins manage keys: no key or an unknown one gets 401, a weaker key
// 403, and every refusal names the role needed.
func TestAdminRoutesNeedAdmin(t *testing.T) {
	for _, publicRead := range []bool{true, false} {
		e := newWriteEnv(t, Config{Access: layers.NewAccess(layers.PublicPolicy{Read: publicRead}, nil)})
		viewer := e.addKey(t, "vic", "viewer")
		for _, c := range []struct {
			method, path string
		}{{"GET", "/admin/keys"}, {"POST", "/admin/keys"}, {"GET", "/admin/keys/alice"}, {"DELETE", "/admin/keys/alice"}, {"GET", "/admin/audit"}} {
			for _, k := range []struct {
				who, key string
				want     int
			}{{"anonymous", "", 401}, {"unknown key", "tm_0011223344556677_00", 401}, {"viewer", viewer, 403}, {"analyst", e.analyst, 403}, {"editor", e.editor, 403}} {
				want := k.want
				rec := e.admin(t, c.method, c.path, k.key, []byte(`{"name":"x","role":"admin"}`))
				b := errorOf(t, rec)
				if rec.Code != want {
					t.Errorf("public read %v: %s %s as %s = %d %s, want %d", publicRead, c.method, c.path, k.who, rec.Code, rec.Body, want)
				}
				if k.who != "unknown key" && !strings.Contains(b.Description, "role admin") {
					t.Errorf("%s %s as %s: %q does not name role admin", c.method, c.path, k.who, b.Description)
				}
			}
		}
		// Nothing was created or revoked by the refused requests.
		keys, _ := e.store.Keys(t.Context())
		for _, k := range keys {
			if k.Name == "x" || !k.Revoked.IsZero() {
				t.Errorf("a refused request changed key %q", k.Name)
			}
		}
	}
}

func TestAdminKeysLifecycle(t *testing.T) {
	e := newWriteEnv(t, Config{BaseURL: "https://maps.example.org"})
	root := e.addKey(t, "root", "admin")

	// Create a key: 201, Location, the secret once.
	rec := e.admin(t, "POST", "/admin/keys", root, []byte(`{"name":"bob","role":"analyst"}`))
	if rec.Code != 201 || rec.Header().Get("Location") != "https://maps.example.org/admin/keys/bob" {
		t.Fatalf("POST /admin/keys = %d Location %q %s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	if cc := rec.Header().Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
	created := decode[struct{ Name, Role, Status, Key string }](t, rec)
	if created.Name != "bob" || created.Role != "analyst" || created.Status != "active" || !strings.HasPrefix(created.Key, "tm_") {
		t.Fatalf("created %+v", created)
	}
	bob := created.Key
	// The new key works at once, and its name becomes created_by.
	if rec := e.post(t, "incidents", mustJSON(incidentFeature(1)), bob); rec.Code != 201 || !strings.Contains(rec.Body.String(), `"created_by":"bob"`) {
		t.Fatalf("POST with the new key = %d %s", rec.Code, rec.Body)
	}

	// Bad requests name the field; nothing is stored.
	for _, c := range []struct {
		name, ctype, body string
		want              int
		mentions          string
	}{
		{"not json", "application/json", `{"name":`, 400, "JSON"},
		{"not an object", "application/json", `["bob"]`, 400, "object"},
		{"no name", "application/json", `{"role":"analyst"}`, 400, "name: required"},
		{"name not a string", "application/json", `{"name":7,"role":"analyst"}`, 400, "name: must be a string"},
		{"empty name", "application/json", `{"name":"","role":"analyst"}`, 400, "name:"},
		{"name with a space", "application/json", `{"name":"bob smith","role":"analyst"}`, 400, "name:"},
		{"name with a slash", "application/json", `{"name":"a/b","role":"analyst"}`, 400, "name:"},
		{"long name", "application/json", `{"name":"` + strings.Repeat("a", 101) + `","role":"analyst"}`, 400, "name: at most 100"},
		{"no role", "application/json", `{"name":"carol"}`, 400, "role: required"},
		{"unknown role", "application/json", `{"name":"carol","role":"god"}`, 400, `role "god"`},
		{"anonymous is no key role", "application/json", `{"name":"carol","role":"anonymous"}`, 400, "role"},
		{"unknown member", "application/json", `{"name":"carol","role":"viewer","secret":"x"}`, 400, "secret: unknown member"},
		{"duplicate member", "application/json", `{"name":"carol","name":"dave","role":"viewer"}`, 400, "name"},
		{"taken name", "application/json", `{"name":"bob","role":"editor"}`, 409, `"bob" exists already`},
		{"wrong content type", "text/plain", `{"name":"carol","role":"viewer"}`, 415, "application/json"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := send(t, e.h, "POST", "/admin/keys", []byte(c.body), "Content-Type", c.ctype, "Authorization", "Bearer "+root)
			if b := errorOf(t, rec); rec.Code != c.want || !strings.Contains(b.Description, c.mentions) {
				t.Errorf("= %d %q, want %d mentioning %q", rec.Code, b.Description, c.want, c.mentions)
			}
		})
	}
	if keys, _ := e.store.Keys(t.Context()); len(keys) != 4 { // alice, erin, root, bob
		t.Fatalf("%d keys stored after the refused creates, want 4", len(keys))
	}

	// The list: every key, never a secret, salt or hash.
	rec = e.admin(t, "GET", "/admin/keys", root, nil)
	list := decode[keyList](t, rec)
	if rec.Code != 200 || len(list.Keys) != 4 {
		t.Fatalf("GET /admin/keys = %d %s", rec.Code, rec.Body)
	}
	for _, bad := range []string{bob, "hash", "salt", strings.Split(bob, "_")[2]} {
		if strings.Contains(rec.Body.String(), bad) {
			t.Errorf("the key list holds %q", bad)
		}
	}
	if rec := e.admin(t, "GET", "/admin/keys/bob", root, nil); rec.Code != 200 || strings.Contains(rec.Body.String(), bob) {
		t.Errorf("GET /admin/keys/bob = %d %s", rec.Code, rec.Body)
	}
	if rec := e.admin(t, "GET", "/admin/keys/nobody", root, nil); rec.Code != 404 {
		t.Errorf("GET /admin/keys/nobody = %d", rec.Code)
	}

	// Revoke: 204, and the very next request with the key gets 401.
	if rec := e.admin(t, "DELETE", "/admin/keys/bob", root, nil); rec.Code != 204 {
		t.Fatalf("DELETE /admin/keys/bob = %d %s", rec.Code, rec.Body)
	}
	if rec := e.post(t, "incidents", mustJSON(incidentFeature(2)), bob); rec.Code != 401 {
		t.Fatalf("POST with the revoked key = %d %s", rec.Code, rec.Body)
	}
	if rec := do(t, e.h, "GET", "/collections/incidents/items", bearer(bob)...); rec.Code != 401 {
		t.Fatalf("GET with the revoked key = %d", rec.Code)
	}
	if rec := e.admin(t, "DELETE", "/admin/keys/bob", root, nil); rec.Code != 409 {
		t.Errorf("second DELETE = %d %s, want 409", rec.Code, rec.Body)
	}
	if rec := e.admin(t, "DELETE", "/admin/keys/nobody", root, nil); rec.Code != 404 {
		t.Errorf("DELETE of an unknown key = %d", rec.Code)
	}
	rec = e.admin(t, "GET", "/admin/keys/bob", root, nil)
	if k := decode[struct{ Status, Revoked string }](t, rec); k.Status != "revoked" || k.Revoked == "" {
		t.Errorf("revoked key shows as %+v", k)
	}
	// The name stays taken.
	if rec := e.admin(t, "POST", "/admin/keys", root, []byte(`{"name":"bob","role":"analyst"}`)); rec.Code != 409 {
		t.Errorf("reusing a revoked key's name = %d", rec.Code)
	}

	// The audit trail names the acting key, newest first.
	rec = e.admin(t, "GET", "/admin/audit?key=bob", root, nil)
	audit := decode[auditList](t, rec)
	var got []string
	for _, c := range audit.Changes {
		got = append(got, c.Action+" "+c.Key+" "+c.Role+" by "+c.Actor)
	}
	if want := []string{"revoke bob analyst by root", "create bob analyst by root"}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("audit of bob: %v, want %v", got, want)
	}
	rec = e.admin(t, "GET", "/admin/audit", root, nil)
	if all := decode[auditList](t, rec); len(all.Changes) != 5 { // alice, erin, root, bob made; bob revoked
		t.Errorf("audit holds %d changes, want 5: %s", len(all.Changes), rec.Body)
	}
	if rec := e.admin(t, "GET", "/admin/audit?who=bob", root, nil); rec.Code != 400 {
		t.Errorf("unknown audit parameter = %d", rec.Code)
	}
}

// Every authenticated write is in the report's history with its key's name.
func TestWritesAreAuditedWithTheKeyName(t *testing.T) {
	e := newWriteEnv(t, Config{})
	id, _ := createOne(t, e) // by alice
	item := "/collections/incidents/items/" + id
	if rec := send(t, e.h, "PATCH", item, []byte(`{"properties":{"notes":"seen again"}}`), "Authorization", "Bearer "+e.editor, "Content-Type", mediaMergePatch); rec.Code != 200 {
		t.Fatalf("PATCH = %d %s", rec.Code, rec.Body)
	}
	if rec := send(t, e.h, "PUT", item, mustJSON(incidentFeature(3)), "Authorization", "Bearer "+e.analyst, "Content-Type", mediaGeoJSON); rec.Code != 200 {
		t.Fatalf("PUT = %d %s", rec.Code, rec.Body)
	}
	if rec := send(t, e.h, "DELETE", item, nil, "Authorization", "Bearer "+e.editor); rec.Code != 204 {
		t.Fatalf("DELETE = %d %s", rec.Code, rec.Body)
	}
	rec := do(t, e.h, "GET", item+"/history", bearer(e.editor)...)
	h := decode[struct {
		Versions []struct {
			Operation, Actor string
		}
	}](t, rec)
	var got []string
	for _, v := range h.Versions {
		got = append(got, v.Operation+" "+v.Actor)
	}
	if want := []string{"delete erin", "replace alice", "update erin", "create alice"}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("history %v, want %v", got, want)
	}
}

// Writes are limited per key: past the burst a key gets 429 with
// Retry-After, while another key writes on.
func TestWriteRateLimitPerKey(t *testing.T) {
	clk := &clock{t: matrixT0}
	e := newWriteEnv(t, Config{Now: clk.Now, WriteLimit: RateLimit{Rate: 0.5, Burst: 2}})
	for i := 0; i < 2; i++ {
		if rec := e.post(t, "incidents", mustJSON(incidentFeature(i)), e.analyst); rec.Code != 201 {
			t.Fatalf("write %d within the burst = %d %s", i, rec.Code, rec.Body)
		}
	}
	rows, _ := e.counts(t, "incidents")
	rec := e.post(t, "incidents", mustJSON(incidentFeature(3)), e.analyst)
	if b := errorOf(t, rec); rec.Code != 429 || rec.Header().Get("Retry-After") != "2" || !strings.Contains(b.Description, `key "alice"`) {
		t.Fatalf("write past the burst = %d Retry-After %q %q", rec.Code, rec.Header().Get("Retry-After"), b.Description)
	}
	if after, _ := e.counts(t, "incidents"); after != rows {
		t.Fatal("a limited write was stored")
	}
	// Other keys and reads are not limited by alice's bucket.
	if rec := e.post(t, "incidents", mustJSON(incidentFeature(4)), e.editor); rec.Code != 201 {
		t.Fatalf("another key's write = %d %s", rec.Code, rec.Body)
	}
	if rec := do(t, e.h, "GET", "/collections/incidents/items", bearer(e.analyst)...); rec.Code != 200 {
		t.Fatalf("read with the limited key = %d", rec.Code)
	}
	// PATCH and DELETE draw on the same bucket.
	if rec := send(t, e.h, "DELETE", "/collections/incidents/items/x", nil, "Authorization", "Bearer "+e.analyst); rec.Code != 429 {
		t.Fatalf("DELETE past the burst = %d", rec.Code)
	}
	clk.Set(matrixT0.Add(2 * time.Second))
	if rec := e.post(t, "incidents", mustJSON(incidentFeature(5)), e.analyst); rec.Code != 201 {
		t.Fatalf("write after Retry-After = %d %s", rec.Code, rec.Body)
	}
}

// Analysts change and retract only their own reports; editors change
// anyone's and move verification.
func TestReportOwnership(t *testing.T) {
	e := newWriteEnv(t, Config{})
	bob := e.addKey(t, "bob", "analyst")
	id, _ := createOne(t, e) // alice's
	item := "/collections/incidents/items/" + id
	patch := func(key, body string) *httptest.ResponseRecorder {
		return send(t, e.h, "PATCH", item, []byte(body), "Authorization", "Bearer "+key, "Content-Type", mediaMergePatch)
	}
	for _, c := range []struct {
		name string
		rec  func() *httptest.ResponseRecorder
	}{
		{"patch", func() *httptest.ResponseRecorder { return patch(bob, `{"properties":{"notes":"mine now"}}`) }},
		{"put", func() *httptest.ResponseRecorder {
			return send(t, e.h, "PUT", item, mustJSON(incidentFeature(9)), "Authorization", "Bearer "+bob, "Content-Type", mediaGeoJSON)
		}},
		{"delete", func() *httptest.ResponseRecorder {
			return send(t, e.h, "DELETE", item, nil, "Authorization", "Bearer "+bob)
		}},
	} {
		rec := c.rec()
		if b := errorOf(t, rec); rec.Code != 403 || !strings.Contains(b.Description, "role editor") || !strings.Contains(b.Description, `"alice"`) {
			t.Errorf("another analyst's %s = %d %q, want 403 naming role editor", c.name, rec.Code, b.Description)
		}
	}
	if _, hist := e.counts(t, "incidents"); hist != 1 {
		t.Fatalf("refused changes reached the history: %d rows", hist)
	}
	if rec := patch(e.analyst, `{"properties":{"notes":"my own"}}`); rec.Code != 200 {
		t.Fatalf("owner's PATCH = %d %s", rec.Code, rec.Body)
	}
	// Analysts may not move verification, on their own reports or new ones.
	if rec := patch(e.analyst, `{"properties":{"verification":"verified"}}`); rec.Code != 403 || !strings.Contains(errorOf(t, rec).Description, "role editor") {
		t.Errorf("analyst verifying = %d %s", rec.Code, rec.Body)
	}
	rec := e.post(t, "incidents", mustJSON(withProp(incidentFeature(2), "verification", "verified")), e.analyst)
	if b := errorOf(t, rec); rec.Code != 403 || !strings.Contains(b.Description, "role editor") {
		t.Errorf("analyst creating a verified report = %d %s", rec.Code, rec.Body)
	}
	// Editors change anyone's report and its verification.
	rec = patch(e.editor, `{"properties":{"verification":"verified","notes":"checked"}}`)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"verification":"verified"`) || !strings.Contains(rec.Body.String(), `"created_by":"alice"`) {
		t.Fatalf("editor's PATCH = %d %s", rec.Code, rec.Body)
	}
	if rec := send(t, e.h, "DELETE", item, nil, "Authorization", "Bearer "+e.editor); rec.Code != 204 {
		t.Fatalf("editor's DELETE = %d %s", rec.Code, rec.Body)
	}
	// A viewer writes nothing.
	viewer := e.addKey(t, "vic", "viewer")
	if rec := e.post(t, "incidents", mustJSON(incidentFeature(3)), viewer); rec.Code != 403 || !strings.Contains(errorOf(t, rec).Description, "role analyst") {
		t.Errorf("viewer's POST = %d %s", rec.Code, rec.Body)
	}
}

// Key names may identify analysts: anonymous readers never see who wrote a
// report (created_by, history actors), nor can they filter or count by it.
// This server does not coarsen, so the plain (uncoarsened) view path is the
// one under test.
func TestAuthorsHiddenFromAnonymousReaders(t *testing.T) {
	e := newWriteEnv(t, Config{})
	id, _ := createOne(t, e) // by alice, public
	for _, c := range []struct {
		who, key string
		keyed    bool
	}{{"anonymous", "", false}, {"analyst", e.analyst, true}} {
		hdr := []string{}
		if c.key != "" {
			hdr = []string{"Authorization", "Bearer " + c.key}
		}
		for _, q := range []string{"created_by=alice", "filter=" + url.QueryEscape("created_by='alice'"),
			"filter-lang=cql2-json&filter=" + url.QueryEscape(`{"op":"=","args":[{"property":"created\u005fby"},"alice"]}`), "sortby=-created_by"} {
			var fc gjCollection
			rec := do(t, e.h, "GET", "/collections/incidents/items?"+q, hdr...)
			if !c.keyed {
				if rec.Code != 400 || !strings.Contains(rec.Body.String(), "created_by") {
					t.Errorf("%s %s: %d %s, want 400 naming created_by", c.who, q, rec.Code, rec.Body)
				}
				continue
			}
			if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &fc) != nil || fc.NumberMatched != 1 {
				t.Errorf("%s %s: %d %s", c.who, q, rec.Code, rec.Body)
			}
		}
		if has := strings.Contains(do(t, e.h, "GET", "/collections/incidents/queryables", hdr...).Body.String(), "created_by"); has != c.keyed {
			t.Errorf("%s: queryables list created_by: %v", c.who, has)
		}
		for _, path := range []string{"/collections/incidents/items/" + id, "/collections/incidents/items", "/collections/incidents/items/" + id + "/history",
			"/collections/incidents/items?f=csv", "/collections/incidents/items?f=kml", "/collections/incidents/items/" + id + "?f=html"} {
			rec := do(t, e.h, "GET", path, hdr...)
			if rec.Code != 200 {
				t.Fatalf("%s %s: %d", c.who, path, rec.Code)
			}
			if has := strings.Contains(rec.Body.String(), "alice"); has != c.keyed {
				t.Errorf("%s %s: names alice: %v", c.who, path, has)
			}
		}
	}
}

// The admin answers, good and bad, follow the API definition at /api.
func TestAdminResponsesMatchAPI(t *testing.T) {
	e := newWriteEnv(t, Config{})
	root := e.addKey(t, "root", "admin")
	_, router := loadAPI(t, e.h)
	for _, c := range []struct {
		method, target, key, body string
		want                      int
	}{
		{"GET", "/admin/keys", root, "", 200},
		{"POST", "/admin/keys", root, `{"name":"bob","role":"viewer"}`, 201},
		{"POST", "/admin/keys", root, `{"name":"bob","role":"viewer"}`, 409},
		{"POST", "/admin/keys", root, `{"name":"carol","role":"god"}`, 400},
		{"GET", "/admin/keys/bob", root, "", 200},
		{"GET", "/admin/keys/nobody", root, "", 404},
		{"GET", "/admin/keys", e.editor, "", 403},
		{"GET", "/admin/audit", "", "", 401},
		{"DELETE", "/admin/keys/bob", root, "", 204},
		{"DELETE", "/admin/keys/bob", root, "", 409},
		{"GET", "/admin/audit?key=bob", root, "", 200},
	} {
		req := httptest.NewRequest(c.method, "http://example.com"+c.target, strings.NewReader(c.body))
		req.Header.Set("Content-Type", "application/json")
		if c.key != "" {
			req.Header.Set("Authorization", "Bearer "+c.key)
		}
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, req)
		if rec.Code != c.want {
			t.Errorf("%s %s = %d %s, want %d", c.method, c.target, rec.Code, rec.Body, c.want)
			continue
		}
		route, params, err := router.FindRoute(req)
		if err != nil {
			t.Errorf("%s %s: no route in the API definition: %v", c.method, c.target, err)
			continue
		}
		in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, ExcludeRequestBody: true}}
		out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: rec.Code,
			Header: rec.Header(), Body: io.NopCloser(bytes.NewReader(rec.Body.Bytes()))}
		if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
			t.Errorf("%s %s (%d): response fails the definition: %v", c.method, c.target, rec.Code, err)
		}
	}
}

// FuzzParseNewKey: any body gives a name and role or a 400 naming a member;
// what it accepts is exactly an object with the strings name and role.
func FuzzParseNewKey(f *testing.F) {
	for _, s := range []string{`{"name":"bob","role":"analyst"}`, `{"name":"bob"}`, `{"role":7}`, `[]`, `{"name":"a","name":"b","role":"x"}`,
		`{"name":"bob","role":"analyst","x":1}`, `{"name":null,"role":"viewer"}`, `"x"`, ``, `{"name":"\u00e9","role":"admin"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		name, role, err := parseNewKey(body)
		if err != nil {
			if layers.ErrorCode(err) != layers.EINVALID {
				t.Fatalf("%q: error code %s (%v), want invalid", body, layers.ErrorCode(err), err)
			}
			return
		}
		var m map[string]any
		if json.Unmarshal(body, &m) != nil || len(m) != 2 || m["name"] != name || m["role"] != role {
			t.Fatalf("%q accepted as name %q role %q", body, name, role)
		}
	})
}
