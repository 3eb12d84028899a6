package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"

	"troopmap/geo/tile"
	"troopmap/layers"
)

// metrics holds the server's Prometheus collectors in its own registry, so
// that several servers (tests) never share counters.
type metrics struct {
	reg        *prometheus.Registry
	requests   *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	rejected   *prometheus.CounterVec
	tileCache  *prometheus.CounterVec
	storeWrite prometheus.Histogram
	sseClients prometheus.Gauge
}

func newMetrics(s *Server) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "troopmap_http_requests_total", Help: "HTTP requests by route and status.",
		}, []string{"method", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "troopmap_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .02, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "troopmap_http_rejected_total", Help: "Requests turned away by a limit, by reason.",
		}, []string{"reason"}),
		tileCache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "troopmap_tile_cache_requests_total", Help: "Tile cache lookups by layer and result (hit or miss); the hit ratio is hit / (hit + miss).",
		}, []string{"layer", "result"}),
		storeWrite: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "troopmap_store_write_duration_seconds", Help: "Time to commit a write to the store.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}),
		sseClients: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "troopmap_sse_subscribers", Help: "Connected /events subscribers.",
		}),
	}
	cacheStat := func(f func(tile.Stats) float64) func() float64 {
		return func() float64 { return f(s.tiles.cache.Stats()) }
	}
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "troopmap_tile_cache_bytes", Help: "Bytes of encoded tiles held in the tile cache."},
			cacheStat(func(st tile.Stats) float64 { return float64(st.Bytes) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "troopmap_tile_cache_entries", Help: "Tiles held in the tile cache."},
			cacheStat(func(st tile.Stats) float64 { return float64(st.Entries) })),
	)
	m.reg.MustRegister(m.requests, m.latency, m.rejected, m.tileCache, m.storeWrite, m.sseClients,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&layerCollector{s: s, desc: prometheus.NewDesc("troopmap_layer_features",
			"Features per layer in the current snapshot.", []string{"layer", "kind"}, nil)})
	return m
}

// layerCollector reports the size of every layer at scrape time.
type layerCollector struct {
	s    *Server
	desc *prometheus.Desc
}

func (lc *layerCollector) Describe(ch chan<- *prometheus.Desc) { ch <- lc.desc }

func (lc *layerCollector) Collect(ch chan<- prometheus.Metric) {
	cat := lc.s.catalog.Load()
	if cat == nil {
		return
	}
	for _, l := range cat.Layers() {
		ch <- prometheus.MustNewConstMetric(lc.desc, prometheus.GaugeValue,
			float64(l.Snapshot().Len()), l.ID, string(l.Kind))
	}
}

// observe records every request by its route pattern (not its raw path, so
// that ids and tile numbers do not explode the label set).
func (m *metrics) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		status := c.Response().Status
		if err != nil {
			status = statusOf(layers.ErrorCode(err))
			if he, ok := err.(*echo.HTTPError); ok {
				status = he.Code
			}
		}
		m.requests.WithLabelValues(c.Request().Method, route, strconv.Itoa(status)).Inc()
		m.latency.WithLabelValues(c.Request().Method, route).Observe(time.Since(start).Seconds())
		return err
	}
}

// ObserveTileCache counts a tile cache lookup once for each layer of the
// tile (layer ids come from the catalog, so the label set stays bounded).
func (m *metrics) ObserveTileCache(layerIDs []string, hit bool) {
	result := "miss"
	if hit {
		result = "hit"
	}
	for _, id := range layerIDs {
		m.tileCache.WithLabelValues(id, result).Inc()
	}
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// publicHandler serves the metrics without the per-layer feature counts:
// compared with numberMatched they would tell anonymous readers how many
// restricted and embargoed reports there are.
func (m *metrics) publicHandler() http.Handler {
	g := prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		fams, err := m.reg.Gather()
		out := fams[:0]
		for _, f := range fams {
			if f.GetName() != "troopmap_layer_features" {
				out = append(out, f)
			}
		}
		return out, err
	})
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{Registry: m.reg})
}

// handleMetrics serves Prometheus metrics; the layer sizes only to keys.
func (s *Server) handleMetrics(c echo.Context) error {
	h := s.acc.metricsPublic
	if principal(c).Role.Keyed() {
		h = s.acc.metricsFull
	}
	h.ServeHTTP(c.Response(), c.Request())
	return nil
}
