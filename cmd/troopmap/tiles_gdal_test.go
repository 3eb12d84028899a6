package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"

	"troopmap/geo/tile"
	"troopmap/web"
)

// GDAL's MVT driver, an independent decoder, reads tiles from the real
// binary; the features of a tile must be those the features API returns
// for the tile's buffered bbox with the same filter and time.

// ogrTile runs ogrinfo on one tile URL and returns, per layer, the
// features' fields. An empty tile (204, which GDAL cannot open) gives none.
// CLIP=NO keeps the features in the tile's buffer, which GDAL would
// otherwise cut away.
func ogrTile(t *testing.T, u string, tl maptile.Tile) map[string][]map[string]string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusNoContent {
		return nil
	}
	out, err := exec.Command("ogrinfo", "-ro", "-al", "-q", "-oo", "CLIP=NO",
		"-oo", fmt.Sprintf("Z=%d", tl.Z), "-oo", fmt.Sprintf("X=%d", tl.X), "-oo", fmt.Sprintf("Y=%d", tl.Y),
		"/vsicurl/"+u).CombinedOutput()
	if err != nil {
		t.Fatalf("ogrinfo %s: %v\n%s", u, err, out)
	}
	layerRE := regexp.MustCompile(`^Layer name: (\S+)`)
	fieldRE := regexp.MustCompile(`^\s+([\w.]+) \((\w+(?:\(\w+\))?)\) = (.*)$`)
	res := map[string][]map[string]string{}
	layer := ""
	for _, line := range strings.Split(string(out), "\n") {
		if m := layerRE.FindStringSubmatch(line); m != nil {
			layer = m[1]
			continue
		}
		if strings.HasPrefix(line, "OGRFeature(") {
			res[layer] = append(res[layer], map[string]string{})
			continue
		}
		if m := fieldRE.FindStringSubmatch(line); m != nil && len(res[layer]) > 0 {
			res[layer][len(res[layer])-1][m[1]] = m[3]
		}
	}
	return res
}

type itemsPage struct {
	Features []struct {
		ID       string `json:"id"`
		Geometry struct {
			Coordinates []float64 `json:"coordinates"`
		} `json:"geometry"`
	} `json:"features"`
}

func tileGetJSON(t *testing.T, u string, v any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d", u, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
}

// TestTilesWithGDAL starts the real binary once for both checks.
func TestTilesWithGDAL(t *testing.T) {
	requireTool(t, "/usr/bin/ogrinfo")
	s := launchReal(t)
	t.Run("TilesMatchFeaturesAPI", func(t *testing.T) { testTilesMatchFeaturesAPI(t, s) })
	t.Run("ClustersResolveToLeaves", func(t *testing.T) { testClusterTile(t, s) })
}

func testTilesMatchFeaturesAPI(t *testing.T, s *realServer) {
	var all itemsPage
	tileGetJSON(t, s.base+"/collections/incidents/items?limit=10000", &all)
	if len(all.Features) < 100 {
		t.Fatalf("only %d incidents", len(all.Features))
	}
	filters := []string{"", "event_type=battles", "datetime=2021-03-01T00:00:00Z/2021-07-01T00:00:00Z",
		"filter=" + url.QueryEscape("source_reliability IN ('a','b') AND event_type <> 'protests'")}
	checked := 0
	for i := 0; i < len(all.Features) && checked < 12; i += len(all.Features) / 6 {
		c := all.Features[i].Geometry.Coordinates
		for _, z := range []maptile.Zoom{web.DefaultClusterMaxZoom} { // drawn one by one
			tl := maptile.At(orb.Point{c[0], c[1]}, z)
			b := tile.BufferedBound(tl)
			bbox := fmt.Sprintf("%.12f,%.12f,%.12f,%.12f", b.Min[0], b.Min[1], b.Max[0], b.Max[1])
			for _, f := range filters {
				path := fmt.Sprintf("/tiles/incidents/%d/%d/%d.mvt", tl.Z, tl.X, tl.Y)
				if f != "" {
					path += "?" + f
				}
				var items itemsPage
				tileGetJSON(t, s.base+"/collections/incidents/items?limit=10000&bbox="+bbox+"&"+f, &items)
				var want []string
				for _, it := range items.Features {
					want = append(want, it.ID)
				}
				var got []string
				for _, gf := range ogrTile(t, s.base+path, tl)["incidents"] {
					got = append(got, gf["id"])
				}
				slices.Sort(want)
				slices.Sort(got)
				if !slices.Equal(got, want) {
					t.Errorf("%s: GDAL reads %v, items with bbox %s give %v", path, got, bbox, want)
				}
				if f == "" && len(got) == 0 {
					t.Errorf("%s holds the report it was chosen for, yet GDAL reads none", path)
				}
			}
			checked++
		}
	}
}

// Cluster features, read by GDAL, resolve to exactly point_count leaves.
func testClusterTile(t *testing.T, s *realServer) {
	tl := maptile.At(orb.Point{38.03, 48.33}, 8)
	for _, f := range []string{"", "event_type=battles"} {
		path := fmt.Sprintf("/tiles/incidents/%d/%d/%d.mvt", tl.Z, tl.X, tl.Y)
		if f != "" {
			path += "?" + f
		}
		clusters := 0
		for _, gf := range ogrTile(t, s.base+path, tl)["incidents"] {
			if gf["clustered"] != "1" && gf["clustered"] != "true" {
				continue
			}
			clusters++
			n, err := strconv.Atoi(gf["point_count"])
			if err != nil || n < 2 {
				t.Fatalf("cluster %v: point_count %q", gf, gf["point_count"])
			}
			var leaves struct {
				NumberMatched int `json:"numberMatched"`
			}
			tileGetJSON(t, s.base+"/collections/incidents/clusters/"+gf["cluster_id"]+"/leaves?"+f, &leaves)
			if leaves.NumberMatched != n {
				t.Errorf("cluster %s: point_count %d, %d leaves", gf["cluster_id"], n, leaves.NumberMatched)
			}
		}
		if clusters == 0 {
			t.Errorf("%s: GDAL reads no clusters", path)
		}
	}
}
