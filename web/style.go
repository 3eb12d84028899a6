package web

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"troopmap/layers"
)

// handleStyle serves GET /styles/troopmap.json: a MapLibre style (spec v8)
// drawing every collection from the server's own tiles, with no outside
// basemap, fonts or sprites (so no text labels). The area layers and the
// oblasts are the base; reports go on top, clusters as sized circles.
func (s *Server) handleStyle(c echo.Context) error {
	cat, err := s.Catalog()
	if err != nil {
		return err
	}
	var ids []string
	for _, l := range cat.Layers() {
		ids = append(ids, l.ID)
	}
	c.Response().Header().Set("Cache-Control", s.tiles.cfg.CacheControl)
	return c.JSON(http.StatusOK, map[string]any{
		"version": 8,
		"name":    "troopmap",
		"sources": map[string]any{
			"troopmap": map[string]any{"type": "vector", "url": s.baseURL(c.Request()) + "/tiles/" + strings.Join(ids, ",") + ".json"},
		},
		"layers": styleLayers(cat.Layers()),
	})
}

// Style filter expressions, built afresh for each style so that no caller
// can change another's.
func notMeta() []any { return []any{"!", []any{"has", "tile_meta"}} }
func isPolygon() []any {
	return []any{"in", []any{"geometry-type"}, []any{"literal", []any{"Polygon", "MultiPolygon"}}}
}
func isLine() []any {
	return []any{"in", []any{"geometry-type"}, []any{"literal", []any{"LineString", "MultiLineString"}}}
}
func isPoint() []any {
	return []any{"in", []any{"geometry-type"}, []any{"literal", []any{"Point", "MultiPoint"}}}
}

// areaColours tint the shipped area layers; others get grey.
func areaColour(id string) (string, bool) {
	switch id {
	case "oblasts":
		return "#d9d4c7", true
	case "donbas":
		return "#c98f6b", true
	case "crimea":
		return "#7fa6c9", true
	case "northern-border-zone":
		return "#b3a0c9", true
	case "eastern-border-zone":
		return "#c9a0a0", true
	}
	return "", false
}

func styleLayers(ls []*layers.Layer) []map[string]any {
	out := []map[string]any{{"id": "background", "type": "background", "paint": map[string]any{"background-color": "#f4f1ea"}}}
	layer := func(id, typ, src string, filter []any, paint map[string]any) map[string]any {
		return map[string]any{"id": id, "type": typ, "source": "troopmap", "source-layer": src,
			"filter": append([]any{"all", notMeta()}, filter...), "paint": paint}
	}
	// Oblasts first, then the zones over them, then reports and derived layers.
	order := func(l *layers.Layer) int {
		switch {
		case l.ID == "oblasts":
			return 0
		case l.Kind == layers.KindArea:
			return 1
		case l.Kind == layers.KindDerived:
			return 2
		}
		return 3
	}

	for rank := 0; rank <= 3; rank++ {
		for _, l := range ls {
			if order(l) != rank {
				continue
			}
			switch l.Kind {
			case layers.KindArea:
				col, ok := areaColour(l.ID)
				if !ok {
					col = "#cccccc"
				}
				opacity := 0.35
				if l.ID == "oblasts" {
					opacity = 1
				}
				out = append(out,
					layer(l.ID+"-fill", "fill", l.ID, []any{isPolygon()}, map[string]any{"fill-color": col, "fill-opacity": opacity}),
					layer(l.ID+"-line", "line", l.ID, nil, map[string]any{"line-color": "#6b6358", "line-width": 0.8}))
			default:
				out = append(out, reportLayers(l, layer)...)
			}
		}
	}
	return out
}

func reportLayers(l *layers.Layer, layer func(string, string, string, []any, map[string]any) map[string]any) []map[string]any {
	colour := any("#444444")
	switch l.ID {
	case layers.TroopConcentrations:
		colour = []any{"match", []any{"get", "side"}, "ru", "#c0392b", "ua", "#2471a3", "by", "#7d3c98", "#7f8c8d"}
	case layers.Incidents:
		colour = []any{"match", []any{"get", "event_type"}, "battles", "#e67e22", "explosions_remote_violence", "#c0392b",
			"violence_against_civilians", "#8e44ad", "protests", "#27ae60", "riots", "#16a085", "#34495e"}
	}
	clustered := []any{"==", []any{"get", "clustered"}, true}
	single := []any{"!=", []any{"get", "clustered"}, true}
	return []map[string]any{
		layer(l.ID+"-area", "fill", l.ID, []any{isPolygon()}, map[string]any{"fill-color": colour, "fill-opacity": 0.3}),
		layer(l.ID+"-line", "line", l.ID, []any{isLine()}, map[string]any{"line-color": colour, "line-width": 2}),
		layer(l.ID+"-clusters", "circle", l.ID, []any{isPoint(), clustered}, map[string]any{
			"circle-color": "#5d4037", "circle-opacity": 0.6, "circle-stroke-color": "#ffffff", "circle-stroke-width": 1,
			"circle-radius": []any{"step", []any{"get", "point_count"}, 8, 10, 12, 100, 16, 1000, 22, 10000, 28},
		}),
		layer(l.ID+"-points", "circle", l.ID, []any{isPoint(), single}, map[string]any{
			"circle-color": colour, "circle-radius": 4, "circle-stroke-color": "#ffffff", "circle-stroke-width": 1,
		}),
	}
}
