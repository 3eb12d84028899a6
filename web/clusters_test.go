package web

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"

	"troopmap/geo/tile"
	"troopmap/layers"
)

// waitIndex waits until the clustered layers' point indexes are current.
func waitIndex(t testing.TB, s *Server) {
	t.Helper()
	cx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for id, k := range s.tiles.keepers {
		if err := k.Wait(cx); err != nil {
			t.Fatalf("index of %s: %v", id, err)
		}
	}
	// And anonymous readers' view of each index, so that tests take the
	// path real requests take.
	v, ok := s.anonymousView()
	if !ok {
		return
	}
	for id := range s.tiles.keepers {
		l := s.tiles.live[id]
		for s.tiles.viewIndex(l, l.Snapshot(), v) == nil {
			if cx.Err() != nil {
				t.Fatalf("anonymous view of %s: %v", id, cx.Err())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

func clusterTile(t *testing.T, s *Server, path string) *mvt.Layer {
	t.Helper()
	rec := do(t, s.Handler(), "GET", path)
	if rec.Code != 200 {
		t.Fatalf("GET %s = %d %s", path, rec.Code, rec.Body)
	}
	l := decodeTile(t, rec, rec.Body.Bytes())[layers.Incidents]
	if l == nil {
		t.Fatalf("no incidents layer in %s", path)
	}
	return l
}

func num(v any) int {
	switch v := v.(type) {
	case float64:
		return int(v)
	case int64:
		return int(v)
	case uint64:
		return int(v)
	}
	return -1
}

func TestClustersResolveToTheirLeaves(t *testing.T) {
	s, _ := testServer(t, Config{}, 3000)
	waitIndex(t, s)
	for _, query := range []string{"", "?event_type=battles", "?datetime=2021-03-10T00:00:00Z/2021-03-20T00:00:00Z", "?event_type=protests&datetime=2021-04-01/.."} {
		t.Run(query, func(t *testing.T) {
			l := clusterTile(t, s, "/tiles/incidents/7/77/44.mvt"+query)
			clusters, total := 0, 0
			for _, f := range l.Features {
				if f.Properties["clustered"] != true {
					total++
					continue
				}
				clusters++
				n := num(f.Properties["point_count"])
				total += n
				if n < 2 || f.Properties["point_count_abbreviated"] != strconv.Itoa(n) {
					t.Errorf("cluster with point_count %v, abbreviated %v", f.Properties["point_count"], f.Properties["point_count_abbreviated"])
				}
				id := f.Properties["cluster_id"].(string)
				if want, _ := strconv.ParseFloat(id, 64); f.ID != want {
					t.Errorf("MVT id %v differs from cluster_id %s", f.ID, id)
				}
				sep := "?"
				if query != "" {
					sep = "&"
				}
				rec := do(t, s.Handler(), "GET", "/collections/incidents/clusters/"+id+"/leaves"+query+sep+"limit=10000")
				var fc struct {
					NumberMatched int `json:"numberMatched"`
					Features      []struct {
						Properties map[string]any `json:"properties"`
					} `json:"features"`
				}
				if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &fc) != nil {
					t.Fatalf("leaves of %s: %d %s", id, rec.Code, rec.Body)
				}
				if fc.NumberMatched != n || len(fc.Features) != n {
					t.Errorf("cluster %s: point_count %d, leaves %d (%d returned)", id, n, fc.NumberMatched, len(fc.Features))
				}
				counts := map[string]int{}
				latest := ""
				for _, lf := range fc.Features {
					counts[lf.Properties["event_type"].(string)]++
					if o := lf.Properties["observed_at"].(string); o > latest {
						latest = o
					}
				}
				for _, et := range []string{"battles", "explosions_remote_violence", "protests"} {
					if got := num(f.Properties["event_type_"+et]); got != counts[et] {
						t.Errorf("cluster %s: event_type_%s = %d, leaves have %d", id, et, got, counts[et])
					}
				}
				if f.Properties["latest_observed_at"] != latest {
					t.Errorf("cluster %s: latest_observed_at %v, leaves' latest %s", id, f.Properties["latest_observed_at"], latest)
				}
			}
			if clusters == 0 {
				t.Fatal("no clusters at z7 over 3000 reports")
			}
			t.Logf("%d clusters, %d reports", clusters, total)
		})
	}
}

func TestClusterLeavesErrors(t *testing.T) {
	s, _ := testServer(t, Config{}, 10)
	for path, want := range map[string]int{
		"/collections/incidents/clusters/abc/leaves":                                                           404,
		"/collections/incidents/clusters/123/leaves":                                                           404,
		"/collections/nosuch/clusters/1/leaves":                                                                404,
		"/collections/donbas/clusters/1/leaves":                                                                404,
		"/collections/incidents/clusters/" + fmt.Sprint(tile.Cell{Z: 10, X: 1, Y: 1}.ID()) + "/leaves?limit=0": 400,
	} {
		if rec := do(t, s.Handler(), "GET", path); rec.Code != want {
			t.Errorf("GET %s = %d, want %d: %s", path, rec.Code, want, rec.Body)
		}
	}
}

// The point index and the plain R-tree scan (used while the index rebuilds
// after a write) must draw byte-identical cluster tiles.
func TestClusterIndexAndScanAgree(t *testing.T) {
	s, _ := testServer(t, Config{}, 3000)
	waitIndex(t, s)
	for _, path := range []string{"/tiles/incidents/5/19/11.mvt", "/tiles/incidents/7/77/44.mvt", "/tiles/incidents/9/309/178.mvt?event_type=battles", "/tiles/incidents/11/1237/713.mvt"} {
		s.tiles.noIndex = false
		s.tiles.cache = newTileService(TileConfig{}, s.log).cache
		a := do(t, s.Handler(), "GET", path)
		s.tiles.noIndex = true
		s.tiles.cache = newTileService(TileConfig{}, s.log).cache
		b := do(t, s.Handler(), "GET", path)
		if a.Code != b.Code || a.Body.String() != b.Body.String() {
			t.Errorf("%s: index %d (%d bytes) and scan %d (%d bytes) differ", path, a.Code, a.Body.Len(), b.Code, b.Body.Len())
		}
		if a.Code == 204 && path != "/tiles/incidents/11/1237/713.mvt" {
			t.Errorf("%s is empty", path)
		}
	}
}

// TestClusterIndexFollowsWrites writes to the incidents layer (creates,
// moves, deletes) and checks after each write that the point index and the
// anonymous view follow at once, as deltas, and that cluster tiles drawn
// from them equal tiles drawn by scanning the R-tree.
func TestClusterIndexFollowsWrites(t *testing.T) {
	s, ls := testServer(t, Config{}, 3000)
	waitIndex(t, s)
	l := ls[layers.Incidents]
	var ids []string
	l.Snapshot().All(func(f *layers.Feature) bool { ids = append(ids, f.ID); return true })
	k := s.tiles.keepers[layers.Incidents]
	v, _ := s.anonymousView()
	paths := []string{"/tiles/incidents/5/19/11.mvt", "/tiles/incidents/7/77/44.mvt", "/tiles/incidents/9/309/178.mvt"}
	for round := range 12 {
		snap := l.Snapshot()
		err := l.Update(func(w *layers.Writer) error {
			f, _ := snap.Get(ids[(round*37)%len(ids)])
			switch round % 3 {
			case 0: // a new report near the line of contact
				c := *f
				c.ID = fmt.Sprintf("new-%d", round)
				c.Geometry = orb.Point{37.9 + float64(round)/100, 48.3}
				c.Bound = c.Geometry.Bound()
				return w.Put(&c)
			case 1: // a report moved
				c := *f
				c.Geometry = orb.Point{38.2, 48.1 + float64(round)/100}
				c.Bound = c.Geometry.Bound()
				return w.Put(&c)
			}
			w.Delete(f.ID)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		snap = l.Snapshot()
		if k.For(snap) == nil || s.tiles.viewIndex(l, snap, v) == nil {
			t.Fatalf("round %d: the index did not follow the write at once", round)
		}
		for _, path := range paths {
			s.tiles.noIndex = false
			a := do(t, s.Handler(), "GET", path, "Cache-Control", "no-cache")
			s.tiles.noIndex = true
			b := do(t, s.Handler(), "GET", path, "Cache-Control", "no-cache")
			s.tiles.noIndex = false
			if a.Code != b.Code || a.Body.String() != b.Body.String() {
				t.Fatalf("round %d %s: index %d (%d bytes) and scan %d (%d bytes) differ", round, path, a.Code, a.Body.Len(), b.Code, b.Body.Len())
			}
		}
	}
}
