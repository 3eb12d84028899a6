package layers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
)

func TestDuplicateKey(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{"a":1,"b":2}`, ""},
		{`{"a":1,"a":2}`, "/a"},
		{`{"a":{"b":1,"c":{"d":[1,{"e":1,"e":2}]}}}`, "/a/c/d/1/e"},
		{`{"a":1,"\u0061":2}`, "/a"},
		{`[{"x":1},{"x":1},{"y":1,"y":1}]`, "/2/y"},
		{`{"a/b":1,"a/b":2}`, "/a~1b"},
		{`{"s":"\"a\":1,\"a\"","t":"{}"}`, ""},
		{`{"k1":1,"k2":1,"k3":1,"k4":1,"k5":1,"k6":1,"k7":1,"k8":1,"k9":1,"k10":1,"k11":1,"k12":1,"k13":1,"k14":1,"k15":1,"k16":1,"k17":1,"k18":1,"k3":2}`, "/k3"},
		{` [ 1 , "a" , true , null , -1.5e3 ] `, ""},
	} {
		got, dup := duplicateKey([]byte(c.in))
		if dup != (c.want != "") || got != c.want {
			t.Errorf("%s: got %q %v, want %q", c.in, got, dup, c.want)
		}
	}
}

func TestInvalidUTF8At(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int
	}{{"abc", -1}, {"héllo", -1}, {"ab\xffc", 2}, {"é\xc3", 2}, {"\xed\xa0\x80", 0}} {
		if got := invalidUTF8At([]byte(c.in)); got != c.want {
			t.Errorf("%q: got %d, want %d", c.in, got, c.want)
		}
	}
}

// refDuplicateKey finds the first repeated member name with encoding/json's
// tokenizer: the reference the fast scanner must agree with.
func refDuplicateKey(b []byte) (string, bool, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	var walk func(path string) (string, bool, error)
	walk = func(path string) (string, bool, error) {
		tok, err := dec.Token()
		if err != nil {
			return "", false, err
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return "", false, err
				}
				name := k.(string)
				p := path + "/" + escapePtr(name)
				if seen[name] {
					return p, true, nil
				}
				seen[name] = true
				if q, d, err := walk(p); d || err != nil {
					return q, d, err
				}
			}
			_, err = dec.Token()
			return "", false, err
		case json.Delim('['):
			for i := 0; dec.More(); i++ {
				if q, d, err := walk(fmt.Sprintf("%s/%d", path, i)); d || err != nil {
					return q, d, err
				}
			}
			_, err = dec.Token()
			return "", false, err
		}
		return "", false, nil
	}
	p, d, err := walk("")
	if err == nil && !d {
		if _, e := dec.Token(); e != io.EOF {
			return "", false, fmt.Errorf("trailing data")
		}
	}
	return p, d, err
}

// FuzzDuplicateKey checks the scanner against the tokenizer on every valid
// JSON input: same verdict, same pointer, no panic.
func FuzzDuplicateKey(f *testing.F) {
	f.Add([]byte(`{"a":1,"a":2}`))
	f.Add([]byte(`{"a":[{"b":1},{"b":{"c":1,"c\u0000":2,"c":3}}]}`))
	f.Add([]byte(`{"type":"Feature","properties":{"notes":"x","notes":"y"}}`))
	f.Add([]byte(`["\"",{"\\":1,"\\":2}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) || invalidUTF8At(b) >= 0 {
			return
		}
		want, wantDup, err := refDuplicateKey(b)
		if err != nil {
			return
		}
		got, dup := duplicateKey(b)
		if dup != wantDup || got != want {
			t.Fatalf("%q: scanner says %q %v, tokenizer %q %v", b, got, dup, want, wantDup)
		}
		if dup && !strings.HasPrefix(got, "/") {
			t.Fatalf("pointer %q", got)
		}
	})
}
