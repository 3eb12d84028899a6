package layers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

// countingReader counts the bytes a decoder pulled.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// TestDecodeUploadReaderStops checks that each limit stops the reading
// soon after it is crossed, not at the end of the body, with a pointer to
// where it was crossed.
func TestDecodeUploadReaderStops(t *testing.T) {
	schema, _ := ReportSchema(Incidents)
	one, _ := json.Marshal(feature(validIncident(), `{"type":"Point","coordinates":[37.8,48.0]}`))
	many := func(n int, f []byte) []byte {
		var b bytes.Buffer
		b.WriteString(`{"type":"FeatureCollection","features":[`)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			b.Write(f)
		}
		b.WriteString("]}")
		return b.Bytes()
	}
	line := func(n int) []byte {
		var b bytes.Buffer
		b.WriteString(`{"type":"Feature","properties":{},"geometry":{"type":"LineString","coordinates":[`)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "[37.%04d,48.1]", i%10000)
		}
		b.WriteString("]}}")
		return b.Bytes()
	}
	rules := DefaultUploadRules()
	rules.MaxBatch = 100
	rules.Geometry.MaxVertices = 1000
	rules.MaxFeatureBytes = 64 << 10
	for _, c := range []struct {
		name     string
		body     []byte
		code     string
		ptr      string
		msg      string
		readLess int // the decoder must have read fewer bytes than this
	}{
		{"batch limit", many(10000, one), ETOOLARGE, "/features", "at most 100 features", 110 * len(one)},
		{"positions of a feature", line(1_000_000), EUNPROCESSABLE, "/geometry/coordinates", "more than 1000 positions", 64 << 10},
		{"positions in a batch", many(3, line(5000)), EUNPROCESSABLE, "/features/0/geometry/coordinates", "more than 1000 positions", 64 << 10},
		{"feature bytes", []byte(`{"type":"Feature","geometry":null,"properties":{"notes":"` + strings.Repeat("x", 1<<20) + `"}}`), ETOOLARGE, "/properties", "65536 bytes per feature", 200 << 10},
		{"feature bytes in a batch", many(2, []byte(`{"type":"Feature","geometry":null,"properties":{"notes":"`+strings.Repeat("x", 1<<20)+`"}}`)), ETOOLARGE, "/features/0", "65536 bytes per feature", 200 << 10},
		{"white space", []byte(`{"type":"FeatureCollection","features":[` + strings.Repeat(" ", 1<<20) + "]}"), ETOOLARGE, "/features/0", "bytes per feature", 200 << 10},
		{"deep nesting", []byte(strings.Repeat("[", 1<<20)), EINVALID, "", "exceeded max depth", 200 << 10},
		{"deep nesting in properties", []byte(`{"type":"Feature","properties":` + strings.Repeat(`{"a":`, 20000) + "1" + strings.Repeat("}", 20000) + "}"), EINVALID, "", "exceeded max depth", 200 << 10},
	} {
		t.Run(c.name, func(t *testing.T) {
			cr := &countingReader{r: bytes.NewReader(c.body)}
			ds, _, err := DecodeUploadReader(context.Background(), cr, schema, rules)
			if ErrorCode(err) != c.code || len(ds) > 0 {
				t.Fatalf("got %d drafts, %v; want code %s", len(ds), err, c.code)
			}
			if !strings.Contains(err.Error(), c.msg) {
				t.Errorf("error %q lacks %q", err, c.msg)
			}
			if c.ptr != "" {
				fes, _ := err.(*Error).Details.([]FieldError)
				if len(fes) == 0 || fes[0].Pointer != c.ptr {
					t.Errorf("pointer: got %+v, want %s", fes, c.ptr)
				}
			}
			if cr.n >= c.readLess {
				t.Errorf("read %d of %d bytes before stopping; want fewer than %d", cr.n, len(c.body), c.readLess)
			}
		})
	}
}

// TestDecodeUploadReaderChecks covers what the stream must still catch
// that encoding/json lets through or that arrives split across reads.
func TestDecodeUploadReaderChecks(t *testing.T) {
	schema, _ := ReportSchema(Incidents)
	pt := `{"type":"Point","coordinates":[37.8,48.0]}`
	valid, _ := json.Marshal(feature(validIncident(), pt))
	props, _ := json.Marshal(validIncident())
	for _, c := range []struct {
		name string
		body string
		code string
		ptr  string
		msg  string
		n    int
	}{
		{"type after features", `{"features":[` + string(valid) + `],"type":"FeatureCollection"}`, "", "", "", 1},
		{"feature members in any order", `{"properties":` + string(props) + `,"geometry":` + pt + `,"type":"Feature"}`, "", "", "", 1},
		{"foreign members kept out", `{"type":"FeatureCollection","name":"x","bbox":[1,2,3,4],"features":[` + string(valid) + `]}`, "", "", "", 1},
		{"duplicate features", `{"type":"FeatureCollection","features":[` + string(valid) + `],"features":[]}`, EUNPROCESSABLE, "/features", "more than once", 0},
		{"duplicate inside a feature", `{"type":"FeatureCollection","features":[` + string(valid) + `,{"type":"Feature","geometry":` + pt + `,"properties":{"notes":"a","notes":"b"}}]}`, EUNPROCESSABLE, "/features/1/properties/notes", "more than once", 0},
		{"duplicate in a geometry", `{"type":"Feature","properties":{},"geometry":{"type":"Point","type":"Point","coordinates":[37.8,48]}}`, EUNPROCESSABLE, "/geometry/type", "more than once", 0},
		{"escaped duplicate", `{"type":"Feature","typ\u0065":"Feature","properties":{},"geometry":null}`, EUNPROCESSABLE, "/type", "more than once", 0},
		{"invalid UTF-8", `{"type":"Feature","properties":{"notes":"a` + "\xff" + `"},"geometry":null}`, EINVALID, "", "UTF-8 (at byte 42)", 0},
		{"truncated UTF-8 at the end", `{"type":"Feature"}` + "\xe2\x82", EINVALID, "", "(at byte 18)", 0},
		{"surrogate", `{"notes":"` + "\xed\xa0\x80" + `"}`, EINVALID, "", "UTF-8 (at byte 10)", 0},
		{"trailing data", string(valid) + ` {}`, EINVALID, "", "after the first value", 0},
		{"truncated", string(valid[:len(valid)-5]), EINVALID, "", "byte", 0},
		{"empty", "  ", EINVALID, "", "empty", 0},
		{"array body", `[1,2]`, EUNPROCESSABLE, "", "must be a GeoJSON", 0},
		{"broken array body", `[1,2`, EINVALID, "", "byte", 0},
		{"features not an array", `{"type":"FeatureCollection","features":{}}`, EUNPROCESSABLE, "/features", "features array", 0},
		{"feature not an object", `{"type":"FeatureCollection","features":[` + string(valid) + `,7]}`, EUNPROCESSABLE, "/features/1", "1 of 2", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			// One byte per read: every check must hold across read boundaries.
			ds, _, err := DecodeUploadReader(context.Background(), iotest.OneByteReader(strings.NewReader(c.body)), schema, DefaultUploadRules())
			if ErrorCode(err) != c.code || len(ds) != c.n {
				t.Fatalf("got %d drafts, %v; want %d, code %q", len(ds), err, c.n, c.code)
			}
			if err == nil {
				return
			}
			all := err.Error()
			fes, _ := err.(*Error).Details.([]FieldError)
			for _, fe := range fes {
				all += "\n" + fe.Message
			}
			if !strings.Contains(all, c.msg) {
				t.Errorf("error %q lacks %q", all, c.msg)
			}
			if c.ptr != "" {
				found := false
				for _, fe := range fes {
					found = found || fe.Pointer == c.ptr
				}
				if !found {
					t.Errorf("no error at %s: %+v", c.ptr, fes)
				}
			}
		})
	}
}

// FuzzDecodeUploadReader checks that reading a body in pieces changes
// nothing: the same drafts or the same error as reading it whole.
func FuzzDecodeUploadReader(f *testing.F) {
	pt := `{"type":"Point","coordinates":[37.8,48.0]}`
	one, _ := json.Marshal(feature(validIncident(), pt))
	f.Add(one, uint8(1))
	f.Add([]byte(`{"type":"FeatureCollection","features":[`+string(one)+`,`+string(one)+`]}`), uint8(3))
	f.Add([]byte(`{"notes":"é€😀`+"\xed\xa0\x80"+`"}`), uint8(2))
	f.Add([]byte(`{"type":"Feature","a":1,"a":2}`), uint8(5))
	schema, _ := ReportSchema(Incidents)
	rules := DefaultUploadRules()
	rules.MaxBatch = 20
	rules.Geometry.MaxVertices = 50
	f.Fuzz(func(t *testing.T, body []byte, step uint8) {
		whole, wb, werr := DecodeUploadReader(context.Background(), bytes.NewReader(body), schema, rules)
		r := io.Reader(bytes.NewReader(body))
		if step%8 == 1 {
			r = iotest.OneByteReader(r)
		} else if step%8 > 1 {
			r = iotest.HalfReader(r)
		}
		parts, pb, perr := DecodeUploadReader(context.Background(), r, schema, rules)
		if (werr == nil) != (perr == nil) || wb != pb || len(whole) != len(parts) {
			t.Fatalf("whole: %d drafts, %v; in pieces: %d drafts, %v", len(whole), werr, len(parts), perr)
		}
		if werr != nil {
			if werr.Error() != perr.Error() {
				t.Fatalf("errors differ:\n%v\n%v", werr, perr)
			}
			return
		}
		for i := range whole {
			if !reflect.DeepEqual(whole[i], parts[i]) {
				t.Fatalf("draft %d differs", i)
			}
		}
	})
}
