package main

// Browser tests of the map page: the real server (run "serve" in-process)
// driven by headless Chromium through chromedp. They need the Debian
// packages chromium and fonts-liberation (.ci/install installs them).
// Screenshots go to the folder the tests print (TROOPMAP_SCREENSHOTS, or a
// new temporary folder).

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's Chromium, or TROOPMAP_CHROMIUM.
func chromiumPath(t *testing.T) string {
	p := os.Getenv("TROOPMAP_CHROMIUM")
	if p == "" {
		p = "/usr/bin/chromium"
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("Chromium is needed for the map page tests: %v (run .ci/install, or set TROOPMAP_CHROMIUM)", err)
	}
	return p
}

var (
	shotsOnce sync.Once
	shotsDir  string
)

// screenshotDir is created once per test binary and printed, so that a
// failure can be looked at.
func screenshotDir(t *testing.T) string {
	shotsOnce.Do(func() {
		shotsDir = os.Getenv("TROOPMAP_SCREENSHOTS")
		if shotsDir == "" {
			shotsDir, _ = os.MkdirTemp("", "troopmap-screenshots-")
		}
		_ = os.MkdirAll(shotsDir, 0o755)
		fmt.Fprintf(os.Stderr, "map page screenshots: %s\n", shotsDir)
	})
	t.Logf("screenshots in %s", shotsDir)
	return shotsDir
}

// server is a running troopmap with its request log.
type server struct {
	base string
	mu   sync.Mutex
	uris []string
}

// requests returns the URIs requested so far that match re.
func (s *server) requests(re *regexp.Regexp) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, u := range s.uris {
		if re.MatchString(u) {
			out = append(out, u)
		}
	}
	return out
}

// startLoggedServer runs `troopmap serve` in-process on a free port, with
// its request log captured, on a new store in store (a GeoPackage path;
// "" for a temporary one).
func startLoggedServer(t *testing.T, store string, args ...string) *server {
	t.Helper()
	if store == "" {
		store = filepath.Join(t.TempDir(), "store.gpkg")
	}
	args = append([]string{"--store", store}, args...)
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0", "--log-level", "info"}, args...), func(string) string { return "" }, io.Discard, pw)
		pw.Close()
	}()
	s := &server{}
	addr := make(chan string, 1)
	ready := make(chan struct{})
	go func() {
		listening := regexp.MustCompile(`msg=listening addr=(\S+)`)
		request := regexp.MustCompile(`msg=request .*uri=("(?:[^"\\]|\\.)*"|\S+)`)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if m := listening.FindStringSubmatch(line); m != nil {
				addr <- m[1]
			}
			if strings.Contains(line, "msg=ready") {
				close(ready)
			}
			if m := request.FindStringSubmatch(line); m != nil {
				u := m[1]
				if strings.HasPrefix(u, `"`) {
					_ = json.Unmarshal([]byte(u), &u)
				}
				s.mu.Lock()
				s.uris = append(s.uris, u)
				s.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("serve did not stop within 10s of cancellation")
		}
	})
	select {
	case a := <-addr:
		s.base = "http://" + a
	case err := <-done:
		t.Fatalf("serve exited early: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("server did not start listening")
	}
	select {
	case <-ready:
	case <-time.After(30 * time.Second):
		t.Fatal("server did not load its layers")
	}
	return s
}

// browser is one headless Chromium tab.
type browser struct {
	t    *testing.T
	ctx  context.Context
	mu   sync.Mutex
	errs []string // uncaught exceptions, console errors, security messages
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
		// WebGL through SwiftShader, as on a machine without a GPU.
		chromedp.Flag("enable-unsafe-swiftshader", true),
	)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelC(); cancelA() })
	b := &browser{t: t, ctx: ctx}
	// The first action starts the browser, which lives as long as that
	// action's context: it must not run under a timeout.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	go func() {
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			if m.IsException() || (m.Type == chromedp.ConsoleError && (m.Source == "" || m.Source == "security")) {
				b.mu.Lock()
				b.errs = append(b.errs, m.String())
				b.mu.Unlock()
			}
		}
	}()
	// Record Content-Security-Policy violations from the first script on.
	_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));`})
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	return b
}

// do runs actions, with a bound on how long they may take.
func (b *browser) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 90*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

// eval runs a JavaScript expression (promises are awaited) and decodes its
// value into out.
func (b *browser) eval(js string, out any) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 90*time.Second)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("browser: %v\nin: %s\npage errors: %v", err, js, b.errors())
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			b.t.Fatalf("decode %s: %v", raw, err)
		}
	}
}

// errors returns the page's uncaught exceptions and console errors.
func (b *browser) errors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.errs...)
}

// screenshot saves the viewport as NAME.png in the screenshot folder.
func (b *browser) screenshot(name string) string {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	p := filepath.Join(screenshotDir(b.t), name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot %s", p)
	return p
}

// openMap loads the map page and waits until MapLibre is idle.
func (b *browser) openMap(url string) {
	b.t.Helper()
	b.do(chromedp.Navigate(url))
	b.waitIdle()
}

// waitIdle waits for the page's map to finish loading and rendering.
const waitIdleJS = `(async () => {
  for (let i = 0; !window.troopmap; i++) {
    if (i > 1200) throw new Error('map page did not start');
    await new Promise((r) => setTimeout(r, 25));
  }
  const m = window.troopmap.map;
  await new Promise((r) => { if (m.loaded() && m.areTilesLoaded() && !m.isMoving()) r(); else m.once('idle', r); });
  return true;
})()`

func (b *browser) waitIdle() {
	b.t.Helper()
	var ok bool
	b.eval(waitIdleJS, &ok)
}

// pixelJS counts the drawn pixels that differ from the background colour,
// over the whole canvas or around a point (x, y, r in CSS pixels).
const pixelJS = `window.__countDrawn = (x, y, r) => {
  const m = window.troopmap.map, c = m.getCanvas(), dpr = c.width / c.clientWidth;
  const o = document.createElement('canvas');
  o.width = c.width; o.height = c.height;
  const g = o.getContext('2d');
  g.drawImage(c, 0, 0);
  let x0 = 0, y0 = 0, w = c.width, h = c.height;
  if (r !== undefined) {
    x0 = Math.max(0, Math.round((x - r) * dpr)); y0 = Math.max(0, Math.round((y - r) * dpr));
    w = Math.min(c.width - x0, Math.round(2 * r * dpr)); h = Math.min(c.height - y0, Math.round(2 * r * dpr));
  }
  const d = g.getImageData(x0, y0, w, h).data;
  const bg = [0xcf, 0xd8, 0xdc];
  let n = 0;
  for (let i = 0; i < d.length; i += 4) {
    if (Math.abs(d[i] - bg[0]) + Math.abs(d[i + 1] - bg[1]) + Math.abs(d[i + 2] - bg[2]) > 24) n++;
  }
  return {drawn: n, total: d.length / 4};
}; true`

type pixelCount struct {
	Drawn int `json:"drawn"`
	Total int `json:"total"`
}

func (b *browser) countDrawn(args string) pixelCount {
	b.t.Helper()
	var ok bool
	b.eval(pixelJS, &ok)
	var pc pixelCount
	b.eval("window.__countDrawn("+args+")", &pc)
	return pc
}

// setLayer ticks or unticks a layer in the layer panel, as a user would,
// and waits for the map to redraw.
func (b *browser) setLayer(id string, on bool) {
	b.t.Helper()
	var ok bool
	b.eval(fmt.Sprintf(`(() => {
  const box = document.querySelector('#layers [data-layer=%q] input');
  if (!box) throw new Error('no layer checkbox for %s');
  if (box.checked !== %v) box.click();
  return true;
})()`, id, id, on), &ok)
	b.waitIdle()
}

func (b *browser) checkClean() {
	b.t.Helper()
	var csp []string
	b.eval(`window.__csp`, &csp)
	if len(csp) > 0 {
		b.t.Errorf("Content-Security-Policy violations: %v", csp)
	}
	for _, e := range b.errors() {
		b.t.Errorf("page error: %s", e)
	}
}

// renderedFeature is a feature drawn on the map, with its place on screen.
type renderedFeature struct {
	ID    string         `json:"id"`
	X     float64        `json:"x"`
	Y     float64        `json:"y"`
	Props map[string]any `json:"props"`
}

// rendered lists the features a style layer draws, with the screen point
// of each (a point feature's own position).
func (b *browser) rendered(styleLayer string) []renderedFeature {
	b.t.Helper()
	var out []renderedFeature
	b.eval(fmt.Sprintf(`(() => {
  const m = window.troopmap.map;
  return m.queryRenderedFeatures({layers: [%q]}).filter((f) => f.geometry.type === 'Point').map((f) => {
    const p = m.project(f.geometry.coordinates);
    return {id: String(f.properties.id ?? f.id), x: p.x, y: p.y, props: f.properties};
  });
})()`, styleLayer), &out)
	return out
}

func TestMapPageDrawsAreaAndReportLayers(t *testing.T) {
	srv := startLoggedServer(t, "")
	b := newBrowser(t)
	b.openMap(srv.base + "/map")
	b.screenshot("first-view")

	// A troop concentration's symbol is drawn: pixels around it change
	// when its layer is switched off.
	units := b.rendered("troop-concentrations:units")
	if len(units) == 0 {
		t.Fatal("no troop concentration symbols drawn")
	}
	u := units[0]
	around := fmt.Sprintf("%f, %f, 14", u.X, u.Y)
	with := b.countDrawn(around)
	b.setLayer("oblasts", false)
	b.setLayer("donbas", false)
	b.setLayer("crimea", false)
	b.setLayer("northern-border-zone", false)
	b.setLayer("eastern-border-zone", false)
	onlyReports := b.countDrawn(around)
	b.setLayer("troop-concentrations", false)
	without := b.countDrawn(around)
	if onlyReports.Drawn < onlyReports.Total/5 || without.Drawn > onlyReports.Drawn/4 {
		t.Fatalf("around %s: %d of %d pixels drawn with only the report layers, %d without troop concentrations (all layers: %d)",
			u.ID, onlyReports.Drawn, onlyReports.Total, without.Drawn, with.Drawn)
	}
	b.setLayer("troop-concentrations", true)
	for _, id := range []string{"oblasts", "donbas", "crimea", "northern-border-zone", "eastern-border-zone"} {
		b.setLayer(id, true)
	}

	all := b.countDrawn("")
	if all.Total == 0 || all.Drawn < all.Total/4 {
		t.Fatalf("only %d of %d pixels drawn: the area layers are missing", all.Drawn, all.Total)
	}
	for _, id := range []string{"oblasts", "donbas", "crimea", "northern-border-zone", "eastern-border-zone", "troop-concentrations", "incidents"} {
		b.setLayer(id, false)
	}
	none := b.countDrawn("")
	b.screenshot("all-layers-off")
	if none.Drawn > all.Drawn/20 {
		t.Fatalf("with every layer off %d pixels are still drawn (with them on: %d)", none.Drawn, all.Drawn)
	}
	b.setLayer("oblasts", true)
	oblasts := b.countDrawn("")
	if oblasts.Drawn < all.Drawn/2 {
		t.Fatalf("oblasts alone drew %d pixels, all layers %d", oblasts.Drawn, all.Drawn)
	}
	b.checkClean()
}

// clickMap clicks the map at a point given in the map's own CSS pixels,
// with a real mouse event.
func (b *browser) clickMap(x, y float64) {
	b.t.Helper()
	var off struct{ Left, Top float64 }
	b.eval(`(() => { const r = window.troopmap.map.getCanvas().getBoundingClientRect(); return {left: r.left, top: r.top}; })()`, &off)
	b.do(chromedp.MouseClickXY(off.Left+x, off.Top+y))
}

// waitFor polls a JavaScript condition until it is true.
func (b *browser) waitFor(what, cond string) {
	b.t.Helper()
	var ok bool
	b.eval(fmt.Sprintf(`(async () => {
  for (let i = 0; i < 600; i++) {
    if (%s) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return false;
})()`, cond), &ok)
	if !ok {
		b.screenshot("timeout-" + regexp.MustCompile(`\W+`).ReplaceAllString(what, "-"))
		b.t.Fatalf("timed out waiting for %s", what)
	}
}

// getJSON fetches a URL from the server, as a client independent of the page.
func getJSON(t *testing.T, url string, out any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s = %d", url, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

func TestMapPageClickShowsSources(t *testing.T) {
	srv := startLoggedServer(t, "")
	b := newBrowser(t)
	b.openMap(srv.base + "/map")
	units := b.rendered("troop-concentrations:units")
	if len(units) == 0 {
		t.Fatal("no troop concentration symbols drawn")
	}
	u := units[0]
	var ok bool
	b.clickMap(u.X, u.Y)
	b.waitFor("the details panel", `document.querySelector('#details-body').dataset.loaded === 'item'`)
	b.screenshot("details-panel")

	var feature struct {
		Properties struct {
			Sources []struct{ URL, Title string }
			Notes   string
		}
	}
	getJSON(t, srv.base+"/collections/troop-concentrations/items/"+u.ID, &feature)
	var panel struct {
		ID      string
		Links   []struct{ Href, Text, Rel, Target string }
		Notes   string
		Props   []string
		Visible bool
	}
	b.eval(`(() => {
  const d = document.querySelector('#details-body');
  return {
    id: d.dataset.id,
    visible: !document.querySelector('#details').hidden,
    links: [...d.querySelectorAll('.sources a')].map((a) => ({href: a.href, text: a.textContent, rel: a.rel, target: a.target})),
    notes: (d.querySelector('.notes') || {}).textContent || '',
    props: [...d.querySelectorAll('.proptable > tbody > tr')].map((tr) => tr.dataset.prop),
  };
})()`, &panel)
	if !panel.Visible || panel.ID != u.ID {
		t.Fatalf("panel shows %q (visible %v), clicked %q", panel.ID, panel.Visible, u.ID)
	}
	if len(feature.Properties.Sources) == 0 || len(panel.Links) != len(feature.Properties.Sources) {
		t.Fatalf("panel links %+v, report sources %+v", panel.Links, feature.Properties.Sources)
	}
	for i, s := range feature.Properties.Sources {
		l := panel.Links[i]
		if l.Href != s.URL || (s.Title != "" && l.Text != s.Title) || l.Rel != "noopener noreferrer" || l.Target != "_blank" {
			t.Errorf("source %d: panel %+v, report %+v", i, l, s)
		}
	}
	if panel.Notes != feature.Properties.Notes {
		t.Errorf("notes %q, want %q", panel.Notes, feature.Properties.Notes)
	}
	for _, want := range []string{"side", "echelon", "unit_function", "posture", "observed_at", "geometry"} {
		if !slices.Contains(panel.Props, want) {
			t.Errorf("panel lacks property %s: %v", want, panel.Props)
		}
	}

	// The zone figures: one line per zone, in plain SVG.
	b.eval(`(() => { const d = document.getElementById('zones-panel'); d.open = true; d.dispatchEvent(new Event('toggle')); return true; })()`, &ok)
	b.waitFor("the zone chart", `document.querySelectorAll('#zonechart svg polyline').length > 0`)
	var zones []string
	b.eval(`[...document.querySelectorAll('#zonechart svg polyline')].map((p) => p.dataset.zone)`, &zones)
	var stats struct{ Zones []struct{ ID, Title string } }
	getJSON(t, srv.base+"/stats/zones?interval=week", &stats)
	if len(zones) != len(stats.Zones) || len(zones) == 0 {
		t.Errorf("chart lines %v, zones %+v", zones, stats.Zones)
	}
	b.screenshot("zone-figures")

	// A filter goes to the tiles as the server's own parameter.
	b.eval(`(() => { const s = document.getElementById('filter-side'); s.value = 'ua'; s.dispatchEvent(new Event('change')); return true; })()`, &ok)
	re := regexp.MustCompile(`^/tiles/troop-concentrations/\d+/\d+/\d+\.mvt\?(.*&)?side=ua(&|$)`)
	b.waitIdle()
	if len(srv.requests(re)) == 0 {
		t.Error("no troop concentration tile requested with side=ua")
	}
	if inc := srv.requests(regexp.MustCompile(`^/tiles/incidents/.*side=`)); len(inc) > 0 {
		t.Errorf("side sent to incident tiles: %v", inc[:1])
	}
	for _, u := range b.rendered("troop-concentrations:units") {
		if u.Props["side"] != "ua" {
			t.Errorf("with side=ua, %s of side %v is drawn", u.ID, u.Props["side"])
		}
	}
	b.checkClean()
}

func TestMapPageTimeSliderFiltersTiles(t *testing.T) {
	srv := startLoggedServer(t, "")
	b := newBrowser(t)
	b.openMap(srv.base + "/map")
	var cfg struct{ Time [2]string }
	b.eval(`window.troopmap.cfg`, &cfg)
	start, err1 := time.Parse(time.RFC3339, cfg.Time[0])
	end, err2 := time.Parse(time.RFC3339, cfg.Time[1])
	if err1 != nil || err2 != nil {
		t.Fatalf("page time range %v", cfg.Time)
	}
	before := len(b.rendered("troop-concentrations:units"))

	// A 30-day window ending 60% of the way along: after the samples of
	// March-April 2021, before now.
	var max float64
	b.eval(`(() => {
  const w = document.getElementById('window'); w.value = '30d'; w.dispatchEvent(new Event('change'));
  const s = document.getElementById('time'); s.value = String(Math.round(0.6 * Number(s.max))); s.dispatchEvent(new Event('input'));
  return Number(s.max);
})()`, &max)
	frac := math.Round(0.6*max) / max
	wantEnd := start.Add(time.Duration(frac * float64(end.Sub(start)))).Truncate(time.Second)
	re := regexp.MustCompile(`^/tiles/troop-concentrations/\d+/\d+/\d+\.mvt\?.*datetime=([^&]+)`)
	var got []string
	for i := 0; i < 200 && len(got) == 0; i++ {
		for _, u := range srv.requests(re) {
			m := re.FindStringSubmatch(u)
			dt, _ := urlUnescape(m[1])
			a, z, _ := strings.Cut(dt, "/")
			ta, e1 := time.Parse(time.RFC3339, a)
			tz, e2 := time.Parse(time.RFC3339, z)
			if e1 == nil && e2 == nil && tz.Sub(wantEnd).Abs() <= time.Second && tz.Sub(ta) == 30*24*time.Hour {
				got = append(got, u)
			}
		}
		time.Sleep(25 * time.Millisecond)
	}
	if len(got) == 0 {
		t.Fatalf("no tile requested with a 30-day datetime ending %s; tile requests: %v", wantEnd.Format(time.RFC3339), srv.requests(regexp.MustCompile(`^/tiles/troop`)))
	}
	b.waitIdle()
	b.screenshot("time-window-2023")
	if n := len(b.rendered("troop-concentrations:units")); n != 0 || before == 0 {
		t.Errorf("%d symbols drawn in a window with no reports (%d before)", n, before)
	}
	var hash string
	b.eval(`location.hash`, &hash)
	if !strings.Contains(hash, "win=30d") || !strings.Contains(hash, "end="+wantEnd.Format("2006-01-02")) {
		t.Errorf("URL hash %q does not keep the time window", hash)
	}
	// The link reproduces the view: a new tab opened on it asks for the
	// same window.
	b2 := newBrowser(t)
	b2.openMap(srv.base + "/map" + hash)
	var dt string
	b2.eval(`window.troopmap.timebar.datetime()`, &dt)
	if !strings.HasSuffix(dt, "/"+wantEnd.Format(time.RFC3339)) {
		t.Errorf("reopened link asks for datetime %q, want the window ending %s", dt, wantEnd.Format(time.RFC3339))
	}
	b.checkClean()
}

func urlUnescape(s string) (string, error) { return url.QueryUnescape(s) }

const xssNotes = `Seen at dawn. <img src=x onerror="window.__xss=1"><script>window.__xss=2</script>`

// reportJSON is a schema-valid troop concentration at lon, lat.
func reportJSON(designation string, lon, lat float64, notes string) string {
	f := map[string]any{
		"type":     "Feature",
		"geometry": map[string]any{"type": "Point", "coordinates": []float64{lon, lat}},
		"properties": map[string]any{
			"observed_at": time.Now().UTC().Add(-time.Hour).Format(time.RFC3339), "time_precision": "day",
			"geo_precision": "town", "ce_m": 2000, "side": "ru", "echelon": "battalion",
			"unit_function": "armor", "posture": "moving", "heading_deg": 225, "unit_designation": designation,
			"sources":            []map[string]any{{"url": "https://example.org/post/1", "kind": "social", "title": "a post"}},
			"source_reliability": "c", "info_credibility": "3", "sensitivity": "public", "notes": notes,
		},
	}
	b, _ := json.Marshal(f)
	return string(b)
}

func TestMapPageLiveUploadAndEscaping(t *testing.T) {
	store := filepath.Join(t.TempDir(), "store.gpkg")
	key := addKey(t, store, "analyst-one", "analyst")
	srv := startLoggedServer(t, store)
	b := newBrowser(t)
	b.openMap(srv.base + "/map")
	b.waitFor("the live indicator", `document.getElementById('live').dataset.state === 'on'`)
	var ok bool
	b.eval(`window.__notReloaded = true`, &ok)

	// Upload through the page's panel, as an analyst would: key, then file.
	dir := t.TempDir()
	file := filepath.Join(dir, "report.geojson")
	if err := os.WriteFile(file, []byte(reportJSON("Test Tank Battalion", 36.9, 49.6, xssNotes)), 0o644); err != nil {
		t.Fatal(err)
	}
	b.eval(`(() => {
  document.getElementById('upload-panel').open = true;
  const k = document.getElementById('apikey'); k.value = `+strconvQuote(key)+`; k.dispatchEvent(new Event('input'));
  return true;
})()`, &ok)
	mark := len(srv.requests(regexp.MustCompile(`.`)))
	start := time.Now()
	b.do(chromedp.SetUploadFiles(chromedp.CSS(`#file`), []string{file}))
	b.waitFor("the upload to be stored", `document.getElementById('upload-status').className === 'ok'`)
	b.waitFor("the new report on the map", `window.troopmap.map.queryRenderedFeatures({layers: ['troop-concentrations:units']}).some((f) => f.properties.unit_designation === 'Test Tank Battalion')`)
	t.Logf("the uploaded report was drawn %v after the file was given to the page", time.Since(start).Round(time.Millisecond))
	b.screenshot("after-upload")
	b.eval(`window.__notReloaded === true`, &ok)
	if !ok {
		t.Fatal("the page reloaded")
	}
	var stored string
	b.eval(`sessionStorage.getItem('troopmap.apikey') === `+strconvQuote(key)+` && localStorage.length === 0 && document.cookie === '' ? 'session' : 'elsewhere'`, &stored)
	if stored != "session" {
		t.Errorf("the API key is kept %s", stored)
	}

	// Only tiles the change touched were fetched again: troop
	// concentration tiles around the report, no incident or area tile.
	after := srv.requests(regexp.MustCompile(`.`))[mark:]
	var refetched []string
	for _, u := range after {
		if strings.HasPrefix(u, "/tiles/") {
			refetched = append(refetched, u)
		}
	}
	if len(refetched) == 0 {
		t.Fatal("no tile was fetched again after the upload")
	}
	for _, u := range refetched {
		var z, x, y int
		path, _, _ := strings.Cut(u, "?")
		if strings.HasPrefix(path, "/tiles/incidents/") || !strings.HasPrefix(path, "/tiles/troop-concentrations/") && !strings.HasPrefix(path, "/tiles/movements/") {
			t.Errorf("fetched %s, which the change does not touch", u)
			continue
		}
		if strings.HasPrefix(path, "/tiles/troop-concentrations/") {
			if _, err := fmt.Sscanf(path, "/tiles/troop-concentrations/%d/%d/%d.mvt", &z, &x, &y); err != nil {
				t.Errorf("tile path %s", u)
				continue
			}
			// The report's tile at that zoom, or a neighbour (symbols and
			// clusters reach across tile edges).
			n := math.Exp2(float64(z))
			tx := (36.9 + 180) / 360 * n
			lat := 49.6 * math.Pi / 180
			ty := (1 - math.Log(math.Tan(lat)+1/math.Cos(lat))/math.Pi) / 2 * n
			if math.Abs(float64(x)+0.5-tx) > 1.5 || math.Abs(float64(y)+0.5-ty) > 1.5 {
				t.Errorf("fetched %s, far from the report (tile %.1f, %.1f)", u, tx, ty)
			}
		}
	}

	// A second client's upload (here: plain HTTP) appears too.
	req, _ := http.NewRequest("POST", srv.base+"/collections/troop-concentrations/items", strings.NewReader(reportJSON("Second Battalion", 34.8, 50.9, "")))
	req.Header.Set("Content-Type", "application/geo+json")
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("POST: %v %v", err, resp)
	}
	resp.Body.Close()
	b.waitFor("the second report on the map", `window.troopmap.map.queryRenderedFeatures({layers: ['troop-concentrations:units']}).some((f) => f.properties.unit_designation === 'Second Battalion')`)

	// The report's notes hold markup: the details panel shows it as text.
	var pt []renderedFeature
	for _, f := range b.rendered("troop-concentrations:units") {
		if f.Props["unit_designation"] == "Test Tank Battalion" {
			pt = append(pt, f)
		}
	}
	if len(pt) == 0 {
		t.Fatal("uploaded report not drawn")
	}
	b.clickMap(pt[0].X, pt[0].Y)
	b.waitFor("the details panel", `document.querySelector('#details-body').dataset.loaded === 'item'`)
	b.waitFor("the history", `document.querySelectorAll('#details-body .history-list li').length > 0`)
	b.screenshot("details-with-markup-in-notes")
	var panel struct {
		Notes   string
		Imgs    int
		Scripts int
		XSS     any
		History []string
	}
	b.eval(`(() => {
  const d = document.getElementById('details');
  return {notes: d.querySelector('.notes').textContent, imgs: d.querySelectorAll('img').length,
    scripts: d.querySelectorAll('script').length, xss: window.__xss ?? null,
    history: [...d.querySelectorAll('.history-list li')].map((li) => li.textContent)};
})()`, &panel)
	if panel.Notes != xssNotes || panel.Imgs != 0 || panel.Scripts != 0 || panel.XSS != nil {
		t.Errorf("notes shown as %q with %d img and %d script elements, window.__xss = %v", panel.Notes, panel.Imgs, panel.Scripts, panel.XSS)
	}
	if len(panel.History) != 1 || !strings.Contains(panel.History[0], "analyst-one") {
		t.Errorf("history %q, want one version by analyst-one", panel.History)
	}

	// A bad upload: the server's errors are listed by feature index.
	bad := `{"type":"FeatureCollection","features":[` + reportJSON("Good", 37, 48, "") + `,` +
		strings.Replace(reportJSON("Bad", 37, 48, ""), `"echelon":"battalion"`, `"echelon":"legion"`, 1) + `]}`
	badFile := filepath.Join(dir, "bad.geojson")
	if err := os.WriteFile(badFile, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	b.do(chromedp.SetUploadFiles(chromedp.CSS(`#file`), []string{badFile}))
	b.waitFor("the upload errors", `document.querySelectorAll('#upload-errors li').length > 0`)
	b.screenshot("upload-errors")
	var errs []string
	b.eval(`[...document.querySelectorAll('#upload-errors li')].map((li) => li.textContent)`, &errs)
	if len(errs) != 1 || !strings.HasPrefix(errs[0], "feature 1 · properties/echelon") {
		t.Errorf("upload errors %q, want one for feature 1's echelon", errs)
	}
	b.checkClean()
}

func strconvQuote(s string) string { b, _ := json.Marshal(s); return string(b) }
