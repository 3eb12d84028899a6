package props

import (
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func decoded(t testing.TB, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return m
}

const sample = `{"zones":["donbas"],"side":"ua","strength":{"personnel":{"best":1000,"high":1300,"low":700}},` +
	`"sources":[{"kind":"social","url":"https://example.org/a?b=\"c\""}],"ce_m":1700,"verified":true,` +
	`"embargo_until":null,"note":"line\nbreak \u2028 Київ","":"empty key","we\"ird":1e-7}`

func TestLookups(t *testing.T) {
	p, err := FromJSON([]byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	want := decoded(t, sample)
	if p.Len() != len(want) {
		t.Fatalf("Len = %d, want %d", p.Len(), len(want))
	}
	for k, v := range want {
		got, ok := p.Lookup(k)
		if !ok || !reflect.DeepEqual(got, v) {
			t.Errorf("Lookup(%q) = %#v, %v; want %#v", k, got, ok, v)
		}
	}
	for _, k := range []string{"missing", "zone", "zoness", "strength.personnel"} {
		if v, ok := p.Lookup(k); ok || p.Has(k) {
			t.Errorf("Lookup(%q) = %v, true; want absent", k, v)
		}
	}
	tests := []struct {
		name string
		got  any
		ok   bool
		want any
	}{}
	add := func(name string, got any, ok bool, want any) {
		tests = append(tests, struct {
			name string
			got  any
			ok   bool
			want any
		}{name, got, ok, want})
	}
	s, ok := p.String("side")
	add("String(side)", s, ok, "ua")
	s, ok = p.String("note")
	add("String(note)", s, ok, "line\nbreak \u2028 Київ")
	s, ok = p.String("ce_m")
	add("String(ce_m) is not a string", s, !ok, "")
	f, ok := p.Number("ce_m")
	add("Number(ce_m)", f, ok, 1700.0)
	f, ok = p.Number(`we"ird`)
	add("Number(we\"ird)", f, ok, 1e-7)
	f, ok = p.Number("side")
	add("Number(side) is not a number", f, !ok, 0.0)
	b, ok := p.Bool("verified")
	add("Bool(verified)", b, ok, true)
	b, ok = p.Bool("embargo_until")
	add("Bool(null) is not a bool", b, !ok, false)
	v, ok := p.Path("strength", "personnel", "best")
	add("Path(strength.personnel.best)", v, ok, 1000.0)
	v, ok = p.Path("strength", "personnel")
	add("Path(strength.personnel)", v, ok, map[string]any{"best": 1000.0, "high": 1300.0, "low": 700.0})
	f, ok = p.PathNumber("strength", "personnel", "low")
	add("PathNumber(strength.personnel.low)", f, ok, 700.0)
	f, ok = p.PathNumber("strength", "personnel")
	add("PathNumber of an object fails", f, !ok, 0.0)
	v, ok = p.Path("strength", "vehicles", "best")
	add("Path(strength.vehicles.best) is absent", v, !ok, nil)
	v, ok = p.Path("side", "x")
	add("Path into a string is absent", v, !ok, nil)
	add("HasElement(zones, donbas)", p.HasElement("zones", "donbas"), true, true)
	add("HasElement(zones, don) is false", p.HasElement("zones", "don"), true, false)
	add("HasElement(side, ua): not an array", p.HasElement("side", "ua"), true, false)
	add("HasElement skips nested values", mustJSON(t, `{"a":[{"k":"x"},"x\"y",["x"],"x"]}`).HasElement("a", "x"), true, true)
	add("HasElement in an empty array", mustJSON(t, `{"a":[]}`).HasElement("a", ""), true, false)
	for _, tt := range tests {
		if !tt.ok || !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s = %#v, %v; want %#v", tt.name, tt.got, tt.ok, tt.want)
		}
	}
	if !reflect.DeepEqual(p.Map(), want) {
		t.Errorf("Map() = %v, want %v", p.Map(), want)
	}
	if !reflect.DeepEqual(decoded(t, p.JSON()), want) {
		t.Errorf("JSON() = %s", p.JSON())
	}
	for k, raw := range p.Members() {
		if v := Decode(raw); !reflect.DeepEqual(v, want[k]) {
			t.Errorf("Members: %q = %s decodes to %#v, want %#v", k, raw, v, want[k])
		}
	}
	var keys []string
	for k := range p.Members() {
		keys = append(keys, k)
	}
	if !slices.IsSorted(keys) || len(keys) != len(want) {
		t.Errorf("Keys() = %q, want the %d keys sorted", keys, len(want))
	}
}

func TestEmptyAndZero(t *testing.T) {
	for _, p := range []Props{{}, FromMap(nil), FromMap(map[string]any{}), mustJSON(t, "{}"), mustJSON(t, "null")} {
		if p != (Props{}) || p.Len() != 0 || p.JSON() != "{}" || p.Has("") || len(p.Map()) != 0 {
			t.Errorf("%#v: want the empty object", p)
		}
	}
	if _, err := FromJSON([]byte(`[1]`)); err == nil {
		t.Error("FromJSON of an array: no error")
	}
}

func mustJSON(t *testing.T, s string) Props {
	p, err := FromJSON([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFromMapValueTypes(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 30, 0, 5, time.FixedZone("x", 3600))
	p := FromMap(map[string]any{"int": 7, "int64": int64(-3), "strs": []string{"a", "b"}, "at": at,
		"nan": math.NaN(), "inf": math.Inf(1), "num": json.Number("12.5"), "nested": map[string]any{"b": 1, "a": []any{true, nil}}})
	want := map[string]any{"int": 7.0, "int64": -3.0, "strs": []any{"a", "b"}, "at": "2026-03-01T11:30:00.000000005Z",
		"nan": nil, "inf": nil, "num": 12.5, "nested": map[string]any{"a": []any{true, nil}, "b": 1.0}}
	if got := p.Map(); !reflect.DeepEqual(got, want) {
		t.Errorf("Map() = %#v\nwant %#v", got, want)
	}
	if want := `{"at":"2026-03-01T11:30:00.000000005Z","inf":null,"int":7,"int64":-3,"nan":null,"nested":{"a":[true,null],"b":1},"num":12.5,"strs":["a","b"]}`; p.JSON() != want {
		t.Errorf("JSON() = %s\nwant %s", p.JSON(), want)
	}
}

func TestCanonical(t *testing.T) {
	a := mustJSON(t, `{"b": 1, "a": {"y": 2, "x": "s"}}`)
	b := FromMap(map[string]any{"a": map[string]any{"x": "s", "y": 2.0}, "b": 1})
	if a != b {
		t.Errorf("same members, different Props:\n%s\n%s", a.JSON(), b.JSON())
	}
	if c := mustJSON(t, a.JSON()); c != a {
		t.Errorf("re-reading the JSON changed it: %s vs %s", c.JSON(), a.JSON())
	}
	if d := mustJSON(t, `{"b":2,"a":{"x":"s","y":2}}`); d == a {
		t.Error("different values, equal Props")
	}
}

func TestEdit(t *testing.T) {
	p := mustJSON(t, sample)
	e := p.Edit(map[string]any{"side": "ru", "new": []any{"x"}, "ce_m": nil}, "sources", "note", "absent", "side")
	want := decoded(t, sample)
	want["side"], want["new"], want["ce_m"] = "ru", []any{"x"}, nil
	delete(want, "sources")
	delete(want, "note")
	if got := e.Map(); !reflect.DeepEqual(got, want) {
		t.Errorf("Edit: %v\nwant %v", got, want)
	}
	if e != FromMap(want) {
		t.Errorf("Edit is not canonical:\n%s\n%s", e.JSON(), FromMap(want).JSON())
	}
	if p != mustJSON(t, sample) {
		t.Error("Edit changed its receiver")
	}
	if got := p.Edit(nil, "side").Edit(map[string]any{"side": "ua"}); got != p {
		t.Errorf("drop then put back: %s", got.JSON())
	}
	if got := (Props{}).Edit(map[string]any{"a": 1}); got.JSON() != `{"a":1}` {
		t.Errorf("Edit of the empty object: %s", got.JSON())
	}
	if got := mustJSON(t, `{"a":1}`).Edit(nil, "a"); got != (Props{}) {
		t.Errorf("dropping every member: %#v", got)
	}
}

func TestAppendJSON(t *testing.T) {
	p := mustJSON(t, sample)
	keep := map[string]bool{"side": true, `we"ird`: true, "strength": true, "absent": true}
	got := decoded(t, string(p.AppendJSON([]byte("x"), func(k string) bool { return keep[k] })[1:]))
	all := decoded(t, sample)
	want := map[string]any{"side": all["side"], `we"ird`: all[`we"ird`], "strength": all["strength"]}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("AppendJSON(keep) = %v, want %v", got, want)
	}
	if got := string(p.AppendJSON(nil, func(string) bool { return false })); got != "{}" {
		t.Errorf("AppendJSON(none) = %s", got)
	}
	raw, _ := json.Marshal(struct{ P Props }{p})
	if !reflect.DeepEqual(decoded(t, string(raw))["P"], all) {
		t.Errorf("MarshalJSON: %s", raw)
	}
}

func TestInvalidUTF8Keys(t *testing.T) {
	p := FromMap(map[string]any{"a\xffb": 1, "a\xfeb": 2, "z": 3})
	if p.Len() != 2 {
		t.Fatalf("Len = %d, want 2 (the two invalid keys read back alike): %s", p.Len(), p.JSON())
	}
	if v, ok := p.Number("a\ufffdb"); !ok || (v != 1 && v != 2) {
		t.Errorf("a\\ufffdb = %v, %v", v, ok)
	}
	if !reflect.DeepEqual(p.Map(), decoded(t, p.JSON())) {
		t.Errorf("Map() %v disagrees with JSON() %s", p.Map(), p.JSON())
	}
}

// FuzzProps checks every accessor against encoding/json on the same input.
func FuzzProps(f *testing.F) {
	for _, s := range []string{sample, `{}`, `{"a":{"b":{"c":[1,{"d":"\"}"}]}}}`, `{"\u00e9":1,"e\u0301":2,"\ud800":3}`, `{"a":1,"a":2}`} {
		f.Add(s, "side", "strength")
	}
	f.Fuzz(func(t *testing.T, s, k1, k2 string) {
		var want map[string]any
		if json.Unmarshal([]byte(s), &want) != nil {
			return
		}
		p, err := FromJSON([]byte(s))
		if err != nil {
			t.Fatalf("FromJSON: %v", err)
		}
		canon := map[string]any{}
		for k, v := range want {
			canon[canonKey(k)] = v // as FromMap reads keys
		}
		if len(canon) == len(want) && !reflect.DeepEqual(p.Map(), want) {
			t.Fatalf("Map() = %#v, want %#v", p.Map(), want)
		}
		if !reflect.DeepEqual(p.Map(), decoded(t, p.JSON())) {
			t.Fatalf("Map() %v disagrees with JSON() %s", p.Map(), p.JSON())
		}
		if again := mustJSON(t, p.JSON()); again != p {
			t.Fatalf("not canonical: %s then %s", p.JSON(), again.JSON())
		}
		for _, k := range []string{k1, k2} {
			v, ok := p.Lookup(k)
			w, wok := p.Map()[k]
			if ok != wok || !reflect.DeepEqual(v, w) {
				t.Fatalf("Lookup(%q) = %#v, %v; Map has %#v, %v", k, v, ok, w, wok)
			}
			arr, _ := w.([]any)
			if got, want := p.HasElement(k, k2), slices.Contains(arr, any(k2)); got != want {
				t.Fatalf("HasElement(%q, %q) = %v, want %v", k, k2, got, want)
			}
			if inner, isObj := w.(map[string]any); isObj {
				v, ok := p.Path(k, k2)
				w, wok := inner[k2]
				if ok != wok || !reflect.DeepEqual(v, w) {
					t.Fatalf("Path(%q, %q) = %#v, %v; want %#v, %v", k, k2, v, ok, w, wok)
				}
			}
		}
		e := p.Edit(map[string]any{k1: k2}, k2)
		m := p.Map()
		delete(m, canonKey(k2)) // keys are compared as they read back
		m[canonKey(k1)] = k2
		if e != FromMap(m) {
			t.Fatalf("Edit(%q: %q, drop %q) = %s, want %s", k1, k2, k2, e.JSON(), FromMap(m).JSON())
		}
	})
}

func BenchmarkLookup(b *testing.B) {
	m := decoded(b, sample)
	p := FromMap(m)
	b.Run("props", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if s, _ := p.String("side"); s != "ua" {
				b.Fatal(s)
			}
			if v, _ := p.Number("ce_m"); v != 1700 {
				b.Fatal(v)
			}
		}
	})
	b.Run("map", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if s, _ := m["side"].(string); s != "ua" {
				b.Fatal(s)
			}
			if v, _ := m["ce_m"].(float64); v != 1700 {
				b.Fatal(v)
			}
		}
	})
}

func BenchmarkEncode(b *testing.B) {
	m := decoded(b, sample)
	p := FromMap(m)
	b.Run("props", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 1024)
		for b.Loop() {
			buf = p.AppendJSON(buf[:0], nil)
		}
	})
	b.Run("map", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 1024)
		for b.Loop() {
			buf = appendMap(buf[:0], m)
		}
	})
}

// TestWideLayout: objects of 32 KiB and more take wide offsets; lookups,
// escaped keys and edits work the same on both sides of the limit.
func TestWideLayout(t *testing.T) {
	for _, n := range []int{100, narrowMax - 200, narrowMax, 3 * narrowMax} {
		m := map[string]any{"big": strings.Repeat("x", n), "we\"ird": 1.0, "z\u2028": []any{"a"}, "a": true}
		p := FromMap(m)
		if wide := u32(p.s, 0)&wideFlag != 0; wide != (len(p.JSON()) >= narrowMax) {
			t.Errorf("%d bytes of text: wide = %v", len(p.JSON()), wide)
		}
		if !reflect.DeepEqual(p.Map(), decoded(t, p.JSON())) || !reflect.DeepEqual(p.Map(), FromMap(m).Map()) {
			t.Fatalf("%d: Map() = %.80v", n, p.Map())
		}
		for k := range m {
			if v, ok := p.Lookup(k); !ok || !reflect.DeepEqual(v, decoded(t, p.JSON())[k]) {
				t.Errorf("%d: Lookup(%q) = %.40v, %v", n, k, v, ok)
			}
		}
		if e := p.Edit(map[string]any{"b": 2}, "big"); e.Len() != 4 || !e.Has("b") || e.Has("big") || e.Has("c") {
			t.Errorf("%d: Edit gives %s", n, e.JSON())
		}
	}
}
