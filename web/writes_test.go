package web

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"troopmap/layers"
	"troopmap/layers/gpkg"
)

// writeEnv is a server with the two report layers, a read-only area layer
// and a real GeoPackage store, plus keys for each role.
type writeEnv struct {
	srv     *Server
	h       http.Handler
	store   *gpkg.Store
	reports *layers.Reports
	cat     *layers.Catalog
	analyst string
	editor  string
}

func newWriteEnv(t testing.TB, cfg Config) *writeEnv {
	t.Helper()
	rules := layers.DefaultUploadRules()
	rules.MaxBatch = 100
	return newWriteEnvRules(t, cfg, rules)
}

// newWriteEnvRules builds the environment with the given upload rules;
// tweaks may change the rest of the reports service's configuration.
func newWriteEnvRules(t testing.TB, cfg Config, rules layers.UploadRules, tweaks ...func(*layers.ReportsConfig)) *writeEnv {
	t.Helper()
	ctx := context.Background()
	var schemas []layers.Schema
	var reportLayers []*layers.Layer
	for _, m := range layers.ReportMetas() {
		s, _ := layers.ReportSchema(m.ID)
		schemas = append(schemas, s)
		reportLayers = append(reportLayers, layers.NewLayer(m))
	}
	store, err := gpkg.Open(ctx, filepath.Join(t.TempDir(), "test.gpkg"), schemas)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	rc := layers.ReportsConfig{Store: store, Layers: reportLayers, Rules: rules}
	for _, tw := range tweaks {
		tw(&rc)
	}
	reports := layers.NewReports(rc)
	srv := New(cfg)
	srv.SetReports(reports)
	if err := reports.Load(ctx); err != nil {
		t.Fatal(err)
	}
	area := layers.NewLayer(layers.Meta{ID: "donbas", Kind: layers.KindArea})
	cat, err := layers.NewCatalog(append([]*layers.Layer{area}, reportLayers...)...)
	if err != nil {
		t.Fatal(err)
	}
	srv.SetCatalog(cat)
	env := &writeEnv{srv: srv, h: srv.Handler(), store: store, reports: reports, cat: cat}
	env.analyst = env.addKey(t, "alice", "analyst")
	env.editor = env.addKey(t, "erin", "editor")
	return env
}

func (e *writeEnv) addKey(t testing.TB, name, role string) string {
	token, k, err := layers.NewKey(name, role, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.AddKey(context.Background(), k, "test"); err != nil {
		t.Fatal(err)
	}
	return token
}

// send makes a request with a body; hdr holds name, value pairs.
func send(t testing.TB, h http.Handler, method, target string, body []byte, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, bytes.NewReader(body))
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func (e *writeEnv) post(t testing.TB, coll string, body []byte, key string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	h := append([]string{"Content-Type", "application/geo+json", "Authorization", "Bearer " + key}, hdr...)
	return send(t, e.h, "POST", "/collections/"+coll+"/items", body, h...)
}

func incidentProps(i int) map[string]any {
	return map[string]any{
		"observed_at": fmt.Sprintf("2021-04-%02dT06:00:00Z", 1+i%28), "time_precision": "day", "geo_precision": "town",
		"sources":            []any{map[string]any{"url": fmt.Sprintf("https://example.org/report/%d", i), "kind": "media"}},
		"source_reliability": "b", "info_credibility": "2", "sensitivity": "public",
		"event_type": "explosions_remote_violence", "actor1": "Military forces of Russia",
		"notes": fmt.Sprintf("report %d", i),
	}
}

func incidentFeature(i int) map[string]any {
	lon, lat := 37.0+float64(i%100)*0.01, 48.0+float64(i/100%100)*0.01
	return map[string]any{"type": "Feature", "geometry": map[string]any{"type": "Point", "coordinates": []float64{lon, lat}},
		"properties": incidentProps(i)}
}

func collection(n, from int) []byte {
	fs := make([]any, n)
	for i := range fs {
		fs[i] = incidentFeature(from + i)
	}
	b, _ := json.Marshal(map[string]any{"type": "FeatureCollection", "features": fs})
	return b
}

func mustJSON(v any) []byte { b, _ := json.Marshal(v); return b }

// counts returns the rows of a feature table and of the history table.
func (e *writeEnv) counts(t testing.TB, coll string) (rows, history int) {
	t.Helper()
	db := e.store.DB()
	if err := db.QueryRow("SELECT count(*) FROM " + gpkg.TableName(coll)).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow("SELECT count(*) FROM " + gpkg.HistoryTable).Scan(&history); err != nil {
		t.Fatal(err)
	}
	return rows, history
}

func errorOf(t testing.TB, rec *httptest.ResponseRecorder) errorBody {
	t.Helper()
	var b struct {
		Code        string              `json:"code"`
		Description string              `json:"description"`
		Errors      []layers.FieldError `json:"errors"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
		t.Fatalf("error body %q: %v", rec.Body, err)
	}
	return errorBody{Code: b.Code, Description: b.Description, Errors: b.Errors}
}

func TestCreateSingle(t *testing.T) {
	e := newWriteEnv(t, Config{BaseURL: "https://maps.example.org/tm"})
	rec := e.post(t, "incidents", mustJSON(incidentFeature(1)), e.analyst)
	if rec.Code != 201 {
		t.Fatalf("POST = %d %s", rec.Code, rec.Body)
	}
	var f struct {
		ID         string
		Properties map[string]any
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &f); err != nil {
		t.Fatal(err)
	}
	if loc := rec.Header().Get("Location"); loc != "https://maps.example.org/tm/collections/incidents/items/"+f.ID {
		t.Errorf("Location = %q for id %q", loc, f.ID)
	}
	if len(f.ID) != 26 {
		t.Errorf("id %q is not a ULID", f.ID)
	}
	if rec.Header().Get("ETag") != `"1-keyed"` {
		t.Errorf("ETag = %q", rec.Header().Get("ETag"))
	}
	p := f.Properties
	if p["created_by"] != "alice" || p["verification"] != "submitted" || p["version"] != 1.0 || p["created_at"] == nil || p["updated_at"] == nil {
		t.Errorf("server-set properties wrong: %v", p)
	}
	l, _ := e.cat.Layer("incidents")
	if _, ok := l.Snapshot().Get(f.ID); !ok {
		t.Error("created report not visible in the layer after the 201")
	}
	if rows, hist := e.counts(t, "incidents"); rows != 1 || hist != 1 {
		t.Errorf("store rows %d, history %d", rows, hist)
	}
}

func TestCreateBatchAndRejectedBatchStoresNothing(t *testing.T) {
	e := newWriteEnv(t, Config{})
	rec := e.post(t, "incidents", collection(30, 0), e.analyst)
	if rec.Code != 201 {
		t.Fatalf("batch POST = %d %s", rec.Code, rec.Body)
	}
	var out struct {
		NumberCreated int      `json:"numberCreated"`
		IDs           []string `json:"ids"`
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	if out.NumberCreated != 30 || len(out.IDs) != 30 {
		t.Fatalf("batch answer %s", rec.Body)
	}
	rows0, hist0 := e.counts(t, "incidents")
	l, _ := e.cat.Layer("incidents")
	n0 := l.Snapshot().Len()

	var batch map[string]any
	_ = json.Unmarshal(collection(40, 100), &batch)
	fs := batch["features"].([]any)
	fs[17].(map[string]any)["properties"].(map[string]any)["echelon"] = "brigade"
	fs[33].(map[string]any)["geometry"] = map[string]any{"type": "Point", "coordinates": []float64{48.1, 37.9}}
	rec = e.post(t, "incidents", mustJSON(batch), e.analyst)
	if rec.Code != 422 {
		t.Fatalf("bad batch = %d %s", rec.Code, rec.Body)
	}
	eb := errorOf(t, rec)
	errs := eb.Errors.([]layers.FieldError)
	want := map[string]string{"/features/17/properties/echelon": "unknown property", "/features/33/geometry/coordinates": "swapped"}
	for _, fe := range errs {
		if w, ok := want[fe.Pointer]; ok && strings.Contains(fe.Message, w) {
			delete(want, fe.Pointer)
		}
	}
	if len(want) > 0 || !strings.Contains(eb.Description, "2 of 40") {
		t.Fatalf("missing errors %v in %s", want, rec.Body)
	}
	if rows, hist := e.counts(t, "incidents"); rows != rows0 || hist != hist0 {
		t.Fatalf("rejected batch changed the store: rows %d→%d, history %d→%d", rows0, rows, hist0, hist)
	}
	if l.Snapshot().Len() != n0 {
		t.Fatal("rejected batch changed the layer")
	}
}

func TestWriteStatusCodes(t *testing.T) {
	e := newWriteEnv(t, Config{Limits: Limits{MaxBodyBytes: 64 << 10}})
	revoked := e.addKey(t, "mallory", "analyst")
	if err := e.store.RevokeKey(context.Background(), "mallory", time.Now(), "test"); err != nil {
		t.Fatal(err)
	}
	good := mustJSON(incidentFeature(1))
	for _, c := range []struct {
		name     string
		coll     string
		body     []byte
		hdr      []string
		want     int
		wantText string
	}{
		{"no key", "incidents", good, []string{"Authorization", ""}, 401, "troopmap keys add"},
		{"basic auth", "incidents", good, []string{"Authorization", "Basic YTpi"}, 401, "troopmap keys add"},
		{"unknown key", "incidents", good, []string{"Authorization", "Bearer tm_0011223344556677_00"}, 401, "unknown or revoked"},
		{"revoked key", "incidents", good, []string{"Authorization", "Bearer " + revoked}, 401, "unknown or revoked"},
		{"not json", "incidents", []byte(`{"type": "Feature",`), nil, 400, "not valid JSON"},
		{"schema", "incidents", mustJSON(map[string]any{"type": "Feature", "geometry": nil, "properties": map[string]any{}}), nil, 422, "nothing was stored"},
		{"content type", "incidents", good, []string{"Content-Type", "text/plain"}, 415, "application/geo+json"},
		{"body too large", "incidents", collection(200, 0), nil, 413, "limit"},
		{"batch too large", "incidents", collection(101, 0), nil, 413, "at most 100"},
		{"read-only collection", "donbas", good, nil, 405, "read-only"},
		{"unknown collection", "nope", good, nil, 404, "nope"},
		{"analyst sets verification", "incidents", mustJSON(withProp(incidentFeature(1), "verification", "verified")), nil, 403, "role editor"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := e.post(t, c.coll, c.body, e.analyst, c.hdr...)
			if rec.Code != c.want || !strings.Contains(rec.Body.String(), c.wantText) {
				t.Fatalf("got %d %s, want %d with %q", rec.Code, rec.Body, c.want, c.wantText)
			}
			if c.want == 401 && rec.Header().Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			if c.want == 405 && !strings.Contains(rec.Header().Get("Allow"), "GET") {
				t.Errorf("405 Allow = %q", rec.Header().Get("Allow"))
			}
		})
	}
	if rows, hist := e.counts(t, "incidents"); rows != 0 || hist != 0 {
		t.Fatalf("refused writes stored something: %d rows, %d history", rows, hist)
	}
	rec := e.post(t, "incidents", mustJSON(withProp(incidentFeature(1), "verification", "verified")), e.editor)
	if rec.Code != 201 || !strings.Contains(rec.Body.String(), `"verification":"verified"`) {
		t.Fatalf("editor setting verification = %d %s", rec.Code, rec.Body)
	}
}

func TestServiceUnavailableWhileLoading(t *testing.T) {
	s := New(Config{})
	rec := send(t, s.Handler(), "POST", "/collections/incidents/items", mustJSON(incidentFeature(1)), "Content-Type", "application/geo+json")
	if rec.Code != 503 {
		t.Fatalf("POST while loading = %d", rec.Code)
	}
}

func withProp(f map[string]any, k string, v any) map[string]any {
	f["properties"].(map[string]any)[k] = v
	return f
}

func TestIdempotencyKey(t *testing.T) {
	e := newWriteEnv(t, Config{})
	body := mustJSON(incidentFeature(1))
	first := e.post(t, "incidents", body, e.analyst, "Idempotency-Key", "upload-1")
	again := e.post(t, "incidents", body, e.analyst, "Idempotency-Key", "upload-1")
	if first.Code != 201 || again.Code != 201 {
		t.Fatalf("codes %d %d", first.Code, again.Code)
	}
	if first.Body.String() != again.Body.String() || first.Header().Get("Location") != again.Header().Get("Location") {
		t.Fatalf("retry answered differently:\n%s\n%s", first.Body, again.Body)
	}
	if again.Header().Get("Idempotent-Replayed") != "true" {
		t.Error("replay not marked")
	}
	if rows, hist := e.counts(t, "incidents"); rows != 1 || hist != 1 {
		t.Fatalf("retry duplicated: %d rows, %d history", rows, hist)
	}
	other := e.post(t, "incidents", mustJSON(incidentFeature(2)), e.analyst, "Idempotency-Key", "upload-1")
	if other.Code != 422 || !strings.Contains(other.Body.String(), "different request") {
		t.Fatalf("reused key with another body = %d %s", other.Code, other.Body)
	}
	b1 := e.post(t, "incidents", collection(5, 10), e.analyst, "Idempotency-Key", "batch-1")
	b2 := e.post(t, "incidents", collection(5, 10), e.analyst, "Idempotency-Key", "batch-1")
	if b1.Code != 201 || b1.Body.String() != b2.Body.String() {
		t.Fatalf("batch replay: %d %s / %s", b1.Code, b1.Body, b2.Body)
	}
	// Keys are per key holder: another analyst's identical key is new.
	bob := e.addKey(t, "bob", "analyst")
	if rec := e.post(t, "incidents", body, bob, "Idempotency-Key", "upload-1"); rec.Code != 201 || rec.Header().Get("Idempotent-Replayed") != "" {
		t.Fatalf("other actor's key = %d", rec.Code)
	}
	if rows, _ := e.counts(t, "incidents"); rows != 7 {
		t.Fatalf("rows = %d, want 7", rows)
	}
}

// TestIdempotencyKeyExpires drives the reports service's clock past the
// key's TTL: within it a retry replays; after it the same key is a new
// upload, and expired records leave the store.
func TestIdempotencyKeyExpires(t *testing.T) {
	t0 := time.Date(2021, 4, 10, 12, 0, 0, 0, time.UTC)
	clk := &clock{t: t0}
	e := newWriteEnvRules(t, Config{}, layers.DefaultUploadRules(), func(rc *layers.ReportsConfig) {
		rc.Now = clk.Now
		rc.IdempotencyTTL = time.Hour
	})
	body := mustJSON(incidentFeature(1))
	post := func(key string, body []byte) *httptest.ResponseRecorder {
		t.Helper()
		rec := e.post(t, "incidents", body, e.analyst, "Idempotency-Key", key)
		if rec.Code != http.StatusCreated && rec.Code != http.StatusUnprocessableEntity {
			t.Fatalf("POST with key %q: %d %s", key, rec.Code, rec.Body)
		}
		return rec
	}
	stored := func(key string) int {
		t.Helper()
		var n int
		if err := e.store.DB().QueryRow(`SELECT count(*) FROM troopmap_idempotency WHERE key = ?`, key).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	first := post("upload-1", body)
	post("other", mustJSON(incidentFeature(9)))
	loc := first.Header().Get("Location")
	for _, age := range []time.Duration{time.Minute, 59 * time.Minute, time.Hour} {
		clk.Set(t0.Add(age))
		again := post("upload-1", body)
		if again.Header().Get("Idempotent-Replayed") != "true" || again.Header().Get("Location") != loc {
			t.Fatalf("retry %v later: replayed %q, Location %q (first %q)", age, again.Header().Get("Idempotent-Replayed"), again.Header().Get("Location"), loc)
		}
		if rec := post("upload-1", mustJSON(incidentFeature(2))); rec.Code != http.StatusUnprocessableEntity {
			t.Fatalf("key reused for another body %v later: %d", age, rec.Code)
		}
	}
	if rows, _ := e.counts(t, "incidents"); rows != 2 {
		t.Fatalf("retries within the TTL created reports: %d rows, want 2", rows)
	}
	clk.Set(t0.Add(time.Hour + time.Second))
	fresh := post("upload-1", body)
	if fresh.Code != http.StatusCreated || fresh.Header().Get("Idempotent-Replayed") != "" || fresh.Header().Get("Location") == loc {
		t.Fatalf("key past its TTL: %d, replayed %q, Location %q", fresh.Code, fresh.Header().Get("Idempotent-Replayed"), fresh.Header().Get("Location"))
	}
	if rows, _ := e.counts(t, "incidents"); rows != 3 {
		t.Fatalf("after the TTL: %d rows, want 3", rows)
	}
	// The key now names the new upload, for a TTL from now.
	clk.Set(t0.Add(90 * time.Minute))
	if rec := post("upload-1", body); rec.Header().Get("Location") != fresh.Header().Get("Location") {
		t.Fatalf("retry of the new upload went to %q, want %q", rec.Header().Get("Location"), fresh.Header().Get("Location"))
	}
	// "other" expired unused and was swept from the store by a later write.
	if n := stored("other"); n != 0 {
		t.Fatalf("expired key still stored (%d rows)", n)
	}
	if n := stored("upload-1"); n != 1 {
		t.Fatalf("live key stored %d times", n)
	}
}

func createOne(t *testing.T, e *writeEnv) (id, etag string) {
	t.Helper()
	rec := e.post(t, "incidents", mustJSON(incidentFeature(1)), e.analyst)
	if rec.Code != 201 {
		t.Fatalf("POST = %d %s", rec.Code, rec.Body)
	}
	loc := rec.Header().Get("Location")
	return loc[strings.LastIndex(loc, "/")+1:], rec.Header().Get("ETag")
}

func TestReplacePatchDeleteAndHistory(t *testing.T) {
	e := newWriteEnv(t, Config{})
	id, etag := createOne(t, e)
	item := "/collections/incidents/items/" + id
	auth := func(key string) []string { return []string{"Authorization", "Bearer " + key} }

	// PUT with the right If-Match.
	put := withProp(incidentFeature(1), "notes", "corrected")
	rec := send(t, e.h, "PUT", item, mustJSON(put), append(auth(e.analyst), "Content-Type", "application/geo+json", "If-Match", etag)...)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"notes":"corrected"`) || rec.Header().Get("ETag") != `"2-keyed"` {
		t.Fatalf("PUT = %d %s %s", rec.Code, rec.Header().Get("ETag"), rec.Body)
	}
	// PUT with the stale one.
	rec = send(t, e.h, "PUT", item, mustJSON(put), append(auth(e.analyst), "Content-Type", "application/geo+json", "If-Match", etag)...)
	if rec.Code != 412 {
		t.Fatalf("stale PUT = %d %s", rec.Code, rec.Body)
	}
	// PATCH: remove notes, change the weapon; creator and creation time stay.
	patch := []byte(`{"properties":{"notes":null,"weapon":"mlrs"}}`)
	rec = send(t, e.h, "PATCH", item, patch, append(auth(e.editor), "Content-Type", "application/merge-patch+json", "If-Match", `"2-keyed"`)...)
	if rec.Code != 200 {
		t.Fatalf("PATCH = %d %s", rec.Code, rec.Body)
	}
	var f struct{ Properties map[string]any }
	_ = json.Unmarshal(rec.Body.Bytes(), &f)
	if _, has := f.Properties["notes"]; has || f.Properties["weapon"] != "mlrs" || f.Properties["version"] != 3.0 || f.Properties["created_by"] != "alice" {
		t.Fatalf("patched = %v", f.Properties)
	}
	for _, c := range []struct {
		name, method, ctype string
		body                []byte
		key                 string
		want                int
	}{
		{"patch stale", "PATCH", "application/merge-patch+json", patch, e.analyst, 412},
		{"patch invalid result", "PATCH", "application/merge-patch+json", []byte(`{"properties":{"event_type":"picnic"}}`), e.analyst, 422},
		{"patch not json", "PATCH", "application/merge-patch+json", []byte(`{`), e.analyst, 400},
		{"patch wrong type", "PATCH", "text/plain", patch, e.analyst, 415},
		{"analyst verifies", "PATCH", "application/merge-patch+json", []byte(`{"properties":{"verification":"verified"}}`), e.analyst, 403},
		{"put invalid", "PUT", "application/geo+json", []byte(`{"type":"Feature","geometry":null,"properties":{}}`), e.analyst, 422},
		{"put no key", "PUT", "application/geo+json", mustJSON(put), "", 401},
	} {
		t.Run(c.name, func(t *testing.T) {
			hdr := []string{"Content-Type", c.ctype, "Authorization", "Bearer " + c.key}
			if c.want == 412 {
				hdr = append(hdr, "If-Match", `"1-keyed"`)
			}
			if c.key == "" {
				hdr[3] = ""
			}
			if rec := send(t, e.h, c.method, item, c.body, hdr...); rec.Code != c.want {
				t.Fatalf("got %d %s, want %d", rec.Code, rec.Body, c.want)
			}
		})
	}
	// Editors verify.
	rec = send(t, e.h, "PATCH", item, []byte(`{"properties":{"verification":"verified"}}`), append(auth(e.editor), "Content-Type", "application/merge-patch+json")...)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"verification":"verified"`) {
		t.Fatalf("editor PATCH = %d %s", rec.Code, rec.Body)
	}
	// Unknown item.
	if rec := send(t, e.h, "PUT", "/collections/incidents/items/nope", mustJSON(put), append(auth(e.analyst), "Content-Type", "application/geo+json")...); rec.Code != 404 {
		t.Fatalf("PUT unknown = %d", rec.Code)
	}
	// DELETE retracts.
	if rec := send(t, e.h, "DELETE", item, nil, append(auth(e.analyst), "If-Match", `"1-keyed"`)...); rec.Code != 412 {
		t.Fatalf("stale DELETE = %d", rec.Code)
	}
	if rec := send(t, e.h, "DELETE", item, nil, auth(e.analyst)...); rec.Code != 204 {
		t.Fatalf("DELETE = %d %s", rec.Code, rec.Body)
	}
	l, _ := e.cat.Layer("incidents")
	if _, ok := l.Snapshot().Get(id); ok {
		t.Fatal("retracted report still in the current view")
	}
	if rec := send(t, e.h, "DELETE", item, nil, auth(e.analyst)...); rec.Code != 404 {
		t.Fatalf("second DELETE = %d", rec.Code)
	}
	if rows, hist := e.counts(t, "incidents"); rows != 0 || hist != 5 {
		t.Fatalf("after delete: %d rows, %d history", rows, hist)
	}
	// History: every version, newest first, with actor and time (actors
	// are shown to keys only).
	rec = send(t, e.h, "GET", item+"/history", nil, auth(e.editor)...)
	if rec.Code != 200 {
		t.Fatalf("history = %d %s", rec.Code, rec.Body)
	}
	var h struct {
		Versions []struct {
			Version   int
			Operation string
			Actor     string
			Time      string
			Feature   struct{ Properties map[string]any }
		}
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &h)
	var got []string
	for _, v := range h.Versions {
		got = append(got, fmt.Sprintf("%d %s %s %v", v.Version, v.Operation, v.Actor, v.Feature.Properties["verification"]))
		if _, err := time.Parse(time.RFC3339, v.Time); err != nil {
			t.Errorf("time %q: %v", v.Time, err)
		}
	}
	want := []string{"5 delete alice retracted", "4 update erin verified", "3 update erin submitted", "2 replace alice submitted", "1 create alice submitted"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("history\n got %v\nwant %v", got, want)
	}
	if rec := send(t, e.h, "GET", "/collections/incidents/items/nope/history", nil); rec.Code != 404 {
		t.Fatalf("history of unknown = %d", rec.Code)
	}
}

func TestOptionsAllow(t *testing.T) {
	e := newWriteEnv(t, Config{})
	id, _ := createOne(t, e)
	for _, c := range []struct {
		path      string
		want      int
		allow     string
		forbidden string
	}{
		{"/collections/incidents/items", 200, "POST", "PUT"},
		{"/collections/incidents/items/" + id, 200, "PATCH", "POST"},
		{"/collections/donbas/items", 200, "GET", "POST"},
		{"/collections/incidents/items/nope", 404, "", ""},
		{"/collections/nope/items", 404, "", ""},
	} {
		rec := send(t, e.h, "OPTIONS", c.path, nil)
		allow := rec.Header().Get("Allow")
		if rec.Code != c.want || !strings.Contains(allow, c.allow) || (c.forbidden != "" && strings.Contains(allow, c.forbidden)) {
			t.Errorf("OPTIONS %s = %d Allow %q", c.path, rec.Code, allow)
		}
	}
}

func TestEventsStream(t *testing.T) {
	e := newWriteEnv(t, Config{})
	ts := httptest.NewUnstartedServer(e.h)
	// A short WriteTimeout: the stream must outlive it.
	ts.Config.WriteTimeout = 300 * time.Millisecond
	ts.Start()
	defer ts.Close()
	resp, err := http.Get(ts.URL + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("GET /events = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	time.Sleep(600 * time.Millisecond) // past the WriteTimeout
	id, _ := createOne(t, e)
	events := make(chan string, 10)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				events <- d
			}
		}
		close(events)
	}()
	select {
	case d, ok := <-events:
		if !ok {
			t.Fatal("stream ended before the event")
		}
		var ev changeEvent
		if err := json.Unmarshal([]byte(d), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Collection != "incidents" || ev.ID != id || ev.Op != layers.OpCreate || ev.Version != 1 || ev.BBox[0] != 37.01 {
			t.Fatalf("event %+v", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5s")
	}
}

func TestSlowEventClientIsDroppedNotWaitedFor(t *testing.T) {
	h := newHub()
	slow, _ := h.join()
	fast, _ := h.join()
	done := make(chan struct{})
	go func() {
		for i := 0; i < clientBuffer*3; i++ {
			h.publish([]layers.Event{{ID: fmt.Sprint(i)}})
			<-fast.ch
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("publish blocked on a slow client")
	}
	select {
	case <-slow.gone:
	default:
		t.Fatal("slow client was not dropped")
	}
	select {
	case <-fast.gone:
		t.Fatal("a client that kept up was dropped")
	default:
	}
}

func TestGetItemETagDrivesIfMatchAndWriteIsVisibleAtOnce(t *testing.T) {
	e := newWriteEnv(t, Config{})
	id, etag := createOne(t, e)
	// The very next items request sees the committed report.
	rec := send(t, e.h, "GET", "/collections/incidents/items?limit=10", nil)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), id) {
		t.Fatalf("items after POST = %d, has id: %v", rec.Code, strings.Contains(rec.Body.String(), id))
	}
	item := "/collections/incidents/items/" + id
	// ETags name the audience: the writer reads with its own key.
	rec = send(t, e.h, "GET", item, nil, "Authorization", "Bearer "+e.analyst)
	if rec.Code != 200 || rec.Header().Get("ETag") != etag {
		t.Fatalf("GET item = %d, ETag %q, POST gave %q", rec.Code, rec.Header().Get("ETag"), etag)
	}
	hdr := []string{"Authorization", "Bearer " + e.analyst, "Content-Type", "application/merge-patch+json", "If-Match", rec.Header().Get("ETag")}
	rec = send(t, e.h, "PATCH", item, []byte(`{"properties":{"weapon":"mortar"}}`), hdr...)
	if rec.Code != 200 {
		t.Fatalf("PATCH with GET's ETag = %d %s", rec.Code, rec.Body)
	}
	if got := send(t, e.h, "GET", item, nil, "Authorization", "Bearer "+e.analyst); got.Header().Get("ETag") != rec.Header().Get("ETag") || !strings.Contains(got.Body.String(), "mortar") {
		t.Fatalf("GET after PATCH: ETag %q vs %q", got.Header().Get("ETag"), rec.Header().Get("ETag"))
	}
	if rec := send(t, e.h, "PATCH", item, []byte(`{"properties":{"weapon":"mlrs"}}`), hdr...); rec.Code != 412 {
		t.Fatalf("PATCH with the old ETag = %d", rec.Code)
	}
	if rec := send(t, e.h, "GET", "/collections/incidents/items/nope", nil); rec.Code != 404 {
		t.Fatalf("GET unknown item = %d", rec.Code)
	}
}

func TestPostCSVAndKMLGoThroughTheSameValidation(t *testing.T) {
	e := newWriteEnv(t, Config{})
	head := "lon,lat,observed_at,time_precision,geo_precision,sources,source_reliability,info_credibility,sensitivity,event_type,actor1\n"
	good := "37.5,48.1,2021-04-02T00:00:00Z,day,town,https://example.org/a,b,2,public,battles,Military forces of Russia\n"
	bad := "37.6,48.2,2021-04-02T00:00:00Z,day,town,https://example.org/b,b,2,public,picnic,Military forces of Russia\n"
	rec := e.post(t, "incidents", []byte(head+good+good), e.analyst, "Content-Type", "text/csv")
	if rec.Code != 201 || !strings.Contains(rec.Body.String(), `"numberCreated":2`) {
		t.Fatalf("CSV POST = %d %s", rec.Code, rec.Body)
	}
	rows0, hist0 := e.counts(t, "incidents")
	rec = e.post(t, "incidents", []byte(head+good+bad), e.analyst, "Content-Type", "text/csv")
	if rec.Code != 422 || !strings.Contains(rec.Body.String(), `"where":"row 3, column event_type"`) ||
		!strings.Contains(rec.Body.String(), `"pointer":"/features/1/properties/event_type"`) {
		t.Fatalf("bad CSV = %d %s", rec.Code, rec.Body)
	}
	if rows, hist := e.counts(t, "incidents"); rows != rows0 || hist != hist0 {
		t.Fatal("a refused CSV stored something")
	}
	kml := `<kml><Placemark><name>Shelling</name><ExtendedData>
<Data name="observed_at"><value>2021-04-02T00:00:00Z</value></Data><Data name="time_precision"><value>day</value></Data>
<Data name="geo_precision"><value>town</value></Data><Data name="sources"><value>https://example.org/k</value></Data>
<Data name="source_reliability"><value>b</value></Data><Data name="info_credibility"><value>2</value></Data>
<Data name="sensitivity"><value>public</value></Data><Data name="event_type"><value>battles</value></Data>
<Data name="actor1"><value>Military forces of Russia</value></Data></ExtendedData>
<Point><coordinates>37.7,48.3</coordinates></Point></Placemark></kml>`
	rec = e.post(t, "incidents", []byte(kml), e.analyst, "Content-Type", "application/vnd.google-earth.kml+xml")
	if rec.Code != 201 {
		t.Fatalf("KML POST = %d %s", rec.Code, rec.Body)
	}
}
