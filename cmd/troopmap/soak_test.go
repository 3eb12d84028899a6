package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
	"github.com/paulmach/orb/maptile"
)

// TestSoak is the opt-in soak test: TROOPMAP_SOAK=10m go test -run Soak
// ./cmd/troopmap. It runs the real binary on loopback and mixes tile reads,
// feature queries, uploads and changes, and SSE subscribers that come and
// go, then reports requests, errors, p99 latency per endpoint, the server's
// RSS after warm-up and at the end, and its goroutines before and after.
func TestSoak(t *testing.T) {
	d, err := time.ParseDuration(os.Getenv("TROOPMAP_SOAK"))
	if err != nil || d <= 0 {
		t.Skip("set TROOPMAP_SOAK to a duration (e.g. 10m) to run the soak test")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "troopmap")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	reports := filepath.Join(dir, "reports.geojson")
	if out, err := exec.Command(bin, "gen", "--reports", "10000", "--seed", "5", "--out", reports).CombinedOutput(); err != nil {
		t.Fatalf("gen: %v\n%s", err, out)
	}
	store := filepath.Join(dir, "soak.gpkg")
	key := addKey(t, store, "soak", "analyst")
	// Every client of the soak shares one address and one key: the per-client
	// rate limits are off, or they would shed nearly all of the load.
	p := startProcArgs(t, bin, "serve", "--addr", "127.0.0.1:0", "--store", store, "--reports", reports, "--tile-cache-mb", "16",
		"--read-rate", "0", "--write-rate", "0")
	defer func() { _ = p.cmd.Process.Kill() }()
	pid := p.cmd.Process.Pid
	time.Sleep(2 * time.Second)
	baseGoroutines := goroutines(t, p.base)
	rssStart := rssKB(t, pid)

	type stat struct {
		lat    []time.Duration
		errs   int
		shed   int // deliberate 429/503
		sample string
	}
	var mu sync.Mutex
	stats := map[string]*stat{}
	record := func(ep string, start time.Time, status int, err error) {
		mu.Lock()
		defer mu.Unlock()
		s := stats[ep]
		if s == nil {
			s = &stat{}
			stats[ep] = s
		}
		switch {
		case err != nil:
			s.errs++
			s.sample = err.Error()
		case status == 429 || status == 503:
			s.shed++
		case status >= 400:
			s.errs++
			s.sample = strconv.Itoa(status)
		default:
			s.lat = append(s.lat, time.Since(start))
		}
	}
	client := &http.Client{Timeout: 30 * time.Second}
	get := func(ep, url string) {
		start := time.Now()
		resp, err := client.Get(url)
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			record(ep, start, resp.StatusCode, err)
			return
		}
		record(ep, start, 0, err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	loop := func(seed uint64, fn func(r *rand.Rand)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, 1))
			for {
				select {
				case <-stop:
					return
				default:
				}
				fn(r)
			}
		}()
	}
	for i := range 3 {
		loop(uint64(i), func(r *rand.Rand) {
			z := maptile.Zoom(4 + r.IntN(9))
			tile := maptile.At(orb.Point{33 + r.Float64()*7, 46 + r.Float64()*5}, z)
			get("tile", fmt.Sprintf("%s/tiles/incidents,troop-concentrations/%d/%d/%d.mvt", p.base, z, tile.X, tile.Y))
		})
	}
	for i := range 3 {
		loop(uint64(10+i), func(r *rand.Rand) {
			x, y := 33+r.Float64()*6, 46+r.Float64()*4
			get("items", fmt.Sprintf("%s/collections/incidents/items?bbox=%.3f,%.3f,%.3f,%.3f&limit=%d", p.base, x, y, x+1, y+1, 10+r.IntN(200)))
		})
	}
	// A fixed pool of reports for the patches; uploads are retracted right
	// after, so the data stays the same size and RSS can stay flat.
	var pool []string
	{
		fs := make([]*geojson.Feature, 50)
		for i := range fs {
			fs[i] = testIncident(i, "soak pool", orb.Point{37 + float64(i)*0.01, 48})
		}
		resp, body, err := postJSON(p.base, "incidents", key, map[string]any{"type": "FeatureCollection", "features": fs})
		if err != nil || resp.StatusCode != 201 {
			t.Fatalf("pool: %v %.200s", err, body)
		}
		var out struct{ IDs []string }
		_ = json.Unmarshal(body, &out)
		pool = out.IDs
	}
	loop(20, func(r *rand.Rand) {
		fs := make([]*geojson.Feature, 1+r.IntN(10))
		for i := range fs {
			fs[i] = testIncident(i, "soak", orb.Point{36 + r.Float64()*3, 47 + r.Float64()*2})
		}
		start := time.Now()
		resp, body, err := postJSON(p.base, "incidents", key, map[string]any{"type": "FeatureCollection", "features": fs})
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		record("upload", start, status, err)
		var out struct{ IDs []string }
		_ = json.Unmarshal(body, &out)
		for _, id := range out.IDs {
			start := time.Now()
			status, _, err := sendReq("DELETE", p.base+"/collections/incidents/items/"+id, key, "", nil)
			record("delete", start, status, err)
		}
		time.Sleep(100 * time.Millisecond)
	})
	loop(21, func(r *rand.Rand) {
		id := pool[r.IntN(len(pool))]
		start := time.Now()
		status, _, err := sendReq("PATCH", p.base+"/collections/incidents/items/"+id, key, "application/merge-patch+json",
			[]byte(fmt.Sprintf(`{"properties":{"notes":"soak %d"}}`, r.IntN(1000))))
		record("patch", start, status, err)
		time.Sleep(200 * time.Millisecond)
	})
	var events sync.Map
	for i := range 20 {
		loop(uint64(30+i), func(r *rand.Rand) {
			start := time.Now()
			req, _ := http.NewRequest("GET", p.base+"/events", nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				record("events", start, 0, err)
				return
			}
			record("events", start, resp.StatusCode, nil)
			stay := time.After(time.Duration(2+r.IntN(20)) * time.Second)
			lines := make(chan struct{})
			go func() {
				sc := bufio.NewScanner(resp.Body)
				for sc.Scan() {
					if strings.HasPrefix(sc.Text(), "event: change") {
						n, _ := events.LoadOrStore(i, new(int))
						*n.(*int)++
					}
				}
				close(lines)
			}()
			select {
			case <-stay:
			case <-stop:
			}
			resp.Body.Close()
			<-lines
		})
	}
	warm := max(d/10, 20*time.Second)
	time.Sleep(warm)
	rssWarm := rssKB(t, pid)
	time.Sleep(d - warm)
	close(stop)
	wg.Wait()
	rssEnd := rssKB(t, pid)
	time.Sleep(3 * time.Second)
	endGoroutines := goroutines(t, p.base)

	// The report is a Markdown table, ready for the README.
	var b strings.Builder
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Fprintf(&b, "Soak of %v (warm-up %v) on loopback with 10,000 generated reports; %d CPUs, load average at the end %s.\n\n",
		d, warm, runtime.NumCPU(), strings.Join(strings.Fields(string(load))[:min(3, len(strings.Fields(string(load))))], " "))
	b.WriteString("| endpoint | requests | served | errors | 429/503 | p50 | p99 |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	names := make([]string, 0, len(stats))
	for n := range stats {
		names = append(names, n)
	}
	sort.Strings(names)
	labels := map[string]string{"upload": "upload (1–10 features)", "events": "events (connect)", "items": "items (bbox)"}
	errors, total, served, shed := 0, 0, 0, 0
	var samples []string
	for _, n := range names {
		s := stats[n]
		sort.Slice(s.lat, func(i, j int) bool { return s.lat[i] < s.lat[j] })
		q := func(f float64) time.Duration {
			if len(s.lat) == 0 {
				return 0
			}
			return s.lat[int(math.Min(float64(len(s.lat)-1), f*float64(len(s.lat))))]
		}
		label := labels[n]
		if label == "" {
			label = n
		}
		all := len(s.lat) + s.errs + s.shed
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", label, thousands(all), thousands(len(s.lat)), thousands(s.errs), thousands(s.shed), ms(q(0.5)), ms(q(0.99)))
		if s.sample != "" {
			samples = append(samples, n+": "+s.sample)
		}
		errors += s.errs
		total += all
		served += len(s.lat)
		shed += s.shed
	}
	fmt.Fprintf(&b, "| all | %s | %s | %s | %s | | |\n\n", thousands(total), thousands(served), thousands(errors), thousands(shed))
	b.WriteString("| | start | after warm-up | end | change after warm-up |\n| --- | ---: | ---: | ---: | ---: |\n")
	fmt.Fprintf(&b, "| RSS | %.1f MiB | %.1f MiB | %.1f MiB | %+.1f%% |\n", float64(rssStart)/1024, float64(rssWarm)/1024, float64(rssEnd)/1024,
		100*float64(rssEnd-rssWarm)/float64(rssWarm))
	fmt.Fprintf(&b, "| goroutines | %d | | %d (3 s after the load stopped) | |\n", baseGoroutines, endGoroutines)
	if len(samples) > 0 {
		b.WriteString("\nErrors seen: " + strings.Join(samples, "; ") + "\n")
	}
	t.Log("\n" + b.String())
	if errors > 0 {
		t.Errorf("%d errors", errors)
	}
	if float64(rssEnd) > 1.10*float64(rssWarm) {
		t.Errorf("RSS grew from %d to %d KiB after warm-up", rssWarm, rssEnd)
	}
	if endGoroutines > baseGoroutines+5 {
		t.Errorf("goroutines: %d before, %d after the load stopped", baseGoroutines, endGoroutines)
	}
}

// startProcArgs starts the binary with args and waits until it is ready.
func startProcArgs(t *testing.T, bin string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`msg=listening addr=(\S+)`)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
	}()
	p := &proc{cmd: cmd}
	select {
	case a := <-addr:
		p.base = "http://" + a
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("server did not start")
	}
	go func() { _ = cmd.Wait(); pw.Close() }()
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get(p.base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("server not ready within 3 minutes")
		}
	}
}

func rssKB(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`VmRSS:\s+(\d+) kB`).FindSubmatch(b)
	if m == nil {
		t.Fatal("no VmRSS")
	}
	n, _ := strconv.ParseInt(string(m[1]), 10, 64)
	return n
}

// goroutines reads go_goroutines from the server's /metrics.
func goroutines(t *testing.T, base string) int {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^go_goroutines (\d+)`).FindSubmatch(b)
	if m == nil {
		t.Fatal("no go_goroutines in /metrics")
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// ms formats a latency in milliseconds, or seconds from 1 s up.
func ms(d time.Duration) string {
	if d >= time.Second {
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}

// thousands writes n with comma separators.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
