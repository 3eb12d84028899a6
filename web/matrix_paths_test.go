package web

import (
	"bytes"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"troopmap/geo"
	"troopmap/layers"
	"troopmap/layers/gpkg"
	"troopmap/layers/gpkg/gpb"
)

// The access matrix, continued: history, exports, stats, near, asof and
// movements, for every role, over HTTP.

// exported is one feature read back from a download: its position and the
// properties that have a value.
type exported struct {
	at    orb.Point
	props map[string]any
}

func readCSVExport(t *testing.T, body []byte) map[string]exported {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil || len(recs) == 0 || !slices.Equal(recs[0][:3], []string{"id", "longitude", "latitude"}) {
		t.Fatalf("CSV (%v):\n%s", err, body)
	}
	out := map[string]exported{}
	for _, r := range recs[1:] {
		lon, _ := strconv.ParseFloat(r[1], 64)
		lat, _ := strconv.ParseFloat(r[2], 64)
		e := exported{at: orb.Point{lon, lat}, props: map[string]any{}}
		for i, name := range recs[0][3:] {
			if r[3+i] != "" {
				e.props[name] = r[3+i]
			}
		}
		out[r[0]] = e
	}
	return out
}

func readKMLExport(t *testing.T, body []byte) map[string]exported {
	t.Helper()
	var doc struct {
		Placemarks []struct {
			Data []struct {
				Name  string `xml:"name,attr"`
				Value string `xml:",chardata"`
			} `xml:"ExtendedData>SchemaData>SimpleData"`
			Point string `xml:"Point>coordinates"`
		} `xml:"Document>Placemark"`
	}
	if err := xml.Unmarshal(body, &doc); err != nil {
		t.Fatalf("KML: %v\n%s", err, body)
	}
	out := map[string]exported{}
	for _, pm := range doc.Placemarks {
		var lon, lat float64
		if _, err := fmt.Sscanf(strings.TrimSpace(pm.Point), "%g,%g", &lon, &lat); err != nil {
			t.Fatalf("KML point %q: %v", pm.Point, err)
		}
		e := exported{at: orb.Point{lon, lat}, props: map[string]any{}}
		var id string
		for _, d := range pm.Data {
			if d.Name == "id" {
				id = d.Value
			} else {
				e.props[d.Name] = d.Value
			}
		}
		out[id] = e
	}
	return out
}

func readGPKGExport(t *testing.T, body []byte, layer string) map[string]exported {
	t.Helper()
	path := filepath.Join(t.TempDir(), "export.gpkg")
	if err := os.WriteFile(path, body, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query("SELECT * FROM " + gpkg.TableName(layer))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	out := map[string]exported{}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		e := exported{props: map[string]any{}}
		var id string
		for i, c := range cols {
			switch {
			case c == "geom":
				g, err := gpb.Decode(vals[i].([]byte))
				if err != nil {
					t.Fatal(err)
				}
				e.at = g.(orb.Point)
			case c == "id":
				id, _ = vals[i].(string)
			case vals[i] != nil:
				e.props[c] = vals[i]
			}
		}
		out[id] = e
	}
	return out
}

func TestAccessMatrixMorePaths(t *testing.T) {
	clk := &clock{t: matrixT0}
	s := matrixServer(t, clk)
	reportLayers := []string{layers.TroopConcentrations, layers.Incidents}
	for _, r := range matrixReaders {
		t.Run("history/"+r.role, func(t *testing.T) {
			for id, rep := range matrixReports {
				rec := getAs(t, s, r, "/collections/"+rep.layer+"/items/"+id+"/history")
				if !r.sees(id) {
					if rec.Code != 404 || strings.Contains(rec.Body.String(), "Village") {
						t.Errorf("%s: %d %s, want a bare 404", id, rec.Code, rec.Body)
					}
					continue
				}
				var h struct {
					Versions []struct {
						Actor   *string
						Feature gjFeature
					}
				}
				if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &h) != nil || len(h.Versions) != 1 {
					t.Fatalf("%s: %d %s", id, rec.Code, rec.Body)
				}
				// Who wrote it is for keys only.
				if a := h.Versions[0].Actor; r.keyed() != (a != nil && *a == "troopmap-samples") || !r.keyed() && a != nil {
					t.Errorf("%s: history actor %v", id, a)
				}
				f := h.Versions[0].Feature
				checkPosition(t, r, id, orb.Point{f.Geometry.Coordinates[0], f.Geometry.Coordinates[1]}, 1e-6)
				checkProps(t, r, id, f.Properties)
			}
		})
		for _, format := range []string{"csv", "kml", "gpkg"} {
			t.Run("export-"+format+"/"+r.role, func(t *testing.T) {
				for _, layer := range reportLayers {
					rec := getAs(t, s, r, "/collections/"+layer+"/items?f="+format)
					if rec.Code != 200 {
						t.Fatalf("%s: %d %s", layer, rec.Code, rec.Body)
					}
					var got map[string]exported
					switch format {
					case "csv":
						got = readCSVExport(t, rec.Body.Bytes())
					case "kml":
						got = readKMLExport(t, rec.Body.Bytes())
					case "gpkg":
						got = readGPKGExport(t, rec.Body.Bytes(), layer)
					}
					var ids []string
					for id, e := range got {
						ids = append(ids, id)
						checkPosition(t, r, id, e.at, 1e-6)
						checkProps(t, r, id, e.props)
					}
					slices.Sort(ids)
					if want := r.wantIDs(layer); !slices.Equal(ids, want) {
						t.Errorf("%s: exported %v, want %v", layer, ids, want)
					}
				}
			})
		}
		t.Run("stats/"+r.role, func(t *testing.T) {
			var troops, personnel, incidents int
			for _, id := range r.wantIDs(layers.TroopConcentrations) {
				troops++
				personnel += int(matrixReports[id].personal)
			}
			incidents = len(r.wantIDs(layers.Incidents))
			// The default range spans the reports the reader sees, no
			// further: a restricted report weeks earlier must not stretch it.
			wantFrom := matrixT0.Add(-48 * time.Hour)
			if r.keyed() {
				wantFrom = matrixRestrictedObserved
			}
			for _, path := range []string{"/stats/zones", "/collections/donbas/items/UA-14/stats"} {
				var body struct {
					From      time.Time
					Zones     []struct{ Intervals []statsInterval }
					Area      *struct{ Intervals []statsInterval }
					Intervals []statsInterval
				}
				rec := getAs(t, s, r, path)
				if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &body) != nil {
					t.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
				}
				ivs := body.Intervals
				if body.Area != nil {
					ivs = body.Area.Intervals
				} else if len(body.Zones) == 1 {
					ivs = body.Zones[0].Intervals
				}
				var got figs
				for _, iv := range ivs {
					got.Troops += iv.Troops
					got.Personnel.Best += iv.Personnel.Best
					got.Incidents += iv.Incidents
				}
				if got.Troops != troops || int(got.Personnel.Best) != personnel || got.Incidents != incidents {
					t.Errorf("%s: %d troop concentrations of %d personnel and %d incidents, want %d, %d, %d",
						path, got.Troops, got.Personnel.Best, got.Incidents, troops, personnel, incidents)
				}
				if !body.From.Equal(wantFrom) {
					t.Errorf("%s: from %s, want %s", path, body.From, wantFrom)
				}
			}
		})
		t.Run("map page/"+r.role, func(t *testing.T) {
			// The time slider starts at the first report the reader sees.
			rec := getAs(t, s, r, "/map")
			if rec.Code != 200 {
				t.Fatalf("/map: %d", rec.Code)
			}
			want := matrixT0.Add(-48 * time.Hour)
			if r.keyed() {
				want = matrixRestrictedObserved
			}
			if got := pageConfig(t, rec.Body.String()).Time[0]; got != want.Format(time.RFC3339) {
				t.Errorf("time slider starts %s, want %s", got, want.Format(time.RFC3339))
			}
			// So does each collection's temporal extent.
			for _, layer := range reportLayers {
				var doc struct {
					Extent struct {
						Temporal struct{ Interval [][2]string }
					}
				}
				rec := getAs(t, s, r, "/collections/"+layer)
				if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &doc) != nil || len(doc.Extent.Temporal.Interval) != 1 {
					t.Fatalf("%s: %d %s", layer, rec.Code, rec.Body)
				}
				first := want
				if !r.keyed() && layer == layers.TroopConcentrations {
					first = want.Add(time.Duration(matrixReports["tc-public"].personal) * time.Minute)
				}
				if got := doc.Extent.Temporal.Interval[0][0]; got != first.Format(time.RFC3339) {
					t.Errorf("%s: temporal extent starts %s, want %s", layer, got, first.Format(time.RFC3339))
				}
			}
		})
		t.Run("near/"+r.role, func(t *testing.T) {
			center := matrixReports["tc-public"].at
			for _, c := range []struct {
				radius float64
				want   []string
			}{
				// Wide: every report the reader sees, measured to what it sees.
				{30, r.wantIDs(layers.TroopConcentrations)},
				// Round the true position: only readers who see it true.
				{0.01, map[bool][]string{true: {"tc-public"}, false: nil}[r.keyed()]},
			} {
				q := fmt.Sprintf("/collections/troop-concentrations/items?near=%g,%g&radius_km=%g", center[0], center[1], c.radius)
				var fc gjCollection
				rec := getAs(t, s, r, q)
				if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &fc) != nil {
					t.Fatalf("%s: %d %s", q, rec.Code, rec.Body)
				}
				var ids []string
				for _, f := range fc.Features {
					ids = append(ids, f.ID)
					p := orb.Point{f.Geometry.Coordinates[0], f.Geometry.Coordinates[1]}
					checkPosition(t, r, f.ID, p, 1e-6)
					if d, want := f.Properties[nearDistanceProp].(float64), geo.DistanceKm(center, p); math.Abs(d-want) > 0.002 {
						t.Errorf("%s: near_distance_km %g, want %g (to the position shown)", f.ID, d, want)
					}
				}
				slices.Sort(ids)
				if !slices.Equal(ids, c.want) || fc.NumberMatched != len(c.want) {
					t.Errorf("radius %g km: %v (numberMatched %d), want %v", c.radius, ids, fc.NumberMatched, c.want)
				}
			}
		})
		t.Run("asof/"+r.role, func(t *testing.T) {
			at := url.QueryEscape(matrixT0.Add(time.Second).Format(time.RFC3339))
			for _, layer := range reportLayers {
				var fc gjCollection
				rec := getAs(t, s, r, "/collections/"+layer+"/items?asof="+at)
				if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &fc) != nil {
					t.Fatalf("%s: %d %s", layer, rec.Code, rec.Body)
				}
				var ids []string
				for _, f := range fc.Features {
					ids = append(ids, f.ID)
					checkPosition(t, r, f.ID, orb.Point{f.Geometry.Coordinates[0], f.Geometry.Coordinates[1]}, 1e-6)
					checkProps(t, r, f.ID, f.Properties)
				}
				slices.Sort(ids)
				if want := r.wantIDs(layer); !slices.Equal(ids, want) || fc.NumberMatched != len(want) {
					t.Errorf("%s asof: %v (numberMatched %d), want %v", layer, ids, fc.NumberMatched, want)
				}
				// Tiles of the past follow the same rules.
				tl := matrixTile(layer, 12)
				trec := getAs(t, s, r, fmt.Sprintf("/tiles/%s/%d/%d/%d.mvt?asof=%s", layer, tl.Z, tl.X, tl.Y, at))
				var tids []string
				if trec.Code == 200 {
					for _, f := range decodeTile(t, trec, trec.Body.Bytes())[layer].Features {
						tids = append(tids, f.Properties["id"].(string))
					}
				}
				for _, id := range tids {
					if !r.sees(id) {
						t.Errorf("%s asof tile holds %s", layer, id)
					}
				}
			}
		})
		t.Run("movements/"+r.role, func(t *testing.T) {
			var fc struct {
				NumberMatched int `json:"numberMatched"`
				Features      []struct {
					ID         string
					Properties map[string]any
				}
			}
			rec := getAs(t, s, r, "/collections/movements/items")
			if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &fc) != nil {
				t.Fatalf("movements: %d %s", rec.Code, rec.Body)
			}
			track := "ru:1st-guards-tank-army"
			if !r.keyed() {
				// A track would undo the grid: none for coarsened readers.
				if fc.NumberMatched != 0 || len(fc.Features) != 0 {
					t.Errorf("anonymous reader gets %d tracks: %s", fc.NumberMatched, rec.Body)
				}
				if rec := getAs(t, s, r, "/collections/movements/items/"+track); rec.Code != 404 {
					t.Errorf("track item: %d", rec.Code)
				}
				if rec := getAs(t, s, r, "/collections/movements/items?f=csv"); strings.Count(strings.TrimSpace(rec.Body.String()), "\n") != 0 {
					t.Errorf("track export:\n%s", rec.Body)
				}
				return
			}
			if len(fc.Features) != 1 || fc.Features[0].ID != track {
				t.Fatalf("tracks %s", rec.Body)
			}
			ids, _ := fc.Features[0].Properties["report_ids"].([]any)
			if want := []any{"tc-restricted", "tc-public", "tc-embargoed"}; !slices.Equal(ids, want) {
				t.Errorf("track of %v, want %v", ids, want)
			}
		})
	}
}

// Without coarsening, anonymous readers get a unit's track rebuilt from the
// reports they see, naming no other; an embargoed report joins it when its
// embargo ends.
func TestAnonymousTracksFollowTheirReports(t *testing.T) {
	clk := &clock{t: matrixT0}
	s, _ := matrixStoreServerWith(t, clk, layers.PublicPolicy{Read: true})
	track := func(r matrixReader) (ids []any, body string) {
		var fc struct {
			Features []struct{ Properties map[string]any }
		}
		rec := getAs(t, s, r, "/collections/movements/items")
		if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &fc) != nil || len(fc.Features) != 1 {
			t.Fatalf("movements: %d %s", rec.Code, rec.Body)
		}
		ids, _ = fc.Features[0].Properties["report_ids"].([]any)
		return ids, rec.Body.String()
	}
	anon, viewer := matrixReaders[0], matrixReaders[1]
	if ids, body := track(anon); !slices.Equal(ids, []any{"tc-public"}) || strings.Contains(body, "tc-restricted") || strings.Contains(body, "tc-embargoed") {
		t.Errorf("anonymous track: %s", body)
	}
	if ids, _ := track(viewer); len(ids) != 3 {
		t.Errorf("viewer's track joins %v", ids)
	}
	clk.Set(matrixT0.Add(time.Hour))
	if ids, _ := track(anon); !slices.Equal(ids, []any{"tc-public", "tc-embargoed"}) {
		t.Errorf("anonymous track once the embargo ended: %v", ids)
	}
}
