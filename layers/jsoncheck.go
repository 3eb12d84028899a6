package layers

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Checks on raw request bodies that encoding/json does not make: it takes
// the last of two members with the same name and silently replaces invalid
// UTF-8 with U+FFFD. A report must mean one thing, so both are refused.

// invalidUTF8At returns the offset of the first byte of b that is not valid
// UTF-8, or -1.
func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return -1
}

// duplicateKey scans b, which must be syntactically valid JSON (decode it
// first), and returns the JSON pointer of the first member whose name its
// object already holds.
func duplicateKey(b []byte) (string, bool) {
	s := &dupScanner{b: b}
	return s.value()
}

// ptrStep is one step of the path to the current value: a member name or
// an array index. Pointers are built only when a duplicate is found.
type ptrStep struct {
	name  string
	index int
	isIdx bool
}

type dupScanner struct {
	b    []byte
	i    int
	path []ptrStep
}

func (s *dupScanner) pointer(last string) string {
	var sb strings.Builder
	for _, seg := range s.path {
		sb.WriteByte('/')
		if seg.isIdx {
			sb.WriteString(strconv.Itoa(seg.index))
		} else {
			sb.WriteString(escapePtr(seg.name))
		}
	}
	sb.WriteByte('/')
	sb.WriteString(escapePtr(last))
	return sb.String()
}

func (s *dupScanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// str reads a string starting at its opening quote and returns its raw
// bytes between the quotes and whether it holds escapes.
func (s *dupScanner) str() ([]byte, bool) {
	s.i++ // opening quote
	start, esc := s.i, false
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case '\\':
			esc = true
			s.i += 2
			continue
		case '"':
			raw := s.b[start:s.i]
			s.i++
			return raw, esc
		}
		s.i++
	}
	return s.b[start:], esc
}

func (s *dupScanner) value() (string, bool) {
	s.ws()
	if s.i >= len(s.b) {
		return "", false
	}
	switch s.b[s.i] {
	case '{':
		return s.object()
	case '[':
		s.i++
		for n := 0; ; n++ {
			s.ws()
			if s.i >= len(s.b) {
				return "", false
			}
			if s.b[s.i] == ']' {
				s.i++
				return "", false
			}
			if s.b[s.i] == ',' {
				s.i++
			}
			s.path = append(s.path, ptrStep{index: n, isIdx: true})
			p, dup := s.value()
			s.path = s.path[:len(s.path)-1]
			if dup {
				return p, true
			}
		}
	case '"':
		s.str()
	default: // number, true, false, null
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case ',', ']', '}', ' ', '\t', '\n', '\r':
				return "", false
			}
			s.i++
		}
	}
	return "", false
}

func (s *dupScanner) object() (string, bool) {
	s.i++
	var small []string       // names of a small object, searched linearly
	var seen map[string]bool // names of a large one
	for {
		s.ws()
		if s.i >= len(s.b) {
			return "", false
		}
		switch s.b[s.i] {
		case '}':
			s.i++
			return "", false
		case ',':
			s.i++
			s.ws()
		}
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return "", false
		}
		raw, esc := s.str()
		name := string(raw)
		if esc {
			// Escapes may spell the same name differently ("\u0061" is "a").
			_ = json.Unmarshal(append(append([]byte{'"'}, raw...), '"'), &name)
		}
		dup := false
		if seen != nil {
			dup = seen[name]
			seen[name] = true
		} else {
			for _, x := range small {
				dup = dup || x == name
			}
			small = append(small, name)
			if len(small) > 16 {
				seen = make(map[string]bool, 32)
				for _, x := range small {
					seen[x] = true
				}
			}
		}
		if dup {
			return s.pointer(name), true
		}
		s.ws()
		if s.i < len(s.b) && s.b[s.i] == ':' {
			s.i++
		}
		s.path = append(s.path, ptrStep{name: name})
		p, d := s.value()
		s.path = s.path[:len(s.path)-1]
		if d {
			return p, true
		}
	}
}
