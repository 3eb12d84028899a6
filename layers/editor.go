package layers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"troopmap/layers/props"
)

// Event tells listeners about one committed change of one report. Feature
// is the report after the change (retracted for a delete), so that each
// listener can decide whether its audience may see it.
type Event struct {
	Collection string
	ID         string
	Op         Op
	Version    int
	Bound      orb.Bound
	Feature    *Feature
	// Old is the version before the change, nil for a create: a reader
	// who saw it and may not see Feature must be told it is gone.
	Old *Feature
}

// Precondition checks the current report before a change (If-Match); it
// returns an error, typically EPRECONDITION, to stop the change.
type Precondition func(cur *Feature) error

// ReportsConfig wires the report service.
type ReportsConfig struct {
	Store  Store
	Layers []*Layer // the writable report layers
	Places *Places  // nil: no zones, admin1 or border distance
	Rules  UploadRules
	Now    func() time.Time // default time.Now
	NewID  func() string    // default a new ULID
	// IdempotencyTTL is how long an Idempotency-Key is remembered; a key
	// older than this is treated as new and its record deleted. Default
	// DefaultIdempotencyTTL.
	IdempotencyTTL time.Duration
}

// DefaultIdempotencyTTL is how long Idempotency-Keys are remembered unless
// the operator says otherwise: long enough for any client's retries.
const DefaultIdempotencyTTL = 24 * time.Hour

// Reports is the write side of the report layers: it validates, commits to
// the store first and then publishes to the in-memory layer, so that a
// committed write is visible to the very next request and an unacknowledged
// one is never visible. Writes are serialised; readers never wait. It is safe
// for concurrent use.
type Reports struct {
	cfg    ReportsConfig
	layers map[string]*Layer
	mu     sync.Mutex // serialises writes: check, commit, publish
	subs   []func([]Event)
	timed  []func(time.Duration)
}

// NewReports builds the service; call Load before serving.
func NewReports(cfg ReportsConfig) *Reports {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.IdempotencyTTL <= 0 {
		cfg.IdempotencyTTL = DefaultIdempotencyTTL
	}
	if cfg.NewID == nil {
		cfg.NewID = func() string { return ulid.Make().String() }
	}
	r := &Reports{cfg: cfg, layers: map[string]*Layer{}}
	for _, l := range cfg.Layers {
		r.layers[l.ID] = l
	}
	return r
}

// Rules returns the upload rules.
func (r *Reports) Rules() UploadRules { return r.cfg.Rules }

// Subscribe registers fn to receive the events of every committed write, in
// commit order, in the writer's goroutine. fn must be quick and must not
// block. Call it during wiring, before writes start.
func (r *Reports) Subscribe(fn func([]Event)) { r.subs = append(r.subs, fn) }

// ObserveCommits registers fn to receive the duration of every store
// commit (for metrics). Call it during wiring, before writes start.
func (r *Reports) ObserveCommits(fn func(time.Duration)) { r.timed = append(r.timed, fn) }

// commit writes c to the store and reports how long it took.
func (r *Reports) commit(ctx context.Context, c Commit) error {
	start := time.Now()
	err := r.cfg.Store.Commit(ctx, c)
	if err == nil {
		for _, fn := range r.timed {
			fn(time.Since(start))
		}
	}
	return err
}

// Writable reports whether collection takes writes.
func (r *Reports) Writable(collection string) bool { _, ok := r.layers[collection]; return ok }

// Authenticate finds the actor for a bearer token (see Authenticate).
func (r *Reports) Authenticate(ctx context.Context, token string) (Actor, error) {
	return Authenticate(ctx, r.cfg.Store, token)
}

// KeyStore returns the store's API keys, for key management.
func (r *Reports) KeyStore() KeyStore { return r.cfg.Store }

// Load fills the report layers from the store.
func (r *Reports) Load(ctx context.Context) error {
	for _, l := range r.cfg.Layers {
		fs, err := r.cfg.Store.LoadReports(ctx, l.ID)
		if err != nil {
			return fmt.Errorf("load %s from store: %w", l.ID, err)
		}
		if err := l.Load(fs); err != nil {
			return fmt.Errorf("load %s: %w", l.ID, err)
		}
	}
	return nil
}

const samplesMeta = "samples_imported"

// ImportSamples stores the built-in sample reports, keeping their ids, the
// first time it runs against a store; later calls do nothing. It reports
// whether it imported.
func (r *Reports) ImportSamples(ctx context.Context, samples map[string][]*Feature) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, done, err := r.cfg.Store.Meta(ctx, samplesMeta); err != nil || done {
		return false, err
	}
	now := r.cfg.Now().UTC()
	actor := Actor{Name: "troopmap-samples", Role: Role{Name: "admin", Write: true, Verify: true, Admin: true}}
	var revs []Revision
	for _, l := range r.cfg.Layers {
		schema, _ := l.Schema()
		for _, f := range samples[l.ID] {
			props, errs := schema.Validate(f.Props.Map(), "/properties")
			if len(errs) > 0 {
				return false, fmt.Errorf("sample %s/%s: %s %s", l.ID, f.ID, errs[0].Pointer, errs[0].Message)
			}
			nf, err := r.build(f.ID, Draft{Geometry: f.Geometry, Properties: props}, nil, actor, now)
			if err != nil {
				return false, err
			}
			revs = append(revs, Revision{Collection: l.ID, ID: f.ID, Version: 1, Op: OpCreate, Actor: actor.Name, Time: now, Feature: nf})
		}
	}
	c := Commit{Revisions: revs, Meta: map[string]string{samplesMeta: now.Format(time.RFC3339)}}
	if err := r.commit(ctx, c); err != nil {
		return false, fmt.Errorf("import samples: %w", err)
	}
	return true, r.publish(revs)
}

// IdempotencyRequest identifies a POST sent with an Idempotency-Key.
type IdempotencyRequest struct {
	Key, RequestHash string
}

// Created is the answer to a create: the new reports, in upload order.
// Replayed is true when an Idempotency-Key matched an earlier request and
// nothing new was created; Features then hold the reports as first created.
type Created struct {
	Features []*Feature
	IDs      []string
	Batch    bool
	Replayed bool
}

// Create stores new reports, all or none, with server-assigned ids and
// properties. Only actors whose role may verify may set verification other
// than "submitted" (EFORBIDDEN). With idem, a repeated key returns the first
// answer; the same key with a different request gives EUNPROCESSABLE.
func (r *Reports) Create(ctx context.Context, actor Actor, collection string, drafts []Draft, batch bool, idem *IdempotencyRequest) (Created, error) {
	l, err := r.writable(collection, actor)
	if err != nil {
		return Created{}, err
	}
	for i, d := range drafts {
		if v, ok := d.Properties["verification"]; ok && v != "submitted" {
			if !actor.Role.Verify {
				return Created{}, verificationForbidden(batch, i)
			}
			if v == "retracted" {
				return Created{}, &Error{Code: EUNPROCESSABLE, Message: "a new report cannot be retracted",
					Details: []FieldError{{Pointer: featurePtr(batch, i) + "/properties/verification", Message: "a new report cannot be retracted"}}}
			}
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.cfg.Now().UTC()
	expired := now.Add(-r.cfg.IdempotencyTTL) // records created before this are forgotten
	if idem != nil {
		rec, found, err := r.cfg.Store.Idempotency(ctx, actor.Name, idem.Key)
		if err != nil {
			return Created{}, fmt.Errorf("idempotency lookup: %w", err)
		}
		if found && !rec.Created.Before(expired) {
			return r.replay(ctx, rec, idem)
		}
	}
	revs := make([]Revision, len(drafts))
	ids := make([]string, len(drafts))
	for i, d := range drafts {
		if i&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return Created{}, err
			}
		}
		id := r.cfg.NewID()
		f, err := r.build(id, d, nil, actor, now)
		if err != nil {
			return Created{}, err
		}
		ids[i] = id
		revs[i] = Revision{Collection: l.ID, ID: id, Version: 1, Op: OpCreate, Actor: actor.Name, Time: now, Feature: f}
	}
	c := Commit{Revisions: revs, ExpireIdempotency: expired}
	if idem != nil {
		c.Idempotency = &IdempotencyRecord{Actor: actor.Name, Key: idem.Key, RequestHash: idem.RequestHash,
			Collection: l.ID, IDs: ids, Batch: batch, Created: now}
	}
	if err := r.commit(ctx, c); err != nil {
		return Created{}, fmt.Errorf("commit %d report(s) to %s: %w", len(revs), l.ID, err)
	}
	fs := make([]*Feature, len(revs))
	for i, rv := range revs {
		fs[i] = rv.Feature
	}
	return Created{Features: fs, IDs: ids, Batch: batch}, r.publish(revs)
}

func (r *Reports) replay(ctx context.Context, rec IdempotencyRecord, idem *IdempotencyRequest) (Created, error) {
	if rec.RequestHash != idem.RequestHash {
		return Created{}, Errorf(EUNPROCESSABLE, "Idempotency-Key %q was already used for a different request; use a new key for a new upload", idem.Key)
	}
	out := Created{IDs: rec.IDs, Batch: rec.Batch, Replayed: true}
	if !rec.Batch && len(rec.IDs) == 1 {
		revs, err := r.cfg.Store.History(ctx, rec.Collection, rec.IDs[0])
		if err != nil {
			return Created{}, fmt.Errorf("replay: %w", err)
		}
		first := revs[len(revs)-1]
		out.Features = []*Feature{first.Feature}
	}
	return out, nil
}

func featurePtr(batch bool, i int) string {
	if batch {
		return fmt.Sprintf("/features/%d", i)
	}
	return ""
}

func verificationForbidden(batch bool, i int) error {
	msg := "setting or changing verification needs role editor or higher; leave it out, or ask an editor"
	return &Error{Code: EFORBIDDEN, Message: msg,
		Details: []FieldError{{Pointer: featurePtr(batch, i) + "/properties/verification", Message: msg}}}
}

// Replace replaces a report's geometry and properties (PUT). Server-set
// properties are kept or advanced; verification may change only for actors
// whose role may verify. Setting verification to retracted retracts it.
func (r *Reports) Replace(ctx context.Context, actor Actor, collection, id string, d Draft, check Precondition) (*Feature, error) {
	return r.change(ctx, actor, collection, id, check, OpReplace, func(*Feature) (Draft, error) { return d, nil })
}

// Patch applies an RFC 7396 merge patch to a report's GeoJSON (PATCH) and
// validates the result as a whole report.
func (r *Reports) Patch(ctx context.Context, actor Actor, collection, id string, patch any, check Precondition) (*Feature, error) {
	schema, _ := ReportSchema(collection)
	return r.change(ctx, actor, collection, id, check, OpUpdate, func(cur *Feature) (Draft, error) {
		if _, ok := patch.(map[string]any); !ok {
			return Draft{}, Errorf(EUNPROCESSABLE, "a merge patch for a report must be a JSON object")
		}
		curv, err := featureValue(cur)
		if err != nil {
			return Draft{}, err
		}
		merged, _ := MergePatch(curv, patch).(map[string]any)
		d, errs := decodeFeature(merged, "", schema, r.cfg.Rules)
		if len(errs) > 0 {
			return Draft{}, unprocessable(1, 0, errs)
		}
		return d, nil
	})
}

// Retract soft-deletes a report: its verification becomes retracted, it
// leaves the current view and stays in history.
func (r *Reports) Retract(ctx context.Context, actor Actor, collection, id string, check Precondition) (*Feature, error) {
	return r.change(ctx, actor, collection, id, check, OpDelete, func(cur *Feature) (Draft, error) {
		props := cur.Props.Map()
		props["verification"] = "retracted"
		return Draft{Geometry: cur.Geometry, Properties: props}, nil
	})
}

func (r *Reports) change(ctx context.Context, actor Actor, collection, id string, check Precondition, op Op, next func(cur *Feature) (Draft, error)) (*Feature, error) {
	l, err := r.writable(collection, actor)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	cur, ok := l.Snapshot().Get(id)
	if !ok {
		return nil, Errorf(ENOTFOUND, "report %q does not exist in %s (or was retracted)", id, collection)
	}
	owner, _ := cur.Props.String("created_by")
	if err := CanChangeReport(actor, owner); err != nil {
		return nil, err
	}
	if check != nil {
		if err := check(cur); err != nil {
			return nil, err
		}
	}
	d, err := next(cur)
	if err != nil {
		return nil, err
	}
	if v, ok := d.Properties["verification"]; ok && v != cur.Props.Get("verification") && op != OpDelete && !actor.Role.Verify {
		return nil, verificationForbidden(false, 0)
	}
	now := r.cfg.Now().UTC()
	f, err := r.build(id, d, cur, actor, now)
	if err != nil {
		return nil, err
	}
	if v, _ := f.Props.String("verification"); v == "retracted" {
		op = OpDelete
	}
	rev := Revision{Collection: l.ID, ID: id, Version: VersionOf(f), Op: op, Actor: actor.Name, Time: now, Feature: f}
	if err := r.commit(ctx, Commit{Revisions: []Revision{rev}}); err != nil {
		return nil, fmt.Errorf("commit %s of %s/%s: %w", op, collection, id, err)
	}
	return f, r.publish([]Revision{rev})
}

func (r *Reports) writable(collection string, actor Actor) (*Layer, error) {
	if err := Require(actor, RoleAnalyst, "writing reports"); err != nil {
		return nil, err
	}
	l, ok := r.layers[collection]
	if !ok {
		return nil, Errorf(EMETHOD, "collection %q does not take writes; reports go to %s or %s", collection, TroopConcentrations, Incidents)
	}
	return l, nil
}

// build makes the stored feature: the draft plus server-set properties.
// cur is the current version for changes, nil for creates.
func (r *Reports) build(id string, d Draft, cur *Feature, actor Actor, now time.Time) (*Feature, error) {
	props := make(map[string]any, len(d.Properties)+10)
	for k, v := range d.Properties {
		props[k] = v
	}
	ts := now.Format("2006-01-02T15:04:05.000Z")
	props["id"] = id
	props["updated_at"] = ts
	if cur == nil {
		props["version"] = 1
		props["created_by"] = actor.Name
		props["created_at"] = ts
		if props["verification"] == nil {
			props["verification"] = "submitted"
		}
	} else {
		props["version"] = VersionOf(cur) + 1
		props["created_by"] = cur.Props.Get("created_by")
		props["created_at"] = cur.Props.Get("created_at")
		if props["verification"] == nil {
			props["verification"] = cur.Props.Get("verification")
		}
	}
	delete(props, PropZones)
	delete(props, PropAdmin1)
	delete(props, PropBorderKm)
	if r.cfg.Places != nil && d.Geometry != nil {
		r.cfg.Places.Locate(d.Geometry).SetOn(props)
	}
	return NewFeature(id, d.Geometry, props, ReportTimeKeys()...), nil
}

// publish makes committed revisions visible and tells subscribers. It runs
// after the commit, so it must not fail on input; an error here means a bug.
func (r *Reports) publish(revs []Revision) error {
	byLayer := map[string][]Revision{}
	var order []string
	for _, rv := range revs {
		if _, seen := byLayer[rv.Collection]; !seen {
			order = append(order, rv.Collection)
		}
		byLayer[rv.Collection] = append(byLayer[rv.Collection], rv)
	}
	events := make([]Event, 0, len(revs))
	for _, coll := range order {
		l := r.layers[coll]
		before := l.Snapshot() // writes are serialised by r.mu
		err := l.Update(func(w *Writer) error {
			for _, rv := range byLayer[coll] {
				if rv.Op == OpDelete {
					w.Delete(rv.ID)
					continue
				}
				if err := w.Put(rv.Feature); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("publish to %s after commit: %w", coll, err)
		}
		for _, rv := range byLayer[coll] {
			old, _ := before.Get(rv.ID)
			events = append(events, Event{Collection: coll, ID: rv.ID, Op: rv.Op, Version: rv.Version, Bound: rv.Feature.Bound, Feature: rv.Feature, Old: old})
		}
	}
	for _, fn := range r.subs {
		fn(events)
	}
	return nil
}

// History returns a report's revisions, newest first, including retracted
// reports.
func (r *Reports) History(ctx context.Context, collection, id string) ([]Revision, error) {
	if _, ok := r.layers[collection]; !ok {
		return nil, Errorf(ENOTFOUND, "collection %q has no history; only %s and %s do", collection, TroopConcentrations, Incidents)
	}
	return r.cfg.Store.History(ctx, collection, id)
}

// VersionOf returns a report's version property, 0 when it has none.
func VersionOf(f *Feature) int {
	v, _ := f.Props.Number("version")
	return int(v)
}

// MarshalFeature encodes a feature as a GeoJSON Feature.
func MarshalFeature(f *Feature) ([]byte, error) {
	b := append(make([]byte, 0, 64+len(f.Props.JSON())), `{"id":`...)
	b = props.AppendString(b, f.ID)
	b = append(b, `,"type":"Feature","geometry":`...)
	if f.Geometry == nil {
		b = append(b, "null"...)
	} else {
		g, err := json.Marshal(geojson.NewGeometry(f.Geometry))
		if err != nil {
			return nil, fmt.Errorf("marshal feature %s: %w", f.ID, err)
		}
		b = append(b, g...)
	}
	b = append(b, `,"properties":`...)
	b = append(b, f.Props.JSON()...) // JSON text already, copied
	return append(b, '}'), nil
}

// UnmarshalFeature decodes what MarshalFeature wrote.
func UnmarshalFeature(b []byte) (*Feature, error) {
	gf, err := geojson.UnmarshalFeature(b)
	if err != nil {
		return nil, fmt.Errorf("unmarshal feature: %w", err)
	}
	return NewFeature(idString(gf.ID), gf.Geometry, map[string]any(gf.Properties), ReportTimeKeys()...), nil
}

// featureValue returns f as decoded JSON with numbers as json.Number, the
// form decodeFeature checks.
func featureValue(f *Feature) (map[string]any, error) {
	b, err := MarshalFeature(f)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("re-read feature %s: %w", f.ID, err)
	}
	return m, nil
}
