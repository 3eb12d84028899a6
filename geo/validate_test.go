package geo

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
)

var aoiRules = GeometryRules{MaxVertices: 6, Area: [4]float64{20, 43, 42, 54}, HasArea: true}

func TestDecodeGeometry(t *testing.T) {
	for _, c := range []struct {
		name, in   string
		rules      GeometryRules
		wantPtr    string // "" with wantMsg "" means valid
		wantMsg    string
		wantPoints int
	}{
		{"point", `{"type":"Point","coordinates":[37.8,48.0]}`, aoiRules, "", "", 1},
		{"point with altitude", `{"type":"Point","coordinates":[37.8,48.0,120]}`, aoiRules, "", "", 1},
		{"line", `{"type":"LineString","coordinates":[[37,48],[38,48.5]]}`, aoiRules, "", "", 2},
		{"polygon", `{"type":"Polygon","coordinates":[[[37,48],[38,48],[38,49],[37,48]]]}`, aoiRules, "", "", 4},
		{"collection", `{"type":"GeometryCollection","geometries":[{"type":"Point","coordinates":[37,48]}]}`, aoiRules, "", "", 1},
		{"null is no geometry", `null`, aoiRules, "", "", 0},
		{"unknown type", `{"type":"Circle","coordinates":[37,48]}`, aoiRules, "/type", "unknown geometry type", 0},
		{"type missing", `{"coordinates":[37,48]}`, aoiRules, "/type", "missing", 0},
		{"coordinates missing", `{"type":"Point"}`, aoiRules, "/coordinates", "needs coordinates", 0},
		{"point nested too deep", `{"type":"Point","coordinates":[[37,48],[38,49]]}`, aoiRules, "/coordinates/0", "must be a number", 0},
		{"string coordinate", `{"type":"Point","coordinates":["37",48]}`, aoiRules, "/coordinates/0", "must be a number", 0},
		{"one number", `{"type":"Point","coordinates":[37]}`, aoiRules, "/coordinates", "2 or 3 numbers", 0},
		{"four numbers", `{"type":"Point","coordinates":[37,48,1,2]}`, aoiRules, "/coordinates", "2 or 3 numbers", 0},
		{"overflowing number", `{"type":"Point","coordinates":[1e999,48]}`, aoiRules, "/coordinates/0", "not a finite number", 0},
		{"latitude out of range", `{"type":"Point","coordinates":[37,95]}`, GeometryRules{}, "/coordinates", "outside longitude -180..180, latitude -90..90", 0},
		{"swapped beyond range", `{"type":"Point","coordinates":[48,-170]}`, GeometryRules{Area: [4]float64{-180, 40, 180, 60}, HasArea: true}, "/coordinates", "swapped", 0},
		{"line of one position", `{"type":"LineString","coordinates":[[37,48]]}`, aoiRules, "/coordinates", "at least 2 positions", 0},
		{"ring too short", `{"type":"Polygon","coordinates":[[[37,48],[38,48],[37,48]]]}`, aoiRules, "/coordinates/0", "at least 4 positions", 0},
		{"ring not closed", `{"type":"Polygon","coordinates":[[[37,48],[38,48],[38,49],[37,49]]]}`, aoiRules, "/coordinates/0", "not closed", 0},
		{"second polygon's ring", `{"type":"MultiPolygon","coordinates":[[[[37,48],[38,48],[38,49],[37,48]]],[[[37,48],[38,48],[37,48]]]]}`, GeometryRules{Area: aoiRules.Area, HasArea: true}, "/coordinates/1/0", "at least 4", 0},
		{"too many vertices counted before checking", `{"type":"MultiPolygon","coordinates":[[[[37,48],[38,48],[38,49],[37,48]]],[[[37,48],[38,48],[37,48]]]]}`, aoiRules, "/coordinates", "has 7 positions", 0},
		{"empty multipoint", `{"type":"MultiPoint","coordinates":[]}`, aoiRules, "/coordinates", "at least one", 0},
		{"nested collection", `{"type":"GeometryCollection","geometries":[{"type":"GeometryCollection","geometries":[]}]}`, aoiRules, "/geometries/0/type", "must not contain", 0},
		{"too many vertices", `{"type":"LineString","coordinates":[[37,48],[37,48],[37,48],[37,48],[37,48],[37,48],[37,48]]}`, aoiRules, "/coordinates", "at most 6", 0},
		{"outside area", `{"type":"Point","coordinates":[13.4,52.5]}`, aoiRules, "/coordinates", "outside the area of interest", 0},
		{"swapped lat/lon", `{"type":"Point","coordinates":[48.0,37.8]}`, aoiRules, "/coordinates", "write [37.8, 48]", 0},
		{"line vertex outside area", `{"type":"LineString","coordinates":[[37,48],[50,48]]}`, aoiRules, "/coordinates/1", "outside the area", 0},
		{"not an object", `[1,2]`, aoiRules, "", "must be a JSON object", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			g, probs := DecodeGeometry([]byte(c.in), c.rules)
			if c.wantMsg == "" {
				if len(probs) > 0 {
					t.Fatalf("unexpected problems %v", probs)
				}
				if c.wantPoints == 0 {
					if g != nil {
						t.Fatalf("want nil geometry, got %v", g)
					}
					return
				}
				if n := countPoints(g); n != c.wantPoints {
					t.Fatalf("geometry has %d points, want %d", n, c.wantPoints)
				}
				return
			}
			if g != nil {
				t.Errorf("invalid input gave a geometry %v", g)
			}
			if len(probs) == 0 {
				t.Fatalf("no problem reported")
			}
			if probs[0].Pointer != c.wantPtr || !strings.Contains(probs[0].Message, c.wantMsg) {
				t.Fatalf("got %q %q, want %q containing %q", probs[0].Pointer, probs[0].Message, c.wantPtr, c.wantMsg)
			}
		})
	}
}

func countPoints(g orb.Geometry) int {
	switch g := g.(type) {
	case orb.Point:
		return 1
	case orb.LineString:
		return len(g)
	case orb.Polygon:
		n := 0
		for _, r := range g {
			n += len(r)
		}
		return n
	case orb.Collection:
		n := 0
		for _, x := range g {
			n += countPoints(x)
		}
		return n
	}
	return -1
}

// FuzzDecodeGeometry checks that no input panics, that a geometry is
// returned exactly when no problem is, and that an accepted geometry
// survives a GeoJSON round trip unchanged.
func FuzzDecodeGeometry(f *testing.F) {
	for _, s := range []string{
		`{"type":"Point","coordinates":[37.8,48.0]}`,
		`{"type":"LineString","coordinates":[[37,48],[38,48.5]]}`,
		`{"type":"Polygon","coordinates":[[[37,48],[38,48],[38,49],[37,48]]]}`,
		`{"type":"MultiPolygon","coordinates":[[[[37,48],[38,48],[38,49],[37,48]]]]}`,
		`{"type":"MultiLineString","coordinates":[[[37,48],[38,48.5]]]}`,
		`{"type":"MultiPoint","coordinates":[[37,48]]}`,
		`{"type":"GeometryCollection","geometries":[{"type":"Point","coordinates":[37,48]}]}`,
		`{"type":"Point","coordinates":[48.0,37.8]}`,
		`{"type":"Point","coordinates":[1e999,48]}`,
		`null`, `[]`, `{"type":"Polygon","coordinates":[[[37,48]]]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		g, probs := DecodeGeometry(in, aoiRules)
		if len(probs) > 0 {
			if g != nil {
				t.Fatalf("problems %v and a geometry", probs)
			}
			return
		}
		if g == nil {
			return
		}
		b, err := json.Marshal(geojson.NewGeometry(g))
		if err != nil {
			t.Fatalf("accepted geometry does not marshal: %v", err)
		}
		g2, probs := DecodeGeometry(b, aoiRules)
		if len(probs) > 0 {
			t.Fatalf("re-encoded geometry %s refused: %v", b, probs)
		}
		if !orb.Equal(g, g2) {
			t.Fatalf("round trip changed the geometry: %v -> %v", g, g2)
		}
	})
}
