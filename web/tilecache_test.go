package web

import (
	"bytes"
	"fmt"
	"slices"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"

	"troopmap/geo/tile"
	"troopmap/layers"
)

func TestTileETagAndGzip(t *testing.T) {
	s, _ := testServer(t, Config{Tiles: TileConfig{CacheControl: "public, max-age=30"}}, 500)
	h := s.Handler()
	path := "/tiles/incidents/14/9921/5695.mvt"
	f, _ := testLayer(t, s, layers.Incidents).Snapshot().Get("inc-00001")
	tl := maptile.At(f.Geometry.(orb.Point), 14)
	path = fmt.Sprintf("/tiles/incidents,donbas/14/%d/%d.mvt", tl.X, tl.Y)

	plain := do(t, h, "GET", path)
	if plain.Code != 200 || plain.Header().Get("Content-Encoding") != "" {
		t.Fatalf("plain: %d, Content-Encoding %q", plain.Code, plain.Header().Get("Content-Encoding"))
	}
	if cc := plain.Header().Get("Cache-Control"); cc != "public, max-age=30" {
		t.Errorf("Cache-Control %q", cc)
	}
	if o := do(t, h, "GET", path, "Origin", "https://viewer.example").Header().Get("Access-Control-Allow-Origin"); o != "*" {
		t.Errorf("CORS origin %q", o)
	}
	etag := plain.Header().Get("ETag")
	if len(etag) < 10 || etag[0] != '"' {
		t.Fatalf("ETag %q is not a strong tag", etag)
	}
	again := do(t, h, "GET", path)
	if again.Header().Get("ETag") != etag || !bytes.Equal(again.Body.Bytes(), plain.Body.Bytes()) {
		t.Error("same tile twice gave other bytes or ETag")
	}
	if rec := do(t, h, "GET", path, "If-None-Match", etag); rec.Code != 304 || rec.Body.Len() != 0 {
		t.Errorf("If-None-Match: %d with %d bytes", rec.Code, rec.Body.Len())
	}
	if rec := do(t, h, "GET", path, "If-None-Match", `"other", W/`+etag); rec.Code != 304 {
		t.Errorf("If-None-Match list with weak tag: %d", rec.Code)
	}
	if rec := do(t, h, "GET", path, "If-None-Match", `"other"`); rec.Code != 200 {
		t.Errorf("non-matching If-None-Match: %d", rec.Code)
	}

	gz := do(t, h, "GET", path, "Accept-Encoding", "br;q=1, gzip;q=0.8")
	if gz.Header().Get("Content-Encoding") != "gzip" || !slices.Contains(gz.Header().Values("Vary"), "Accept-Encoding") {
		t.Fatalf("gzip: Content-Encoding %q, Vary %q", gz.Header().Get("Content-Encoding"), gz.Header().Values("Vary"))
	}
	if gz.Header().Get("ETag") == etag {
		t.Error("gzipped and plain bodies share an ETag")
	}
	// Compressed exactly once: one gunzip gives the plain bytes.
	un := decodeTile(t, gz, gz.Body.Bytes())
	if len(un) != 2 || !bytes.Equal(gunzip(t, gz.Body.Bytes()), plain.Body.Bytes()) {
		t.Error("gzipped body is not the plain tile compressed once")
	}
	if rec := do(t, h, "GET", path, "Accept-Encoding", "gzip", "If-None-Match", gz.Header().Get("ETag")); rec.Code != 304 {
		t.Errorf("gzip revalidation: %d", rec.Code)
	}
	if rec := do(t, h, "GET", path, "Accept-Encoding", "gzip;q=0, identity"); rec.Header().Get("Content-Encoding") != "" {
		t.Error("gzip;q=0 still compressed")
	}
	if rec := do(t, h, "HEAD", path); rec.Code != 200 || rec.Header().Get("ETag") != etag {
		t.Errorf("HEAD: %d, ETag %q", rec.Code, rec.Header().Get("ETag"))
	}
}

func TestCORSConfigurable(t *testing.T) {
	s, _ := testServer(t, Config{CORSOrigins: []string{"https://ok.example"}}, 10)
	rec := do(t, s.Handler(), "GET", "/tiles/donbas/6/38/22.mvt", "Origin", "https://evil.example")
	if rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("foreign origin allowed: %q", rec.Header().Get("Access-Control-Allow-Origin"))
	}
	rec = do(t, s.Handler(), "GET", "/tiles/donbas/6/38/22.mvt", "Origin", "https://ok.example")
	if rec.Header().Get("Access-Control-Allow-Origin") != "https://ok.example" {
		t.Errorf("configured origin: %q", rec.Header().Get("Access-Control-Allow-Origin"))
	}
}

func testLayer(t testing.TB, s *Server, id string) *layers.Layer {
	cat, err := s.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	l, _ := cat.Layer(id)
	return l
}

// A write drops exactly the cached tiles its old and new bounds touch, at
// every zoom, plain and clustered, and nothing else.
func TestWriteInvalidatesExactlyTheTouchedTiles(t *testing.T) {
	s, _ := testServer(t, Config{}, 300)
	waitIndex(t, s)
	h := s.Handler()
	l := testLayer(t, s, layers.Incidents)
	old, _ := l.Snapshot().Get("inc-00007")
	from := old.Geometry.(orb.Point)
	to := orb.Point{from[0] + 0.3, from[1] - 0.2}

	// Cache a neighbourhood of tiles at several zooms, in two variants.
	type cached struct {
		key  tile.Key
		path string
	}
	var all []cached
	for _, z := range []maptile.Zoom{5, 8, 10, 13, 14, 15} {
		c := maptile.At(from, z)
		for dx := -2; dx <= 2; dx++ {
			for dy := -2; dy <= 2; dy++ {
				tl := maptile.New(uint32(int(c.X)+dx), uint32(int(c.Y)+dy), z)
				for _, q := range []string{"", "?event_type=battles"} {
					path := fmt.Sprintf("/tiles/incidents/%d/%d/%d.mvt%s", z, tl.X, tl.Y, q)
					do(t, h, "GET", path)
					qs := ""
					if q != "" {
						qs = q[1:]
					}
					anon, _ := s.acc.policy.Reader(layers.Anonymous())
					k := tile.Key{Layers: "incidents", Tile: tl, Variant: anon.Key + "?" + qs}
					if !s.tiles.cache.Has(k) {
						t.Fatalf("%s was not cached", path)
					}
					all = append(all, cached{k, path})
				}
			}
		}
	}
	// Which tiles may change: those whose buffered bound meets the old or
	// new position, or at cluster zooms whose grid holds either's cell.
	touched := func(tl maptile.Tile) bool {
		for _, p := range []orb.Point{from, to} {
			if int(tl.Z) < s.tiles.cfg.ClusterMaxZoom {
				qx, qy := tile.Quantize(p)
				if tile.NewGrid(tl).At(qx, qy) != nil {
					return true
				}
			} else if tile.BufferedBound(tl).Contains(p) {
				return true
			}
		}
		return false
	}
	before := map[string][]byte{}
	for _, c := range all {
		before[c.path] = do(t, h, "GET", c.path).Body.Bytes()
	}
	moved := layers.NewFeature(old.ID, to, old.Props.Map(), layers.ReportTimeKeys()...)
	if err := l.Update(func(w *layers.Writer) error { return w.Put(moved) }); err != nil {
		t.Fatal(err)
	}
	dropped, kept := 0, 0
	for _, c := range all {
		want := touched(c.key.Tile)
		if got := !s.tiles.cache.Has(c.key); got != want {
			t.Errorf("tile %d/%d/%d %q: dropped=%v, want %v", c.key.Tile.Z, c.key.Tile.X, c.key.Tile.Y, c.key.Variant, got, want)
		}
		if want {
			dropped++
		} else {
			kept++
		}
	}
	if dropped == 0 || kept == 0 {
		t.Fatalf("test does not discriminate: %d dropped, %d kept", dropped, kept)
	}
	// The untouched tiles still hold the same bytes; at least one touched
	// tile now draws the move.
	changed := 0
	for _, c := range all {
		now := do(t, h, "GET", c.path).Body.Bytes()
		if !touched(c.key.Tile) && !bytes.Equal(now, before[c.path]) {
			t.Errorf("%s changed although the write did not touch it", c.path)
		}
		if !bytes.Equal(now, before[c.path]) {
			changed++
		}
	}
	if changed == 0 {
		t.Error("no tile shows the write")
	}
	t.Logf("%d cached tiles, %d dropped, %d redrawn differently", len(all), dropped, changed)
}
