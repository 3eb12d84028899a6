package layers

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tidwall/btree"

	"troopmap/geo"
	"troopmap/layers/props"
)

// Who may do what, and what each reader sees. This file is pure policy: no
// HTTP, no storage. The web layer asks it for a Reader per request and runs
// every feature it sends out through Reader.Show.

// Role names. Roles themselves are data (see Roles in keys.go), ordered
// from the weakest; each has every right of the ones before it. A request
// without a key has the zero Role, the anonymous reader.
const (
	RoleAnonymous = "anonymous"
	RoleViewer    = "viewer"  // reads everything, at full precision
	RoleAnalyst   = "analyst" // creates reports, changes and retracts its own
	RoleEditor    = "editor"  // changes anyone's reports and moves verification
	RoleAdmin     = "admin"   // manages keys
)

// RoleOf returns the role with the given name; the zero Role (anonymous)
// for any other name.
func RoleOf(name string) Role {
	r, _ := RoleNamed(name)
	return r
}

func (r Role) rank() int {
	if r.Name == "" {
		return 0
	}
	for i, x := range Roles() {
		if x.Name == r.Name {
			return i + 1
		}
	}
	return 0
}

// AtLeast reports whether r has every right of the role named need.
func (r Role) AtLeast(need string) bool { return r.rank() >= RoleOf(need).rank() }

// Keyed reports whether the role belongs to an API key, as opposed to an
// anonymous reader.
func (r Role) Keyed() bool { return r.rank() > 0 }

// String names the role; the zero Role is "anonymous".
func (r Role) String() string {
	if r.Name == "" {
		return RoleAnonymous
	}
	return r.Name
}

// ParseRole parses a key's role; "anonymous" is not a key role.
func ParseRole(s string) (Role, error) {
	if r, ok := RoleNamed(s); ok {
		return r, nil
	}
	return Role{}, Errorf(EINVALID, "role %q: want one of %s", s, strings.Join(RoleNames(), ", "))
}

// Principal is who makes a request: the actor of its key, or the zero
// Actor for an anonymous reader.
type Principal = Actor

// Anonymous is the principal of a request without a key.
func Anonymous() Principal { return Principal{} }

// Require returns nil when p has at least the role need. Otherwise it returns
// a 401-coded error for anonymous callers and a 403-coded one for keys with
// too weak a role; both say which role is needed. what names the action, e.g.
// "creating reports".
func Require(p Principal, need string, what string) error {
	if p.Role.AtLeast(need) {
		return nil
	}
	if !p.Role.Keyed() {
		return Errorf(EUNAUTHORIZED, "%s needs an API key with role %s or higher: send it as \"Authorization: Bearer <key>\"; an admin creates keys with \"troopmap keys add\"", what, need)
	}
	return Errorf(EFORBIDDEN, "%s needs role %s or higher; key %q has role %s", what, need, p.Name, p.Role.Name)
}

// CanChangeReport says whether p may change or retract a report created by
// createdBy: analysts only their own, editors and admins anyone's.
func CanChangeReport(p Principal, createdBy string) error {
	if err := Require(p, RoleAnalyst, "changing reports"); err != nil {
		return err
	}
	if p.Role.AtLeast(RoleEditor) || p.Name == createdBy {
		return nil
	}
	return Errorf(EFORBIDDEN, "changing a report of %q needs role editor or higher; analyst key %q may change only its own reports", createdBy, p.Name)
}

// CanSetVerification says whether p may move a report's verification.
func CanSetVerification(p Principal) error {
	return Require(p, RoleEditor, "changing verification")
}

// IdentifyingProperties are dropped from every report anonymous readers
// see: created_by is the name of the key that wrote the report, and key
// names may identify analysts. History hides its actors from them too (see
// Reader.Actor).
func IdentifyingProperties() []string { return []string{"created_by"} }

// PublicPolicy is what the operator lets anonymous readers see.
type PublicPolicy struct {
	// Read allows anonymous reading at all; without it anonymous requests
	// get 401.
	Read bool
	// Delay hides every report until this long after its observed_at.
	Delay time.Duration
	// PrecisionKm, when above zero, snaps troop-concentration geometry to a
	// grid of cells this size and drops the properties that pin a unit
	// down (see CoarsenedProperties).
	PrecisionKm float64
	// VerifiedOnly shows only reports whose verification is "verified".
	VerifiedOnly bool
}

// CoarsenedProperties are dropped from troop concentrations for readers who
// see them coarsened: movement direction and speed, the unit's identity, and
// the place name, which would undo the grid.
func CoarsenedProperties() []string {
	return []string{"heading_deg", "speed_kmh", "unit_designation", "higher_formation", "location_name"}
}

// String is a stable fingerprint of the policy for cache keys, so that
// entries made under other settings are never reused. It uses only
// letters, digits, '.' and '-', so it fits in an ETag or a header.
func (p PublicPolicy) String() string {
	v := 0
	if p.VerifiedOnly {
		v = 1
	}
	return fmt.Sprintf("d%s-p%s-v%d", p.Delay, strconv.FormatFloat(p.PrecisionKm, 'f', -1, 64), v)
}

// Access applies the access policy. It also tracks, for anonymous readers,
// the moments at which reports leave their embargo, so that a reader's cache
// key changes exactly when what they may see changes with time. It is safe
// for concurrent use.
type Access struct {
	public PublicPolicy
	now    func() time.Time

	mu      sync.RWMutex
	opens   btree.Map[int64, int] // unix nanoseconds → reports whose embargo ends then
	reports map[string]*Layer     // watched report layers, for derived features' sources
}

// NewAccess returns the access policy; now is the clock (time.Now when nil).
func NewAccess(p PublicPolicy, now func() time.Time) *Access {
	if now == nil {
		now = time.Now
	}
	return &Access{public: p, now: now}
}

// Public returns the operator's settings for anonymous readers.
func (a *Access) Public() PublicPolicy { return a.public }

// Watch starts tracking the embargo ends of a report layer. Call it at
// start-up, before the layer takes writes (it uses Layer.Subscribe).
func (a *Access) Watch(l *Layer) {
	if l.Kind != KindReports {
		return
	}
	a.mu.Lock()
	if a.reports == nil {
		a.reports = map[string]*Layer{}
	}
	a.reports[l.ID] = l
	a.mu.Unlock()
	l.Subscribe(func(ch Change) {
		a.mu.Lock()
		defer a.mu.Unlock()
		for _, f := range ch.Old {
			a.track(f, -1)
		}
		for _, f := range ch.New {
			a.track(f, +1)
		}
	})
	a.mu.Lock()
	defer a.mu.Unlock()
	l.Snapshot().All(func(f *Feature) bool {
		a.track(f, +1)
		return true
	})
}

func (a *Access) track(f *Feature, d int) {
	// Only reports that anonymous readers will see once their embargo
	// ends move the epoch: the end of a restricted report's embargo
	// changes nothing they see, and must not show in their ETags and
	// cache keys (it would tell that the report exists, and its time).
	if f == nil || !a.mayOpen(f) {
		return
	}
	t, ok := a.opensAt(f)
	if !ok || t.IsZero() {
		return
	}
	k := t.UnixNano()
	n, _ := a.opens.Get(k)
	if n+d <= 0 {
		a.opens.Delete(k)
	} else {
		a.opens.Set(k, n+d)
	}
}

// opensAt returns when f leaves its embargo for anonymous readers: the later
// of embargo_until and observed_at plus the public delay. The zero time
// means it is not embargoed; ok is false when the embargo cannot be read,
// and then f stays hidden (failing closed).
func (a *Access) opensAt(f *Feature) (t time.Time, ok bool) {
	r := f.access
	if r.embargoSet {
		if r.embargoBad {
			return time.Time{}, false
		}
		t = r.embargo
	}
	if a.public.Delay > 0 {
		obs := f.Start
		if r.observedSet {
			if r.observedBad {
				return time.Time{}, false
			}
			obs = r.observed
		}
		if obs.IsZero() {
			return time.Time{}, false
		}
		if d := obs.Add(a.public.Delay); d.After(t) {
			t = d
		}
	}
	return t, true
}

// reportAccess is what the anonymous rules read of a report (see
// Feature.access).
type reportAccess struct {
	public, verified bool // sensitivity "public", verification "verified"
	// embargo_until, when set and not null; bad when it is no time
	embargo                time.Time
	embargoSet, embargoBad bool
	// observed_at, when present; bad when it is no time (or null)
	observed                 time.Time
	observedSet, observedBad bool
}

func readAccess(p props.Props) reportAccess {
	var r reportAccess
	s, _ := p.String("sensitivity")
	v, _ := p.String("verification")
	r.public, r.verified = s == "public", v == "verified"
	var ok bool
	if raw, set := p.Raw("embargo_until"); set && raw != "null" {
		r.embargoSet = true
		r.embargo, ok = propTime(p, "embargo_until")
		r.embargoBad = !ok
	}
	if p.Has(ObservedAt) {
		r.observedSet = true
		r.observed, ok = propTime(p, ObservedAt)
		r.observedBad = !ok
	}
	return r
}

// epoch returns the latest embargo end at or before now, in unix
// nanoseconds (0 if none): two moments with the same epoch see the same
// reports out of embargo.
func (a *Access) epoch(now time.Time) int64 {
	a.mu.RLock()
	defer a.mu.RUnlock()
	var e int64
	a.opens.Descend(now.UnixNano(), func(k int64, _ int) bool {
		e = k
		return false
	})
	return e
}

// NextOpening returns the first embargo end after now, for callers that
// want to expire entries then; ok is false when there is none.
func (a *Access) NextOpening(now time.Time) (time.Time, bool) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	var next int64
	found := false
	a.opens.Ascend(now.UnixNano()+1, func(k int64, _ int) bool {
		next, found = k, true
		return false
	})
	if !found {
		return time.Time{}, false
	}
	return time.Unix(0, next).UTC(), true
}

// Reader returns what p sees, evaluated at the current time. It fails with
// a 401-coded error when p is anonymous and anonymous reading is off.
func (a *Access) Reader(p Principal) (Reader, error) {
	now := a.now()
	if p.Role.Keyed() {
		return Reader{Who: p, Key: "keyed", Now: now}, nil
	}
	if !a.public.Read {
		return Reader{}, Errorf(EUNAUTHORIZED, "anonymous reading is turned off on this server: send an API key with role viewer or higher as \"Authorization: Bearer <key>\"")
	}
	key := "public-" + a.public.String() + "-e" + strconv.FormatInt(a.epoch(now), 36)
	return Reader{Who: p, Key: key, Now: now, a: a}, nil
}

// Reader is one reader's view at one moment. The zero Reader hides nothing.
type Reader struct {
	Who Principal
	// Key names the audience and, for anonymous readers, the settings and
	// the embargo epoch: equal keys see the same features of the same data,
	// so caches and ETags must include it. It holds only letters, digits,
	// '.' and '-'.
	Key string
	// Now is the moment the view was taken; embargoes are judged against it.
	Now time.Time
	a   *Access // nil for keyed readers: they see everything
}

// Coarsens reports whether the reader sees some geometry snapped to a grid.
func (r Reader) Coarsens() bool { return r.a != nil && r.a.public.PrecisionKm > 0 }

// PrecisionKm returns the grid size the reader's troop concentrations are
// snapped to, or 0.
func (r Reader) PrecisionKm() float64 {
	if r.a == nil {
		return 0
	}
	return r.a.public.PrecisionKm
}

// Visible reports whether Show would return a feature, without making the
// copy Show may make: the cheap test for counting and filtering.
func (r Reader) Visible(l *Layer, f *Feature) bool {
	if r.a == nil || f == nil {
		return f != nil
	}
	switch l.Kind {
	case KindArea:
		return true
	case KindDerived:
		return r.showDerived(l, f) != nil
	}
	return r.a.visible(f, r.Now)
}

// Show returns f as the reader may see it: f itself, a coarsened copy, or
// nil when it is hidden. It never changes f. l is f's layer.
func (r Reader) Show(l *Layer, f *Feature) *Feature {
	p := r.Placed(l, f)
	if p == nil || p != f || r.a == nil || l.Kind != KindReports {
		return p
	}
	return withoutIdentity(p)
}

// Placed is Show short of dropping the identifying properties: nil when
// the reader may not see f, the coarsened copy Show gives when the reader
// sees f moved (Moves), and else f itself. The point index keeps reports
// this way, so that an audience's view of a million reports holds no copy
// of each; what it hands out still goes through Show.
func (r Reader) Placed(l *Layer, f *Feature) *Feature {
	if r.a == nil || f == nil {
		return f
	}
	switch l.Kind {
	case KindArea:
		return f
	case KindDerived:
		return r.showDerived(l, f)
	}
	if !r.a.visible(f, r.Now) {
		return nil
	}
	if r.Moves(l) {
		return coarsen(f, r.a.public.PrecisionKm)
	}
	return f
}

// Withheld returns the properties Show drops from l's features for this
// reader (none for keyed readers): an output that leaves them out may use
// Placed's feature instead of Show's copy.
func (r Reader) Withheld(l *Layer) []string {
	if r.a == nil || l.Kind != KindReports {
		return nil
	}
	if r.Moves(l) {
		return append(CoarsenedProperties(), IdentifyingProperties()...)
	}
	return IdentifyingProperties()
}

// Moves reports whether the reader sees l's features coarsened: then
// Placed and Show give the same copy.
func (r Reader) Moves(l *Layer) bool {
	return r.a != nil && l.ID == TroopConcentrations && r.a.public.PrecisionKm > 0
}

// Actor returns the name of who made a change as the reader may see it:
// the key's name for keyed readers, "" for anonymous ones.
func (r Reader) Actor(name string) string {
	if r.a != nil {
		return ""
	}
	return name
}

// withoutIdentity returns f, or a copy without the identifying properties
// when it has any.
func withoutIdentity(f *Feature) *Feature {
	has := false
	for _, k := range IdentifyingProperties() {
		if f.Props.Has(k) {
			has = true
		}
	}
	if !has {
		return f
	}
	c := *f
	c.Props = f.Props.Edit(nil, IdentifyingProperties()...)
	return &c
}

// showDerived decides on a feature derived from reports. A movement track
// joins every report of one unit and names the unit: anonymous readers see
// it only when they may see each of its reports, and never when troop
// concentrations are coarsened (the track would give back the positions and
// the unit the grid hides). Other derived layers stay hidden until they
// say where they come from.
func (r Reader) showDerived(l *Layer, f *Feature) *Feature {
	if l.ID != Movements || r.a.public.PrecisionKm > 0 {
		return nil
	}
	r.a.mu.RLock()
	src := r.a.reports[TroopConcentrations]
	r.a.mu.RUnlock()
	if src == nil {
		return nil
	}
	snap := src.Snapshot()
	ok := false
	each := func(id string) bool {
		rf, found := snap.Get(id)
		ok = found && r.a.visible(rf, r.Now)
		return ok
	}
	switch ids := f.Props.Get("report_ids").(type) {
	case []any:
		for _, v := range ids {
			if id, isStr := v.(string); !isStr || !each(id) {
				return nil
			}
		}
	case []string:
		for _, id := range ids {
			if !each(id) {
				return nil
			}
		}
	}
	if !ok {
		return nil // no sources named: fail closed
	}
	return f
}

// mayOpen reports whether anonymous readers may see f at some time: its
// sensitivity and verification allow it, whatever its embargo.
func (a *Access) mayOpen(f *Feature) bool {
	// restricted, and anything unreadable, fails closed.
	return f.access.public && (!a.public.VerifiedOnly || f.access.verified)
}

// visible applies the anonymous rules to a report.
func (a *Access) visible(f *Feature, now time.Time) bool {
	if !a.mayOpen(f) {
		return false
	}
	t, ok := a.opensAt(f)
	if !ok {
		return false
	}
	return !now.Before(t)
}

// coarsen returns a copy of f with its geometry snapped to the grid, the
// identifying properties dropped, ce_m raised to cover the cell and
// border_distance_km rounded to the cell size.
func coarsen(f *Feature, cellKm float64) *Feature {
	c := *f
	if f.Geometry != nil {
		c.Geometry = geo.SnapToGrid(f.Geometry, cellKm)
		if c.Geometry != nil {
			c.Bound = c.Geometry.Bound()
		}
	}
	half := math.Round(cellKm * 1000 * math.Sqrt2 / 2)
	set := map[string]any{}
	if ce, ok := f.Props.Number("ce_m"); !ok || ce < half {
		set["ce_m"] = half
	}
	if d, ok := f.Props.Number("border_distance_km"); ok {
		set["border_distance_km"] = math.Round(d/cellKm) * cellKm
	}
	c.Props = f.Props.Edit(set, append(CoarsenedProperties(), IdentifyingProperties()...)...)
	return &c
}

// Hides reports whether the reader may miss or see coarsened some features;
// when false, Show returns every feature as it is.
func (r Reader) Hides() bool { return r.a != nil }

// Authenticator resolves an API key (the bearer token of a request) to the
// key's actor. Unknown and revoked keys give an EUNAUTHORIZED error.
// *Reports is one.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (Actor, error)
}
