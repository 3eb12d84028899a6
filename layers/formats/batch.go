package formats

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/paulmach/orb/geojson"

	"troopmap/layers"
)

// MaxProblems bounds the problems one decode collects before it stops, so a
// wrong file gets a readable report rather than a million lines.
const MaxProblems = 100

// Problem is one thing wrong with an import, located in the analyst's file.
type Problem struct {
	// Where names the place in the file: "row 17, column echelon" or
	// `placemark 3 ("Kerch ferry"), field echelon`.
	Where string `json:"where"`
	// Pointer is the JSON pointer into the equivalent GeoJSON upload
	// (/features/15/properties/echelon), when there is one.
	Pointer string `json:"pointer,omitempty"`
	Message string `json:"message"`
}

func (p Problem) String() string {
	if p.Where == "" {
		return p.Message
	}
	return p.Where + ": " + p.Message
}

// origin is where one decoded feature came from.
type origin struct {
	row       int    // CSV: 1-based row, the header being row 1
	placemark int    // KML: 1-based placemark number in document order
	name      string // KML: the placemark's name
	geomCols  string // CSV: the column(s) the geometry was read from
	// fields maps a property path (dotted) to the column or KML element it
	// came from when that differs from the path itself.
	fields map[string]string
}

// Batch is a decoded import: GeoJSON features in file order, and where each
// came from.
type Batch struct {
	Format   string // "csv", "kml" or "kmz"
	Features []*geojson.Feature
	origins  []origin
}

// FeatureCollection returns the batch as a GeoJSON FeatureCollection.
func (b *Batch) FeatureCollection() *geojson.FeatureCollection {
	fc := geojson.NewFeatureCollection()
	fc.Features = b.Features
	return fc
}

// Where tells a JSON pointer into the batch's FeatureCollection
// (/features/N/...) as a place in the source file. Pointers it cannot place
// are returned unchanged.
func (b *Batch) Where(pointer string) string {
	segs := splitPointer(pointer)
	if len(segs) < 2 || segs[0] != "features" {
		return pointer
	}
	n, err := strconv.Atoi(segs[1])
	if err != nil || n < 0 || n >= len(b.origins) {
		return pointer
	}
	o := b.origins[n]
	rest := segs[2:]
	var place string
	if b.Format == "csv" {
		place = fmt.Sprintf("row %d", o.row)
	} else {
		place = fmt.Sprintf("placemark %d", o.placemark)
		if o.name != "" {
			place += fmt.Sprintf(" (%q)", o.name)
		}
	}
	if len(rest) == 0 {
		return place
	}
	switch rest[0] {
	case "geometry":
		if b.Format == "csv" {
			return place + ", " + o.geomCols
		}
		return place + ", geometry"
	case "properties":
		if len(rest) == 1 {
			return place
		}
		name := propertyName(rest[1:], o.fields)
		if b.Format == "csv" {
			return place + ", column " + name
		}
		return place + ", field " + name
	}
	return place
}

// propertyName finds the column a property path came from: the longest
// dotted prefix of the path that a column was read into, else the path up
// to its first array index.
func propertyName(path []string, fields map[string]string) string {
	for i := len(path); i > 0; i-- {
		if src, ok := fields[strings.Join(path[:i], ".")]; ok {
			return src
		}
	}
	var keep []string
	for _, s := range path {
		if _, err := strconv.Atoi(s); err == nil {
			break
		}
		keep = append(keep, s)
	}
	if len(keep) == 0 {
		return path[0]
	}
	return strings.Join(keep, ".")
}

// splitPointer splits an RFC 6901 JSON pointer into unescaped segments.
func splitPointer(p string) []string {
	p = strings.TrimPrefix(p, "#")
	if !strings.HasPrefix(p, "/") {
		return nil
	}
	segs := strings.Split(p[1:], "/")
	for i, s := range segs {
		segs[i] = strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
	}
	return segs
}

// Relabel returns problems for validation errors given as JSON pointers and
// messages, placed in the source file.
func (b *Batch) Relabel(pointer, message string) Problem {
	return Problem{Where: b.Where(pointer), Pointer: pointer, Message: message}
}

// problems collects decode problems up to MaxProblems.
type problems struct {
	list []Problem
	more int
}

func (ps *problems) add(where, pointer, format string, args ...any) {
	if len(ps.list) >= MaxProblems {
		ps.more++
		return
	}
	ps.list = append(ps.list, Problem{Where: where, Pointer: pointer, Message: fmt.Sprintf(format, args...)})
}

func (ps *problems) full() bool { return len(ps.list) >= MaxProblems }

// err returns nil or an *layers.Error of the given code listing the problems.
func (ps *problems) err(code, what string) error {
	if len(ps.list) == 0 {
		return nil
	}
	msg := fmt.Sprintf("%s: %s", what, ps.list[0])
	if n := len(ps.list) + ps.more - 1; n > 0 {
		msg += fmt.Sprintf(" (and %d more)", n)
	}
	return &layers.Error{Code: code, Message: msg, Details: ps.list}
}

func featurePointer(i int, rest ...string) string {
	p := "/features/" + strconv.Itoa(i)
	for _, r := range rest {
		p += "/" + strings.ReplaceAll(strings.ReplaceAll(r, "~", "~0"), "/", "~1")
	}
	return p
}
