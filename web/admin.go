package web

import (
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"troopmap/layers"
)

// Key management over HTTP, for admins only: list, create and revoke API
// keys, and read the audit trail of those changes. The store records every
// change with the acting key's name in the same transaction as the change.
// Secrets are shown once, in the answer to the POST that made them; no
// answer ever holds a salt or hash.

// adminStore returns the key store behind the report service, after
// checking that the request comes from an admin.
func (s *Server) adminStore(c echo.Context) (layers.KeyStore, layers.Actor, error) {
	p := principal(c)
	if err := layers.Require(p, layers.RoleAdmin, "managing API keys"); err != nil {
		if !p.Role.Keyed() {
			c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="troopmap"`)
		}
		return nil, p, err
	}
	// No shared or browser cache keeps what admins see here.
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	r := s.reports.Load()
	if r == nil {
		return nil, p, layers.Errorf(layers.EUNAVAILABLE, "this server has no key store yet; keys live in the store given with --store")
	}
	return r.KeyStore(), p, nil
}

// keyInfo is a key as admins see it: never its secret, salt or hash.
type keyInfo struct {
	Name    string `json:"name"`
	Role    string `json:"role"`
	Status  string `json:"status"` // active or revoked
	Created string `json:"created"`
	Revoked string `json:"revoked,omitempty"`
	Links   []link `json:"links"`
}

func (s *Server) keyInfo(c echo.Context, k layers.Key) keyInfo {
	ki := keyInfo{Name: k.Name, Role: k.Role, Status: "active", Created: k.Created.UTC().Format(time.RFC3339)}
	if !k.Revoked.IsZero() {
		ki.Status, ki.Revoked = "revoked", k.Revoked.UTC().Format(time.RFC3339)
	}
	base := s.baseURL(c.Request())
	ki.Links = []link{
		{Href: base + "/admin/keys/" + url.PathEscape(k.Name), Rel: "self", Type: mimeJSON, Title: "this key"},
		{Href: base + "/admin/audit?key=" + url.QueryEscape(k.Name), Rel: "related", Type: mimeJSON, Title: "changes of this key"},
	}
	return ki
}

// keyParam is the {name} of /admin/keys/{name}, unescaped.
func keyParam(c echo.Context) (string, error) {
	name, err := url.PathUnescape(c.Param("name"))
	if err != nil {
		return "", layers.Errorf(layers.EINVALID, "path: the key name %q is not validly escaped", c.Param("name"))
	}
	return name, nil
}

// handleListKeys is GET /admin/keys: every key, revoked ones included.
func (s *Server) handleListKeys(c echo.Context) error {
	ks, _, err := s.adminStore(c)
	if err != nil {
		return err
	}
	if err := checkParams(c); err != nil {
		return err
	}
	keys, err := ks.Keys(ctx(c))
	if err != nil {
		return err
	}
	out := make([]keyInfo, 0, len(keys))
	for _, k := range keys {
		out = append(out, s.keyInfo(c, k))
	}
	return c.JSON(http.StatusOK, map[string]any{"keys": out})
}

// handleGetKey is GET /admin/keys/{name}.
func (s *Server) handleGetKey(c echo.Context) error {
	ks, _, err := s.adminStore(c)
	if err != nil {
		return err
	}
	if err := checkParams(c); err != nil {
		return err
	}
	name, err := keyParam(c)
	if err != nil {
		return err
	}
	k, err := layers.KeyNamed(ctx(c), ks, name)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.keyInfo(c, k))
}

// handleCreateKey is POST /admin/keys with {"name": ..., "role": ...}. The
// answer holds the token, once; the server keeps only its hash.
func (s *Server) handleCreateKey(c echo.Context) error {
	ks, actor, err := s.adminStore(c)
	if err != nil {
		return err
	}
	if err := requireType(c, mediaJSON); err != nil {
		return err
	}
	body, err := s.readBody(c)
	if err != nil {
		return err
	}
	name, role, err := parseNewKey(body)
	if err != nil {
		return err
	}
	token, k, err := layers.CreateKey(ctx(c), ks, actor, name, role, s.acc.now())
	if err != nil {
		return err
	}
	info := s.keyInfo(c, k)
	c.Response().Header().Set(echo.HeaderLocation, info.Links[0].Href)
	return c.JSON(http.StatusCreated, struct {
		keyInfo
		Key  string `json:"key"`
		Note string `json:"note"`
	}{info, token, "the key is shown only this once; send it as: Authorization: Bearer <key>"})
}

// parseNewKey reads the body of POST /admin/keys: an object with the
// strings name and role and nothing else.
func parseNewKey(body []byte) (name, role string, err error) {
	v, err := layers.DecodeJSON(body)
	var de *layers.Error
	if errors.As(err, &de) {
		// A repeated member: name it, without the upload wording.
		if fes, ok := de.Details.([]layers.FieldError); ok && len(fes) > 0 {
			return "", "", fieldError(layers.EINVALID, strings.TrimPrefix(fes[0].Pointer, "/"), fes[0].Message)
		}
	}
	if err != nil {
		return "", "", err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return "", "", layers.Errorf(layers.EINVALID, "body: want a JSON object {\"name\": ..., \"role\": ...}")
	}
	var unknown []string
	for k := range m {
		if k != "name" && k != "role" {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return "", "", fieldError(layers.EINVALID, unknown[0], "unknown member; a new key takes only name and role")
	}
	str := func(field string) (string, error) {
		x, present := m[field]
		if !present || x == nil {
			return "", fieldError(layers.EINVALID, field, "required")
		}
		s, ok := x.(string)
		if !ok {
			return "", fieldError(layers.EINVALID, field, "must be a string")
		}
		return s, nil
	}
	if name, err = str("name"); err != nil {
		return "", "", err
	}
	if role, err = str("role"); err != nil {
		if layers.ErrorMessage(err) == "role: required" {
			err = fieldError(layers.EINVALID, "role", "required, one of "+strings.Join(layers.RoleNames(), ", "))
		}
		return "", "", err
	}
	return name, role, nil
}

func fieldError(code, field, msg string) error {
	return &layers.Error{Code: code, Message: field + ": " + msg,
		Details: []layers.FieldError{{Pointer: "/" + field, Message: msg}}}
}

// handleRevokeKey is DELETE /admin/keys/{name}. The key stops working with
// the next request: keys are looked up in the store on every request.
func (s *Server) handleRevokeKey(c echo.Context) error {
	ks, actor, err := s.adminStore(c)
	if err != nil {
		return err
	}
	name, err := keyParam(c)
	if err != nil {
		return err
	}
	if err := layers.RevokeKeyNamed(ctx(c), ks, actor, name, s.acc.now()); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// handleAudit is GET /admin/audit: every key change, newest first, or
// those of one key with ?key=NAME. Report changes are in each report's
// history.
func (s *Server) handleAudit(c echo.Context) error {
	ks, _, err := s.adminStore(c)
	if err != nil {
		return err
	}
	if err := checkParams(c, "key"); err != nil {
		return err
	}
	changes, err := ks.KeyChanges(ctx(c), c.QueryParam("key"))
	if err != nil {
		return err
	}
	type entry struct {
		Time   string `json:"time"`
		Actor  string `json:"actor"`
		Action string `json:"action"`
		Key    string `json:"key"`
		Role   string `json:"role"`
	}
	out := make([]entry, 0, len(changes))
	for _, ch := range changes {
		out = append(out, entry{ch.Time.UTC().Format("2006-01-02T15:04:05.000Z"), ch.Actor, ch.Action, ch.Key, ch.Role})
	}
	return c.JSON(http.StatusOK, map[string]any{"changes": out})
}

// adminAPIPaths documents the key management routes.
func adminAPIPaths(paths obj) {
	auth := obj{"name": "Authorization", "in": "header", "required": true,
		"description": "Bearer <key> of a key with role admin", "schema": obj{"type": "string"}}
	name := obj{"name": "name", "in": "path", "required": true, "description": "the key's name", "schema": obj{"type": "string"}}
	keySchema := obj{"type": "object", "required": []any{"name", "role", "status", "created"}, "properties": obj{
		"name": obj{"type": "string"}, "role": obj{"type": "string", "enum": toAny(layers.RoleNames())},
		"status": obj{"type": "string", "enum": []any{"active", "revoked"}}, "created": obj{"type": "string", "format": "date-time"},
		"revoked": obj{"type": "string", "format": "date-time"}, "links": obj{"type": "array", "items": ref("link")},
		"key": obj{"type": "string", "description": "the secret token; only in the answer to the POST that made the key"}}}
	jsonOf := func(desc string, schema obj) obj {
		return obj{"description": desc, "content": obj{mimeJSON: obj{"schema": schema}}}
	}
	list := op("listKeys", "API keys", "Every API key with its role and status, revoked ones included; never secrets or hashes. Admins only.",
		[]any{auth}, obj{"200": jsonOf("the keys", obj{"type": "object", "properties": obj{"keys": obj{"type": "array", "items": keySchema}}})},
		"400", "401", "403", "503")
	create := op("createKey", "Create an API key",
		"Makes a key for {\"name\", \"role\"}; the answer holds its secret, shown only this once. A taken name gets 409. The change is recorded in /admin/audit with the acting key's name.",
		[]any{auth}, obj{"201": obj{"description": "created", "headers": obj{"Location": obj{"schema": obj{"type": "string"}}},
			"content": obj{mimeJSON: obj{"schema": keySchema}}}}, "400", "401", "403", "409", "415", "503")
	create["requestBody"] = obj{"required": true, "content": obj{mimeJSON: obj{"schema": obj{"type": "object", "required": []any{"name", "role"},
		"additionalProperties": false, "properties": obj{"name": obj{"type": "string", "maxLength": 100},
			"role": obj{"type": "string", "enum": toAny(layers.RoleNames())}}}}}}
	paths["/admin/keys"] = obj{"get": list, "post": create}
	paths["/admin/keys/{name}"] = obj{
		"get": op("getKey", "One API key", "A key's role and status. Admins only.", []any{name, auth},
			obj{"200": jsonOf("the key", keySchema)}, "400", "401", "403", "404", "503"),
		"delete": op("revokeKey", "Revoke an API key",
			"The key stops working with the next request; it stays listed as revoked. A key revoked already gets 409. Recorded in /admin/audit.",
			[]any{name, auth}, obj{"204": obj{"description": "revoked"}}, "401", "403", "404", "409", "503"),
	}
	change := obj{"type": "object", "properties": obj{"time": obj{"type": "string", "format": "date-time"}, "actor": obj{"type": "string"},
		"action": obj{"type": "string", "enum": []any{layers.KeyCreated, layers.KeyRevoked}}, "key": obj{"type": "string"}, "role": obj{"type": "string"}}}
	paths["/admin/audit"] = obj{"get": op("getAudit", "Audit trail of key changes",
		"Every creation and revocation of an API key, newest first, with the name of the key (or cli:USER for the command line) that made it. ?key=NAME narrows it to one key. Admins only.",
		[]any{auth, obj{"name": "key", "in": "query", "required": false, "description": "only this key's changes", "schema": obj{"type": "string"}}},
		obj{"200": jsonOf("the changes", obj{"type": "object", "properties": obj{"changes": obj{"type": "array", "items": change}}})},
		"400", "401", "403", "503")}
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
