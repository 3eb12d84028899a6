// Package props holds a feature's properties in a compact, immutable form.
//
// A decoded JSON object (map[string]any) costs dozens of small allocations
// and about a hundred pointers per report: a million reports make a live heap
// the garbage collector needs seconds of CPU to mark, which shows as tile
// latency tails. Props keeps the object as its canonical JSON text in one
// pointer-free string, with a table of where each member starts, so a lookup
// is a binary search and writing the object out is a copy.
package props

import (
	"bytes"
	"encoding/json"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Props is an immutable JSON object. The zero value is the empty object.
// Two Props hold the same members and values exactly when they are ==.
//
// Layout of s: a little-endian uint32 holding the member count n (and in
// its top bit whether offsets are wide), then per member, in key order, the
// offset of its key's opening quote (top bit set when the key has escapes)
// and of its value, each a uint16 (uint32 when wide, for texts of 32 KiB
// and more), then the JSON text: compact, members sorted by key (byte order
// of the decoded key), nested objects sorted too.
type Props struct{ s string }

const (
	wideFlag   = 1 << 31
	narrowMax  = 1 << 15 // narrow offsets keep their top bit for the escape flag
	escapeFlag = 1 << 31 // on a wide key offset; 1<<15 on a narrow one
)

// FromMap encodes m. Values may be what JSON decoding gives (string, float64,
// bool, nil, []any, map[string]any) and also ints, []string and time.Time
// (written as RFC 3339); NaN and infinities become null.
func FromMap(m map[string]any) Props {
	if len(m) == 0 {
		return Props{}
	}
	type member struct {
		key, orig string
		val       any
	}
	ms := make([]member, 0, len(m))
	for k, v := range m {
		ms = append(ms, member{canonKey(k), k, v})
	}
	slices.SortFunc(ms, func(a, b member) int {
		if c := strings.Compare(a.key, b.key); c != 0 {
			return c
		}
		return strings.Compare(a.orig, b.orig)
	})
	// Keys that differ only in invalid UTF-8 read back the same: keep one.
	ms = slices.CompactFunc(ms, func(a, b member) bool { return a.key == b.key })
	hint := 0
	for _, m := range ms {
		hint += len(m.key) + 4 + sizeHint(m.val)
	}
	w := newBuilder(len(ms), hint)
	for _, m := range ms {
		w.key(m.key)
		w.b = AppendValue(w.b, m.val)
	}
	return w.done()
}

// canonKey is k as it reads back from JSON: invalid UTF-8 bytes become U+FFFD.
func canonKey(k string) string {
	if utf8.ValidString(k) {
		return k
	}
	return decodeString(string(AppendString(nil, k)))
}

// FromJSON decodes a JSON object (null is the empty object).
func FromJSON(raw []byte) (Props, error) {
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return Props{}, fmt.Errorf("properties: %w", err)
	}
	return FromMap(m), nil
}

// builder writes the JSON text, members in key order, and notes where
// each starts; done puts the table in front.
type builder struct {
	b     []byte
	offs  []uint32 // per member: key offset (escapeFlag when escaped), value offset
	total int      // members announced
}

func newBuilder(n, sizeHint int) *builder {
	b := make([]byte, 0, sizeHint+2)
	return &builder{b: append(b, '{'), offs: make([]uint32, 0, 2*n), total: n}
}

// key starts the next member; the caller appends its value.
func (w *builder) key(k string) {
	if len(w.offs) > 0 {
		w.b = append(w.b, ',')
	}
	at := len(w.b)
	w.b = AppendString(w.b, k)
	off := uint32(at)
	if bytes.IndexByte(w.b[at:], '\\') >= 0 {
		off |= escapeFlag
	}
	w.b = append(w.b, ':')
	w.offs = append(w.offs, off, uint32(len(w.b)))
}

func (w *builder) done() Props {
	n := len(w.offs) / 2
	if n != w.total {
		panic(fmt.Sprintf("props: %d members written, %d announced", n, w.total))
	}
	if n == 0 {
		return Props{}
	}
	w.b = append(w.b, '}')
	wide := len(w.b) >= narrowMax
	var sb strings.Builder
	head := uint32(n)
	size := 2
	if wide {
		head, size = head|wideFlag, 4
	}
	sb.Grow(4 + 2*n*size + len(w.b))
	put := func(v uint32, size int) {
		for range size {
			sb.WriteByte(byte(v))
			v >>= 8
		}
	}
	put(head, 4)
	for i, off := range w.offs {
		if !wide && i%2 == 0 && off&escapeFlag != 0 {
			off = off&^escapeFlag | narrowMax
		}
		put(off, size)
	}
	sb.Write(w.b)
	return Props{s: sb.String()}
}

func u32(s string, i int) uint32 {
	return uint32(s[i]) | uint32(s[i+1])<<8 | uint32(s[i+2])<<16 | uint32(s[i+3])<<24
}

func u16(s string, i int) uint32 { return uint32(s[i]) | uint32(s[i+1])<<8 }

// Len is the number of members.
func (p Props) Len() int {
	if p.s == "" {
		return 0
	}
	return int(u32(p.s, 0) &^ wideFlag)
}

// entry returns member i's key offset, whether the key has escapes, and
// its value offset.
func (p Props) entry(i int) (key int, escaped bool, val int) {
	if u32(p.s, 0)&wideFlag != 0 {
		k := u32(p.s, 4+8*i)
		return int(k &^ escapeFlag), k&escapeFlag != 0, int(u32(p.s, 8+8*i))
	}
	k := u16(p.s, 4+4*i)
	return int(k &^ narrowMax), k&narrowMax != 0, int(u16(p.s, 6+4*i))
}

// JSON is the object's canonical JSON text.
func (p Props) JSON() string {
	if p.s == "" {
		return "{}"
	}
	size := 4
	if u32(p.s, 0)&wideFlag != 0 {
		size = 8
	}
	return p.s[4+size*p.Len():]
}

// member returns member i's raw key (without quotes, still escaped),
// whether it has escapes, and its raw JSON value.
func (p Props) member(i int) (key string, escaped bool, val string) {
	text := p.JSON()
	k, esc, v := p.entry(i)
	end := len(text) - 1 // the closing brace
	if i+1 < p.Len() {
		next, _, _ := p.entry(i + 1)
		end = next - 1 // the comma
	}
	return text[k+1 : v-2], esc, text[v:end]
}

// name returns member i's decoded key.
func (p Props) name(i int) string {
	k, esc, _ := p.member(i)
	if esc {
		return unescapeKey(k)
	}
	return k
}

// closingQuote returns the index of the quote ending the JSON string that
// s starts with.
func closingQuote(s string) int {
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return len(s)
}

// unescapeKey decodes a raw key; keys without escapes are returned as they are.
func unescapeKey(raw string) string {
	if !strings.Contains(raw, `\`) {
		return raw
	}
	var k string
	_ = json.Unmarshal([]byte(`"`+raw+`"`), &k)
	return k
}

// Raw returns key's value as JSON text.
func (p Props) Raw(key string) (string, bool) {
	lo, hi := 0, p.Len()
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		k, esc, v := p.member(mid)
		if esc {
			k = unescapeKey(k)
		}
		switch c := strings.Compare(k, key); {
		case c == 0:
			return v, true
		case c < 0:
			lo = mid + 1
		default:
			hi = mid
		}
	}
	return "", false
}

// Lookup returns key's value decoded as encoding/json would into an any.
func (p Props) Lookup(key string) (any, bool) {
	raw, ok := p.Raw(key)
	if !ok {
		return nil, false
	}
	return decode(raw), true
}

// Get returns key's value, nil when absent.
func (p Props) Get(key string) any {
	v, _ := p.Lookup(key)
	return v
}

// Has reports whether key is a member.
func (p Props) Has(key string) bool {
	_, ok := p.Raw(key)
	return ok
}

// String returns key's value when it is a string. It does not allocate for
// strings without escapes: they share the Props' memory.
func (p Props) String(key string) (string, bool) {
	raw, ok := p.Raw(key)
	if !ok || raw == "" || raw[0] != '"' {
		return "", false
	}
	return decodeString(raw), true
}

// Number returns key's value when it is a number.
func (p Props) Number(key string) (float64, bool) { return p.PathNumber(key) }

// Bool returns key's value when it is a boolean.
func (p Props) Bool(key string) (value, ok bool) {
	raw, _ := p.Raw(key)
	switch raw {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// Path follows keys through nested objects and returns the value there.
func (p Props) Path(keys ...string) (any, bool) {
	raw, ok := p.rawPath(keys)
	if !ok {
		return nil, false
	}
	return decode(raw), true
}

// PathNumber is Path for a number, without boxing it.
func (p Props) PathNumber(keys ...string) (float64, bool) {
	raw, ok := p.rawPath(keys)
	if !ok || raw == "" || !isNumberStart(raw[0]) {
		return 0, false
	}
	f, err := strconv.ParseFloat(raw, 64)
	return f, err == nil
}

func (p Props) rawPath(keys []string) (string, bool) {
	if len(keys) == 0 {
		return "", false
	}
	raw, ok := p.Raw(keys[0])
	for _, k := range keys[1:] {
		if !ok {
			return "", false
		}
		raw, ok = objectMember(raw, k)
	}
	return raw, ok
}

// HasElement reports whether key holds an array with the string s in it.
func (p Props) HasElement(key, s string) bool {
	arr, ok := p.Raw(key)
	if !ok || arr == "" || arr[0] != '[' {
		return false
	}
	for i := 1; i < len(arr) && arr[i] != ']'; i++ {
		end := skipValue(arr, i)
		if arr[i] == '"' && decodeString(arr[i:end]) == s {
			return true
		}
		i = end // at the comma or the closing bracket
	}
	return false
}

// All yields the members in key order with their decoded values.
func (p Props) All() iter.Seq2[string, any] {
	return func(yield func(string, any) bool) {
		for i := range p.Len() {
			_, _, v := p.member(i)
			if !yield(p.name(i), decode(v)) {
				return
			}
		}
	}
}

// Members yields the members in key order with their values as JSON text,
// for callers that decode only some of them (with Decode).
func (p Props) Members() iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		for i := range p.Len() {
			_, _, v := p.member(i)
			if !yield(p.name(i), v) {
				return
			}
		}
	}
}

// Decode turns a value's JSON text, as Members gives it, into what
// encoding/json would decode it to.
func Decode(raw string) any { return decode(raw) }

// Map decodes the object into a new map the caller owns.
func (p Props) Map() map[string]any {
	m := make(map[string]any, p.Len())
	for k, v := range p.All() {
		m[k] = v
	}
	return m
}

// AppendJSON appends the object's JSON text, keeping only the members keep
// accepts when keep is not nil.
func (p Props) AppendJSON(b []byte, keep func(key string) bool) []byte {
	if keep == nil {
		return append(b, p.JSON()...)
	}
	b = append(b, '{')
	first := true
	for i := range p.Len() {
		k, _, v := p.member(i)
		if !keep(p.name(i)) {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '"')
		b = append(b, k...)
		b = append(b, '"', ':')
		b = append(b, v...)
	}
	return append(b, '}')
}

// MarshalJSON writes the object's JSON text.
func (p Props) MarshalJSON() ([]byte, error) { return []byte(p.JSON()), nil }

// Edit returns a copy with the keys in drop removed and then the members in
// set put (replacing any there). Unchanged members are copied as text.
func (p Props) Edit(set map[string]any, drop ...string) Props {
	type member struct {
		key string
		raw string // value text, when kept from p
		val any    // value, when from set
	}
	put := make(map[string]any, len(set))
	for k, v := range set {
		put[canonKey(k)] = v
	}
	ms := make([]member, 0, p.Len()+len(put))
	for i := range p.Len() {
		_, _, v := p.member(i)
		k := p.name(i)
		if _, replaced := put[k]; replaced || slices.ContainsFunc(drop, func(d string) bool { return canonKey(d) == k }) {
			continue
		}
		ms = append(ms, member{key: k, raw: v})
	}
	for k, v := range put {
		ms = append(ms, member{key: k, val: v})
	}
	slices.SortFunc(ms, func(a, b member) int { return strings.Compare(a.key, b.key) })
	w := newBuilder(len(ms), len(p.s))
	for _, m := range ms {
		w.key(m.key)
		if m.raw != "" {
			w.b = append(w.b, m.raw...)
		} else {
			w.b = AppendValue(w.b, m.val)
		}
	}
	return w.done()
}

func isNumberStart(c byte) bool { return c == '-' || (c >= '0' && c <= '9') }

// decode turns canonical JSON text into the value encoding/json would give.
func decode(raw string) any {
	if raw == "" {
		return nil
	}
	switch c := raw[0]; {
	case c == '"':
		return decodeString(raw)
	case raw == "true":
		return true
	case raw == "false":
		return false
	case raw == "null":
		return nil
	case isNumberStart(c):
		f, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			return nil
		}
		return f
	}
	var v any
	_ = json.Unmarshal([]byte(raw), &v)
	return v
}

func decodeString(raw string) string {
	if !strings.Contains(raw, `\`) {
		return raw[1 : len(raw)-1]
	}
	var s string
	_ = json.Unmarshal([]byte(raw), &s)
	return s
}

// objectMember returns key's value text in the JSON object text obj, which
// is canonical (compact and valid).
func objectMember(obj, key string) (string, bool) {
	if len(obj) < 2 || obj[0] != '{' {
		return "", false
	}
	i := 1
	for i < len(obj) && obj[i] == '"' {
		q := i + closingQuote(obj[i:])
		k := obj[i+1 : q]
		vs := q + 2
		ve := skipValue(obj, vs)
		if unescapeKey(k) == key {
			return obj[vs:ve], true
		}
		i = ve + 1 // past the comma or the closing brace
	}
	return "", false
}

// skipValue returns the end of the JSON value starting at s[i].
func skipValue(s string, i int) int {
	switch s[i] {
	case '"':
		return i + closingQuote(s[i:]) + 1
	case '{', '[':
		depth := 0
		for j := i; j < len(s); j++ {
			switch s[j] {
			case '"':
				j += closingQuote(s[j:])
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
		return len(s)
	}
	j := i
	for j < len(s) && s[j] != ',' && s[j] != '}' && s[j] != ']' {
		j++
	}
	return j
}
