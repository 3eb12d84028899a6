// Command loadbench measures troopmap's tile serving under load, in one run
// on one server: random tiles over the area of interest at each zoom, drawn
// afresh (uncached) and from the tile cache, beside the same server
// answering a fixed in-memory byte slice of typical tile size (the
// machine's ceiling). It builds troopmap, generates the report set with
// `troopmap gen`, starts `troopmap serve --reports` on loopback and prints
// a table.
//
//	go run ./cmd/loadbench                    # 1,000,000 reports, z5–z14
//	go run ./cmd/loadbench -reports 100000 -duration 2s
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"

	"troopmap/layers"
	"troopmap/layers/synth"
)

type config struct {
	reports  int
	seed     uint64
	file     string
	duration time.Duration
	conns    int
	minZ     int
	maxZ     int
	warm     int
}

func main() {
	var c config
	flag.IntVar(&c.reports, "reports", 1_000_000, "synthetic reports to load")
	flag.Uint64Var(&c.seed, "seed", 1, "seed of the report set")
	flag.StringVar(&c.file, "file", "", "reuse this report file (written by troopmap gen with the same -reports and -seed) instead of generating one")
	flag.DurationVar(&c.duration, "duration", 5*time.Second, "how long each measurement runs")
	flag.IntVar(&c.conns, "conns", 4, "concurrent connections")
	flag.IntVar(&c.minZ, "minzoom", 5, "lowest zoom")
	flag.IntVar(&c.maxZ, "maxzoom", 14, "highest zoom")
	flag.IntVar(&c.warm, "cached-tiles", 300, "distinct tiles per zoom in the cached run")
	flag.Parse()
	// The load generator shares the machine's cores with the server. With
	// the default GOGC its few megabytes of heap are collected hundreds of
	// times a second, and those pauses would be counted as the server's
	// latency: collect only when the heap reaches 512 MiB instead.
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(512 << 20)
	if err := run(context.Background(), c, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "loadbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c config, out io.Writer) error {
	dir, err := os.MkdirTemp("", "loadbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "troopmap")
	logf(out, "building troopmap")
	if b, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/troopmap").CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, b)
	}
	file := c.file
	if file == "" {
		file = filepath.Join(dir, "reports.geojson")
		logf(out, "generating %d reports (seed %d)", c.reports, c.seed)
		cmd := exec.CommandContext(ctx, bin, "gen", "--reports", strconv.Itoa(c.reports), "--seed", strconv.FormatUint(c.seed, 10), "--out", file)
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("gen: %w", err)
		}
	}
	srv, err := start(ctx, bin, file, filepath.Join(dir, "store.gpkg"), out)
	if err != nil {
		return err
	}
	defer srv.stop()

	tiles, err := pickTiles(ctx, c)
	if err != nil {
		return err
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: c.conns, MaxConnsPerHost: c.conns, DisableCompression: true}}

	fmt.Fprintf(out, "\ntroopmap tile load: %d reports, %d connections, %s per row, server pid %d\n\n", c.reports, c.conns, c.duration, srv.cmd.Process.Pid)
	fmt.Fprintf(out, "%-10s %-5s %10s %9s %9s %9s %9s %8s  %s\n", "run", "zoom", "tiles/s", "p50 ms", "p99 ms", "max ms", "avg KB", "204s", "errors")
	var sizes []int
	var worstP99 time.Duration
	for z := c.minZ; z <= c.maxZ; z++ {
		r := measure(ctx, client, c, func(rng *rand.Rand) string {
			return srv.base + tiles[z][rng.IntN(len(tiles[z]))]
		}, http.Header{"Cache-Control": {"no-cache"}})
		sizes = append(sizes, r.sizes...)
		worstP99 = max(worstP99, r.p(99))
		r.print(out, "uncached", strconv.Itoa(z))
	}
	// The cached run: a fixed set of tiles per zoom, warmed first.
	var warm []string
	for z := c.minZ; z <= c.maxZ; z++ {
		warm = append(warm, tiles[z][:min(c.warm, len(tiles[z]))]...)
	}
	for _, p := range warm {
		if err := get(client, srv.base+p, nil); err != nil {
			return err
		}
	}
	cached := measure(ctx, client, c, func(rng *rand.Rand) string { return srv.base + warm[rng.IntN(len(warm))] }, nil)
	cached.print(out, "cached", fmt.Sprintf("%d-%d", c.minZ, c.maxZ))
	typical := median(sizes)
	ceiling := measure(ctx, client, c, func(*rand.Rand) string { return srv.base + "/bench/ceiling?n=" + strconv.Itoa(typical) }, nil)
	ceiling.print(out, "ceiling", "-")
	peak := srv.peakRSS()
	fmt.Fprintf(out, "\nceiling body: %d bytes (median non-empty tile); server peak RSS: %s\n", typical, peak)
	ratio := cached.rate() / ceiling.rate()
	fmt.Fprintf(out, "uncached p99 worst zoom: %.1f ms (target < 20 ms: %s)\n", ms(worstP99), verdict(ms(worstP99) < 20))
	fmt.Fprintf(out, "cached throughput: %.0f%% of the ceiling (target >= 70%%: %s)\n", 100*ratio, verdict(ratio >= 0.7))
	return nil
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

func logf(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, "loadbench: "+format+"\n", args...)
}

// pickTiles chooses, per zoom, 2000 tiles: half at uniformly random points
// of the area of interest, half at the positions of random reports of the
// same synthetic set (where the data is).
func pickTiles(ctx context.Context, c config) (map[int][]string, error) {
	rng := rand.New(rand.NewPCG(c.seed, 99))
	var pts []orb.Point
	keep := max(1, c.reports/20000)
	i := 0
	err := synth.Generate(ctx, c.reports, c.seed, nil, func(r synth.Report) error {
		if i++; i%keep == 0 {
			pts = append(pts, r.Feature.Geometry.(orb.Point))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	aoi := layers.AreaOfInterest()
	out := map[int][]string{}
	ids := []string{layers.Incidents, layers.TroopConcentrations, layers.Incidents + "," + layers.TroopConcentrations}
	for z := c.minZ; z <= c.maxZ; z++ {
		for j := range 2000 {
			p := orb.Point{aoi[0] + rng.Float64()*(aoi[2]-aoi[0]), aoi[1] + rng.Float64()*(aoi[3]-aoi[1])}
			if j%2 == 1 && len(pts) > 0 {
				p = pts[rng.IntN(len(pts))]
			}
			t := maptile.At(p, maptile.Zoom(z))
			out[z] = append(out[z], fmt.Sprintf("/tiles/%s/%d/%d/%d.mvt", ids[j%len(ids)], t.Z, t.X, t.Y))
		}
	}
	return out, nil
}

type result struct {
	lat     []time.Duration
	sizes   []int
	empty   int
	other   map[int]int // answers other than 200 and 204, by status
	elapsed time.Duration
}

func (r *result) rate() float64 { return float64(len(r.lat)) / r.elapsed.Seconds() }

func (r *result) p(q int) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	return r.lat[min(len(r.lat)-1, len(r.lat)*q/100)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func (r *result) print(w io.Writer, name, zoom string) {
	avg := 0.0
	if len(r.sizes) > 0 {
		t := 0
		for _, s := range r.sizes {
			t += s
		}
		avg = float64(t) / float64(len(r.sizes)) / 1024
	}
	var other []string
	for _, code := range slices.Sorted(maps.Keys(r.other)) {
		other = append(other, fmt.Sprintf("%d×%d", r.other[code], code))
	}
	fmt.Fprintf(w, "%-10s %-5s %10.0f %9.2f %9.2f %9.2f %9.1f %8d  %s\n", name, zoom, r.rate(), ms(r.p(50)), ms(r.p(99)), ms(r.lat[len(r.lat)-1]), avg, r.empty, strings.Join(other, " "))
}

func median(xs []int) int {
	if len(xs) == 0 {
		return 1024
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// measure runs c.conns workers for c.duration, each requesting next().
func measure(ctx context.Context, client *http.Client, c config, next func(*rand.Rand) string, hdr http.Header) *result {
	var mu sync.Mutex
	res := &result{other: map[int]int{}}
	deadline := time.Now().Add(c.duration)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range c.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			var lat []time.Duration
			var sizes []int
			empty := 0
			other := map[int]int{}
			for time.Now().Before(deadline) && ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, next(rng), nil)
				for k, v := range hdr {
					req.Header[k] = v
				}
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					continue
				}
				n, _ := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat = append(lat, time.Since(t0))
				switch resp.StatusCode {
				case http.StatusOK:
					sizes = append(sizes, int(n))
				case http.StatusNoContent:
					empty++
				default:
					other[resp.StatusCode]++
				}
			}
			mu.Lock()
			res.lat = append(res.lat, lat...)
			res.sizes = append(res.sizes, sizes...)
			res.empty += empty
			for k, v := range other {
				res.other[k] += v
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	slices.Sort(res.lat)
	if len(res.lat) == 0 {
		res.lat = []time.Duration{0}
	}
	return res
}

func get(client *http.Client, url string, hdr http.Header) error {
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != 200 && resp.StatusCode != 204 {
		return fmt.Errorf("GET %s: %d", url, resp.StatusCode)
	}
	return nil
}

type server struct {
	cmd  *exec.Cmd
	base string
}

// start runs troopmap serve and waits until it is ready and both point
// indexes, with their anonymous views, are built.
func start(ctx context.Context, bin, file, store string, out io.Writer) (*server, error) {
	cmd := exec.CommandContext(ctx, bin, "serve", "--addr", "127.0.0.1:0", "--reports", file, "--store", store, "--bench-ceiling",
		"--max-expensive", "64", "--log-level", "info",
		// One client address makes every request here: the per-address
		// read limit would measure itself, not tile serving.
		"--read-rate", "0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	loadStart := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd}
	addrRE := regexp.MustCompile(`msg=listening addr=(\S+)`)
	indexes := 0
	ready := false
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		line := sc.Text()
		if m := addrRE.FindStringSubmatch(line); m != nil {
			s.base = "http://" + m[1]
		}
		if strings.Contains(line, "msg=ready") {
			ready = true
			logf(out, "server ready after %s (%s)", time.Since(loadStart).Round(time.Millisecond), line)
		}
		if strings.Contains(line, `msg="point index built"`) || strings.Contains(line, `msg="point index view built"`) {
			indexes++
			logf(out, "%s", line)
		}
		if strings.Contains(line, "level=ERROR") {
			logf(out, "%s", line)
		}
		// Two clustered layers, each with its index and the anonymous
		// readers' view of it.
		if ready && indexes >= 4 && s.base != "" {
			go func() { _, _ = io.Copy(io.Discard, stderr) }()
			logf(out, "server loaded and indexed after %s; peak RSS so far %s", time.Since(loadStart).Round(time.Millisecond), s.peakRSS())
			return s, nil
		}
	}
	_ = cmd.Wait()
	return nil, fmt.Errorf("server exited before it was ready")
}

func (s *server) stop() {
	_ = s.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
	}
}

// peakRSS reads the server's high-water resident set from /proc.
func (s *server) peakRSS() string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
