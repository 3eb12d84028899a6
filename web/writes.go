package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"troopmap/layers"
)

// Writes follow OGC API – Features Part 4 (create, replace, update, delete)
// on the report collections. Each write is validated, committed to the store
// and only then answered; the reports service publishes it to the layer
// before it returns, so the next request sees it.

const (
	mediaGeoJSON    = "application/geo+json"
	mediaJSON       = "application/json"
	mediaMergePatch = "application/merge-patch+json"
)

// SetReports wires the write side. Call it before the reports are loaded and
// before SetCatalog; until then writes answer 503.
func (s *Server) SetReports(r *layers.Reports) {
	r.Subscribe(s.hub.publish)
	r.ObserveCommits(func(d time.Duration) { s.metrics.storeWrite.Observe(d.Seconds()) })
	s.reports.Store(r)
}

// featureETag is the entity tag of one report as a reader sees it: its
// version and the reader's audience, so coarsened and full views differ.
func featureETag(v view, f *layers.Feature) string {
	return fmt.Sprintf(`"%d-%s"`, layers.VersionOf(f), v.Key)
}

// writeTarget resolves a writable report collection for a write request.
func (s *Server) writeTarget(c echo.Context, allow string) (*layers.Reports, *layers.Layer, error) {
	cat, err := s.Catalog()
	if err != nil {
		return nil, nil, err
	}
	l, err := cat.Lookup(c.Param("id"))
	if err != nil {
		return nil, nil, err
	}
	r := s.reports.Load()
	if r == nil || !r.Writable(l.ID) {
		c.Response().Header().Set("Allow", allow)
		return nil, nil, layers.Errorf(layers.EMETHOD, "collection %q is read-only; reports are written to %s and %s", l.ID, layers.TroopConcentrations, layers.Incidents)
	}
	return r, l, nil
}

// writeRequest checks a write before its body is read: a writable
// collection, an actor (401 without one) and, when types are given, the
// body's Content-Type.
func (s *Server) writeRequest(c echo.Context, types ...string) (*layers.Reports, *layers.Layer, layers.Actor, error) {
	r, l, err := s.writeTarget(c, "GET, HEAD, OPTIONS")
	if err != nil {
		return nil, nil, layers.Actor{}, err
	}
	actor, err := s.actorOf(c, r)
	if err != nil {
		return nil, nil, layers.Actor{}, err
	}
	if len(types) > 0 {
		if err := requireType(c, types...); err != nil {
			return nil, nil, layers.Actor{}, err
		}
	}
	return r, l, actor, nil
}

// actorKey carries an actor set by HandlerAs; no network request can set it.
type actorKey struct{}

// HandlerAs returns the server's handler with every request made by actor,
// without an API key. It is for in-process use by the command line
// (troopmap import --store), never for a listener.
func (s *Server) HandlerAs(a layers.Actor) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.echo.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), actorKey{}, a)))
	})
}

// actorOf returns the key behind a write (the authenticate middleware has
// checked it), or the actor of HandlerAs; without one the write gets 401.
func (s *Server) actorOf(c echo.Context, _ *layers.Reports) (layers.Actor, error) {
	if a, ok := ctx(c).Value(actorKey{}).(layers.Actor); ok {
		return a, nil
	}
	if p := principal(c); p.Role.Keyed() {
		return p, nil
	}
	c.Response().Header().Set("WWW-Authenticate", `Bearer realm="troopmap"`)
	return layers.Actor{}, layers.Errorf(layers.EUNAUTHORIZED,
		"writes need an API key of role analyst or higher: send the header Authorization: Bearer <key>. An operator creates keys with: troopmap keys add --name YOUR-NAME --role analyst")
}

// requireType checks the request's Content-Type against the accepted types.
func requireType(c echo.Context, accepted ...string) error {
	// Compressed bodies are refused rather than inflated: a small gzip body
	// can expand past every memory bound.
	if ce := c.Request().Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		return layers.Errorf(layers.EUNSUPPORTED, "Content-Encoding %q is not accepted; send the body uncompressed", ce)
	}
	ct := c.Request().Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil {
		for _, a := range accepted {
			if mt == a {
				return nil
			}
		}
	}
	return layers.Errorf(layers.EUNSUPPORTED, "Content-Type %q is not accepted here; send %s", ct, strings.Join(accepted, " or "))
}

// readBody reads the whole request body up to the configured limit.
func (s *Server) readBody(c echo.Context) ([]byte, error) {
	return s.readBodyLimit(c, s.limits.MaxBodyBytes)
}

// readBodyLimit reads the whole request body up to limit bytes (at most the
// configured body limit).
func (s *Server) readBodyLimit(c echo.Context, limit int64) ([]byte, error) {
	body, err := io.ReadAll(s.bodyReader(c, limit))
	if err != nil {
		return nil, err
	}
	return body, nil
}

// bodyReader is the request body cut at limit bytes (at most the configured
// body limit), with read errors turned into domain errors: 413 past the
// limit, 400 for a broken connection.
func (s *Server) bodyReader(c echo.Context, limit int64) io.Reader {
	limit = min(limit, s.limits.MaxBodyBytes)
	return &limitedBody{r: http.MaxBytesReader(c.Response(), c.Request().Body, limit), limit: limit}
}

type limitedBody struct {
	r     io.Reader
	limit int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	var mbe *http.MaxBytesError
	switch {
	case err == nil || err == io.EOF:
		return n, err
	case errors.As(err, &mbe):
		return n, layers.Errorf(layers.ETOOLARGE, "request body is larger than the limit of %d bytes; split the upload into smaller batches", b.limit)
	}
	return n, layers.Errorf(layers.EINVALID, "reading request body: %v", err)
}

// writeFeature answers with one report as the reader may see it.
func (s *Server) writeFeature(c echo.Context, status int, l *layers.Layer, f *layers.Feature) error {
	v := s.viewOf(c)
	shown := v.Show(l, f)
	if shown == nil {
		return c.NoContent(status)
	}
	b, err := layers.MarshalFeature(shown)
	if err != nil {
		return err
	}
	c.Response().Header().Set("ETag", featureETag(v, shown))
	return c.Blob(status, mediaGeoJSON, b)
}

func (s *Server) itemURL(c echo.Context, collection, id string) string {
	return s.baseURL(c.Request()) + "/collections/" + collection + "/items/" + id
}

// handleCreateItems is POST /collections/{collectionId}/items.
func (s *Server) handleCreateItems(c echo.Context) error {
	r, l, actor, err := s.writeRequest(c, append([]string{mediaGeoJSON, mediaJSON}, importTypes()...)...)
	if err != nil {
		return err
	}
	key := c.Request().Header.Get("Idempotency-Key")
	if len(key) > 255 {
		return layers.Errorf(layers.EINVALID, "header Idempotency-Key: at most 255 characters")
	}
	body := s.bodyReader(c, s.limits.MaxBodyBytes)
	// The key's request hash covers the body as sent, hashed as it is read.
	h := sha256.New()
	if key != "" {
		fmt.Fprintf(h, "POST %s\n", l.ID)
		body = io.TeeReader(body, h)
	}
	schema, _ := l.Schema()
	upload, file, err := s.importBody(c, body, schema)
	if err != nil {
		return err
	}
	drafts, batch, err := layers.DecodeUploadReader(ctx(c), upload, schema, r.Rules())
	if err != nil {
		return placeErrors(ctx(c), err, file)
	}
	var idem *layers.IdempotencyRequest
	if key != "" {
		idem = &layers.IdempotencyRequest{Key: key, RequestHash: hex.EncodeToString(h.Sum(nil))}
	}
	res, err := r.Create(ctx(c), actor, l.ID, drafts, batch, idem)
	if err != nil {
		return placeErrors(ctx(c), err, file)
	}
	if res.Replayed {
		c.Response().Header().Set("Idempotent-Replayed", "true")
	}
	if !res.Batch {
		c.Response().Header().Set("Location", s.itemURL(c, l.ID, res.IDs[0]))
		return s.writeFeature(c, http.StatusCreated, l, res.Features[0])
	}
	return c.JSON(http.StatusCreated, map[string]any{
		"numberCreated": len(res.IDs),
		"ids":           res.IDs,
		"links": []map[string]string{{"rel": "items", "type": mediaGeoJSON,
			"href": s.baseURL(c.Request()) + "/collections/" + l.ID + "/items"}},
	})
}

// ifMatch turns an If-Match header into a precondition on the current
// report: its ETag, as this reader sees it, must be one of those listed.
func (s *Server) ifMatch(c echo.Context, l *layers.Layer) layers.Precondition {
	h := strings.TrimSpace(c.Request().Header.Get("If-Match"))
	if h == "" {
		return nil
	}
	v := s.viewOf(c)
	return func(cur *layers.Feature) error {
		if h == "*" {
			return nil
		}
		shown := v.Show(l, cur)
		if shown == nil {
			return layers.Errorf(layers.ENOTFOUND, "report %q does not exist", cur.ID)
		}
		tag := featureETag(v, shown)
		for _, t := range strings.Split(h, ",") {
			if strings.TrimSpace(t) == tag {
				return nil
			}
		}
		return layers.Errorf(layers.EPRECONDITION, "If-Match %s does not match the report's current ETag %s: someone changed it; GET it again and reapply your change", h, tag)
	}
}

// handleReplaceItem is PUT /collections/{collectionId}/items/{featureId}.
func (s *Server) handleReplaceItem(c echo.Context) error {
	r, l, actor, err := s.writeRequest(c, mediaGeoJSON, mediaJSON)
	if err != nil {
		return err
	}
	schema, _ := l.Schema()
	d, err := layers.DecodeFeatureReader(ctx(c), s.bodyReader(c, s.limits.MaxBodyBytes), schema, r.Rules())
	if err != nil {
		return err
	}
	f, err := r.Replace(ctx(c), actor, l.ID, c.Param("fid"), d, s.ifMatch(c, l))
	if err != nil {
		return err
	}
	return s.writeFeature(c, http.StatusOK, l, f)
}

// handlePatchItem is PATCH /collections/{collectionId}/items/{featureId}
// with an RFC 7396 merge patch of the report's GeoJSON.
func (s *Server) handlePatchItem(c echo.Context) error {
	r, l, actor, err := s.writeRequest(c, mediaMergePatch, mediaJSON)
	if err != nil {
		return err
	}
	// A patch changes one report, so it gets one feature's byte limit:
	// it is decoded whole.
	body, err := s.readBodyLimit(c, r.Rules().MaxFeatureBytes)
	if err != nil {
		return err
	}
	patch, err := layers.DecodeJSON(body)
	if err != nil {
		return err
	}
	f, err := r.Patch(ctx(c), actor, l.ID, c.Param("fid"), patch, s.ifMatch(c, l))
	if err != nil {
		return err
	}
	if v, _ := f.Props.String("verification"); v == "retracted" {
		return c.NoContent(http.StatusNoContent)
	}
	return s.writeFeature(c, http.StatusOK, l, f)
}

// handleDeleteItem is DELETE /collections/{collectionId}/items/{featureId}:
// a soft delete that retracts the report.
func (s *Server) handleDeleteItem(c echo.Context) error {
	r, l, actor, err := s.writeRequest(c)
	if err != nil {
		return err
	}
	if _, err := r.Retract(ctx(c), actor, l.ID, c.Param("fid"), s.ifMatch(c, l)); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// handleOptionsItems answers OPTIONS on a collection's items with Allow;
// QGIS enables editing only when POST is listed.
func (s *Server) handleOptionsItems(c echo.Context) error {
	l, err := s.layer(c)
	if err != nil {
		return err
	}
	return s.allow(c, l, "POST")
}

// handleOptionsItem answers OPTIONS on one item with Allow.
func (s *Server) handleOptionsItem(c echo.Context) error {
	l, err := s.layer(c)
	if err != nil {
		return err
	}
	f, ok := l.Snapshot().Get(c.Param("fid"))
	if !ok || s.viewOf(c).Show(l, f) == nil {
		return layers.Errorf(layers.ENOTFOUND, "feature %q does not exist in %s", c.Param("fid"), l.ID)
	}
	return s.allow(c, l, "PUT, PATCH, DELETE")
}

// allow answers OPTIONS: reads always, the given write methods only on
// writable report layers.
func (s *Server) allow(c echo.Context, l *layers.Layer, writes string) error {
	allow := "GET, HEAD, OPTIONS"
	if r := s.reports.Load(); r != nil && r.Writable(l.ID) {
		allow = "GET, HEAD, " + writes + ", OPTIONS"
	}
	c.Response().Header().Set("Allow", allow)
	return c.NoContent(http.StatusOK)
}

// handleHistory is GET /collections/{collectionId}/items/{featureId}/history:
// every version of a report, newest first, with actor and time.
func (s *Server) handleHistory(c echo.Context) error {
	l, err := s.layer(c)
	if err != nil {
		return err
	}
	r := s.reports.Load()
	if r == nil || !r.Writable(l.ID) {
		return layers.Errorf(layers.ENOTFOUND, "collection %q keeps no history", l.ID)
	}
	id := c.Param("fid")
	revs, err := r.History(ctx(c), l.ID, id)
	if err != nil {
		return err
	}
	v := s.viewOf(c)
	// A report the reader may not see now (restricted or embargoed since)
	// shows none of its history, not even the versions that were public.
	if len(revs) > 0 && v.Show(l, revs[0].Feature) == nil {
		return layers.Errorf(layers.ENOTFOUND, "report %q has no history in %s", id, l.ID)
	}
	type entry struct {
		Version   int             `json:"version"`
		Operation layers.Op       `json:"operation"`
		Actor     string          `json:"actor,omitempty"` // hidden from anonymous readers
		Time      string          `json:"time"`
		Feature   json.RawMessage `json:"feature"`
	}
	out := make([]entry, 0, len(revs))
	for _, rv := range revs {
		shown := v.Show(l, rv.Feature)
		if shown == nil {
			continue
		}
		b, err := layers.MarshalFeature(shown)
		if err != nil {
			return err
		}
		out = append(out, entry{rv.Version, rv.Op, v.Reader.Actor(rv.Actor), rv.Time.UTC().Format("2006-01-02T15:04:05.000Z"), b})
	}
	if len(out) == 0 {
		return layers.Errorf(layers.ENOTFOUND, "report %q has no history in %s", id, l.ID)
	}
	return c.JSON(http.StatusOK, map[string]any{
		"collection": l.ID, "id": id, "versions": out,
		"links": []map[string]string{{"rel": "about", "type": mediaGeoJSON, "href": s.itemURL(c, l.ID, id)}},
	})
}

// itemETag is the ETag of any item: the report version for reports, else
// the layer snapshot version (area features change only with their layer).
func itemETag(v view, l *layers.Layer, f *layers.Feature) string {
	if layers.VersionOf(f) > 0 {
		return featureETag(v, f)
	}
	return fmt.Sprintf(`"s%d-%s"`, l.Snapshot().Version(), v.Key)
}

// writeAPIPaths documents the write, history and event routes.
func (s *Server) writeAPIPaths(paths obj, cat *layers.Catalog) {
	r := s.reports.Load() // nil while loading: document the report layers
	auth := obj{"name": "Authorization", "in": "header", "required": true,
		"description": "Bearer <key>; keys come from `troopmap keys add`", "schema": obj{"type": "string"}}
	ifMatch := obj{"name": "If-Match", "in": "header", "required": false,
		"description": "the ETag you read; a stale one gets 412", "schema": obj{"type": "string"}}
	idem := obj{"name": "Idempotency-Key", "in": "header", "required": false,
		"description": "a retried POST with the same key returns the first answer and creates nothing", "schema": obj{"type": "string", "maxLength": 255}}
	featureBody := func(types ...string) obj {
		content := obj{}
		for _, t := range types {
			content[t] = obj{"schema": obj{"type": "object"}}
		}
		return obj{"required": true, "content": content}
	}
	feature := obj{"description": "the report as stored, with its ETag", "headers": obj{"ETag": obj{"schema": obj{"type": "string"}}},
		"content": obj{mediaGeoJSON: obj{"schema": ref("featureGeoJSON")}}}
	allow := obj{"200": obj{"description": "the methods allowed, in the Allow header", "headers": obj{"Allow": obj{"schema": obj{"type": "string"}}}}}
	for _, l := range cat.Layers() {
		p := "/collections/" + l.ID + "/items"
		items, _ := paths[p].(obj)
		item, _ := paths[p+"/{featureId}"].(obj)
		if items == nil || item == nil {
			continue
		}
		items["options"] = op("options-"+l.ID, l.Title+": methods", "The methods this collection's items allow.", []any{}, obj{"200": allow["200"]}, "404")
		item["options"] = op("optionsItem-"+l.ID, l.Title+": methods of one feature", "The methods one feature allows.", []any{ref("featureId")}, obj{"200": allow["200"]}, "404")
		if r != nil && !r.Writable(l.ID) || r == nil && l.Kind != layers.KindReports {
			continue
		}
		post := op("create-"+l.ID, l.Title+": upload reports",
			"A GeoJSON Feature (201 with Location) or a FeatureCollection of up to the batch limit, stored all or nothing (201 with the new ids). The server assigns ids and server-set properties.",
			[]any{auth, idem}, obj{"201": obj{"description": "created", "headers": obj{"Location": obj{"schema": obj{"type": "string"}}},
				"content": obj{mediaGeoJSON: obj{"schema": obj{"type": "object"}}, mediaJSON: obj{"schema": obj{"type": "object"}}}}},
			"400", "401", "403", "404", "405", "413", "415", "422", "503")
		post["requestBody"] = featureBody(mediaGeoJSON, mediaJSON)
		items["post"] = post
		put := op("replace-"+l.ID, l.Title+": replace a report", "Replaces a report's geometry and properties; its version goes up by one.",
			[]any{ref("featureId"), auth, ifMatch}, obj{"200": feature}, "400", "401", "403", "404", "412", "413", "415", "422")
		put["requestBody"] = featureBody(mediaGeoJSON, mediaJSON)
		item["put"] = put
		patch := op("update-"+l.ID, l.Title+": update a report", "An RFC 7396 merge patch of the report's GeoJSON; null removes a property.",
			[]any{ref("featureId"), auth, ifMatch}, obj{"200": feature}, "400", "401", "403", "404", "412", "413", "415", "422")
		patch["requestBody"] = featureBody(mediaMergePatch, mediaJSON)
		item["patch"] = patch
		item["delete"] = op("retract-"+l.ID, l.Title+": retract a report", "A soft delete: the report is retracted, leaves the current view and stays in its history.",
			[]any{ref("featureId"), auth, ifMatch}, obj{"204": obj{"description": "retracted"}}, "401", "403", "404", "412")
		paths[p+"/{featureId}/history"] = obj{"get": op("history-"+l.ID, l.Title+": history of a report",
			"Every version of a report, newest first, with operation, actor, time and the full feature.",
			[]any{ref("featureId")}, obj{"200": obj{"description": "the versions", "content": obj{mimeJSON: obj{"schema": obj{"type": "object"}}}}}, "404", "503")}
	}
	paths["/events"] = obj{"get": op("getEvents", "Live changes", "A Server-Sent Events stream: each committed change of a report sends one event named change with data {collection, id, op, version, bbox}. Event ids are <commit>-<index>; a client reconnecting with Last-Event-ID first gets the events it missed, or an event named reset when they are no longer held (it should then refetch). Clients that fall behind are dropped (event dropped) and should reconnect.",
		[]any{obj{"name": "Last-Event-ID", "in": "header", "required": false,
			"description": "the id of the last event received; the events since then are sent first", "schema": obj{"type": "string"}}},
		obj{"200": obj{"description": "the event stream", "content": obj{"text/event-stream": obj{"schema": obj{"type": "string"}}}}}, "503")}
}
