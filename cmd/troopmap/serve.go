package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"troopmap/data"
	"troopmap/geo"
	"troopmap/layers"
	"troopmap/layers/gpkg"
	"troopmap/layers/synth"
	"troopmap/web"
)

// serveConfig is everything `troopmap serve` takes from flags and environment.
type serveConfig struct {
	Addr              string
	BaseURL           string
	LogLevel          string
	ReadHeaderTimeout time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	ShutdownTimeout   time.Duration
	Limits            web.Limits
	MaxSpeedKmh       float64
	Reports           string // report file loaded at start (see gen)
	CORSOrigins       string
	Tiles             web.TileConfig
	TileCacheMB       int64
	MapStyleURL       string
	Store             string
	AOI               string
	MaxVertices       int
	MaxBatch          int
	MaxFeatureBytes   int64
	IdempotencyTTL    time.Duration
	Access            accessConfig // see access.go
}

func parseServe(e *env, args []string) (serveConfig, error) {
	var c serveConfig
	fs := e.newFlagSet("serve")
	fs.StringVar(&c.Addr, "addr", e.envOr("TROOPMAP_ADDR", ":8080"), "listen address (env TROOPMAP_ADDR)")
	fs.StringVar(&c.BaseURL, "base-url", e.envOr("TROOPMAP_BASE_URL", ""), "public root URL for absolute links behind a proxy, e.g. https://maps.example.org (env TROOPMAP_BASE_URL; default: taken from each request's Host)")
	fs.StringVar(&c.LogLevel, "log-level", e.envOr("TROOPMAP_LOG_LEVEL", "info"), "log level: debug, info, warn or error (env TROOPMAP_LOG_LEVEL)")
	fs.DurationVar(&c.ReadHeaderTimeout, "read-header-timeout", 5*time.Second, "time allowed to read a request's headers")
	fs.DurationVar(&c.WriteTimeout, "write-timeout", 60*time.Second, "time allowed to write a response (SSE streams are exempt)")
	fs.DurationVar(&c.IdleTimeout, "idle-timeout", 120*time.Second, "how long an idle keep-alive connection stays open")
	fs.StringVar(&c.MapStyleURL, "map-style", e.envOr("TROOPMAP_MAP_STYLE", ""), "optional outside MapLibre style (http or https URL) drawn beneath troopmap's layers on the map page, e.g. a basemap on your own network (env TROOPMAP_MAP_STYLE; default: none, the page uses only troopmap's own area layers)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", 15*time.Second, "how long a graceful shutdown waits for requests in flight")
	d := web.DefaultLimits()
	fs.Int64Var(&c.Limits.MaxBodyBytes, "max-body-bytes", envInt64(e, "TROOPMAP_MAX_BODY_BYTES", d.MaxBodyBytes), "largest request body accepted, in bytes; larger ones get 413 (env TROOPMAP_MAX_BODY_BYTES)")
	fs.DurationVar(&c.Limits.RequestTimeout, "request-timeout", d.RequestTimeout, "deadline of each request, passed down as its context; /events streams are exempt")
	fs.IntVar(&c.Limits.MaxExpensive, "max-expensive", d.MaxExpensive, "concurrent expensive requests (pages of --expensive-limit features or more, exports, tiles at zoom <= --expensive-max-zoom); more get 503 with Retry-After")
	fs.IntVar(&c.Limits.ExpensiveLimit, "expensive-limit", d.ExpensiveLimit, "page size from which an items request counts as expensive")
	fs.IntVar(&c.Limits.ExpensiveMaxZoom, "expensive-max-zoom", d.ExpensiveMaxZoom, "tiles at this zoom or lower count as expensive")
	fs.Float64Var(&c.MaxSpeedKmh, "max-speed-kmh", layers.DefaultMaxSpeedKmh, "movement legs faster than this are flagged implausible_speed (env TROOPMAP_MAX_SPEED_KMH)")
	fs.StringVar(&c.Reports, "reports", e.envOr("TROOPMAP_REPORTS", ""), "GeoJSON report file to load at start, as written by 'troopmap gen' (env TROOPMAP_REPORTS)")
	fs.StringVar(&c.CORSOrigins, "cors-origins", e.envOr("TROOPMAP_CORS_ORIGINS", "*"), "comma-separated origins allowed to GET from browsers; * for any, empty for none (env TROOPMAP_CORS_ORIGINS)")
	fs.StringVar(&c.Tiles.CacheControl, "tile-cache-control", e.envOr("TROOPMAP_TILE_CACHE_CONTROL", "no-cache"), "Cache-Control of tiles, TileJSON and the style (env TROOPMAP_TILE_CACHE_CONTROL)")
	fs.Int64Var(&c.TileCacheMB, "tile-cache-mb", envInt64(e, "TROOPMAP_TILE_CACHE_MB", 256), "memory for encoded tiles, in MiB; 0 turns the cache off (env TROOPMAP_TILE_CACHE_MB)")
	fs.IntVar(&c.Tiles.ClusterMaxZoom, "cluster-max-zoom", int(envInt64(e, "TROOPMAP_CLUSTER_MAX_ZOOM", web.DefaultClusterMaxZoom)), "point reports are clustered in tiles below this zoom (default: the report layers' max zoom); 0 turns clustering off (env TROOPMAP_CLUSTER_MAX_ZOOM)")
	fs.BoolVar(&c.Tiles.BenchCeiling, "bench-ceiling", false, "serve GET /bench/ceiling?n=BYTES from a fixed in-memory slice, for the load benchmark (cmd/loadbench)")
	if v := e.getenv("TROOPMAP_MAX_SPEED_KMH"); v != "" {
		if err := fs.Set("max-speed-kmh", v); err != nil {
			return c, fmt.Errorf("TROOPMAP_MAX_SPEED_KMH: %w", err)
		}
	}
	fs.StringVar(&c.Store, "store", e.envOr("TROOPMAP_STORE", "troopmap.gpkg"), "GeoPackage file that stores the reports; created if missing (env TROOPMAP_STORE)")
	aoi := layers.AreaOfInterest()
	fs.StringVar(&c.AOI, "aoi", e.envOr("TROOPMAP_AOI", fmt.Sprintf("%g,%g,%g,%g", aoi[0], aoi[1], aoi[2], aoi[3])), "area of interest west,south,east,north that every uploaded position must lie in (env TROOPMAP_AOI)")
	fs.IntVar(&c.MaxVertices, "max-vertices", int(envInt64(e, "TROOPMAP_MAX_VERTICES", 10000)), "most positions in one uploaded feature (env TROOPMAP_MAX_VERTICES)")
	fs.IntVar(&c.MaxBatch, "max-batch", int(envInt64(e, "TROOPMAP_MAX_BATCH", 50000)), "most features in one uploaded FeatureCollection (env TROOPMAP_MAX_BATCH)")
	fs.Int64Var(&c.MaxFeatureBytes, "max-feature-bytes", envInt64(e, "TROOPMAP_MAX_FEATURE_BYTES", layers.DefaultMaxFeatureBytes), "largest JSON text of one uploaded feature, in bytes (also the limit of a PATCH body); a larger one gets 413 (env TROOPMAP_MAX_FEATURE_BYTES)")
	fs.DurationVar(&c.IdempotencyTTL, "idempotency-ttl", layers.DefaultIdempotencyTTL, "how long an upload's Idempotency-Key is remembered; a key older than this counts as new (env TROOPMAP_IDEMPOTENCY_TTL)")
	if v := e.getenv("TROOPMAP_IDEMPOTENCY_TTL"); v != "" {
		if err := fs.Set("idempotency-ttl", v); err != nil {
			return c, fmt.Errorf("TROOPMAP_IDEMPOTENCY_TTL: %w", err)
		}
	}
	finishAccess := addAccessFlags(e, fs, &c.Access)
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if c.IdempotencyTTL <= 0 {
		return c, fmt.Errorf("serve: --idempotency-ttl must be positive, e.g. 24h; got %v", c.IdempotencyTTL)
	}
	if _, err := c.uploadRules(); err != nil {
		return c, err
	}
	if c.MaxSpeedKmh <= 0 || math.IsInf(c.MaxSpeedKmh, 0) || math.IsNaN(c.MaxSpeedKmh) {
		return c, fmt.Errorf("serve: -max-speed-kmh must be a positive number of km/h, got %v", c.MaxSpeedKmh)
	}
	if err := finishAccess(); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("serve: unexpected argument %q", fs.Arg(0))
	}
	if c.TileCacheMB < 0 || c.Tiles.ClusterMaxZoom < 0 || c.Tiles.ClusterMaxZoom > 21 {
		return c, fmt.Errorf("serve: --tile-cache-mb must be >= 0 and --cluster-max-zoom within 0..21")
	}
	c.Tiles.CacheBytes = c.TileCacheMB << 20
	if c.TileCacheMB == 0 {
		c.Tiles.CacheBytes = -1
	}
	if c.Tiles.ClusterMaxZoom == 0 {
		c.Tiles.ClusterMaxZoom = -1
	}
	if c.MapStyleURL != "" {
		if u, err := url.Parse(c.MapStyleURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return c, fmt.Errorf("serve: --map-style %q: want an absolute http or https URL", c.MapStyleURL)
		}
	}
	return c, nil
}

// corsOrigins splits the --cors-origins list; an empty list turns CORS off.
func corsOrigins(s string) []string {
	out := []string{}
	for _, o := range strings.Split(s, ",") {
		if o = strings.TrimSpace(o); o != "" {
			out = append(out, o)
		}
	}
	return out
}

// uploadRules turns the upload flags into the domain's rules.
func (c serveConfig) uploadRules() (layers.UploadRules, error) {
	r := layers.DefaultUploadRules()
	b, err := geo.ParseBBox(c.AOI)
	if err != nil || len(b.Bounds()) != 1 {
		return r, fmt.Errorf("-aoi %q: want west,south,east,north in degrees, west < east", c.AOI)
	}
	bd := b.Bounds()[0]
	r.Geometry.Area = [4]float64{bd.Min[0], bd.Min[1], bd.Max[0], bd.Max[1]}
	if c.MaxVertices < 1 || c.MaxBatch < 1 || c.MaxFeatureBytes < 1 {
		return r, fmt.Errorf("-max-vertices, -max-batch and -max-feature-bytes must be positive")
	}
	r.Geometry.MaxVertices, r.MaxBatch, r.MaxFeatureBytes = c.MaxVertices, c.MaxBatch, c.MaxFeatureBytes
	return r, nil
}

func newLogger(e *env, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: want debug, info, warn or error", level)
	}
	return slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: l})), nil
}

func runServe(ctx context.Context, e *env, args []string) error {
	cfg, err := parseServe(e, args)
	if err != nil {
		return err
	}
	log, err := newLogger(e, cfg.LogLevel)
	if err != nil {
		return err
	}
	store, err := gpkg.Open(ctx, cfg.Store, reportSchemas())
	if err != nil {
		return err
	}
	defer store.Close()
	log.Info("store opened", "path", cfg.Store, "new", store.Created())
	srv := web.New(web.Config{BaseURL: cfg.BaseURL, Logger: log, Limits: cfg.Limits,
		CORSOrigins: corsOrigins(cfg.CORSOrigins), Tiles: cfg.Tiles, MapStyleURL: cfg.MapStyleURL,
		Access:    layers.NewAccess(cfg.Access.Public, time.Now),
		ReadLimit: cfg.Access.ReadLimit, WriteLimit: cfg.Access.WriteLimit, TrustProxy: cfg.Access.TrustProxy})
	cfg.Access.log(log)
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	hs.RegisterOnShutdown(srv.CloseStreams)
	log.Info("listening", "addr", ln.Addr().String())

	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(ln) }()

	loadErr := make(chan error, 1)
	go func() {
		start := time.Now()
		cat, err := loadCatalog(ctx, log, cfg, srv, store)
		if err != nil {
			loadErr <- err
			return
		}
		srv.SetCatalog(cat)
		log.Info("ready", "layers", len(cat.Layers()), "took", time.Since(start).Round(time.Millisecond))
	}()

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case err := <-loadErr:
		_ = hs.Close()
		return fmt.Errorf("load layers: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

// loadCatalog loads the area layers and the report layers, locates every
// report against the areas (and again whenever an area layer changes), and
// derives the movements layer from the troop concentrations.
func loadCatalog(ctx context.Context, log *slog.Logger, cfg serveConfig, srv *web.Server, store layers.Store) (*layers.Catalog, error) {
	rules, err := cfg.uploadRules()
	if err != nil {
		return nil, err
	}
	area, err := data.AreaLayers()
	if err != nil {
		return nil, err
	}
	places, err := newPlaces(area)
	if err != nil {
		return nil, err
	}
	all := append([]*layers.Layer{}, area...)
	var reports []*layers.Layer
	extra, err := readReportFile(ctx, log, cfg.Reports)
	if err != nil {
		return nil, err
	}
	samples := map[string][]*layers.Feature{}
	for _, m := range layers.ReportMetas() {
		l := layers.NewLayer(m)
		fs, err := data.SampleReports(m.ID)
		if err != nil {
			return nil, err
		}
		samples[m.ID] = fs
		all = append(all, l)
		reports = append(reports, l)
	}
	// Reports live in the store; the built-in samples go into a new store
	// once. Writes commit to the store first, then publish to the layers.
	rs := layers.NewReports(layers.ReportsConfig{Store: store, Layers: reports, Rules: rules, Places: places, IdempotencyTTL: cfg.IdempotencyTTL})
	srv.SetReports(rs)
	if err := rs.Load(ctx); err != nil {
		return nil, err
	}
	if imported, err := rs.ImportSamples(ctx, samples); err != nil {
		return nil, err
	} else if imported {
		log.Info("sample reports imported into the new store")
	}
	// Locations are derived from the area layers, which may have changed
	// since the reports were stored (a new release): re-derive them and
	// commit the changed ones.
	if n, err := rs.Relocate(ctx); err != nil {
		return nil, err
	} else if n > 0 {
		log.Info("re-located stored reports against the current areas", "n", n)
	}
	for _, l := range reports {
		// A --reports file is held in memory only, for load tests. Its
		// place fields (as gen writes them) are trusted; reports without
		// them are located now, in memory.
		more := extra[l.ID]
		delete(extra, l.ID)
		for i, f := range more {
			if !f.Props.Has(layers.PropZones) {
				more[i], _ = places.Relocated(f)
			}
		}
		if err := l.Load(more); err != nil {
			return nil, fmt.Errorf("load %s from %s: %w", l.ID, cfg.Reports, err)
		}
	}
	for id := range extra {
		return nil, fmt.Errorf("report file %s: collection %q is not a report layer", cfg.Reports, id)
	}
	tc, ok := findLayer(reports, layers.TroopConcentrations)
	if !ok {
		return nil, fmt.Errorf("no %s layer to derive movements from", layers.TroopConcentrations)
	}
	mv, err := layers.NewMovements(tc, cfg.MaxSpeedKmh)
	if err != nil {
		return nil, fmt.Errorf("derive movements: %w", err)
	}
	all = append(all, mv.Layer())
	// After an area change, re-derived locations are committed to the
	// store (with history) and published.
	places.Watch(ctx, rs.Relocate, func(n int, err error) {
		if err != nil {
			log.Error("re-locating reports after an area change failed", "err", err)
			return
		}
		log.Info("re-located reports after an area change", "n", n)
	})
	for _, l := range all {
		log.Info("layer loaded", "layer", l.ID, "n", l.Snapshot().Len())
	}
	return layers.NewCatalog(all...)
}

// envInt64 reads an integer environment variable, or returns def when it is
// unset or not a number.
func envInt64(e *env, key string, def int64) int64 {
	if v, err := strconv.ParseInt(e.getenv(key), 10, 64); err == nil {
		return v
	}
	return def
}

// newPlaces builds the locator over the shipped zones, oblasts and borders.
func newPlaces(area []*layers.Layer) (*layers.Places, error) {
	borders, err := data.BorderLines()
	if err != nil {
		return nil, err
	}
	var zones []*layers.Layer
	var oblasts *layers.Layer
	for _, l := range area {
		switch {
		case l.Zone:
			zones = append(zones, l)
		case l.ID == data.Oblasts:
			oblasts = l
		}
	}
	return layers.NewPlaces(zones, oblasts, borders), nil
}

func findLayer(ls []*layers.Layer, id string) (*layers.Layer, bool) {
	for _, l := range ls {
		if l.ID == id {
			return l, true
		}
	}
	return nil, false
}

// readReportFile reads the --reports file, grouped by collection.
func readReportFile(ctx context.Context, log *slog.Logger, path string) (map[string][]*layers.Feature, error) {
	out := map[string][]*layers.Feature{}
	if path == "" {
		return out, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("report file: %w", err)
	}
	defer f.Close()
	start := time.Now()
	n := 0
	err = synth.Read(ctx, f, func(r synth.Report) error {
		out[r.Collection] = append(out[r.Collection], r.Feature)
		if n++; n%250_000 == 0 {
			log.Info("reading reports", "file", path, "n", n)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("report file %s: %w", path, err)
	}
	log.Info("read report file", "file", path, "n", n, "took", time.Since(start).Round(time.Millisecond))
	return out, nil
}

// reportSchemas lists the schemas of the report layers, for the store.
func reportSchemas() []layers.Schema {
	var out []layers.Schema
	for _, m := range layers.ReportMetas() {
		if s, ok := layers.ReportSchema(m.ID); ok {
			out = append(out, s)
		}
	}
	return out
}
