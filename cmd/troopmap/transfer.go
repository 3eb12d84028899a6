package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"troopmap/layers"
	"troopmap/layers/gpkg"
	"troopmap/web"
)

// Import and export from the command line. Both speak to the server's
// items route, either a running server over HTTP (--server) or the same
// handler run in-process on a store file (--store), so that a file goes
// through exactly the validation, batch commit, filters and reader view an
// upload or download over HTTP does.

// importType maps file extensions to the media type the items route takes.
func importType(ext string) (string, bool) {
	switch ext {
	case ".csv":
		return "text/csv", true
	case ".kml":
		return "application/vnd.google-earth.kml+xml", true
	case ".kmz":
		return "application/vnd.google-earth.kmz", true
	case ".geojson", ".json":
		return "application/geo+json", true
	}
	return "", false
}

// mediaTypeOf returns the upload media type of a file by its extension.
func mediaTypeOf(path string) (string, error) {
	if t, ok := importType(strings.ToLower(filepath.Ext(path))); ok {
		return t, nil
	}
	return "", fmt.Errorf("import %s: unknown file type; want .csv, .kml, .kmz, .geojson or .json", path)
}

// progress writes a one-line progress bar to w as bytes pass through. It
// draws at most every 100ms and only when the total is large enough for a
// bar to help.
type progress struct {
	r        io.Reader
	w        io.Writer
	label    string
	total, n int64
	last     time.Time
	drawn    bool
}

const progressMin = 1 << 20 // files below 1 MiB finish before a bar helps

func (p *progress) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.n += int64(n)
	if p.total >= progressMin && (time.Since(p.last) > 100*time.Millisecond || err == io.EOF) {
		p.last = time.Now()
		p.draw()
	}
	return n, err
}

func (p *progress) draw() {
	const width = 30
	frac := float64(p.n) / float64(p.total)
	if frac > 1 {
		frac = 1
	}
	fill := int(frac * width)
	fmt.Fprintf(p.w, "\r%s [%s%s] %3.0f%% %.1f/%.1f MB", p.label, strings.Repeat("#", fill), strings.Repeat(" ", width-fill),
		frac*100, float64(p.n)/1e6, float64(p.total)/1e6)
	p.drawn = true
}

// done ends the bar's line.
func (p *progress) done() {
	if p.drawn {
		fmt.Fprintln(p.w)
	}
}

// problemReport prints an error response of the items route: its
// description and every problem listed, placed in the file.
func problemReport(w io.Writer, status int, body []byte) error {
	var e struct {
		Code        string            `json:"code"`
		Description string            `json:"description"`
		Errors      []json.RawMessage `json:"errors"`
	}
	if json.Unmarshal(body, &e) != nil || e.Description == "" {
		return fmt.Errorf("server answered %d: %s", status, strings.TrimSpace(string(body)))
	}
	for _, raw := range e.Errors {
		var p struct{ Where, Pointer, Message string }
		if json.Unmarshal(raw, &p) == nil && p.Message != "" {
			where := p.Where
			if where == "" {
				where = p.Pointer
			}
			if where != "" {
				fmt.Fprintf(w, "  %s: %s\n", where, p.Message)
			} else {
				fmt.Fprintf(w, "  %s\n", p.Message)
			}
		}
	}
	return fmt.Errorf("%s (%d): %s", e.Code, status, e.Description)
}

// transferTarget is where import and export go: a server URL, or a handler
// run in-process on a store.
type transferTarget struct {
	base    string
	client  *http.Client
	handler http.Handler
	key     string
}

func (t *transferTarget) do(req *http.Request) (*http.Response, error) {
	if t.key != "" {
		req.Header.Set("Authorization", "Bearer "+t.key)
	}
	if t.handler != nil {
		return serveInProcess(t.handler, req), nil
	}
	return t.client.Do(req)
}

func (t *transferTarget) url(path string, q url.Values) string {
	u := t.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// serveInProcess runs one request through handler and returns its
// response, streaming the body through a pipe.
func serveInProcess(h http.Handler, req *http.Request) *http.Response {
	pr, pw := io.Pipe()
	rw := &pipeResponse{header: http.Header{}, pw: pw, ready: make(chan struct{})}
	go func() {
		h.ServeHTTP(rw, req)
		rw.WriteHeader(http.StatusOK) // no-op when already written
		pw.Close()
	}()
	<-rw.ready
	return &http.Response{StatusCode: rw.status, Header: rw.header, Body: pr, Request: req}
}

// pipeResponse is an http.ResponseWriter that streams into a pipe.
type pipeResponse struct {
	header http.Header
	status int
	pw     *io.PipeWriter
	ready  chan struct{}
}

func (p *pipeResponse) Header() http.Header { return p.header }

func (p *pipeResponse) WriteHeader(status int) {
	if p.status != 0 {
		return
	}
	p.status = status
	close(p.ready)
}

func (p *pipeResponse) Write(b []byte) (int, error) {
	p.WriteHeader(http.StatusOK)
	return p.pw.Write(b)
}

func (p *pipeResponse) Flush() {}

// runImport is `troopmap import FILE --collection ID`.
func runImport(ctx context.Context, e *env, args []string) error {
	fs := e.newFlagSet("import")
	collection := fs.String("collection", "", "collection to import into: troop-concentrations or incidents (required)")
	server := fs.String("server", e.getenv("TROOPMAP_SERVER"), "URL of a running troopmap server (env TROOPMAP_SERVER)")
	key := fs.String("key", e.getenv("TROOPMAP_KEY"), "API key for --server (env TROOPMAP_KEY)")
	store := fs.String("store", e.getenv("TROOPMAP_STORE"), "GeoPackage store to import into directly, without a server (env TROOPMAP_STORE)")
	actor := fs.String("as", e.envOr("USER", "import"), "with --store: the name recorded as created_by (env USER)")
	path, rest := splitFileArg(args)
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if path == "" && fs.NArg() == 1 {
		path = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return fmt.Errorf("import: unexpected argument %q", fs.Arg(0))
	}
	if path == "" || *collection == "" {
		e.usage(fs)
		return fmt.Errorf("import: want FILE and --collection")
	}
	mt, err := mediaTypeOf(path)
	if err != nil {
		return err
	}
	t, closeFn, err := openTarget(ctx, e, *server, *key, *store, *actor)
	if err != nil {
		return err
	}
	defer closeFn()
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	p := &progress{r: f, w: e.stderr, label: "uploading " + filepath.Base(path), total: st.Size()}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url("/collections/"+url.PathEscape(*collection)+"/items", nil), p)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	req.ContentLength = st.Size()
	req.Header.Set("Content-Type", mt)
	start := time.Now()
	resp, err := t.do(req)
	if err != nil {
		p.done()
		return fmt.Errorf("import: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	p.done()
	if err != nil {
		return fmt.Errorf("import: reading the answer: %w", err)
	}
	if resp.StatusCode != http.StatusCreated {
		fmt.Fprintf(e.stderr, "import of %s refused; nothing was stored:\n", path)
		return problemReport(e.stderr, resp.StatusCode, body)
	}
	var created struct {
		NumberCreated int      `json:"numberCreated"`
		IDs           []string `json:"ids"`
	}
	if err := json.Unmarshal(body, &created); err != nil || len(created.IDs) == 0 {
		created.NumberCreated, created.IDs = 1, nil // a single feature answers with itself
	}
	fmt.Fprintf(e.stdout, "imported %d reports from %s into %s in %s\n", created.NumberCreated, filepath.Base(path), *collection,
		time.Since(start).Round(time.Millisecond))
	return nil
}

// splitFileArg lets the file come before the flags (import FILE --flags),
// as Go's flag package stops at the first non-flag argument.
func splitFileArg(args []string) (string, []string) {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		return args[0], args[1:]
	}
	return "", args
}

// runExport is `troopmap export --collection ID [--format F] [name=value ...]`.
func runExport(ctx context.Context, e *env, args []string) error {
	fs := e.newFlagSet("export")
	collection := fs.String("collection", "", "collection to export (required)")
	format := fs.String("format", "", "geojson, csv, kml or gpkg (default: from --out's extension, else geojson)")
	out := fs.String("out", "-", "file to write; - for standard output")
	server := fs.String("server", e.getenv("TROOPMAP_SERVER"), "URL of a running troopmap server (env TROOPMAP_SERVER)")
	key := fs.String("key", e.getenv("TROOPMAP_KEY"), "API key, to see what that key's role may see (env TROOPMAP_KEY)")
	store := fs.String("store", e.getenv("TROOPMAP_STORE"), "GeoPackage store to export from directly, without a server (env TROOPMAP_STORE)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *collection == "" {
		e.usage(fs)
		return fmt.Errorf("export: want --collection")
	}
	// Remaining arguments are filters as on the items route: side=ru,
	// bbox=30,44,40,52, datetime=..., asof=..., limit=...
	q := url.Values{}
	for _, a := range fs.Args() {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return fmt.Errorf("export: argument %q: want name=value, a parameter of the items route", a)
		}
		q.Add(k, v)
	}
	f := *format
	if f == "" {
		f = strings.TrimPrefix(strings.ToLower(filepath.Ext(*out)), ".")
		if f == "" || f == "json" {
			f = "geojson"
		}
	}
	q.Set("f", f)
	t, closeFn, err := openTarget(ctx, e, *server, *key, *store, "")
	if err != nil {
		return err
	}
	defer closeFn()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.url("/collections/"+url.PathEscape(*collection)+"/items", q), nil)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	resp, err := t.do(req)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		return problemReport(e.stderr, resp.StatusCode, body)
	}
	var w io.Writer = e.stdout
	var file *os.File
	if *out != "-" {
		if file, err = os.Create(*out); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		defer file.Close()
		w = file
	}
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if file != nil {
		if err := file.Close(); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		fmt.Fprintf(e.stderr, "wrote %s (%d bytes, %s)\n", *out, n, f)
	}
	return nil
}

// openTarget returns the server or in-process store a transfer goes to.
func openTarget(ctx context.Context, e *env, server, key, store, actor string) (*transferTarget, func(), error) {
	switch {
	case server != "" && store != "" && e.getenv("TROOPMAP_STORE") != store:
		return nil, nil, fmt.Errorf("give either --server or --store, not both")
	case server != "":
		return &transferTarget{base: strings.TrimRight(server, "/"), client: &http.Client{}, key: key}, func() {}, nil
	case store != "":
		return openStoreTarget(ctx, e, store, actor)
	}
	return nil, nil, fmt.Errorf("give --server URL (a running troopmap) or --store FILE (a GeoPackage store)")
}

// openStoreTarget opens a GeoPackage store with the whole server in
// process, so that an import goes through the same validation and commit
// as an upload; actor is recorded as created_by, with the analyst role.
func openStoreTarget(ctx context.Context, e *env, store, actor string) (*transferTarget, func(), error) {
	st, err := gpkg.Open(ctx, store, reportSchemas())
	if err != nil {
		return nil, nil, err
	}
	cfg, err := parseServe(e, nil)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	log := slog.New(slog.DiscardHandler)
	srv := web.New(web.Config{Logger: log, Limits: cfg.Limits})
	lctx, cancel := context.WithCancel(ctx)
	cat, err := loadCatalog(lctx, log, cfg, srv, st)
	if err != nil {
		cancel()
		st.Close()
		return nil, nil, err
	}
	srv.SetCatalog(cat)
	role, _ := layers.RoleNamed("analyst")
	t := &transferTarget{base: "http://troopmap.store", handler: srv.HandlerAs(layers.Actor{Name: actor, Role: role})}
	return t, func() { cancel(); st.Close() }, nil
}
