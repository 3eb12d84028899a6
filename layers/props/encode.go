package props

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// The encoder is hand-written for the value types properties hold (what JSON
// decoding gives: strings, float64, bool, nil, []any, map[string]any, plus
// time.Time and ints); anything else falls back to encoding/json.

// AppendFloat appends f formatted like encoding/json: shortest representation, exponent
// only for very large or small magnitudes. NaN and infinities, which JSON
// cannot hold, become null.
func AppendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	abs := math.Abs(f)
	fmt := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		fmt = 'e'
	}
	b = strconv.AppendFloat(b, f, fmt, -1, 64)
	if fmt == 'e' {
		// clean up e-09 to e-9, as encoding/json does
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// appendMap writes a map with its keys sorted, as encoding/json does.
func appendMap(b []byte, m map[string]any) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendString(b, k)
		b = append(b, ':')
		b = AppendValue(b, m[k])
	}
	return append(b, '}')
}

// RawJSON is a value already written as JSON by AppendValue (or taken from
// Props.Raw); AppendValue copies it as it is. It lets a caller that puts
// the same large value into many Props encode it once.
type RawJSON string

// EncodeValue writes v as RawJSON.
func EncodeValue(v any) RawJSON { return RawJSON(AppendValue(nil, v)) }

// sizeHint guesses how long v's JSON is, so that a buffer is grown once.
func sizeHint(v any) int {
	switch v := v.(type) {
	case RawJSON:
		return len(v)
	case string:
		return len(v) + 2
	case []any:
		n := 2
		for _, x := range v {
			n += sizeHint(x) + 1
		}
		return n
	case []string:
		n := 2
		for _, x := range v {
			n += len(x) + 3
		}
		return n
	case map[string]any:
		n := 2
		for k, x := range v {
			n += len(k) + 4 + sizeHint(x)
		}
		return n
	}
	return 24
}

// AppendValue appends v as JSON. NaN and infinities become null.
func AppendValue(b []byte, v any) []byte {
	switch v := v.(type) {
	case RawJSON:
		return append(b, v...)
	case nil:
		return append(b, "null"...)
	case string:
		return AppendString(b, v)
	case bool:
		return strconv.AppendBool(b, v)
	case float64:
		return AppendFloat(b, v)
	case int:
		return strconv.AppendInt(b, int64(v), 10)
	case int64:
		return strconv.AppendInt(b, v, 10)
	case json.Number:
		if _, err := strconv.ParseFloat(string(v), 64); err == nil {
			return append(b, v...)
		}
		return AppendString(b, string(v))
	case time.Time:
		return AppendString(b, v.UTC().Format(time.RFC3339Nano))
	case map[string]any:
		return appendMap(b, v)
	case []any:
		return appendArray(b, v, AppendValue)
	case []string:
		return appendArray(b, v, AppendString)
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return append(b, "null"...)
	}
	return append(b, raw...)
}

func appendArray[T any](b []byte, xs []T, appendOne func([]byte, T) []byte) []byte {
	b = append(b, '[')
	for i, x := range xs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendOne(b, x)
	}
	return append(b, ']')
}

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string: quotes, backslashes and control
// characters escaped, invalid UTF-8 replaced by U+FFFD, and <, >, & and
// U+2028/U+2029 escaped as encoding/json does, so that no markup stands raw
// in an answer and the output is also safe inside JavaScript.
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
