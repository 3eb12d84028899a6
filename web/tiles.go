package web

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/paulmach/orb/maptile"

	"troopmap/geo"
	"troopmap/geo/tile"
	"troopmap/layers"
)

// TileConfig is how the tile routes behave; the zero value gives the
// defaults documented on each field.
type TileConfig struct {
	// CacheControl is sent with tiles, TileJSON and the style; default
	// "no-cache" (clients revalidate with the ETag, which is cheap, and
	// see edits at once).
	CacheControl string
	// CacheBytes bounds the in-memory tile cache; 0: 256 MiB; <0: none.
	CacheBytes int64
	// ClusterMaxZoom: point report layers are clustered at zooms below it;
	// 0: DefaultClusterMaxZoom; <0: never; at most 21 (cluster ids name cells down to z24).
	ClusterMaxZoom int
	// MaxBytes and MaxFeatures are the per-tile budgets; 0: 500 KB and
	// 50,000 features.
	MaxBytes, MaxFeatures int
	// BenchCeiling adds GET /bench/ceiling?n=BYTES, which answers n bytes
	// from a fixed in-memory slice: the load benchmark's measure of what the
	// server can do at all. Off by default.
	BenchCeiling bool
}

func (c TileConfig) withDefaults() TileConfig {
	if c.CacheControl == "" {
		c.CacheControl = "no-cache"
	}
	if c.CacheBytes == 0 {
		c.CacheBytes = 256 << 20
	}
	if c.ClusterMaxZoom == 0 {
		c.ClusterMaxZoom = DefaultClusterMaxZoom
	}
	c.ClusterMaxZoom = min(c.ClusterMaxZoom, tile.MaxCellZoom-tile.CellShift)
	return c
}

// DefaultClusterMaxZoom is the report layers' max zoom: as with MapLibre's
// clustered GeoJSON sources, points are clustered at every zoom below the
// source's max zoom and drawn one by one at it (and when overzoomed).
const DefaultClusterMaxZoom = 16

const mvtType = "application/vnd.mapbox-vector-tile"

// tileRequest is a parsed tile request.
type tileRequest struct {
	tile   maptile.Tile
	layers []*layers.Layer
	ids    []string
	query  []layers.Query // per layer: the shared filters
	view   view
	key    tile.Key
	asof   asof
}

// parseTileRequest checks the path (400 off the grid, 404 for unknown layers
// or when no requested layer is drawn at this zoom) and the filters. Layers
// whose zoom range excludes z are left out of a multi-layer tile.
func (s *Server) parseTileRequest(c echo.Context) (*tileRequest, error) {
	cat, err := s.Catalog()
	if err != nil {
		return nil, err
	}
	t, err := tile.ParsePath(c.Param("z"), c.Param("x"), c.Param("y"))
	if err != nil {
		return nil, layers.Errorf(layers.EINVALID, "tile path: %v", err)
	}
	req := &tileRequest{tile: t}
	if req.asof, err = parseAsOf(c, time.Now()); err != nil {
		return nil, err
	}
	ls, err := lookupLayers(cat, c.Param("layers"))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, l := range ls {
		if int(t.Z) < l.MinZoom || int(t.Z) > l.MaxZoom {
			out = append(out, fmt.Sprintf("%s (zooms %d..%d)", l.ID, l.MinZoom, l.MaxZoom))
			continue
		}
		q, err := s.parseFilters(c, l)
		if err != nil {
			return nil, err
		}
		if l, err = s.layerAt(c, l, req.asof); err != nil {
			return nil, err
		}
		req.layers = append(req.layers, l)
		req.ids = append(req.ids, l.ID)
		req.query = append(req.query, q)
	}
	if len(req.layers) == 0 {
		return nil, layers.Errorf(layers.ENOTFOUND, "zoom %d is outside the range of %s", t.Z, strings.Join(out, ", "))
	}
	req.view = s.viewOf(c) // after layerAt, which narrows it for the past
	req.key = tile.Key{Layers: strings.Join(req.ids, ","), Tile: t,
		Variant: req.view.Key + "?" + c.QueryParams().Encode()}
	return req, nil
}

// lookupLayers resolves a comma-separated list of collection ids.
func lookupLayers(cat *layers.Catalog, list string) ([]*layers.Layer, error) {
	var out []*layers.Layer
	seen := map[string]bool{}
	for _, id := range strings.Split(list, ",") {
		if id == "" {
			return nil, layers.Errorf(layers.EINVALID, "layer list %q has an empty name", list)
		}
		if seen[id] {
			return nil, layers.Errorf(layers.EINVALID, "layer %q is listed twice", id)
		}
		seen[id] = true
		l, err := cat.Lookup(id)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

// handleTile serves GET /tiles/{layers}/{z}/{x}/{y}.mvt.
func (s *Server) handleTile(c echo.Context) error {
	req, err := s.parseTileRequest(c)
	if err != nil {
		return err
	}
	// A client's "Cache-Control: no-cache" makes the server draw the tile
	// afresh (the result still refreshes the cache).
	e, ok := (*tile.Entry)(nil), false
	if !strings.Contains(c.Request().Header.Get("Cache-Control"), "no-cache") {
		e, ok = s.tiles.cache.Get(req.key)
		s.metrics.ObserveTileCache(req.ids, ok)
	}
	if !ok {
		gen := s.tiles.cache.Generation(req.ids)
		if e, err = s.buildTile(ctx(c), req); err != nil {
			return err
		}
		s.tiles.cache.Put(req.key, e, req.ids, gen)
	}
	cc := s.tiles.cfg.CacheControl
	if req.asof.settled && !req.view.Reader.Hides() {
		// The past does not change. What a hiding reader sees of it does:
		// a report restricted since drops out, so no shared cache may
		// keep it for ever.
		cc = immutable
	}
	return s.serveTile(c, req.key, e, cc)
}

// buildTile reads the layers' current snapshots and encodes the tile.
func (s *Server) buildTile(cx context.Context, req *tileRequest) (*tile.Entry, error) {
	tls := make([]tile.Layer, 0, len(req.layers))
	for i, l := range req.layers {
		tl, err := s.tileLayer(cx, l, req.tile, req.query[i], req.view)
		if err != nil {
			return nil, err
		}
		tls = append(tls, tl)
	}
	enc := s.tiles.encoders.Get().(*tile.Encoder)
	res, err := enc.Encode(req.tile, tls, tile.Options{MaxBytes: s.tiles.cfg.MaxBytes, MaxFeatures: s.tiles.cfg.MaxFeatures})
	s.tiles.encoders.Put(enc)
	if err != nil {
		return nil, err
	}
	e := &tile.Entry{Data: res.Data, Dropped: res.Dropped}
	if len(res.Data) > 0 {
		sum := sha256.Sum256(res.Data)
		e.ETag = `"` + etagSafe(req.view.Key) + "-" + hex.EncodeToString(sum[:12]) + `"`
	}
	return e, nil
}

// tileLayer selects what one layer shows in a tile: clusters at low zooms
// for point report layers, else the features of the buffered tile, exactly
// as /items would select them with that bbox and the same filters.
func (s *Server) tileLayer(cx context.Context, l *layers.Layer, t maptile.Tile, q layers.Query, v view) (tile.Layer, error) {
	if s.tiles.clustered(l, t.Z) {
		spec, _ := clusterSpecOf(l)
		return s.clusterLayer(cx, l, spec, t, q, v)
	}
	tl := tile.Layer{Name: l.ID}
	b := tile.BufferedBound(t)
	q.BBox = &geo.BBox{West: b.Min[0], South: b.Min[1], East: b.Max[0], North: b.Max[1]}
	q = visibleQuery(v, l, q)
	page, err := l.Snapshot().Query(cx, q)
	if err != nil {
		return tl, err
	}
	fs := make([]*layers.Feature, 0, len(page.Features))
	for _, f := range page.Features {
		if sf := v.Show(l, f); sf != nil && sf.Geometry != nil {
			fs = append(fs, sf)
		}
	}
	if l.Kind == layers.KindReports {
		sortByPriority(fs)
	}
	tl.Features = make([]tile.Feature, len(fs))
	for i, f := range fs {
		tl.Features[i] = tile.Feature{Geometry: f.Geometry, Props: tileProps(f, nil)}
	}
	return tl, nil
}

// serveTile writes a tile with its validators, negotiating gzip.
func (s *Server) serveTile(c echo.Context, k tile.Key, e *tile.Entry, cacheControl string) error {
	h := c.Response().Header()
	h.Set("Cache-Control", cacheControl)
	h.Add("Vary", "Accept-Encoding")
	if len(e.Dropped) > 0 {
		var parts []string
		for _, id := range strings.Split(k.Layers, ",") {
			if n := e.Dropped[id]; n > 0 {
				parts = append(parts, id+"="+strconv.Itoa(n))
			}
		}
		h.Set("X-Tile-Dropped", strings.Join(parts, ", "))
	}
	if len(e.Data) == 0 {
		return c.NoContent(http.StatusNoContent)
	}
	gz := acceptsGzip(c.Request().Header.Get("Accept-Encoding"))
	etag := e.ETag
	if gz {
		etag = strings.TrimSuffix(etag, `"`) + `-gz"`
	}
	h.Set("ETag", etag)
	if etagMatches(c.Request().Header.Get("If-None-Match"), etag) {
		return c.NoContent(http.StatusNotModified)
	}
	body := e.Data
	if gz {
		if e.Gzip == nil {
			zipped, err := gzipBytes(e.Data)
			if err != nil {
				return err
			}
			e = s.tiles.cache.SetGzip(k, e, zipped)
		}
		body = e.Gzip
		h.Set("Content-Encoding", "gzip")
	}
	// Explicit, so that HEAD answers carry the size too (GDAL's /vsicurl
	// asks HEAD first).
	h.Set("Content-Length", strconv.Itoa(len(body)))
	return c.Blob(http.StatusOK, mvtType, body)
}

func gzipBytes(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if _, err := w.Write(b); err != nil {
		return nil, fmt.Errorf("gzip tile: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("gzip tile: %w", err)
	}
	return buf.Bytes(), nil
}

// acceptsGzip reads Accept-Encoding: gzip (or *) with a q-value above 0.
func acceptsGzip(ae string) bool {
	for _, part := range strings.Split(ae, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		name = strings.ToLower(strings.TrimSpace(name))
		if name != "gzip" && name != "x-gzip" && name != "*" {
			continue
		}
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					q = f
				}
			}
		}
		return q > 0
	}
	return false
}

// etagMatches applies If-None-Match's weak comparison to a list of tags.
func etagMatches(header, etag string) bool {
	if header == "" {
		return false
	}
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

func etagSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '"' || r < 0x21 || r > 0x7e {
			return '_'
		}
		return r
	}, s)
}

// ceilingSize is the length of /bench/ceiling's fixed slice.
const ceilingSize = 1 << 20

// handleCeiling answers the first n bytes of a fixed slice, through the same
// middleware as tiles, so the load benchmark can compare tile serving with
// the cheapest possible answer.
func (s *Server) handleCeiling(c echo.Context) error {
	n, err := strconv.Atoi(c.QueryParam("n"))
	if err != nil || n < 0 || n > len(s.tiles.ceiling) {
		return layers.Errorf(layers.EINVALID, "parameter n: want 0..%d bytes", len(s.tiles.ceiling))
	}
	c.Response().Header().Set("Cache-Control", s.tiles.cfg.CacheControl)
	return c.Blob(http.StatusOK, mvtType, s.tiles.ceiling[:n])
}
