package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// startServer runs `troopmap serve` in-process on a free port and returns its
// base URL; it stops when the test ends.
func startServer(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	dir := t.TempDir()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		base := []string{"serve", "--addr", "127.0.0.1:0", "--store", filepath.Join(dir, "troopmap.gpkg")}
		done <- run(ctx, append(base, args...), func(string) string { return "" }, io.Discard, pw)
		pw.Close()
	}()
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
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve returned %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("serve did not stop within 10s of cancellation")
		}
	})
	select {
	case a := <-addr:
		return "http://" + a
	case err := <-done:
		t.Fatalf("serve exited early: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("server did not start listening")
	}
	return ""
}

func TestServeHealthAndReady(t *testing.T) {
	base := startServer(t)
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/healthz = %d", resp.StatusCode)
	}
	var ready struct {
		Status string
		Layers map[string]int
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode == 200 {
			_ = json.NewDecoder(resp.Body).Decode(&ready)
			resp.Body.Close()
			break
		}
		resp.Body.Close()
		if resp.StatusCode != 503 || time.Now().After(deadline) {
			t.Fatalf("/readyz = %d", resp.StatusCode)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, id := range []string{"donbas", "crimea", "northern-border-zone", "eastern-border-zone", "oblasts", "troop-concentrations", "incidents", "movements"} {
		if ready.Layers[id] == 0 {
			t.Errorf("layer %s not loaded: %v", id, ready.Layers)
		}
	}
}

func TestHelpListsSubcommandsAndFlags(t *testing.T) {
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"--help"}, func(string) string { return "" }, io.Discard, &stderr)
	if err == nil || !strings.Contains(err.Error(), "help") {
		t.Fatalf("--help returned %v", err)
	}
	for _, want := range []string{"serve", "-addr", "-base-url", "TROOPMAP_ADDR", "TROOPMAP_BASE_URL"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("help lacks %q:\n%s", want, stderr.String())
		}
	}
}

func TestEnvironmentSetsDefaults(t *testing.T) {
	env := map[string]string{"TROOPMAP_ADDR": "127.0.0.1:9", "TROOPMAP_BASE_URL": "https://maps.example.org/tm"}
	e := &env2{getenv: func(k string) string { return env[k] }}
	cfg, err := parseServe(e.env(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != "127.0.0.1:9" || cfg.BaseURL != "https://maps.example.org/tm" {
		t.Errorf("cfg = %+v", cfg)
	}
	cfg, _ = parseServe(e.env(), []string{"--addr", ":1234"})
	if cfg.Addr != ":1234" {
		t.Errorf("flag did not override env: %q", cfg.Addr)
	}
}

type env2 struct{ getenv func(string) string }

func (e env2) env() *env { return &env{getenv: e.getenv, stderr: io.Discard, stdout: io.Discard} }

func TestUnknownSubcommand(t *testing.T) {
	err := run(context.Background(), []string{"frobnicate"}, func(string) string { return "" }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "frobnicate") {
		t.Fatalf("err = %v", err)
	}
}

func TestMaxSpeedFlag(t *testing.T) {
	for _, c := range []struct {
		env, flag string
		want      float64
		wantErr   bool
	}{
		{"", "", 120, false},
		{"80", "", 80, false},
		{"80", "150", 150, false},
		{"fast", "", 0, true},
		{"", "-5", 0, true},
		{"", "0", 0, true},
	} {
		e := &env2{getenv: func(k string) string {
			if k == "TROOPMAP_MAX_SPEED_KMH" {
				return c.env
			}
			return ""
		}}
		var args []string
		if c.flag != "" {
			args = []string{"--max-speed-kmh", c.flag}
		}
		cfg, err := parseServe(e.env(), args)
		if (err != nil) != c.wantErr || (err == nil && cfg.MaxSpeedKmh != c.want) {
			t.Errorf("env %q flag %q: got %v, %v; want %v (error %v)", c.env, c.flag, cfg.MaxSpeedKmh, err, c.want, c.wantErr)
		}
	}
}

func TestIdempotencyTTLFlag(t *testing.T) {
	for _, c := range []struct {
		env, flag string
		want      time.Duration
		wantErr   bool
	}{
		{"", "", 24 * time.Hour, false},
		{"2h", "", 2 * time.Hour, false},
		{"2h", "30m", 30 * time.Minute, false},
		{"a day", "", 0, true},
		{"", "0s", 0, true},
		{"", "-1h", 0, true},
	} {
		e := &env2{getenv: func(k string) string {
			if k == "TROOPMAP_IDEMPOTENCY_TTL" {
				return c.env
			}
			return ""
		}}
		var args []string
		if c.flag != "" {
			args = []string{"--idempotency-ttl", c.flag}
		}
		cfg, err := parseServe(e.env(), args)
		if (err != nil) != c.wantErr || (err == nil && cfg.IdempotencyTTL != c.want) {
			t.Errorf("env %q flag %q: got %v, %v; want %v (error %v)", c.env, c.flag, cfg.IdempotencyTTL, err, c.want, c.wantErr)
		}
	}
}

func TestMaxFeatureBytesFlag(t *testing.T) {
	for _, c := range []struct {
		env, flag string
		want      int64
		wantErr   bool
	}{
		{"", "", 2 << 20, false},
		{"65536", "", 65536, false},
		{"65536", "1000000", 1000000, false},
		{"", "0", 0, true},
		{"", "-5", 0, true},
	} {
		e := &env2{getenv: func(k string) string {
			if k == "TROOPMAP_MAX_FEATURE_BYTES" {
				return c.env
			}
			return ""
		}}
		var args []string
		if c.flag != "" {
			args = []string{"--max-feature-bytes", c.flag}
		}
		cfg, err := parseServe(e.env(), args)
		if (err != nil) != c.wantErr || (err == nil && cfg.MaxFeatureBytes != c.want) {
			t.Errorf("env %q flag %q: got %v, %v; want %v (error %v)", c.env, c.flag, cfg.MaxFeatureBytes, err, c.want, c.wantErr)
		}
		if err == nil {
			if r, _ := cfg.uploadRules(); r.MaxFeatureBytes != c.want {
				t.Errorf("upload rules carry %d, want %d", r.MaxFeatureBytes, c.want)
			}
		}
	}
}
