package layers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Uploads are decoded as they arrive, token by token, and each feature of a
// FeatureCollection is validated as soon as it has been read. Memory then
// follows the limits, not the body: at most one feature (itself capped at
// UploadRules.MaxFeatureBytes and MaxVertices) is held as a JSON tree, plus
// the drafts of the valid features so far (none once one has failed, since
// nothing will be stored). The first limit crossed stops the reading.

// DefaultMaxFeatureBytes is the largest JSON text of one feature: room for
// the default 10,000 positions at full precision, pretty-printed.
const DefaultMaxFeatureBytes = 2 << 20

// maxJSONDepth is the deepest nesting of objects and arrays accepted, the
// same as encoding/json's.
const maxJSONDepth = 10000

// unitSlack lets the decoder read a little past the end of a feature (the
// byte that ends a number) without that counting as an oversized feature.
const unitSlack = 1024

// tooLarge is returned by bodyReader when the part being read (one feature,
// one member) has run past its byte limit.
type tooLarge struct{}

func (tooLarge) Error() string { return "part of the body is too large" }

// bodyReader counts and checks the bytes of a body as the JSON decoder pulls
// them: it refuses invalid UTF-8 (which encoding/json would silently replace
// with U+FFFD) and reads nothing at or past stopAt. It hands out whole
// characters only, and the bytes before an invalid one before its error, so
// that how the body arrives in pieces never changes which error is found.
type bodyReader struct {
	r      io.Reader
	off    int64 // bytes read from r so far
	stopAt int64 // 0: no stop
	utf8   utf8State
	carry  []byte // the start of a character whose end has not arrived
	err    error  // to return on the next Read
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	k := copy(p, b.carry)
	b.carry = b.carry[:0]
	for {
		q := p[k:]
		if b.stopAt > 0 {
			if b.off >= b.stopAt {
				return 0, tooLarge{}
			}
			if rem := b.stopAt - b.off; int64(len(q)) > rem {
				q = q[:rem]
			}
		}
		n, err := b.r.Read(q)
		at := b.utf8.feed(q[:n], b.off)
		b.off += int64(n)
		total := k + n
		first := b.off - int64(total) // offset of p[0]
		if at < 0 && errors.Is(err, io.EOF) && b.utf8.need > 0 {
			at = b.utf8.start // the body ends inside a character
		}
		if at >= 0 {
			b.err = invalidUTF8(at)
			if keep := int(at - first); keep > 0 {
				return keep, nil
			}
			return 0, b.err
		}
		if b.utf8.need > 0 {
			tail := int(b.off - b.utf8.start)
			total -= tail
			b.carry = append(b.carry, p[total:total+tail]...)
		}
		if total > 0 || err != nil || len(q) == 0 {
			return total, err
		}
		// Only part of a character so far: read on.
		k = copy(p, b.carry)
		b.carry = b.carry[:0]
	}
}

func invalidUTF8(at int64) error {
	return Errorf(EINVALID, "request body is not valid UTF-8 (at byte %d); JSON must be UTF-8 encoded", at)
}

// utf8State validates UTF-8 across read boundaries (RFC 3629: no overlong
// forms, no surrogates, nothing above U+10FFFF).
type utf8State struct {
	need   int   // continuation bytes still expected
	lo, hi byte  // range of the next continuation byte
	start  int64 // offset of the sequence being read
}

// feed checks b, which starts at offset base, and returns the offset of the
// first invalid sequence, or -1.
func (s *utf8State) feed(b []byte, base int64) int64 {
	for i, c := range b {
		if s.need > 0 {
			if c < s.lo || c > s.hi {
				return s.start
			}
			s.lo, s.hi = 0x80, 0xBF
			s.need--
			continue
		}
		if c < 0x80 {
			continue
		}
		s.start = base + int64(i)
		s.lo, s.hi = 0x80, 0xBF
		switch {
		case c >= 0xC2 && c <= 0xDF:
			s.need = 1
		case c == 0xE0:
			s.need, s.lo = 2, 0xA0
		case c == 0xED:
			s.need, s.hi = 2, 0x9F
		case c >= 0xE1 && c <= 0xEF:
			s.need = 2
		case c == 0xF0:
			s.need, s.lo = 3, 0x90
		case c >= 0xF1 && c <= 0xF3:
			s.need = 3
		case c == 0xF4:
			s.need, s.hi = 3, 0x8F
		default:
			return s.start
		}
	}
	return -1
}

// streamDecoder builds JSON values from a json.Decoder's tokens, with
// numbers as json.Number, refusing repeated member names and nesting past
// maxJSONDepth, and counting the positions of the feature being read.
type streamDecoder struct {
	src      *bodyReader
	dec      *json.Decoder
	depth    int
	path     []ptrStep
	maxUnit  int64
	unitPtr  string // pointer of the part under the byte limit
	inGeom   bool   // reading a feature's geometry
	featDep  int    // depth of the feature object whose members are read; -1 none
	featPtr  string
	pos, max int // positions of the current feature's geometry, and the limit
	raw      json.RawMessage
	inner    *json.Decoder
	feed     feed
}

func newStreamDecoder(r io.Reader, rules UploadRules) *streamDecoder {
	src := &bodyReader{r: r}
	dec := json.NewDecoder(src)
	dec.UseNumber()
	maxUnit := rules.MaxFeatureBytes
	if maxUnit <= 0 {
		maxUnit = DefaultMaxFeatureBytes
	}
	return &streamDecoder{src: src, dec: dec, maxUnit: maxUnit, featDep: -1, max: rules.Geometry.MaxVertices}
}

// unit starts a part of the body (a feature, a member) that may take at
// most maxUnit bytes from here; ptr names it in the error.
func (d *streamDecoder) unit(ptr string) {
	d.unitPtr = ptr
	d.src.stopAt = d.dec.InputOffset() + d.maxUnit + unitSlack
}

// fail turns a reading or syntax error into a domain error.
func (d *streamDecoder) fail(err error) error {
	var de *Error
	var se *json.SyntaxError
	switch {
	case errors.As(err, &de):
		return de
	case errors.As(err, &tooLarge{}):
		what := "this part of the body"
		if d.unitPtr != "" {
			what = d.unitPtr
		}
		msg := fmt.Sprintf("%s is larger than the limit of %d bytes per feature; no feature of a report needs that much", what, d.maxUnit)
		return &Error{Code: ETOOLARGE, Message: msg, Details: []FieldError{{Pointer: d.unitPtr, Message: msg}}}
	case errors.As(err, &se):
		return Errorf(EINVALID, "request body is not valid JSON: %s (at byte %d)", se.Error(), d.dec.InputOffset())
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return Errorf(EINVALID, "request body is not valid JSON: the body ends in the middle of a value (at byte %d)", d.src.off)
	}
	return Errorf(EINVALID, "reading request body: %v", err)
}

func (d *streamDecoder) pointer() string {
	s := &dupScanner{path: d.path}
	p := s.pointer("")
	return p[:len(p)-1]
}

func duplicateMember(ptr string) error {
	return unprocessable(0, 0, []FieldError{{Pointer: ptr,
		Message: "this member appears more than once in its object; JSON members must have unique names (RFC 7493)"}})
}

func (d *streamDecoder) push(s ptrStep) { d.path = append(d.path, s) }
func (d *streamDecoder) pop()           { d.path = d.path[:len(d.path)-1] }

func (d *streamDecoder) value() (any, error) {
	tok, err := d.dec.Token()
	if err != nil {
		return nil, d.fail(err)
	}
	return d.build(tok)
}

// rawValue reads a member of a feature other than its geometry in one go
// (it is under the feature's byte limit): much cheaper than token by token,
// which costs encoding/json an error value for every string and number.
// The raw text is checked for repeated names, then decoded by one decoder
// kept for the whole body (see feed).
func (d *streamDecoder) rawValue() (any, error) {
	if err := d.dec.Decode(&d.raw); err != nil {
		return nil, d.fail(err)
	}
	if ptr, dup := duplicateKey(d.raw); dup {
		return nil, duplicateMember(d.pointer() + ptr)
	}
	if d.inner == nil {
		d.inner = json.NewDecoder(&d.feed)
		d.inner.UseNumber()
	}
	d.feed.b, d.feed.space = d.raw, true
	var v any
	if err := d.inner.Decode(&v); err != nil {
		return nil, d.fail(err) // cannot happen: the stream's decoder checked it
	}
	return v, nil
}

// feed hands the inner decoder one value at a time, each followed by a
// space, which ends it (a number needs a byte after it) before the decoder
// asks for more.
type feed struct {
	b     []byte
	space bool
}

func (f *feed) Read(p []byte) (int, error) {
	n := copy(p, f.b)
	f.b = f.b[n:]
	if n < len(p) && f.space {
		p[n] = ' '
		f.space = false
		n++
	}
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

// build completes the value that tok starts.
func (d *streamDecoder) build(tok json.Token) (any, error) {
	delim, ok := tok.(json.Delim)
	if !ok {
		return tok, nil // string, json.Number, bool or nil
	}
	d.depth++
	defer func() { d.depth-- }()
	if d.depth > maxJSONDepth {
		return nil, Errorf(EINVALID, "request body is not valid JSON: exceeded max depth of %d nested objects and arrays (at byte %d)", maxJSONDepth, d.dec.InputOffset())
	}
	if delim == '{' {
		return d.object()
	}
	return d.array()
}

func (d *streamDecoder) object() (any, error) {
	m := map[string]any{}
	for d.dec.More() {
		kt, err := d.dec.Token()
		if err != nil {
			return nil, d.fail(err)
		}
		k, _ := kt.(string) // the decoder allows only strings here
		d.push(ptrStep{name: k})
		if _, dup := m[k]; dup {
			return nil, duplicateMember(d.pointer())
		}
		var v any
		switch {
		case d.depth != d.featDep:
			v, err = d.value()
		case k == "geometry":
			d.inGeom = true
			v, err = d.value()
			d.inGeom = false
		default:
			v, err = d.rawValue()
		}
		d.pop()
		if err != nil {
			return nil, err
		}
		m[k] = v
	}
	if _, err := d.dec.Token(); err != nil {
		return nil, d.fail(err)
	}
	return m, nil
}

func (d *streamDecoder) array() (any, error) {
	a := []any{}
	for i := 0; d.dec.More(); i++ {
		d.push(ptrStep{index: i, isIdx: true})
		v, err := d.value()
		d.pop()
		if err != nil {
			return nil, err
		}
		if _, num := v.(json.Number); i == 0 && num && d.inGeom {
			// An array that starts with a number is a position: count it
			// now, so that a huge geometry stops the reading at once.
			if d.pos++; d.max > 0 && d.pos > d.max {
				msg := fmt.Sprintf("geometry has more than %d positions; at most %d are allowed per feature", d.max, d.max)
				return nil, &Error{Code: EUNPROCESSABLE, Message: msg + "; nothing was stored",
					Details: []FieldError{{Pointer: d.featPtr + "/geometry/coordinates", Message: msg}}}
			}
		}
		a = append(a, v)
	}
	if _, err := d.dec.Token(); err != nil {
		return nil, d.fail(err)
	}
	return a, nil
}

// end checks that nothing but white space follows the body's value.
func (d *streamDecoder) end() error {
	d.unit("")
	tok, err := d.dec.Token()
	if errors.Is(err, io.EOF) {
		return nil
	}
	if err != nil {
		return d.fail(err)
	}
	_ = tok
	return Errorf(EINVALID, "request body is not valid JSON: unexpected data after the first value (at byte %d)", d.dec.InputOffset())
}

// batchResult is what reading a features array found.
type batchResult struct {
	isArray bool
	total   int
	bad     int
	errs    []FieldError
	drafts  []Draft
}

// features reads the value of a top-level "features" member, validating
// each feature as it arrives.
func (d *streamDecoder) features(ctx context.Context, schema Schema, rules UploadRules, out *batchResult) error {
	d.unit("/features")
	tok, err := d.dec.Token()
	if err != nil {
		return d.fail(err)
	}
	if tok != json.Delim('[') {
		_, err := d.build(tok)
		return err
	}
	out.isArray = true
	d.depth++
	defer func() { d.depth--; d.featDep = -1 }()
	for i := 0; ; i++ {
		ptr := "/features/" + strconv.Itoa(i)
		d.unit(ptr)
		if !d.dec.More() {
			break
		}
		if rules.MaxBatch > 0 && i >= rules.MaxBatch {
			msg := fmt.Sprintf("a batch may hold at most %d features (the batch limit); this one has more: split it", rules.MaxBatch)
			return &Error{Code: ETOOLARGE, Message: msg, Details: []FieldError{{Pointer: "/features", Message: msg}}}
		}
		if i&63 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		d.push(ptrStep{index: i, isIdx: true})
		d.featDep, d.featPtr, d.pos = d.depth+1, ptr, 0
		v, err := d.value()
		d.pop()
		if err != nil {
			return err
		}
		out.total++
		var errs []FieldError
		var dr Draft
		if fo, ok := v.(map[string]any); ok {
			dr, errs = decodeFeature(fo, ptr, schema, rules)
		} else {
			errs = []FieldError{{Pointer: ptr, Message: "must be a GeoJSON Feature object"}}
		}
		if len(errs) > 0 {
			out.bad++
			out.drafts = nil // nothing will be stored: keep no drafts
			if len(out.errs) < maxErrors {
				out.errs = append(out.errs, errs...)
			}
			continue
		}
		if out.bad == 0 {
			out.drafts = append(out.drafts, dr)
		}
	}
	if _, err := d.dec.Token(); err != nil {
		return d.fail(err)
	}
	return nil
}

// decodeTop reads a whole body: an object whose members are read one by one
// (each under the byte limit), and whose "features" array, unless single,
// is streamed feature by feature. It returns the object's other members.
func (d *streamDecoder) decodeTop(ctx context.Context, schema Schema, rules UploadRules, single bool, batch *batchResult) (map[string]any, bool, error) {
	d.unit("")
	tok, err := d.dec.Token()
	if errors.Is(err, io.EOF) {
		return nil, false, Errorf(EINVALID, "request body is empty; send a GeoJSON Feature or FeatureCollection")
	}
	if err != nil {
		return nil, false, d.fail(err)
	}
	if tok != json.Delim('{') {
		// Read it all, so that broken JSON is reported as such.
		if _, err := d.build(tok); err != nil {
			return nil, false, err
		}
		return nil, false, d.end()
	}
	d.depth = 1
	top := map[string]any{}
	sawFeatures := false
	for {
		d.unit("")
		if !d.dec.More() {
			break
		}
		kt, err := d.dec.Token()
		if err != nil {
			return nil, false, d.fail(err)
		}
		k, _ := kt.(string)
		d.push(ptrStep{name: k})
		if _, dup := top[k]; dup || k == "features" && sawFeatures {
			return nil, false, duplicateMember(d.pointer())
		}
		if k == "features" && !single {
			sawFeatures = true
			err = d.features(ctx, schema, rules, batch)
		} else {
			d.unit("/" + escapePtr(k))
			if k == "geometry" {
				d.inGeom, d.featPtr, d.pos = true, "", 0
				top[k], err = d.value()
				d.inGeom = false
			} else {
				top[k], err = d.rawValue()
			}
		}
		d.pop()
		if err != nil {
			return nil, false, err
		}
	}
	if _, err := d.dec.Token(); err != nil {
		return nil, false, d.fail(err)
	}
	if err := d.end(); err != nil {
		return nil, false, err
	}
	return top, true, nil
}

// DecodeUploadReader is DecodeUpload reading the body from r as it arrives.
// Errors of r that are *Error (such as the body limit) are returned as they
// are. It stops at the first limit crossed: MaxBatch features, MaxVertices
// positions or MaxFeatureBytes bytes in one feature, nesting deeper than
// 10,000, invalid UTF-8 or JSON, a repeated member name.
func DecodeUploadReader(ctx context.Context, r io.Reader, schema Schema, rules UploadRules) (drafts []Draft, batch bool, err error) {
	d := newStreamDecoder(r, rules)
	var br batchResult
	top, isObj, err := d.decodeTop(ctx, schema, rules, false, &br)
	if err != nil {
		return nil, br.isArray, err
	}
	if !isObj {
		return nil, false, unprocessable(0, 0, []FieldError{{Pointer: "", Message: "body must be a GeoJSON Feature or FeatureCollection object"}})
	}
	switch top["type"] {
	case "Feature":
		dr, errs := decodeFeature(top, "", schema, rules)
		if len(errs) > 0 {
			return nil, false, unprocessable(1, 0, errs)
		}
		return []Draft{dr}, false, nil
	case "FeatureCollection":
	default:
		return nil, false, unprocessable(0, 0, []FieldError{{Pointer: "/type", Message: `type must be "Feature" or "FeatureCollection"`}})
	}
	switch {
	case !br.isArray:
		return nil, true, unprocessable(0, 0, []FieldError{{Pointer: "/features", Message: "a FeatureCollection needs a features array"}})
	case br.total == 0:
		return nil, true, unprocessable(0, 0, []FieldError{{Pointer: "/features", Message: "the FeatureCollection has no features"}})
	case br.bad > 0:
		return nil, true, unprocessable(br.bad, br.total, br.errs)
	}
	return br.drafts, true, nil
}

// DecodeFeatureReader is DecodeFeatureBody reading the body from r.
func DecodeFeatureReader(ctx context.Context, r io.Reader, schema Schema, rules UploadRules) (Draft, error) {
	d := newStreamDecoder(r, rules)
	top, isObj, err := d.decodeTop(ctx, schema, rules, true, nil)
	if err != nil {
		return Draft{}, err
	}
	if !isObj || top["type"] != "Feature" {
		return Draft{}, unprocessable(0, 0, []FieldError{{Pointer: "/type", Message: `body must be a GeoJSON object with type "Feature"`}})
	}
	dr, errs := decodeFeature(top, "", schema, rules)
	if len(errs) > 0 {
		return Draft{}, unprocessable(1, 0, errs)
	}
	return dr, nil
}
