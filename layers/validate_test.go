package layers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// validIncident returns the properties of a valid incident, freshly made.
func validIncident() map[string]any {
	return map[string]any{
		"observed_at": "2021-04-01T00:00:00Z", "time_precision": "day", "geo_precision": "town",
		"sources":            []any{map[string]any{"url": "https://example.org/report", "kind": "media"}},
		"source_reliability": "b", "info_credibility": "2", "sensitivity": "public",
		"event_type": "battles", "actor1": "Military forces of Russia",
		"fatalities": map[string]any{"low": 1.0, "best": 2.0, "high": 3.0},
	}
}

func TestSchemaValidate(t *testing.T) {
	schema, _ := ReportSchema(Incidents)
	tcSchema, _ := ReportSchema(TroopConcentrations)
	for _, c := range []struct {
		name    string
		schema  Schema
		change  func(p map[string]any)
		wantPtr string
		wantMsg string
	}{
		{"valid", schema, func(map[string]any) {}, "", ""},
		{"required missing", schema, func(p map[string]any) { delete(p, "actor1") }, "/properties/actor1", "required"},
		{"null counts as missing", schema, func(p map[string]any) { p["event_type"] = nil }, "/properties/event_type", "required"},
		{"vocabulary", schema, func(p map[string]any) { p["event_type"] = "battle" }, "/properties/event_type", "not one of"},
		{"wrong type", schema, func(p map[string]any) { p["civilian_targeting"] = "yes" }, "/properties/civilian_targeting", "true or false"},
		{"unknown property", schema, func(p map[string]any) { p["colour"] = "red" }, "/properties/colour", "unknown property"},
		{"low above best", schema, func(p map[string]any) {
			p["fatalities"] = map[string]any{"low": 5.0, "best": 2.0}
		}, "/properties/fatalities/low", "must not exceed best"},
		{"best above high", schema, func(p map[string]any) {
			p["fatalities"] = map[string]any{"best": 5.0, "high": 2.0}
		}, "/properties/fatalities/high", "below best"},
		{"negative count", schema, func(p map[string]any) { p["injured"] = map[string]any{"best": -1.0} }, "/properties/injured/best", "at least 0"},
		{"fractional integer", schema, func(p map[string]any) { p["injured"] = map[string]any{"best": 1.5} }, "/properties/injured/best", "whole number"},
		{"ftp source", schema, func(p map[string]any) {
			p["sources"] = []any{map[string]any{"url": "ftp://example.org/x"}}
		}, "/properties/sources/0/url", "http or https"},
		{"javascript source", schema, func(p map[string]any) {
			p["sources"] = []any{map[string]any{"url": "javascript:alert(1)"}}
		}, "/properties/sources/0/url", "http or https"},
		{"no sources", schema, func(p map[string]any) { p["sources"] = []any{} }, "/properties/sources", "at least 1"},
		{"source without url", schema, func(p map[string]any) {
			p["sources"] = []any{map[string]any{"kind": "media"}}
		}, "/properties/sources/0/url", "required"},
		{"bad time", schema, func(p map[string]any) { p["observed_at"] = "yesterday" }, "/properties/observed_at", "RFC 3339"},
		{"until before at", schema, func(p map[string]any) { p["observed_until"] = "2021-03-01T00:00:00Z" }, "/properties/observed_until", "before observed_at"},
		{"notes too long", schema, func(p map[string]any) { p["notes"] = strings.Repeat("é", 4001) }, "/properties/notes", "at most 4000"},
		{"too many tags", schema, func(p map[string]any) {
			tags := make([]any, 21)
			for i := range tags {
				tags[i] = "t"
			}
			p["tags"] = tags
		}, "/properties/tags", "at most 20"},
		{"heading over 359", tcSchema, func(p map[string]any) {
			delete(p, "event_type")
			delete(p, "actor1")
			delete(p, "fatalities")
			p["side"], p["echelon"], p["unit_function"], p["posture"] = "ru", "brigade", "armor", "staging"
			p["heading_deg"] = 360.0
		}, "/properties/heading_deg", "at most 359"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := validIncident()
			c.change(p)
			out, errs := c.schema.Validate(p, "/properties")
			if c.wantMsg == "" {
				if len(errs) > 0 {
					t.Fatalf("unexpected errors %v", errs)
				}
				if !reflect.DeepEqual(out, p) {
					t.Fatalf("clean copy differs: %v", out)
				}
				return
			}
			for _, e := range errs {
				if e.Pointer == c.wantPtr && strings.Contains(e.Message, c.wantMsg) {
					return
				}
			}
			t.Fatalf("want %s %q, got %v", c.wantPtr, c.wantMsg, errs)
		})
	}
}

func TestServerSetFieldsAreIgnored(t *testing.T) {
	schema, _ := ReportSchema(Incidents)
	p := validIncident()
	p["created_by"], p["version"], p["zones"], p["verification"] = "mallory", 99.0, []any{"crimea"}, "verified"
	out, errs := schema.Validate(p, "/properties")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	for _, k := range []string{"created_by", "version", "zones"} {
		if _, ok := out[k]; ok {
			t.Errorf("server-set %s kept: %v", k, out[k])
		}
	}
	if out["verification"] != "verified" {
		t.Errorf("verification must be kept for the service to authorise, got %v", out["verification"])
	}
}

func feature(props map[string]any, geom string) map[string]any {
	var g any
	_ = json.Unmarshal([]byte(geom), &g)
	return map[string]any{"type": "Feature", "geometry": g, "properties": props}
}

func TestDecodeUpload(t *testing.T) {
	schema, _ := ReportSchema(Incidents)
	rules := DefaultUploadRules()
	rules.MaxBatch = 3
	pt := `{"type":"Point","coordinates":[37.8,48.0]}`
	enc := func(v any) []byte { b, _ := json.Marshal(v); return b }
	bad := validIncident()
	bad["event_type"] = "nope"
	for _, c := range []struct {
		name      string
		body      []byte
		wantCode  string
		wantN     int
		wantBatch bool
		wantPtr   string
	}{
		{"feature", enc(feature(validIncident(), pt)), "", 1, false, ""},
		{"collection", enc(map[string]any{"type": "FeatureCollection", "features": []any{feature(validIncident(), pt), feature(validIncident(), pt)}}), "", 2, true, ""},
		{"not json", []byte(`{"type":`), EINVALID, 0, false, ""},
		{"trailing garbage", []byte(`{} {}`), EINVALID, 0, false, ""},
		{"array", []byte(`[]`), EUNPROCESSABLE, 0, false, ""},
		{"wrong type", []byte(`{"type":"Point"}`), EUNPROCESSABLE, 0, false, "/type"},
		{"empty collection", []byte(`{"type":"FeatureCollection","features":[]}`), EUNPROCESSABLE, 0, true, "/features"},
		{"too many", enc(map[string]any{"type": "FeatureCollection", "features": []any{1, 2, 3, 4}}), ETOOLARGE, 0, true, ""},
		{"one bad in batch", enc(map[string]any{"type": "FeatureCollection", "features": []any{feature(validIncident(), pt), feature(bad, pt)}}), EUNPROCESSABLE, 0, true, "/features/1/properties/event_type"},
		{"missing geometry", enc(feature(validIncident(), `null`)), EUNPROCESSABLE, 0, false, "/geometry"},
		{"swapped", enc(map[string]any{"type": "FeatureCollection", "features": []any{feature(validIncident(), pt), feature(validIncident(), `{"type":"Point","coordinates":[48.0,37.8]}`)}}), EUNPROCESSABLE, 0, true, "/features/1/geometry/coordinates"},
		{"huge number", []byte(`{"type":"Feature","geometry":` + pt + `,"properties":{"ce_m":1e999}}`), EUNPROCESSABLE, 0, false, "/properties/ce_m"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ds, batch, err := DecodeUpload(context.Background(), c.body, schema, rules)
			if ErrorCode(err) != c.wantCode {
				t.Fatalf("code %q, want %q (%v)", ErrorCode(err), c.wantCode, err)
			}
			if len(ds) != c.wantN || batch != c.wantBatch {
				t.Fatalf("got %d drafts, batch %v", len(ds), batch)
			}
			if c.wantPtr != "" {
				var e *Error
				if !asError(err, &e) {
					t.Fatal("no *Error")
				}
				errs, _ := e.Details.([]FieldError)
				found := false
				for _, fe := range errs {
					found = found || fe.Pointer == c.wantPtr
				}
				if !found {
					t.Fatalf("no error at %s: %v", c.wantPtr, errs)
				}
			}
		})
	}
}

func asError(err error, e **Error) bool {
	x, ok := err.(*Error)
	*e = x
	return ok
}

// FuzzDecodeUpload feeds arbitrary bodies to the decoder and validator: it
// must never panic, must return drafts exactly when it returns no error, and
// what it accepts must be accepted again after a round trip through JSON.
func FuzzDecodeUpload(f *testing.F) {
	pt := `{"type":"Point","coordinates":[37.8,48.0]}`
	one, _ := json.Marshal(feature(validIncident(), pt))
	coll, _ := json.Marshal(map[string]any{"type": "FeatureCollection", "features": []any{feature(validIncident(), pt), feature(validIncident(), `{"type":"LineString","coordinates":[[37,48],[38,49]]}`)}})
	f.Add(one)
	f.Add(coll)
	f.Add([]byte(`{"type":"Feature","geometry":null,"properties":{}}`))
	f.Add([]byte(`{"type":"FeatureCollection","features":[{"type":"Feature"}]}`))
	f.Add([]byte(`{"type":"Feature","geometry":{"type":"Point","coordinates":[48,37.8]},"properties":{"fatalities":{"low":3,"best":1}}}`))
	schema, _ := ReportSchema(Incidents)
	rules := DefaultUploadRules()
	rules.MaxBatch = 100
	f.Fuzz(func(t *testing.T, body []byte) {
		ds, batch, err := DecodeUpload(context.Background(), body, schema, rules)
		if err != nil {
			if len(ds) > 0 {
				t.Fatalf("error %v with %d drafts", err, len(ds))
			}
			checkRefusal(t, body, err)
			return
		}
		if len(ds) == 0 {
			t.Fatal("no error and no drafts")
		}
		feats := make([]any, len(ds))
		for i, d := range ds {
			b, err := MarshalFeature(NewFeature(fmt.Sprint(i), d.Geometry, d.Properties))
			if err != nil {
				t.Fatal(err)
			}
			var v any
			_ = json.Unmarshal(b, &v)
			feats[i] = v
		}
		var again []byte
		if batch {
			again, _ = json.Marshal(map[string]any{"type": "FeatureCollection", "features": feats})
		} else {
			again, _ = json.Marshal(feats[0])
		}
		ds2, _, err := DecodeUpload(context.Background(), again, schema, rules)
		if err != nil {
			t.Fatalf("accepted upload refused after a round trip: %v\n%s", err, again)
		}
		for i := range ds {
			if !reflect.DeepEqual(ds[i].Properties, ds2[i].Properties) {
				t.Fatalf("round trip changed properties:\n%v\n%v", ds[i].Properties, ds2[i].Properties)
			}
		}
	})
}

// checkRefusal asserts that a refused upload says where: a syntax error
// names the byte, anything else carries JSON pointers whose parent exists in
// the body (a missing member's pointer names the object it is missing from).
func checkRefusal(t *testing.T, body []byte, err error) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("refusal is not a domain error: %v", err)
	}
	switch e.Code {
	case EINVALID:
		if !strings.Contains(e.Message, "byte") && !strings.Contains(e.Message, "empty") {
			t.Fatalf("syntax error without a position: %s", e.Message)
		}
		return
	case EUNPROCESSABLE, ETOOLARGE:
	default:
		t.Fatalf("unexpected code %s: %v", e.Code, err)
	}
	fes, _ := e.Details.([]FieldError)
	if len(fes) == 0 {
		t.Fatalf("%s without a pointer: %v", e.Code, err)
	}
	doc, jerr := DecodeJSON(body)
	if jerr != nil {
		doc = nil // a duplicate name: the pointer is checked against the raw body below
	}
	for _, fe := range fes {
		if fe.Message == "" {
			t.Fatalf("empty message at %q", fe.Pointer)
		}
		if fe.Pointer == "" {
			continue
		}
		if !strings.HasPrefix(fe.Pointer, "/") {
			t.Fatalf("pointer %q does not start with /", fe.Pointer)
		}
		parent := fe.Pointer[:strings.LastIndex(fe.Pointer, "/")]
		if doc != nil && !resolves(doc, parent) {
			t.Fatalf("pointer %q: its parent %q is not in the body %s", fe.Pointer, parent, body)
		}
	}
}

// resolves reports whether a JSON pointer names a value in doc.
func resolves(doc any, ptr string) bool {
	if ptr == "" {
		return true
	}
	for _, tok := range strings.Split(ptr[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch x := doc.(type) {
		case map[string]any:
			v, ok := x[tok]
			if !ok {
				return false
			}
			doc = v
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(x) {
				return false
			}
			doc = x[i]
		default:
			return false
		}
	}
	return true
}

// FuzzDecodeFeatureBody is FuzzDecodeUpload for the single Feature of a PUT.
func FuzzDecodeFeatureBody(f *testing.F) {
	one, _ := json.Marshal(feature(validIncident(), `{"type":"Polygon","coordinates":[[[37,48],[38,48],[38,49],[37,48]]]}`))
	f.Add(one)
	f.Add([]byte(`{"type":"Feature","geometry":{"type":"Point","coordinates":[37.8,48]},"properties":{"notes":"a","notes":"b"}}`))
	f.Add([]byte(`{"type":"FeatureCollection","features":[]}`))
	schema, _ := ReportSchema(TroopConcentrations)
	rules := DefaultUploadRules()
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := DecodeFeatureBody(body, schema, rules)
		if err != nil {
			checkRefusal(t, body, err)
			return
		}
		b, err := MarshalFeature(NewFeature("x", d.Geometry, d.Properties))
		if err != nil {
			t.Fatal(err)
		}
		var v map[string]any
		_ = json.Unmarshal(b, &v)
		delete(v, "id")
		again, _ := json.Marshal(v)
		d2, err := DecodeFeatureBody(again, schema, rules)
		if err != nil {
			t.Fatalf("accepted feature refused after a round trip: %v\n%s", err, again)
		}
		if !reflect.DeepEqual(d.Properties, d2.Properties) || !reflect.DeepEqual(d.Geometry, d2.Geometry) {
			t.Fatalf("round trip changed the feature:\n%v\n%v", d, d2)
		}
	})
}

func TestMergePatch(t *testing.T) {
	// The examples of RFC 7396, appendix A.
	for i, c := range [][3]string{
		{`{"a":"b"}`, `{"a":"c"}`, `{"a":"c"}`},
		{`{"a":"b"}`, `{"b":"c"}`, `{"a":"b","b":"c"}`},
		{`{"a":"b"}`, `{"a":null}`, `{}`},
		{`{"a":"b","b":"c"}`, `{"a":null}`, `{"b":"c"}`},
		{`{"a":["b"]}`, `{"a":"c"}`, `{"a":"c"}`},
		{`{"a":"c"}`, `{"a":["b"]}`, `{"a":["b"]}`},
		{`{"a":{"b":"c"}}`, `{"a":{"b":"d","c":null}}`, `{"a":{"b":"d"}}`},
		{`{"a":[{"b":"c"}]}`, `{"a":[1]}`, `{"a":[1]}`},
		{`["a","b"]`, `["c","d"]`, `["c","d"]`},
		{`{"a":"b"}`, `["c"]`, `["c"]`},
		{`{"a":"foo"}`, `null`, `null`},
		{`{"a":"foo"}`, `"bar"`, `"bar"`},
		{`{"e":null}`, `{"a":1}`, `{"e":null,"a":1}`},
		{`[1,2]`, `{"a":"b","c":null}`, `{"a":"b"}`},
		{`{}`, `{"a":{"bb":{"ccc":null}}}`, `{"a":{"bb":{}}}`},
	} {
		var target, patch, want any
		for j, dst := range []*any{&target, &patch, &want} {
			if err := json.Unmarshal([]byte(c[j]), dst); err != nil {
				t.Fatal(err)
			}
		}
		before, _ := json.Marshal(target)
		got := MergePatch(target, patch)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("case %d: got %v, want %v", i, got, want)
		}
		if after, _ := json.Marshal(target); string(after) != string(before) {
			t.Errorf("case %d: target changed", i)
		}
	}
}

// FuzzMergePatch checks two properties of RFC 7396: applying a patch twice
// gives what applying it once gives, and the inputs are never changed.
func FuzzMergePatch(f *testing.F) {
	f.Add([]byte(`{"a":{"b":"c"}}`), []byte(`{"a":{"b":"d","c":null}}`))
	f.Add([]byte(`{"properties":{"notes":"x","tags":["a"]}}`), []byte(`{"properties":{"notes":null}}`))
	f.Add([]byte(`[1,2]`), []byte(`{"a":"b"}`))
	f.Fuzz(func(t *testing.T, tb, pb []byte) {
		var target, patch any
		if json.Unmarshal(tb, &target) != nil || json.Unmarshal(pb, &patch) != nil {
			return
		}
		tBefore, _ := json.Marshal(target)
		pBefore, _ := json.Marshal(patch)
		once := MergePatch(target, patch)
		twice := MergePatch(once, patch)
		if !reflect.DeepEqual(once, twice) {
			t.Fatalf("not idempotent: %v then %v", once, twice)
		}
		if a, _ := json.Marshal(target); string(a) != string(tBefore) {
			t.Fatal("target changed")
		}
		if a, _ := json.Marshal(patch); string(a) != string(pBefore) {
			t.Fatal("patch changed")
		}
		if m, ok := once.(map[string]any); ok {
			assertNoNulls(t, m, patch)
		}
	})
}

// assertNoNulls checks that every member the patch sets to null is absent.
func assertNoNulls(t *testing.T, got map[string]any, patch any) {
	p, ok := patch.(map[string]any)
	if !ok {
		return
	}
	for k, v := range p {
		if v == nil {
			if _, there := got[k]; there {
				t.Fatalf("member %q set to null is still present", k)
			}
			continue
		}
		if sub, ok := got[k].(map[string]any); ok {
			assertNoNulls(t, sub, v)
		}
	}
}

func TestKeys(t *testing.T) {
	token, k, err := NewKey("alice", "editor", time.Unix(0, 0), nil)
	if err != nil {
		t.Fatal(err)
	}
	id, secret, ok := ParseToken(token)
	if !ok || id != k.ID {
		t.Fatalf("token %q does not parse to id %s", token, k.ID)
	}
	if !k.Matches(secret) || k.Matches(secret+"x") || k.Matches("") {
		t.Fatal("Matches is wrong")
	}
	if strings.Contains(string(k.Hash), secret) {
		t.Fatal("hash holds the secret")
	}
	_, k2, _ := NewKey("bob", "analyst", time.Unix(0, 0), nil)
	if string(k.Salt) == string(k2.Salt) {
		t.Fatal("salts repeat")
	}
	if _, _, err := NewKey("x", "god", time.Unix(0, 0), nil); ErrorCode(err) != EINVALID {
		t.Fatalf("unknown role: %v", err)
	}
}
