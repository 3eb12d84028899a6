package web

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"troopmap/geo"
	"troopmap/layers"
)

// matrixWrite sends a write with a role's key and checks its status.
func matrixWrite(t *testing.T, h http.Handler, method, target, key, body string, want int) *httptest.ResponseRecorder {
	t.Helper()
	ctype := mediaMergePatch
	if method == "POST" {
		ctype = mediaGeoJSON
	}
	rec := send(t, h, method, target, []byte(body), "Authorization", "Bearer "+key, "Content-Type", ctype)
	if rec.Code != want {
		t.Fatalf("%s %s = %d %s, want %d", method, target, rec.Code, rec.Body, want)
	}
	return rec
}

// Live events follow the same rules as every other path: a restricted or
// embargoed change never reaches an anonymous subscriber, reaches every
// keyed one, and troop concentrations arrive with coarsened bounds.
func TestAccessMatrixEvents(t *testing.T) {
	clk := &clock{t: matrixT0}
	s := matrixServer(t, clk)
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	defer s.CloseStreams()

	streams := map[string]chan changeEvent{}
	for _, r := range matrixReaders {
		req, _ := http.NewRequest("GET", ts.URL+"/events", nil)
		if r.key != "" {
			req.Header.Set("Authorization", "Bearer "+r.key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: GET /events: %v", r.role, err)
		}
		defer resp.Body.Close()
		ch := make(chan changeEvent, 100)
		streams[r.role] = ch
		go func() {
			defer close(ch)
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
					var ev changeEvent
					if json.Unmarshal([]byte(d), &ev) == nil && ev.ID != "" {
						ch <- ev
					}
				}
			}
		}()
	}

	// A change to every fixture report, a new restricted and a new
	// embargoed incident, then a public one that marks the end.
	for id, rep := range matrixReports {
		matrixWrite(t, s.Handler(), "PATCH", "/collections/"+rep.layer+"/items/"+id, "k-editor", `{"properties":{"notes":"seen again"}}`, 200)
	}
	newIncident := func(props map[string]any) string {
		f := incidentFeature(7)
		for k, v := range props {
			f["properties"].(map[string]any)[k] = v
		}
		rec := matrixWrite(t, s.Handler(), "POST", "/collections/incidents/items", "k-analyst", string(mustJSON(f)), 201)
		loc := rec.Header().Get("Location")
		return loc[strings.LastIndex(loc, "/")+1:]
	}
	restricted := newIncident(map[string]any{"sensitivity": "restricted"})
	embargoed := newIncident(map[string]any{"embargo_until": matrixT0.Add(time.Hour).Format(time.RFC3339)})
	end := newIncident(nil)

	for _, r := range matrixReaders {
		t.Run(r.role, func(t *testing.T) {
			var got []string
			timeout := time.After(10 * time.Second)
		read:
			for {
				select {
				case ev, ok := <-streams[r.role]:
					if !ok {
						t.Fatal("the stream ended early")
					}
					got = append(got, ev.ID)
					if rep, fixture := matrixReports[ev.ID]; fixture {
						p := rep.at
						if r.coarse(ev.ID) {
							p = geo.SnapPoint(p, matrixPrecisionKm)
						}
						if want := [4]float64{p[0], p[1], p[0], p[1]}; ev.BBox != want {
							t.Errorf("%s: event bbox %v, want %v", ev.ID, ev.BBox, want)
						}
					}
					if ev.ID == end {
						break read
					}
				case <-timeout:
					t.Fatalf("no end event; got %v", got)
				}
			}
			var want []string
			for id := range matrixReports {
				if r.sees(id) {
					want = append(want, id)
				}
			}
			if r.keyed() {
				want = append(want, restricted, embargoed)
			}
			want = append(want, end)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("events for %v, want %v", got, want)
			}
		})
	}
}

// A report an anonymous subscriber could see and then may not (made
// restricted) reaches them as a delete at the position they saw, so that
// their map drops it; keyed subscribers get the update.
func TestEventsWhenAReportIsHidden(t *testing.T) {
	clk := &clock{t: matrixT0}
	s := matrixServer(t, clk)
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	defer s.CloseStreams()
	anon := openEvents(t, ts.URL, "", "")
	editor := openEvents(t, ts.URL, "", "k-editor")

	for _, id := range []string{"inc-public", "tc-public"} {
		layer := matrixReports[id].layer
		matrixWrite(t, s.Handler(), "PATCH", "/collections/"+layer+"/items/"+id, "k-editor", `{"properties":{"sensitivity":"restricted"}}`, 200)
	}
	rec := matrixWrite(t, s.Handler(), "POST", "/collections/incidents/items", "k-analyst", string(mustJSON(incidentFeature(7))), 201)
	loc := rec.Header().Get("Location")
	end := loc[strings.LastIndex(loc, "/")+1:]

	for _, c := range []struct {
		who    string
		ch     <-chan sseEvent
		op     layers.Op
		coarse bool
	}{{"anonymous", anon, layers.OpDelete, true}, {"editor", editor, layers.OpUpdate, false}} {
		got := map[string]changeEvent{}
		for _, ev := range until(t, c.ch, end) {
			if ev.name == "change" {
				got[ev.data.ID] = ev.data
			}
		}
		for _, id := range []string{"inc-public", "tc-public"} {
			ce, ok := got[id]
			if !ok || ce.Op != c.op {
				t.Errorf("%s: event for %s = %+v (received %v), want op %s", c.who, id, ce, ok, c.op)
				continue
			}
			p := matrixReports[id].at
			if c.coarse && strings.HasPrefix(id, "tc-") {
				p = geo.SnapPoint(p, matrixPrecisionKm)
			}
			if want := [4]float64{p[0], p[1], p[0], p[1]}; ce.BBox != want {
				t.Errorf("%s: %s at %v, want %v (as they saw it)", c.who, id, ce.BBox, want)
			}
		}
	}
}

// asof shows a hiding reader a past version only while the report as it
// is now (or as it was retracted) is visible to them: a report restricted
// since does not show through the past, as it does not in its history.
func TestAsOfFollowsTheReportNow(t *testing.T) {
	clk := &clock{t: matrixT0}
	s := matrixServer(t, clk) // imported at matrixT0
	clk.Set(matrixT0.Add(10 * time.Minute))
	h := s.Handler()
	past := url.QueryEscape(matrixT0.Add(time.Second).Format(time.RFC3339))
	anon, editor := matrixReaders[0], matrixReaders[3]
	ids := func(r matrixReader, layer string) []string {
		var fc gjCollection
		rec := getAs(t, s, r, "/collections/"+layer+"/items?asof="+past)
		if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &fc) != nil {
			t.Fatalf("asof: %d %s", rec.Code, rec.Body)
		}
		out := []string{}
		for _, f := range fc.Features {
			out = append(out, f.ID)
		}
		slices.Sort(out)
		return out
	}
	tileIDsAt := func(r matrixReader, layer string) []string {
		tl := matrixTile(layer, 12)
		rec := getAs(t, s, r, fmt.Sprintf("/tiles/%s/%d/%d/%d.mvt?asof=%s", layer, tl.Z, tl.X, tl.Y, past))
		out := []string{}
		if rec.Code == 200 {
			for _, f := range decodeTile(t, rec, rec.Body.Bytes())[layer].Features {
				out = append(out, f.Properties["id"].(string))
			}
		}
		return out
	}
	incidentsAt := func(r matrixReader) int {
		var body struct {
			Zones []struct{ Intervals []statsInterval }
		}
		rec := getAs(t, s, r, "/stats/zones?asof="+past)
		if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &body) != nil || len(body.Zones) != 1 {
			t.Fatalf("stats: %d %s", rec.Code, rec.Body)
		}
		n := 0
		for _, iv := range body.Zones[0].Intervals {
			n += iv.Incidents
		}
		return n
	}
	// Warm the caches (past layer, tiles) with the public view.
	if got := ids(anon, layers.Incidents); !slices.Equal(got, []string{"inc-public"}) || len(tileIDsAt(anon, layers.Incidents)) != 1 {
		t.Fatalf("before: %v", got)
	}
	matrixWrite(t, h, "PATCH", "/collections/incidents/items/inc-public", "k-editor", `{"properties":{"sensitivity":"restricted"}}`, 200)
	if got := ids(anon, layers.Incidents); len(got) != 0 {
		t.Errorf("anonymous asof shows %v after inc-public was restricted", got)
	}
	if got := tileIDsAt(anon, layers.Incidents); len(got) != 0 {
		t.Errorf("anonymous asof tile shows %v after inc-public was restricted", got)
	}
	if n := incidentsAt(anon); n != 0 {
		t.Errorf("anonymous asof stats count %d incidents", n)
	}
	if got := ids(editor, layers.Incidents); len(got) != 3 {
		t.Errorf("editor asof: %v", got)
	}
	// Restricted, then retracted: its last word is restricted.
	matrixWrite(t, h, "PATCH", "/collections/troop-concentrations/items/tc-public", "k-editor", `{"properties":{"sensitivity":"restricted"}}`, 200)
	matrixWrite(t, h, "DELETE", "/collections/troop-concentrations/items/tc-public", "k-editor", "", 204)
	if got := ids(anon, layers.TroopConcentrations); len(got) != 0 {
		t.Errorf("anonymous asof shows %v after tc-public was restricted and retracted", got)
	}
	// Public again, then retracted: the past shows it, as history does.
	matrixWrite(t, h, "PATCH", "/collections/incidents/items/inc-public", "k-editor", `{"properties":{"sensitivity":"public"}}`, 200)
	matrixWrite(t, h, "DELETE", "/collections/incidents/items/inc-public", "k-editor", "", 204)
	if got := ids(anon, layers.Incidents); !slices.Equal(got, []string{"inc-public"}) {
		t.Errorf("anonymous asof of a public report retracted since: %v", got)
	}
	if rec := getAs(t, s, anon, "/collections/incidents/items/inc-public/history"); rec.Code != 200 {
		t.Errorf("its history: %d", rec.Code)
	}
}
