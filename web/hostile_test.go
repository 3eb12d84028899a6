package web

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	rtmetrics "runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"

	"troopmap/layers"
	"troopmap/layers/gpkg"
)

// hostileCase is one entry of testdata/hostile/manifest.json.
type hostileCase struct {
	Name           string `json:"name"`
	File           string `json:"file"`
	Gen            string `json:"gen"`
	N              int    `json:"n"`
	Bad            int    `json:"bad"`
	Method         string `json:"method"`
	Path           string `json:"path"`
	ContentType    *string
	Auth           string  `json:"auth"`
	IdempotencyKey string  `json:"idempotency_key"`
	IfMatch        string  `json:"if_match"`
	Status         int     `json:"status"`
	Code           string  `json:"code"`
	Pointer        *string `json:"pointer"`
	Message        string  `json:"message"`
	MemoryMB       int     `json:"memory_mb"`
	Accepted       string  `json:"accepted"`
}

func (c *hostileCase) UnmarshalJSON(b []byte) error {
	type plain hostileCase
	var aux struct {
		plain
		CT *string `json:"content_type"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	*c = hostileCase(aux.plain)
	c.ContentType = aux.CT
	return nil
}

// hostileEnv is a real server over loopback HTTP with a real store and the
// default upload rules and limits.
type hostileEnv struct {
	*writeEnv
	url string
	id  string // an existing report that PUT, PATCH and DELETE cases aim at
}

func newHostileEnv(t *testing.T) *hostileEnv {
	t.Helper()
	ctx := context.Background()
	var schemas []layers.Schema
	var reportLayers []*layers.Layer
	for _, m := range layers.ReportMetas() {
		s, _ := layers.ReportSchema(m.ID)
		schemas = append(schemas, s)
		reportLayers = append(reportLayers, layers.NewLayer(m))
	}
	store, err := gpkg.Open(ctx, filepath.Join(t.TempDir(), "hostile.gpkg"), schemas)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	reports := layers.NewReports(layers.ReportsConfig{Store: store, Layers: reportLayers, Rules: layers.DefaultUploadRules()})
	// The cases test the body, batch and feature limits, not the deadline:
	// streaming 50,000 valid features to the batch limit under -race on a
	// busy machine can take longer than the default 30 s.
	srv := New(Config{Limits: Limits{RequestTimeout: 5 * time.Minute}})
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
	we := &writeEnv{srv: srv, h: srv.Handler(), store: store, reports: reports, cat: cat}
	we.analyst = we.addKey(t, "alice", "analyst")
	we.editor = we.addKey(t, "erin", "editor")
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	e := &hostileEnv{writeEnv: we, url: ts.URL}
	rec := we.post(t, layers.Incidents, mustJSON(incidentFeature(1)), we.analyst)
	if rec.Code != http.StatusCreated {
		t.Fatalf("seed report: %d %s", rec.Code, rec.Body)
	}
	var f struct{ ID string }
	_ = json.Unmarshal(rec.Body.Bytes(), &f)
	e.id = f.ID
	return e
}

// storeState counts the rows of every table of the store and the features
// of every layer: a refused request must change none of them.
func (e *hostileEnv) storeState(t *testing.T) map[string]int {
	t.Helper()
	out := map[string]int{}
	rows, err := e.store.DB().Query(`SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		_ = rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	for _, tb := range tables {
		var n int
		if err := e.store.DB().QueryRow(`SELECT count(*) FROM "` + tb + `"`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		out["table "+tb] = n
	}
	var maxVersion int
	_ = e.store.DB().QueryRow(`SELECT coalesce(max(version),0) FROM ` + gpkg.HistoryTable).Scan(&maxVersion)
	out["max version"] = maxVersion
	for _, l := range e.cat.Layers() {
		out["layer "+l.ID] = l.Snapshot().Len()
	}
	return out
}

// heapPeak samples the live heap until stop is called and returns the
// highest value seen.
func heapPeak() (stop func() uint64) {
	sample := []rtmetrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tk := time.NewTicker(time.Millisecond)
		defer tk.Stop()
		for {
			rtmetrics.Read(sample)
			peak = max(peak, sample[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-tk.C:
			}
		}
	}()
	return func() uint64 { close(done); wg.Wait(); return peak }
}

// allocated is the total of heap bytes ever allocated by the process.
func allocated() uint64 {
	sample := []rtmetrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	rtmetrics.Read(sample)
	return sample[0].Value.Uint64()
}

func liveHeap() uint64 {
	runtime.GC()
	sample := []rtmetrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	rtmetrics.Read(sample)
	return sample[0].Value.Uint64()
}

// repeatReader yields head, then body repeated until n bytes in all, without
// holding more than one copy: a huge upload that costs the client nothing.
type repeatReader struct {
	head, body []byte
	n, off     int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.off >= r.n {
		return 0, io.EOF
	}
	w := 0
	for w < len(p) && r.off < r.n {
		var src []byte
		if r.off < len(r.head) {
			src = r.head[r.off:]
		} else {
			k := (r.off - len(r.head)) % len(r.body)
			src = r.body[k:]
		}
		m := copy(p[w:], src)
		m = min(m, r.n-r.off)
		w += m
		r.off += m
	}
	return w, nil
}

// hostileBody builds a generated case's body. It returns a reader, and the
// length to declare (-1: chunked, length unknown to the server).
func hostileBody(t *testing.T, c hostileCase) (io.Reader, int64) {
	t.Helper()
	good := mustJSON(incidentFeature(3))
	switch c.Gen {
	case "vertices":
		var b bytes.Buffer
		b.WriteString(`{"type":"Feature","geometry":{"type":"LineString","coordinates":[`)
		for i := range c.N {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "[%.5f,%.5f]", 37+float64(i%1000)*0.001, 48+float64(i/1000%1000)*0.001)
		}
		b.WriteString(`]},"properties":` + string(mustJSON(incidentProps(3))) + `}`)
		return bytes.NewReader(b.Bytes()), int64(b.Len())
	case "deep-coordinates":
		s := `{"type":"Feature","geometry":{"type":"Point","coordinates":` + strings.Repeat("[", c.N) + "37.8,48" + strings.Repeat("]", c.N) +
			`},"properties":` + string(mustJSON(incidentProps(3))) + `}`
		return strings.NewReader(s), int64(len(s))
	case "nesting":
		s := `{"type":"Feature","geometry":{"type":"Point","coordinates":[37.8,48]},"properties":{"notes":` +
			strings.Repeat(`{"a":[`, c.N/2) + "1" + strings.Repeat("]}", c.N/2) + `}}`
		return strings.NewReader(s), int64(len(s))
	case "batch-one-bad", "batch-empty":
		var b bytes.Buffer
		b.WriteString(`{"type":"FeatureCollection","features":[`)
		for i := range c.N {
			if i > 0 {
				b.WriteByte(',')
			}
			switch {
			case c.Gen == "batch-empty":
				b.WriteString("{}")
			case i == c.Bad:
				f := incidentFeature(i)
				f["properties"].(map[string]any)["event_type"] = "fireworks"
				b.Write(mustJSON(f))
			default:
				b.Write(mustJSON(incidentFeature(i)))
			}
		}
		b.WriteString("]}")
		return bytes.NewReader(b.Bytes()), int64(b.Len())
	case "stream":
		return &repeatReader{head: []byte(`{"type":"FeatureCollection","features":[`), body: append(good, ','), n: c.N}, -1
	case "declared":
		return &repeatReader{head: []byte(`{"type":"FeatureCollection","features":[`), body: append(good, ','), n: c.N}, int64(c.N)
	case "big-notes":
		// One feature whose notes run to N bytes: past the feature's byte
		// limit long before the body limit.
		s := `{"type":"Feature","geometry":{"type":"Point","coordinates":[37.8,48]},"properties":{"notes":"` + strings.Repeat("x", c.N) + `"}}`
		return strings.NewReader(s), int64(len(s))
	case "big-patch":
		s := `{"properties":{"notes":"` + strings.Repeat("x", c.N) + `"}}`
		return strings.NewReader(s), int64(len(s))
	case "gzip":
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		_, _ = zw.Write(good)
		_ = zw.Close()
		return bytes.NewReader(b.Bytes()), int64(b.Len())
	}
	t.Fatalf("unknown generator %q", c.Gen)
	return nil, 0
}

// TestHostileUploads sends every case of testdata/hostile over HTTP and
// checks its status and error, that the store and layers are unchanged,
// that the server still answers, and, for the large cases, that the heap
// grew by less than the case's bound while the server handled it.
func TestHostileUploads(t *testing.T) {
	raw, err := os.ReadFile("testdata/hostile/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	var m struct{ Cases []hostileCase }
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Cases) < 40 {
		t.Fatalf("only %d hostile cases", len(m.Cases))
	}
	e := newHostileEnv(t)
	client := &http.Client{Timeout: 10 * time.Minute} // two million vertices are slow under -race
	for _, c := range m.Cases {
		t.Run(c.Name, func(t *testing.T) {
			if testing.Short() && c.Gen != "" {
				t.Skip("large generated case; run without -short")
			}
			var body io.Reader = http.NoBody
			length := int64(0)
			if c.File != "" {
				b, err := os.ReadFile(filepath.Join("testdata/hostile", c.File))
				if err != nil {
					t.Fatal(err)
				}
				body, length = bytes.NewReader(b), int64(len(b))
			} else if c.Gen != "" {
				body, length = hostileBody(t, c)
			}
			method, path := c.Method, c.Path
			if method == "" {
				method = http.MethodPost
			}
			if path == "" {
				path = "/collections/" + layers.Incidents + "/items"
			}
			path = strings.ReplaceAll(path, "{id}", e.id)
			req, err := http.NewRequest(method, e.url+path, body)
			if err != nil {
				t.Fatal(err)
			}
			req.ContentLength = length
			if length < 0 {
				req.Body = io.NopCloser(body) // hide the length: chunked
			}
			ct := "application/geo+json"
			if c.ContentType != nil {
				ct = *c.ContentType
			}
			if ct != "" {
				req.Header.Set("Content-Type", ct)
			}
			if c.Gen == "gzip" {
				req.Header.Set("Content-Encoding", "gzip")
			}
			switch c.Auth {
			case "", "analyst":
				req.Header.Set("Authorization", "Bearer "+e.analyst)
			case "editor":
				req.Header.Set("Authorization", "Bearer "+e.editor)
			case "bad":
				req.Header.Set("Authorization", "Bearer tm_nosuchkey_0123456789abcdef")
			}
			if c.IdempotencyKey != "" {
				req.Header.Set("Idempotency-Key", c.IdempotencyKey)
			}
			if c.IfMatch != "" {
				req.Header.Set("If-Match", c.IfMatch)
			}
			before := e.storeState(t)
			if c.MemoryMB > 0 {
				// Collect often while the case runs, so that the heap's peak
				// is what the server holds, not garbage awaiting the collector.
				defer debug.SetGCPercent(debug.SetGCPercent(25))
			}
			base := liveHeap()
			allocBase := allocated()
			stop := heapPeak()
			resp, err := client.Do(req)
			peak := stop()
			alloc := allocated() - allocBase
			if err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			respBody, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			grew := int64(peak) - int64(base)
			if c.MemoryMB > 0 {
				// The bound is on the peak of the heap while the server
				// handled the request, over what it held before; what was
				// allocated in all is logged beside it.
				t.Logf("the heap grew by %.1f MB at most while handling it (bound %d MB); %.1f MB allocated in all",
					float64(grew)/(1<<20), c.MemoryMB, float64(alloc)/(1<<20))
				if grew > int64(c.MemoryMB)<<20 {
					t.Errorf("the heap grew by %d MB, more than the bound of %d MB", grew>>20, c.MemoryMB)
				}
			}
			if resp.StatusCode != c.Status {
				t.Fatalf("status %d, want %d: %.500s", resp.StatusCode, c.Status, respBody)
			}
			if c.Accepted != "" {
				checkAccepted(t, e, c, resp, respBody)
				return
			}
			var eb struct {
				Code        string              `json:"code"`
				Description string              `json:"description"`
				Errors      []layers.FieldError `json:"errors"`
			}
			if err := json.Unmarshal(respBody, &eb); err != nil {
				t.Fatalf("error body is not JSON: %v: %.300s", err, respBody)
			}
			if eb.Code != c.Code {
				t.Errorf("code %q, want %q (%s)", eb.Code, c.Code, eb.Description)
			}
			if c.Pointer != nil {
				found := false
				for _, fe := range eb.Errors {
					found = found || fe.Pointer == *c.Pointer
				}
				if !found {
					t.Errorf("no error at pointer %q: %+v", *c.Pointer, eb.Errors)
				}
			}
			if c.Message != "" {
				all := eb.Description
				for _, fe := range eb.Errors {
					all += "\n" + fe.Message
				}
				if !strings.Contains(all, c.Message) {
					t.Errorf("no %q in the error: %s", c.Message, all)
				}
			}
			after := e.storeState(t)
			for k, v := range before {
				if after[k] != v {
					t.Errorf("%s changed from %d to %d", k, v, after[k])
				}
			}
			hz, err := http.Get(e.url + "/healthz")
			if err != nil || hz.StatusCode != 200 {
				t.Fatalf("server is not healthy after the case: %v", err)
			}
			hz.Body.Close()
		})
	}
}

// checkAccepted checks a case the schema accepts: script in notes is plain
// text, stored as sent and never rendered as markup.
func checkAccepted(t *testing.T, e *hostileEnv, c hostileCase, resp *http.Response, body []byte) {
	t.Helper()
	if c.Accepted != "notes-plain-text" {
		t.Fatalf("unknown check %q", c.Accepted)
	}
	sent, _ := os.ReadFile(filepath.Join("testdata/hostile", c.File))
	var in, out struct {
		ID         string
		Properties struct{ Notes string }
	}
	_ = json.Unmarshal(sent, &in)
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	if out.Properties.Notes != in.Properties.Notes {
		t.Fatalf("notes stored as %q, sent %q", out.Properties.Notes, in.Properties.Notes)
	}
	if bytes.Contains(body, []byte("<script")) {
		t.Fatalf("JSON answer holds raw markup: %s", body)
	}
	req, _ := http.NewRequest("GET", e.url+"/collections/"+layers.Incidents+"/items/"+out.ID, nil)
	req.Header.Set("Accept", "text/html")
	hr, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(hr.Body)
	hr.Body.Close()
	if hr.StatusCode != 200 || !strings.HasPrefix(hr.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("HTML item page: %d %s", hr.StatusCode, hr.Header.Get("Content-Type"))
	}
	if bytes.Contains(page, []byte("<script>alert")) || bytes.Contains(page, []byte("<img src=x")) {
		t.Fatal("the HTML page renders the notes as markup")
	}
	if !bytes.Contains(page, []byte("&lt;script&gt;alert")) {
		t.Fatalf("the HTML page does not show the notes as text:\n%.2000s", page)
	}
	if csp := hr.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Fatalf("HTML page without a strict CSP: %q", csp)
	}
}
