package web

import (
	"slices"
	"strings"

	"troopmap/layers"
	"troopmap/layers/props"
)

// Tile properties are the feature's properties made flat, because MVT values
// are scalars: nested objects become dotted keys (strength.personnel.best),
// arrays of scalars become comma-joined strings (zones), and the bulky
// members below are left out (they stay available from /items). The
// feature's id is the property "id" (report ids are not integers, which is
// all MVT's own id field can hold).
func tileSkipped(name string) bool {
	return name == "notes" || name == "sources" || name == "equipment"
}

// tileProps are f's tile properties, without the withheld ones (what the
// reader's view would drop, see layers.Reader.Withheld).
func tileProps(f *layers.Feature, withheld []string) map[string]any {
	m := make(map[string]any, f.Props.Len()+4)
	for k, raw := range f.Props.Members() {
		if tileSkipped(k) || slices.Contains(withheld, k) {
			continue
		}
		flattenInto(m, k, props.Decode(raw))
	}
	m["id"] = f.ID
	return m
}

func flattenInto(m map[string]any, key string, v any) {
	switch v := v.(type) {
	case nil:
	case string, bool, float64, float32, int, int64, int32, uint64, uint32:
		m[key] = v
	case map[string]any:
		for k, x := range v {
			flattenInto(m, key+"."+k, x)
		}
	case []string:
		m[key] = strings.Join(v, ",")
	case []any:
		parts := make([]string, 0, len(v))
		for _, x := range v {
			s, ok := x.(string)
			if !ok {
				return // arrays of objects are not drawn
			}
			parts = append(parts, s)
		}
		m[key] = strings.Join(parts, ",")
	}
}

// tileFields lists a layer's tile properties and their TileJSON types: from
// the report schema where there is one, else from the features themselves.
func tileFields(l *layers.Layer) map[string]string {
	out := map[string]string{"id": "String"}
	if schema, ok := l.Schema(); ok {
		var walk func(prefix string, fs []layers.Field)
		walk = func(prefix string, fs []layers.Field) {
			for _, f := range fs {
				if prefix == "" && tileSkipped(f.Name) {
					continue
				}
				name := prefix + f.Name
				switch f.Type {
				case layers.TypeObject:
					walk(name+".", f.Fields)
				case layers.TypeArray:
					if f.Items != nil && f.Items.Type == layers.TypeString {
						out[name] = "String"
					}
				case layers.TypeNumber, layers.TypeInteger:
					out[name] = "Number"
				case layers.TypeBoolean:
					out[name] = "Boolean"
				default:
					out[name] = "String"
				}
			}
		}
		walk("", schema.Fields)
		return out
	}
	n := 0
	l.Snapshot().All(func(f *layers.Feature) bool {
		for k, v := range tileProps(f, nil) {
			switch v.(type) {
			case string:
				out[k] = "String"
			case bool:
				out[k] = "Boolean"
			default:
				out[k] = "Number"
			}
		}
		n++
		return n < 100
	})
	return out
}

// reliabilityRank orders reports for tile budgets: the admiralty grades
// source_reliability (a best) then info_credibility (1 best); unknown last.
func reliabilityRank(f *layers.Feature) int {
	r, _ := f.Props.String("source_reliability")
	c, _ := f.Props.String("info_credibility")
	rank := 6 * 7
	if len(r) == 1 && r[0] >= 'a' && r[0] <= 'f' {
		rank = int(r[0]-'a') * 7
	}
	if len(c) == 1 && c[0] >= '1' && c[0] <= '6' {
		return rank + int(c[0]-'1')
	}
	return rank + 6
}

// sortByPriority orders features for the tile budget: the most reliable
// first, then the newest (observed_at), then by id so the order is total.
func sortByPriority(fs []*layers.Feature) {
	slices.SortFunc(fs, func(a, b *layers.Feature) int {
		if ra, rb := reliabilityRank(a), reliabilityRank(b); ra != rb {
			return ra - rb
		}
		if c := b.Start.Compare(a.Start); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}
