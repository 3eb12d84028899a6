package web

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/labstack/echo/v4"

	"troopmap/geo"
	"troopmap/layers"
)

// The OpenAPI 3.0 document is generated from the catalog and the report
// schema on each request, so it always lists exactly the collections, paths
// and parameters the server has. Each collection gets its own paths because
// their declared property parameters differ (GDAL reads them per path).

type obj = map[string]any

func (s *Server) handleAPI(c echo.Context) error {
	if err := checkParams(c, "f"); err != nil {
		return err
	}
	f, err := negotiate(c, mimeOpenAPI)
	if err != nil {
		return err
	}
	cat, err := s.Catalog()
	if err != nil {
		return err
	}
	base := s.baseURL(c.Request())
	doc := s.openAPI(base, cat)
	if f == formatHTML {
		return s.page(c, "api", "API definition", apiOperations(doc))
	}
	return writeJSON(c, mimeOpenAPI, doc)
}

// openAPI builds the whole document.
func (s *Server) openAPI(base string, cat *layers.Catalog) obj {
	paths := obj{
		"/": obj{"get": op("getLandingPage", "Landing page", "Links to the API definition, the conformance classes and the collections.",
			nil, resp200("landingPage", mimeJSON), "400", "406")},
		"/api": obj{"get": op("getAPI", "This API definition", "The OpenAPI 3.0 document (JSON); ?f=html gives a readable version.",
			nil, obj{"200": obj{"description": "The API definition", "content": obj{
				mimeOpenAPI: obj{"schema": obj{"type": "object"}},
				mimeHTML:    obj{"schema": obj{"type": "string"}},
			}}}, "400", "406")},
		"/conformance": obj{"get": op("getConformance", "Conformance classes", "The conformance classes this server implements.",
			nil, resp200("confClasses", mimeJSON), "400", "406")},
		"/collections": obj{"get": op("getCollections", "The collections", "Every feature collection with its extent and links.",
			nil, resp200("collections", mimeJSON), "400", "406", "503")},
		"/healthz": obj{"get": op("getHealth", "Liveness", "200 while the process runs.", nil,
			obj{"200": obj{"description": "alive", "content": obj{mimeJSON: obj{"schema": obj{"type": "object"}}}}})},
		"/readyz": obj{"get": op("getReady", "Readiness", "200 with per-layer feature counts once every layer is loaded.", nil,
			obj{"200": obj{"description": "ready", "content": obj{mimeJSON: obj{"schema": obj{"type": "object"}}}}}, "503")},
	}
	s.extraAPIPaths(paths, cat)
	for _, l := range cat.Layers() {
		p := "/collections/" + l.ID
		paths[p] = obj{"get": op("describe-"+l.ID, l.Title, "The description of collection "+l.ID+".",
			nil, resp200("collection", mimeJSON), "400", "404", "406")}
		paths[p+"/items"] = obj{"get": op("items-"+l.ID, l.Title+": features",
			"The features of "+l.ID+", filtered and paged. Every query parameter not listed is refused with 400.",
			itemsParameters(l), obj{"200": obj{"description": "A page of features", "headers": contentCrsHeader(),
				"content": itemsContent()}},
			"400", "404", "406", "413")}
		paths[p+"/items/{featureId}"] = obj{"get": op("item-"+l.ID, l.Title+": one feature", "One feature of "+l.ID+".",
			[]any{ref("featureId"), ref("f"), ref("crs")}, obj{"200": obj{"description": "The feature", "headers": contentCrsHeader(),
				"content": obj{mimeGeoJSON: obj{"schema": ref("featureGeoJSON")}, mimeHTML: obj{"schema": obj{"type": "string"}}}}},
			"400", "404", "406")}
		paths[p+"/queryables"] = obj{"get": op("queryables-"+l.ID, l.Title+": queryables",
			"The properties of "+l.ID+" that filter and sortby can use, as a JSON Schema.",
			[]any{ref("f")}, obj{"200": obj{"description": "The queryables", "content": obj{
				mimeSchema: obj{"schema": obj{"type": "object"}}, mimeHTML: obj{"schema": obj{"type": "string"}}}}},
			"400", "404", "406")}
	}
	s.writeAPIPaths(paths, cat)
	adminAPIPaths(paths)
	return obj{
		"openapi": "3.0.3",
		"info": obj{"title": "troopmap", "version": "1.0.0",
			"description": "OGC API – Features (Parts 1, 2 and 3) for reported troop concentrations, movements and incidents, and their boundary layers.",
			"license":     obj{"name": "MIT"}},
		"servers":    []any{obj{"url": base}},
		"paths":      paths,
		"components": obj{"parameters": parameters(), "schemas": schemas(), "responses": responses()},
	}
}

// extraAPIPaths documents the routes outside OGC API – Features (tiles,
// metrics, the map page, uploads); their owners extend it.
func (s *Server) extraAPIPaths(paths obj, cat *layers.Catalog) {
	paths["/metrics"] = obj{"get": op("getMetrics", "Metrics", "Prometheus metrics in the text exposition format.", []any{},
		obj{"200": obj{"description": "metrics", "content": obj{"text/plain": obj{"schema": obj{"type": "string"}}}}})}
	pathParam := func(name, desc string) obj {
		return obj{"name": name, "in": "path", "required": true, "description": desc, "schema": obj{"type": "string"}}
	}
	paths["/tiles/{layers}/{z}/{x}/{y}"] = obj{"get": op("getTile", "Vector tile",
		"A Mapbox Vector Tile (2.1) of one or more layers; takes the same datetime and property parameters as items.",
		[]any{pathParam("layers", "comma-separated collection ids"), pathParam("z", "zoom"), pathParam("x", "column"),
			pathParam("y", "row, optionally with .mvt or .pbf"), ref("asof")},
		obj{"200": obj{"description": "the tile", "content": obj{mvtType: obj{"schema": obj{"type": "string", "format": "binary"}}}},
			"204": obj{"description": "the tile is empty"}}, "400", "404")}
	paths["/tiles/{layers}"] = obj{"get": op("getTileJSON", "TileJSON", "TileJSON 3.0.0 for one or more comma-separated layers.",
		[]any{pathParam("layers", "comma-separated collection ids")},
		obj{"200": obj{"description": "the TileJSON document", "content": obj{mimeJSON: obj{"schema": obj{"type": "object"}}}}}, "400", "404")}
	paths["/styles/troopmap.json"] = obj{"get": op("getStyle", "Map style", "A MapLibre style over every layer's tiles.", []any{},
		obj{"200": obj{"description": "the style", "content": obj{mimeJSON: obj{"schema": obj{"type": "object"}}}}})}
	mimeText := func(desc string) obj {
		return obj{"200": obj{"description": desc, "content": obj{mimeHTML: obj{"schema": obj{"type": "string"}}}}}
	}
	paths["/map"] = obj{"get": op("getMap", "Map page",
		"The map page (HTML, MapLibre GL JS): area layers and reports from the tiles, time slider, filters, details, live updates and uploads. Served with a strict Content-Security-Policy.",
		[]any{}, mimeText("the page"), "503")}
	paths["/static/{hash}/{path}"] = obj{"get": op("getStatic", "Map page assets",
		"The map page's embedded scripts, styles and vendored libraries. Under the current content hash they are immutable (cached for a year); under an older hash they are served with no-cache.",
		[]any{pathParam("hash", "content hash of the static tree, as the page names it"),
			pathParam("path", "the file's path in the static tree; may contain slashes")},
		obj{"200": obj{"description": "the file", "content": obj{"text/javascript": obj{"schema": obj{"type": "string"}},
			"text/css": obj{"schema": obj{"type": "string"}}, "text/plain": obj{"schema": obj{"type": "string"}}}},
			"304": obj{"description": "not modified (If-None-Match)"}}, "404")}
	statsParam := func(name, desc string, enum ...string) obj {
		sch := obj{"type": "string"}
		if len(enum) > 0 {
			sch["enum"] = enum
		}
		return obj{"name": name, "in": "query", "required": false, "description": desc, "schema": sch}
	}
	statsParams := []any{
		statsParam("from", "start: RFC 3339 date-time or date; default: the reports' earliest observed_at"),
		statsParam("to", "end: RFC 3339 date-time or date (the whole day); default: the reports' latest time"),
		statsParam("interval", "interval length; days start 00:00 UTC, weeks on Monday", layers.StatsDay, layers.StatsWeek),
		statsParam("f", "json (default) or csv", "json", "csv"),
		ref("asof"),
	}
	statsOK := obj{"200": obj{"description": "counts and sums per area and interval, with the change from the interval before",
		"content": obj{mimeJSON: obj{"schema": obj{"type": "object"}}, "text/csv": obj{"schema": obj{"type": "string"}}}}}
	paths["/stats/zones"] = obj{"get": op("getZoneStats", "Zone statistics",
		"Per zone layer and interval: troop-concentration reports and personnel low/best/high, incidents by event type and fatalities, and the change from the interval before.",
		append(slices.Clone(statsParams), statsParam("zone", "comma-separated zone ids; default: every zone")), statsOK, "400")}
	for _, l := range cat.Layers() {
		if l.Kind != layers.KindArea {
			continue
		}
		paths["/collections/"+l.ID+"/items/{featureId}/stats"] = obj{"get": op("areaStats-"+l.ID, l.Title+": statistics of one feature",
			"The zone statistics for the reports that meet one feature of "+l.ID+".",
			append([]any{ref("featureId")}, statsParams...), statsOK, "400", "404")}
	}
	for _, l := range cat.Layers() {
		if _, ok := clusterSpecOf(l); !ok {
			continue
		}
		params := []any{pathParam("cluster_id", "the cluster's id, as given in the tile"), ref("limit"), ref("offset")}
		for _, n := range filterParamNames(l) {
			if p, ok := parameters()[n]; ok {
				params = append(params, p)
			}
		}
		paths["/collections/"+l.ID+"/clusters/{cluster_id}/leaves"] = obj{"get": op("clusterLeaves-"+l.ID, l.Title+": reports of a tile cluster",
			"The reports a tile cluster stands for, with the tile's filter parameters, paged by limit (at most 10,000) and offset.",
			params, obj{"200": obj{"description": "the reports", "content": obj{mimeJSON: obj{"schema": obj{"type": "object"}}}}}, "400", "404")}
	}
}

func ref(name string) obj {
	switch name {
	case "featureId", "f", "crs", "bbox", "near", "radius_km", "bbox-crs", "datetime", "limit", "offset", "filter", "filter-lang", "filter-crs", "sortby", "properties", "skipGeometry", "asof":
		return obj{"$ref": "#/components/parameters/" + name}
	}
	return obj{"$ref": "#/components/schemas/" + name}
}

func op(id, summary, desc string, params []any, ok obj, errs ...string) obj {
	o := obj{"operationId": id, "summary": summary, "description": desc, "responses": ok}
	if params == nil {
		params = []any{ref("f")}
		if id == "getHealth" || id == "getReady" {
			params = []any{}
		}
	}
	if len(params) > 0 {
		o["parameters"] = params
	}
	for _, e := range errs {
		ok[e] = obj{"$ref": "#/components/responses/" + e}
	}
	return o
}

func resp200(schema, mime string) obj {
	return obj{"200": obj{"description": "OK", "content": obj{
		mime:     obj{"schema": ref(schema)},
		mimeHTML: obj{"schema": obj{"type": "string"}},
	}}}
}

func contentCrsHeader() obj {
	return obj{"Content-Crs": obj{"description": "the CRS of the coordinates, as <uri>", "schema": obj{"type": "string"}}}
}

// itemsParameters lists the items route's parameters for layer l: the common
// ones and one per declared queryable property of its report schema. GDAL
// reads these to decide which filters it may push down.
func itemsParameters(l *layers.Layer) []any {
	ps := []any{}
	for _, n := range append(itemsParams(), filterParams()...) {
		if n == "f" {
			ps = append(ps, itemsFormatParam())
			continue
		}
		ps = append(ps, ref(n))
	}
	if schema, ok := l.Schema(); ok {
		for _, f := range schema.Queryables() {
			sch := obj{"type": "string"}
			desc := "exact match on the property " + f.Name
			switch {
			case f.Type == layers.TypeArray:
				desc = "features whose " + f.Name + " contain this value"
			case f.Type == layers.TypeBoolean:
				sch = obj{"type": "boolean"}
			}
			if len(f.Enum) > 0 {
				sch["enum"] = f.Enum
			}
			ps = append(ps, obj{"name": f.Name, "in": "query", "required": false, "style": "form", "explode": false,
				"description": desc, "schema": sch})
		}
	}
	return ps
}

func parameters() obj {
	q := func(name, desc string, schema obj) obj {
		return obj{"name": name, "in": "query", "required": false, "style": "form", "explode": false, "description": desc, "schema": schema}
	}
	crsEnum := []any{}
	for _, c := range geo.SupportedCRS() {
		crsEnum = append(crsEnum, string(c))
	}
	return obj{
		"featureId":  obj{"name": "featureId", "in": "path", "required": true, "description": "the feature's id", "schema": obj{"type": "string"}},
		"f":          q("f", "the representation: json (the default) or html; overrides Accept", obj{"type": "string", "enum": []any{"json", "html"}}),
		"crs":        q("crs", "the CRS of the returned coordinates (default CRS84)", obj{"type": "string", "format": "uri", "enum": crsEnum}),
		"bbox-crs":   q("bbox-crs", "the CRS of bbox (default CRS84)", obj{"type": "string", "format": "uri", "enum": crsEnum}),
		"filter-crs": q("filter-crs", "the CRS of geometries in filter (default CRS84)", obj{"type": "string", "format": "uri", "enum": crsEnum}),
		"bbox": q("bbox", "features that intersect the box: minx,miny,maxx,maxy or minx,miny,minz,maxx,maxy,maxz; minx > maxx crosses the antimeridian; features without geometry always match",
			obj{"type": "array", "minItems": 4, "maxItems": 6, "items": obj{"type": "number"}}),
		"datetime": q("datetime", "an RFC 3339 instant or date, or an interval a/b with .. or empty for an open end; features without a time always match",
			obj{"type": "string"}),
		"limit": q("limit", fmt.Sprintf("page size; larger values are reduced to %d", maxLimit),
			obj{"type": "integer", "minimum": 1, "default": defaultLimit}),
		"offset": q("offset", "index of the first feature of the page (the next and prev links set it)",
			obj{"type": "integer", "minimum": 0, "default": 0}),
		"filter": q("filter", "a CQL2 filter (basic CQL2, LIKE/BETWEEN/IN, S_INTERSECTS) in the language named by filter-lang", obj{"type": "string"}),
		"filter-lang": q("filter-lang", "cql2-text (the default) or cql2-json; cql-text is the older name of cql2-text",
			obj{"type": "string", "enum": []any{"cql2-text", "cql2-json", "cql-text"}, "default": "cql2-text"}),
		"sortby": q("sortby", "comma-separated queryable properties, each with an optional + (ascending) or - (descending)",
			obj{"type": "array", "items": obj{"type": "string"}}),
		"properties": q("properties", "comma-separated properties to include; empty for none",
			obj{"type": "array", "items": obj{"type": "string"}}),
		"skipGeometry": q("skipGeometry", "true to leave out geometries", obj{"type": "boolean", "default": false}),
		"asof": q("asof", "time travel: the report layers as they stood at this moment (RFC 3339, or a date for its midnight UTC), rebuilt from the history; not in the future",
			obj{"type": "string", "format": "date-time"}),
		"near": q("near", "lon,lat: only features within radius_km of this point, nearest first, each with its distance in the property near_distance_km",
			obj{"type": "array", "minItems": 2, "maxItems": 2, "items": obj{"type": "number"}}),
		"radius_km": q("radius_km", fmt.Sprintf("radius of near in km along the ground (default %d, at most %d)", defaultNearRadiusKm, layers.MaxNearRadiusKm),
			obj{"type": "number", "exclusiveMinimum": true, "minimum": 0, "maximum": layers.MaxNearRadiusKm, "default": defaultNearRadiusKm}),
	}
}

func responses() obj {
	e := func(desc string) obj {
		return obj{"description": desc, "content": obj{mimeJSON: obj{"schema": ref("exception")}}}
	}
	return obj{
		"400": e("A parameter is unknown or has a bad value; the description names it."),
		"404": e("No such collection or feature."),
		"406": e("None of the representations in Accept is available."),
		"413": e("More features match than one download holds; narrow the filters or page with limit and offset."),
		"503": e("The layers are still loading."),
		"401": e("A write without a valid API key (Authorization: Bearer <key>); the description says how to get one."),
		"403": e("The key's role may not do this; the description names the role needed (editors change verification and others' reports, admins manage keys)."),
		"409": e("The name is taken, or the key was revoked already."),
		"405": e("The collection is read-only."),
		"412": e("If-Match does not match the report's current ETag: it changed since you read it."),
		"415": e("The Content-Type is not accepted here."),
		"422": e("The body is JSON but breaks GeoJSON or the report schema; errors lists each problem with a JSON pointer. Nothing was stored."),
	}
}

func schemas() obj {
	str := obj{"type": "string"}
	linkSchema := obj{"type": "object", "required": []any{"href", "rel"}, "properties": obj{
		"href": str, "rel": str, "type": str, "title": str}}
	links := obj{"type": "array", "items": ref("link")}
	geom := obj{"type": "object", "required": []any{"type"}, "properties": obj{
		"type":        obj{"type": "string", "enum": []any{"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon", "GeometryCollection"}},
		"coordinates": obj{"type": "array", "items": obj{}}, "geometries": obj{"type": "array", "items": obj{"type": "object"}}}}
	feature := obj{"type": "object", "required": []any{"type", "geometry", "properties"}, "properties": obj{
		"type":       obj{"type": "string", "enum": []any{"Feature"}},
		"id":         obj{"type": "string"},
		"geometry":   obj{"allOf": []any{ref("geometryGeoJSON")}, "nullable": true},
		"properties": obj{"type": "object", "nullable": true},
		"links":      links,
	}}
	return obj{
		"link": linkSchema,
		"exception": obj{"type": "object", "required": []any{"code", "description"}, "properties": obj{
			"code": str, "description": str, "errors": obj{}}},
		"landingPage": obj{"type": "object", "required": []any{"links"}, "properties": obj{
			"title": str, "description": str, "links": links}},
		"confClasses": obj{"type": "object", "required": []any{"conformsTo"}, "properties": obj{
			"conformsTo": obj{"type": "array", "items": str}}},
		"collections": obj{"type": "object", "required": []any{"links", "collections"}, "properties": obj{
			"links": links, "collections": obj{"type": "array", "items": ref("collection")}}},
		"collection": obj{"type": "object", "required": []any{"id", "links"}, "properties": obj{
			"id": str, "title": str, "description": str, "links": links, "itemType": str,
			"crs": obj{"type": "array", "items": str}, "storageCrs": str,
			"extent": obj{"type": "object", "properties": obj{
				"spatial": obj{"type": "object", "properties": obj{
					"bbox": obj{"type": "array", "minItems": 1, "items": obj{"type": "array", "minItems": 4, "maxItems": 6, "items": obj{"type": "number"}}},
					"crs":  str}},
				"temporal": obj{"type": "object", "properties": obj{
					"interval": obj{"type": "array", "minItems": 1, "items": obj{"type": "array", "minItems": 2, "maxItems": 2,
						"items": obj{"type": "string", "format": "date-time", "nullable": true}}},
					"trs": str}}}}}},
		"geometryGeoJSON": geom,
		"featureGeoJSON":  feature,
		"featureCollectionGeoJSON": obj{"type": "object", "required": []any{"type", "features"}, "properties": obj{
			"type":           obj{"type": "string", "enum": []any{"FeatureCollection"}},
			"features":       obj{"type": "array", "items": ref("featureGeoJSON")},
			"links":          links,
			"timeStamp":      obj{"type": "string", "format": "date-time"},
			"numberMatched":  obj{"type": "integer", "minimum": 0},
			"numberReturned": obj{"type": "integer", "minimum": 0},
		}},
	}
}

// apiOp is one operation as the HTML service-doc lists it.
type apiOp struct {
	Method, Path, Summary, Responses string
	Params                           []apiParam
}

type apiParam struct{ Name, In, Description string }

// apiOperations flattens the document for the HTML page, resolving
// parameter references.
func apiOperations(doc obj) []apiOp {
	paths := doc["paths"].(obj)
	comps := doc["components"].(obj)["parameters"].(obj)
	keys := make([]string, 0, len(paths))
	for k := range paths {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []apiOp
	for _, p := range keys {
		for method, o := range paths[p].(obj) {
			o := o.(obj)
			a := apiOp{Method: strings.ToUpper(method), Path: p, Summary: fmt.Sprint(o["description"])}
			ps, _ := o["parameters"].([]any)
			for _, x := range ps {
				x := x.(obj)
				if r, ok := x["$ref"].(string); ok {
					x = comps[strings.TrimPrefix(r, "#/components/parameters/")].(obj)
				}
				a.Params = append(a.Params, apiParam{fmt.Sprint(x["name"]), fmt.Sprint(x["in"]), fmt.Sprint(x["description"])})
			}
			var codes []string
			for code := range o["responses"].(obj) {
				codes = append(codes, code)
			}
			sort.Strings(codes)
			a.Responses = strings.Join(codes, ", ")
			out = append(out, a)
		}
	}
	return out
}

// handleQueryables serves the JSON Schema of the properties filter and
// sortby may name.
func (s *Server) handleQueryables(c echo.Context) error {
	l, err := s.layer(c)
	if err != nil {
		return err
	}
	if err := checkParams(c, "f"); err != nil {
		return err
	}
	f, err := negotiate(c, mimeSchema)
	if err != nil {
		return err
	}
	base := s.baseURL(c.Request())
	doc := queryablesSchema(base, l, s.readerQueryables(c, l))
	if f == formatHTML {
		return s.page(c, "queryables", l.Title+": queryables", doc)
	}
	return writeJSON(c, mimeSchema, doc)
}

func queryablesSchema(base string, l *layers.Layer, qs []layers.Field) obj {
	props := obj{layers.QueryableGeometry: obj{"format": "geometry-any", "description": "the feature's geometry, for S_INTERSECTS"}}
	for _, f := range qs {
		p := obj{}
		switch f.Type {
		case layers.TypeTime:
			p["type"], p["format"] = "string", "date-time"
		case layers.TypeURL:
			p["type"], p["format"] = "string", "uri"
		default:
			p["type"] = string(f.Type)
		}
		if f.Description != "" {
			p["description"] = f.Description
		}
		if len(f.Enum) > 0 {
			p["enum"] = f.Enum
		}
		props[f.Name] = p
	}
	return obj{
		"$schema":              "https://json-schema.org/draft/2020-12/schema",
		"$id":                  base + "/collections/" + l.ID + "/queryables",
		"type":                 "object",
		"title":                l.Title,
		"properties":           props,
		"additionalProperties": false,
	}
}
