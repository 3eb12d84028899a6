package layers

import (
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func report(id string, props map[string]any) *Feature {
	p := map[string]any{
		"observed_at": t0.Add(-240 * time.Hour).Format(time.RFC3339), "sensitivity": "public",
		"verification": "verified", "heading_deg": 90.0, "speed_kmh": 12.0, "unit_designation": "1st Tank Army",
		"higher_formation": "WMD", "location_name": "Hoptivka", "ce_m": 50.0, "border_distance_km": 3.4,
	}
	for k, v := range props {
		if v == nil {
			delete(p, k)
			continue
		}
		p[k] = v
	}
	return NewFeature(id, orb.Point{36.2304, 49.9935}, p, ReportTimeKeys()...)
}

func TestReaderShow(t *testing.T) {
	tc := NewLayer(Meta{ID: TroopConcentrations, Kind: KindReports})
	inc := NewLayer(Meta{ID: Incidents, Kind: KindReports})
	area := NewLayer(Meta{ID: "donbas", Kind: KindArea})
	moves := NewLayer(Meta{ID: Movements, Kind: KindDerived})
	var (
		public      = report("public", nil)
		restricted  = report("restricted", map[string]any{"sensitivity": "restricted"})
		noSens      = report("nosens", map[string]any{"sensitivity": nil})
		embargoed   = report("embargoed", map[string]any{"embargo_until": t0.Add(time.Hour).Format(time.RFC3339)})
		lifted      = report("lifted", map[string]any{"embargo_until": t0.Add(-time.Hour).Format(time.RFC3339)})
		badEmbargo  = report("bad", map[string]any{"embargo_until": "soon"})
		nullEmbargo = report("nullembargo", map[string]any{"embargo_until": nil})
		numEmbargo  = report("numembargo", map[string]any{"embargo_until": 5.0})
		badObserved = report("badobserved", map[string]any{"observed_at": "yesterday"})
		recent      = report("recent", map[string]any{"observed_at": t0.Add(-time.Hour).Format(time.RFC3339)})
		submitted   = report("submitted", map[string]any{"verification": "submitted"})
		retracted   = report("retracted", map[string]any{"verification": "retracted"})
		areaF       = NewFeature("a", orb.Point{37, 48}, nil)
		track       = NewFeature("m", orb.LineString{{37, 48}, {38, 48}}, nil)
	)
	const (
		hidden = iota
		full
		coarse
	)
	type want map[string]int // reader → outcome
	open := PublicPolicy{Read: true}
	delay := PublicPolicy{Read: true, Delay: 72 * time.Hour}
	prec := PublicPolicy{Read: true, PrecisionKm: 10}
	verified := PublicPolicy{Read: true, VerifiedOnly: true}
	for _, c := range []struct {
		name   string
		l      *Layer
		f      *Feature
		policy PublicPolicy
		want   want
	}{
		{"public report", tc, public, open, want{"anonymous": full, "viewer": full, "admin": full}},
		{"restricted report", tc, restricted, open, want{"anonymous": hidden, "viewer": full, "analyst": full}},
		{"no sensitivity fails closed", tc, noSens, open, want{"anonymous": hidden, "viewer": full}},
		{"embargo in the future", tc, embargoed, open, want{"anonymous": hidden, "viewer": full, "editor": full}},
		{"embargo passed", tc, lifted, open, want{"anonymous": full, "viewer": full}},
		{"unreadable embargo fails closed", tc, badEmbargo, open, want{"anonymous": hidden, "viewer": full}},
		{"null embargo is none", tc, nullEmbargo, open, want{"anonymous": full, "viewer": full}},
		{"a number for an embargo fails closed", tc, numEmbargo, open, want{"anonymous": hidden, "viewer": full}},
		{"unreadable observed_at fails closed under a delay", inc, badObserved, delay, want{"anonymous": hidden, "viewer": full}},
		{"public delay hides recent", inc, recent, delay, want{"anonymous": hidden, "viewer": full}},
		{"public delay passed", inc, public, delay, want{"anonymous": full, "viewer": full}},
		{"no delay shows recent", inc, recent, open, want{"anonymous": full}},
		{"verified only hides submitted", inc, submitted, verified, want{"anonymous": hidden, "analyst": full}},
		{"verified only shows verified", inc, public, verified, want{"anonymous": full}},
		// Retracted reports leave the layers; in history a public one
		// shows its retraction.
		{"retracted public report", inc, retracted, open, want{"anonymous": full, "viewer": full}},
		{"verified only hides retracted", inc, retracted, verified, want{"anonymous": hidden, "viewer": full}},
		{"precision coarsens troop concentrations", tc, public, prec, want{"anonymous": coarse, "viewer": full, "admin": full}},
		{"precision leaves incidents alone", inc, public, prec, want{"anonymous": full}},
		{"precision still hides restricted", tc, restricted, prec, want{"anonymous": hidden, "viewer": full}},
		{"area layers are open", area, areaF, PublicPolicy{Read: true, VerifiedOnly: true, PrecisionKm: 10, Delay: time.Hour}, want{"anonymous": full}},
		{"movement track naming no reports", moves, track, open, want{"anonymous": hidden, "viewer": full}},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := NewAccess(c.policy, func() time.Time { return t0 })
			for who, w := range c.want {
				p := Principal{Name: "k-" + who, Role: RoleOf(who)}
				if who == "anonymous" {
					p = Anonymous()
				}
				r, err := a.Reader(p)
				if err != nil {
					t.Fatal(err)
				}
				got := r.Show(c.l, c.f)
				switch {
				case w == hidden && got != nil:
					t.Errorf("%s sees %s, want hidden", who, c.f.ID)
				case w == full && got != c.f:
					t.Errorf("%s sees %v, want the feature itself", who, got)
				case w == coarse:
					if got == nil || got == c.f {
						t.Fatalf("%s sees %v, want a coarsened copy", who, got)
					}
					checkCoarse(t, c.f, got, 10)
				}
			}
		})
	}
}

func checkCoarse(t *testing.T, orig, got *Feature, cellKm float64) {
	t.Helper()
	for _, k := range CoarsenedProperties() {
		if _, ok := got.Props.Lookup(k); ok {
			t.Errorf("coarsened copy keeps %s", k)
		}
		if _, ok := orig.Props.Lookup(k); !ok {
			t.Errorf("the original lost %s: Show changed its input", k)
		}
	}
	if got.Geometry.(orb.Point) == orig.Geometry.(orb.Point) {
		t.Errorf("geometry not moved: %v", got.Geometry)
	}
	if orig.Geometry.(orb.Point) != (orb.Point{36.2304, 49.9935}) {
		t.Errorf("original geometry changed to %v", orig.Geometry)
	}
	if got.Bound != got.Geometry.Bound() {
		t.Errorf("bound %v does not follow the snapped geometry", got.Bound)
	}
	if ce := got.Props.Get("ce_m").(float64); ce < cellKm*1000*0.7 {
		t.Errorf("ce_m %v does not cover the cell", ce)
	}
	if d := got.Props.Get("border_distance_km").(float64); d != 0 {
		t.Errorf("border_distance_km %v, want 3.4 rounded to a 10 km step (0)", d)
	}
	if got.Props.Get("side") != orig.Props.Get("side") || got.Props.Get("verification") != "verified" {
		t.Error("coarsening dropped properties it should keep")
	}
}

// An embargo ends with no restart: the same Access shows the report once the
// clock passes embargo_until, and the anonymous key changes at that moment
// and at no other, so caches keyed on it never serve a stale answer.
func TestEmbargoEndsAndKeyChanges(t *testing.T) {
	now := t0
	a := NewAccess(PublicPolicy{Read: true, Delay: 72 * time.Hour}, func() time.Time { return now })
	l := NewLayer(Meta{ID: Incidents, Kind: KindReports})
	a.Watch(l)
	f := report("e", map[string]any{"embargo_until": t0.Add(time.Hour).Format(time.RFC3339)})
	if err := l.Load([]*Feature{f}); err != nil {
		t.Fatal(err)
	}
	anon := func() Reader {
		r, err := a.Reader(Anonymous())
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	before := anon()
	if before.Show(l, f) != nil {
		t.Fatal("embargoed report shown before its embargo ends")
	}
	now = t0.Add(59 * time.Minute)
	if k := anon().Key; k != before.Key {
		t.Errorf("key changed from %q to %q with no embargo ending between", before.Key, k)
	}
	if next, ok := a.NextOpening(now); !ok || !next.Equal(t0.Add(time.Hour)) {
		t.Errorf("NextOpening = %v %v, want %v", next, ok, t0.Add(time.Hour))
	}
	now = t0.Add(time.Hour)
	after := anon()
	if after.Show(l, f) != f {
		t.Fatal("report still hidden once its embargo ended")
	}
	if after.Key == before.Key {
		t.Errorf("key %q did not change when the embargo ended", after.Key)
	}
	// A new report observed now opens 72 h later (the public delay).
	g := report("g", map[string]any{"observed_at": now.Format(time.RFC3339)})
	if err := l.Update(func(w *Writer) error { return w.Put(g) }); err != nil {
		t.Fatal(err)
	}
	if next, ok := a.NextOpening(now); !ok || !next.Equal(now.Add(72*time.Hour)) {
		t.Errorf("NextOpening after a write = %v %v, want %v", next, ok, now.Add(72*time.Hour))
	}
	// Deleting it forgets its opening.
	if err := l.Update(func(w *Writer) error { w.Delete("g"); return nil }); err != nil {
		t.Fatal(err)
	}
	if next, ok := a.NextOpening(now); ok {
		t.Errorf("NextOpening after delete = %v, want none", next)
	}
	// A restricted report's embargo ending changes nothing anonymous
	// readers see: neither their key nor the next opening shows it.
	r := report("r", map[string]any{"sensitivity": "restricted", "embargo_until": now.Add(2 * time.Hour).Format(time.RFC3339)})
	if err := l.Update(func(w *Writer) error { return w.Put(r) }); err != nil {
		t.Fatal(err)
	}
	if next, ok := a.NextOpening(now); ok {
		t.Errorf("NextOpening names a restricted report's embargo end %v", next)
	}
	now = now.Add(3 * time.Hour)
	if k := anon().Key; k != after.Key {
		t.Errorf("key changed from %q to %q when a restricted report's embargo ended", after.Key, k)
	}
	keyed, _ := a.Reader(Principal{Name: "v", Role: RoleOf(RoleViewer)})
	if keyed.Key == after.Key || strings.HasPrefix(keyed.Key, "public") {
		t.Errorf("keyed reader shares a key with anonymous: %q", keyed.Key)
	}
}

// Different operator settings give different anonymous keys.
func TestPublicKeysDifferBySettings(t *testing.T) {
	keys := map[string]PublicPolicy{}
	for _, p := range []PublicPolicy{
		{Read: true}, {Read: true, PrecisionKm: 10}, {Read: true, PrecisionKm: 5},
		{Read: true, Delay: time.Hour}, {Read: true, VerifiedOnly: true},
	} {
		r, err := NewAccess(p, nil).Reader(Anonymous())
		if err != nil {
			t.Fatal(err)
		}
		if prev, dup := keys[r.Key]; dup {
			t.Errorf("policies %+v and %+v share key %q", prev, p, r.Key)
		}
		keys[r.Key] = p
	}
}

func TestPublicReadOff(t *testing.T) {
	a := NewAccess(PublicPolicy{Read: false}, nil)
	_, err := a.Reader(Anonymous())
	if ErrorCode(err) != EUNAUTHORIZED || !strings.Contains(ErrorMessage(err), "viewer") {
		t.Fatalf("anonymous with reading off: %v", err)
	}
	if _, err := a.Reader(Principal{Name: "v", Role: RoleOf(RoleViewer)}); err != nil {
		t.Fatalf("viewer with reading off: %v", err)
	}
}

func TestPermissions(t *testing.T) {
	anon := Anonymous()
	viewer := Principal{Name: "vera", Role: RoleOf(RoleViewer)}
	ann := Principal{Name: "ann", Role: RoleOf(RoleAnalyst)}
	ed := Principal{Name: "ed", Role: RoleOf(RoleEditor)}
	adm := Principal{Name: "root", Role: RoleOf(RoleAdmin)}
	for _, c := range []struct {
		name     string
		err      error
		code     string
		mentions string
	}{
		{"anonymous creates", Require(anon, RoleAnalyst, "creating reports"), EUNAUTHORIZED, "analyst"},
		{"viewer creates", Require(viewer, RoleAnalyst, "creating reports"), EFORBIDDEN, "analyst"},
		{"analyst creates", Require(ann, RoleAnalyst, "creating reports"), "", ""},
		{"admin creates", Require(adm, RoleAnalyst, "creating reports"), "", ""},
		{"analyst changes own", CanChangeReport(ann, "ann"), "", ""},
		{"analyst changes other", CanChangeReport(ann, "bob"), EFORBIDDEN, "editor"},
		{"viewer changes own name", CanChangeReport(viewer, "vera"), EFORBIDDEN, "analyst"},
		{"anonymous changes", CanChangeReport(anon, ""), EUNAUTHORIZED, "analyst"},
		{"editor changes other", CanChangeReport(ed, "bob"), "", ""},
		{"analyst verifies", CanSetVerification(ann), EFORBIDDEN, "editor"},
		{"editor verifies", CanSetVerification(ed), "", ""},
		{"editor manages keys", Require(ed, RoleAdmin, "managing keys"), EFORBIDDEN, "admin"},
		{"admin manages keys", Require(adm, RoleAdmin, "managing keys"), "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := ErrorCode(c.err); got != c.code {
				t.Fatalf("code %q, want %q (%v)", got, c.code, c.err)
			}
			if c.mentions != "" && !strings.Contains(ErrorMessage(c.err), "role "+c.mentions) {
				t.Errorf("message %q does not name role %s", ErrorMessage(c.err), c.mentions)
			}
		})
	}
	for _, s := range []string{"viewer", "analyst", "editor", "admin"} {
		if r, err := ParseRole(s); err != nil || r.Name != s {
			t.Errorf("ParseRole(%q) = %q, %v", s, r, err)
		}
	}
	for _, s := range []string{"", "anonymous", "Admin", "root"} {
		if _, err := ParseRole(s); ErrorCode(err) != EINVALID {
			t.Errorf("ParseRole(%q) accepted", s)
		}
	}
}

func BenchmarkReaderShow(b *testing.B) {
	l := NewLayer(Meta{ID: TroopConcentrations, Kind: KindReports})
	// A stored report names its author, which anonymous readers do not
	// get: Show copies it without created_by.
	f, authored := report("x", nil), report("x", map[string]any{"created_by": "alice"})
	for _, c := range []struct {
		name string
		p    PublicPolicy
		who  Principal
		f    *Feature
	}{
		{"keyed", PublicPolicy{Read: true}, Principal{Name: "v", Role: RoleOf(RoleViewer)}, authored},
		{"anonymous", PublicPolicy{Read: true, Delay: time.Hour}, Anonymous(), f},
		{"anonymous-authored", PublicPolicy{Read: true, Delay: time.Hour}, Anonymous(), authored},
		{"anonymous-coarsened", PublicPolicy{Read: true, Delay: time.Hour, PrecisionKm: 10}, Anonymous(), authored},
	} {
		b.Run(c.name, func(b *testing.B) {
			r, _ := NewAccess(c.p, nil).Reader(c.who)
			b.ReportAllocs()
			for b.Loop() {
				if r.Show(l, c.f) == nil {
					b.Fatal("hidden")
				}
			}
		})
	}
}

// A movement track reaches anonymous readers only when every report it joins
// does, and never when troop concentrations are coarsened.
func TestMovementVisibilityFollowsItsReports(t *testing.T) {
	tc := NewLayer(ReportMetas()[0])
	if err := tc.Load([]*Feature{
		report("r1", nil), report("r2", nil),
		report("r3", map[string]any{"sensitivity": "restricted"}),
		report("r4", map[string]any{"embargo_until": t0.Add(time.Hour).Format(time.RFC3339)}),
	}); err != nil {
		t.Fatal(err)
	}
	moves := NewLayer(Meta{ID: Movements, Kind: KindDerived})
	track := func(ids ...any) *Feature {
		return NewFeature("u", orb.LineString{{37, 48}, {38, 48}}, map[string]any{"report_ids": ids})
	}
	for _, c := range []struct {
		name   string
		f      *Feature
		policy PublicPolicy
		shown  bool
	}{
		{"all public", track("r1", "r2"), PublicPolicy{Read: true}, true},
		{"one restricted", track("r1", "r3"), PublicPolicy{Read: true}, false},
		{"one embargoed", track("r4", "r2"), PublicPolicy{Read: true}, false},
		{"one unknown", track("r1", "gone"), PublicPolicy{Read: true}, false},
		{"no sources", track(), PublicPolicy{Read: true}, false},
		{"coarsened", track("r1", "r2"), PublicPolicy{Read: true, PrecisionKm: 10}, false},
		{"delay not passed", track("r1"), PublicPolicy{Read: true, Delay: 1000 * time.Hour}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := NewAccess(c.policy, func() time.Time { return t0 })
			a.Watch(tc)
			anon, _ := a.Reader(Anonymous())
			if got := anon.Show(moves, c.f) != nil; got != c.shown {
				t.Errorf("anonymous sees the track: %v, want %v", got, c.shown)
			}
			keyed, _ := a.Reader(Principal{Name: "v", Role: RoleOf(RoleViewer)})
			if keyed.Show(moves, c.f) != c.f {
				t.Error("a viewer must see every track")
			}
		})
	}
}
