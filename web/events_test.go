package web

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"troopmap/geo"
)

// sseEvent is one event as a client parses it off the wire.
type sseEvent struct {
	id, name string
	data     changeEvent
	raw      string
}

// openEvents connects to /events with the given Last-Event-ID (none when
// empty) and key, and returns the events as they arrive.
func openEvents(t *testing.T, url, lastID, key string) <-chan sseEvent {
	t.Helper()
	req, _ := http.NewRequest("GET", url+"/events", nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /events: %v", err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	ch := make(chan sseEvent, 100)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.name != "" {
					ch <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				ev.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.name = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev.raw = line[6:]
				_ = json.Unmarshal([]byte(ev.raw), &ev.data)
			}
		}
	}()
	return ch
}

// until collects events up to and including the change of report stop.
func until(t *testing.T, ch <-chan sseEvent, stop string) []sseEvent {
	t.Helper()
	var got []sseEvent
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatalf("stream ended after %d events, before %s", len(got), stop)
			}
			got = append(got, ev)
			if ev.data.ID == stop {
				return got
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no change of %s within 10 s; got %d events", stop, len(got))
		}
	}
}

func changedIDs(evs []sseEvent) []string {
	var out []string
	for _, ev := range evs {
		out = append(out, ev.name+":"+ev.data.ID)
	}
	return out
}

// TestEventsReplay reconnects over HTTP with Last-Event-ID: the client gets
// exactly the changes it missed (through its own view: anonymous readers
// never get a restricted report), then the live stream; when they are no
// longer held, or the id is from an earlier run, it gets a reset event
// whose id carries it on.
func TestEventsReplay(t *testing.T) {
	e := newWriteEnv(t, Config{})
	ts := httptest.NewServer(e.h)
	defer ts.Close()
	defer e.srv.CloseStreams()
	post := func(body []byte) []string {
		t.Helper()
		rec := e.post(t, "incidents", body, e.analyst)
		if rec.Code != 201 {
			t.Fatalf("POST = %d %s", rec.Code, rec.Body)
		}
		if loc := rec.Header().Get("Location"); loc != "" {
			return []string{loc[strings.LastIndex(loc, "/")+1:]}
		}
		var res struct{ IDs []string }
		_ = json.Unmarshal(rec.Body.Bytes(), &res)
		return res.IDs
	}
	restricted := incidentFeature(5)
	restricted["properties"].(map[string]any)["sensitivity"] = "restricted"

	live := openEvents(t, ts.URL, "", "")
	first := post(mustJSON(incidentFeature(1)))[0]
	seen := until(t, live, first)
	lastID := seen[len(seen)-1].id

	// Missed while away: one report, a restricted one, a batch of two.
	missed := post(mustJSON(incidentFeature(2)))
	secret := post(mustJSON(restricted))
	batch := post(collection(2, 10))
	marker := func() string { return post(mustJSON(incidentFeature(9)))[0] }

	anon := openEvents(t, ts.URL, lastID, "")
	keyed := openEvents(t, ts.URL, lastID, e.analyst)
	m1 := marker()
	want := []string{"change:" + missed[0], "change:" + batch[0], "change:" + batch[1], "change:" + m1}
	got := until(t, anon, m1)
	if strings.Join(changedIDs(got), " ") != strings.Join(want, " ") {
		t.Fatalf("anonymous replay:\n got %v\nwant %v", changedIDs(got), want)
	}
	wantKeyed := []string{"change:" + missed[0], "change:" + secret[0], "change:" + batch[0], "change:" + batch[1], "change:" + m1}
	gotKeyed := until(t, keyed, m1)
	if strings.Join(changedIDs(gotKeyed), " ") != strings.Join(wantKeyed, " ") {
		t.Fatalf("keyed replay:\n got %v\nwant %v", changedIDs(gotKeyed), wantKeyed)
	}
	for i := 1; i < len(gotKeyed); i++ {
		if gotKeyed[i].id == gotKeyed[i-1].id || gotKeyed[i].id == "" {
			t.Fatalf("event ids not distinct: %q after %q", gotKeyed[i].id, gotKeyed[i-1].id)
		}
	}
	// The payload is the usual change event.
	if ev := got[0].data; ev.Collection != "incidents" || ev.Op != "create" || ev.Version != 1 || ev.BBox[0] == 0 {
		t.Fatalf("replayed event %s", got[0].raw)
	}

	// From the middle of a commit: only the rest of it.
	mid := gotKeyed[2].id // the batch's first event
	fromMid := openEvents(t, ts.URL, mid, e.analyst)
	m2 := marker()
	if g := changedIDs(until(t, fromMid, m2)); strings.Join(g, " ") != strings.Join([]string{"change:" + batch[1], "change:" + m1, "change:" + m2}, " ") {
		t.Fatalf("replay from inside a commit: %v", g)
	}

	// Up to date: nothing replayed, no reset.
	head := openEvents(t, ts.URL, gotKeyed[len(gotKeyed)-1].id, e.analyst)
	_ = head
	// (m2 was committed after that id, so it is the one replayed event.)
	m3 := marker()
	if g := changedIDs(until(t, head, m3)); strings.Join(g, " ") != "change:"+m2+" change:"+m3 {
		t.Fatalf("replay when nearly up to date: %v", g)
	}

	// Too old: the hub keeps only a few events now; the client is told to
	// reset, and the reset's id carries it on from the present.
	e.srv.hub.mu.Lock()
	e.srv.hub.replayCap = 2
	e.srv.hub.mu.Unlock()
	post(collection(3, 20)) // evicts everything before it
	for _, stale := range []string{lastID, "1-0", "not-an-id", "99999999999999999-0"} {
		ch := openEvents(t, ts.URL, stale, e.analyst)
		m := marker()
		g := until(t, ch, m)
		if len(g) != 2 || g[0].name != "reset" || g[1].data.ID != m {
			t.Fatalf("Last-Event-ID %q: got %v, want a reset then the live change", stale, changedIDs(g))
		}
		// Reconnecting with the reset's id replays just what came after it.
		again := openEvents(t, ts.URL, g[0].id, e.analyst)
		m4 := marker()
		if g2 := changedIDs(until(t, again, m4)); strings.Join(g2, " ") != "change:"+m+" change:"+m4 {
			t.Fatalf("after the reset id %s: %v", g[0].id, g2)
		}
	}
}

// TestEventsReplayThroughTheView replays over the access matrix fixture:
// what a reader missed comes back through its own view, so an anonymous
// reader gets no restricted or embargoed change and troop concentrations
// with coarsened bounds, exactly as on the live stream.
func TestEventsReplayThroughTheView(t *testing.T) {
	clk := &clock{t: matrixT0}
	s := matrixServer(t, clk)
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	defer s.CloseStreams()
	newIncident := func() string {
		rec := matrixWrite(t, s.Handler(), "POST", "/collections/incidents/items", "k-analyst", string(mustJSON(incidentFeature(7))), 201)
		loc := rec.Header().Get("Location")
		return loc[strings.LastIndex(loc, "/")+1:]
	}
	// Both readers see a first change, then go away.
	anonLive, editorLive := openEvents(t, ts.URL, "", ""), openEvents(t, ts.URL, "", "k-editor")
	first := newIncident()
	anonSeen, editorSeen := until(t, anonLive, first), until(t, editorLive, first)

	for id, rep := range matrixReports {
		matrixWrite(t, s.Handler(), "PATCH", "/collections/"+rep.layer+"/items/"+id, "k-editor", `{"properties":{"notes":"seen again"}}`, 200)
	}
	readers := []struct {
		reader matrixReader
		ch     <-chan sseEvent
	}{
		{matrixReaders[0], openEvents(t, ts.URL, anonSeen[len(anonSeen)-1].id, "")},
		{matrixReaders[3], openEvents(t, ts.URL, editorSeen[len(editorSeen)-1].id, "k-editor")},
	}
	end := newIncident()
	for _, r := range readers {
		var got []string
		for _, ev := range until(t, r.ch, end) {
			if ev.name != "change" {
				t.Fatalf("%s: event %s %s", r.reader.role, ev.name, ev.raw)
			}
			got = append(got, ev.data.ID)
			if rep, fixture := matrixReports[ev.data.ID]; fixture {
				p := rep.at
				if r.reader.coarse(ev.data.ID) {
					p = geo.SnapPoint(p, matrixPrecisionKm)
				}
				if want := [4]float64{p[0], p[1], p[0], p[1]}; ev.data.BBox != want {
					t.Errorf("%s: replayed bbox of %s %v, want %v", r.reader.role, ev.data.ID, ev.data.BBox, want)
				}
			}
		}
		var want []string
		for id := range matrixReports {
			if r.reader.sees(id) {
				want = append(want, id)
			}
		}
		want = append(want, end)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: replayed %v, want %v", r.reader.role, got, want)
		}
	}
}

// TestEventIDsRevealNothing: event ids are opaque, so the ids an anonymous
// subscriber gets do not count the commits and events hidden from it (plain
// commit numbers would, by their gaps); they still name the event for
// Last-Event-ID, and only this server's ids do.
func TestEventIDsRevealNothing(t *testing.T) {
	h := newHub()
	hexID := regexp.MustCompile(`^[0-9a-f]{32}$`)
	var ids []string
	for i := range 20 {
		id := h.eventID(h.base+1+uint64(i), i%3)
		if !hexID.MatchString(id) {
			t.Fatalf("event id %q is not 32 hex digits", id)
		}
		seq, idx, err := h.parseEventID(id)
		if err != nil || seq != h.base+1+uint64(i) || idx != i%3 {
			t.Fatalf("id %q reads back as %d-%d (%v)", id, seq, idx, err)
		}
		ids = append(ids, id)
	}
	// Consecutive commits' ids are in no order a reader could count by.
	if slices.IsSorted(ids) || slices.IsSortedFunc(ids, func(a, b string) int { return strings.Compare(b, a) }) {
		t.Fatalf("ids of consecutive commits are ordered: %v", ids)
	}
	// Another server (another key) does not take them.
	other := newHub()
	if seq, _, err := other.parseEventID(ids[0]); err == nil && seq >= other.base && seq <= other.seq+1000 {
		t.Fatalf("another server reads id %s as its commit %d", ids[0], seq)
	}
}
