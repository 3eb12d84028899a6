package web

import (
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"troopmap/layers"
)

// handleTileJSON serves GET /tiles/{layers}.json: TileJSON 3.0.0 for one or
// several comma-separated collections. A query string (datetime, filters)
// is carried into the tiles URL, so a viewer can load a filtered source.
func (s *Server) handleTileJSON(c echo.Context) error {
	name, ok := strings.CutSuffix(c.Param("layers"), ".json")
	if !ok {
		return layers.Errorf(layers.ENOTFOUND, "no such tile resource %q; TileJSON is /tiles/{layers}.json", c.Param("layers"))
	}
	cat, err := s.Catalog()
	if err != nil {
		return err
	}
	ls, err := lookupLayers(cat, name)
	if err != nil {
		return err
	}
	for _, l := range ls {
		if _, err := s.parseFilters(c, l); err != nil {
			return err
		}
	}
	c.Response().Header().Set("Cache-Control", s.tiles.cfg.CacheControl)
	tj, err := s.tileJSON(c, name, ls, c.QueryParams().Encode())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, tj)
}

// tileJSON describes the tiles of ls; bounds are those of what the reader
// may see.
func (s *Server) tileJSON(c echo.Context, name string, ls []*layers.Layer, query string) (map[string]any, error) {
	url := s.baseURL(c.Request()) + "/tiles/" + name + "/{z}/{x}/{y}.mvt"
	if query != "" {
		url += "?" + query
	}
	minZ, maxZ := 30, 0
	var west, south, east, north float64
	hasBound := false
	var vls []map[string]any
	var attrib, titles []string
	for _, l := range ls {
		minZ, maxZ = min(minZ, l.MinZoom), max(maxZ, l.MaxZoom)
		vis, err := s.visible(c, s.viewOf(c), l)
		if err != nil {
			return nil, err
		}
		if e := vis.Extent; e.HasBound {
			if !hasBound {
				west, south, east, north = e.Bound.Min[0], e.Bound.Min[1], e.Bound.Max[0], e.Bound.Max[1]
			} else {
				west, south = min(west, e.Bound.Min[0]), min(south, e.Bound.Min[1])
				east, north = max(east, e.Bound.Max[0]), max(north, e.Bound.Max[1])
			}
			hasBound = true
		}
		if l.Attribution != "" && !slices.Contains(attrib, l.Attribution) {
			attrib = append(attrib, l.Attribution)
		}
		titles = append(titles, l.Title)
		vls = append(vls, map[string]any{"id": l.ID, "description": l.Description,
			"minzoom": l.MinZoom, "maxzoom": l.MaxZoom, "fields": tileFields(l)})
	}
	if !hasBound { // an empty layer: the area of interest
		aoi := layers.AreaOfInterest()
		west, south, east, north = aoi[0], aoi[1], aoi[2], aoi[3]
	}
	west, east = max(west, -180), min(east, 180)
	south, north = max(south, -85.0511), min(north, 85.0511)
	centerZ := max(minZ, min(maxZ, 5))
	doc := map[string]any{
		"tilejson":      "3.0.0",
		"name":          name,
		"description":   strings.Join(titles, ", "),
		"scheme":        "xyz",
		"tiles":         []string{url},
		"minzoom":       minZ,
		"maxzoom":       maxZ,
		"bounds":        []float64{west, south, east, north},
		"center":        []float64{(west + east) / 2, (south + north) / 2, float64(centerZ)},
		"vector_layers": vls,
	}
	if len(attrib) > 0 {
		doc["attribution"] = strings.Join(attrib, "; ")
	}
	return doc, nil
}
