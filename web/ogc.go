package web

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"troopmap/geo"
	"troopmap/layers"
)

// OGC API vocabulary, named once.
const (
	mimeJSON       = "application/json"
	mimeGeoJSON    = "application/geo+json"
	mimeHTML       = "text/html"
	mimeOpenAPI    = "application/vnd.oai.openapi+json;version=3.0"
	mimeSchema     = "application/schema+json"
	relQueryables  = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
	relConformance = "conformance"
	relData        = "data"
	relServiceDesc = "service-desc"
	relServiceDoc  = "service-doc"
	confPrefix1    = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/"
	confPrefix2    = "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/"
	confPrefix3    = "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/"
	confPrefix4    = "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/"
	confPrefixCQL  = "http://www.opengis.net/spec/cql2/1.0/conf/"
)

// conformanceClasses is the one list of what the server claims to
// implement; each class has tests behind it. Add new classes here.
func conformanceClasses() []string {
	return []string{
		confPrefix1 + "core",
		confPrefix1 + "geojson",
		confPrefix1 + "html",
		confPrefix1 + "oas30",
		confPrefix2 + "crs",
		confPrefix3 + "queryables",
		// Not queryables-query-parameters: only the report schema's declared
		// properties are query parameters, not every queryable.
		confPrefix3 + "filter",
		confPrefix3 + "features-filter",
		confPrefixCQL + "cql2-text",
		confPrefixCQL + "cql2-json",
		confPrefixCQL + "basic-cql2",
		confPrefixCQL + "advanced-comparison-operators",
		confPrefixCQL + "basic-spatial-functions",
		"http://www.opengis.net/spec/ogcapi-features-8/1.0/conf/sorting",
		confPrefix4 + "create-replace-delete",
		confPrefix4 + "update",
	}
}

// link is an OGC/RFC 8288 link in a JSON document.
type link struct {
	Href  string `json:"href"`
	Rel   string `json:"rel"`
	Type  string `json:"type,omitempty"`
	Title string `json:"title,omitempty"`
}

// selfLinks returns the self and alternate links of a resource at path
// (which may carry a query) in format f.
func selfLinks(base, path string, f format, jsonType string) []link {
	j := link{Href: base + withParam(path, "f", "json"), Type: jsonType, Title: "this document as JSON"}
	h := link{Href: base + withParam(path, "f", "html"), Type: mimeHTML, Title: "this document as HTML"}
	if f == formatHTML {
		h.Rel, j.Rel = "self", "alternate"
		return []link{h, j}
	}
	j.Rel, h.Rel = "self", "alternate"
	return []link{j, h}
}

// withParam returns path with the query parameter k set to v.
func withParam(path, k, v string) string {
	p, q, _ := strings.Cut(path, "?")
	vals, _ := url.ParseQuery(q)
	if vals == nil {
		vals = url.Values{}
	}
	vals.Set(k, v)
	return p + "?" + vals.Encode()
}

// extraLandingLinks lets other parts of the server (tiles, TileJSON, the map
// page) add links to the landing page.
func (s *Server) extraLandingLinks(base string) []link {
	links := []link{{Href: base + "/map", Rel: "related", Type: mimeHTML, Title: "the map page: an interactive map in the browser"}}
	if cat, err := s.Catalog(); err == nil {
		var ids []string
		for _, l := range cat.Layers() {
			ids = append(ids, l.ID)
		}
		all := strings.Join(ids, ",")
		links = append(links,
			link{Href: base + "/tiles/" + all + ".json", Rel: "describedby", Type: "application/json", Title: "vector tiles of every layer: TileJSON 3.0.0 with the tile URL template"},
			link{Href: base + "/styles/troopmap.json", Rel: "stylesheet", Type: "application/json", Title: "MapLibre style drawing every layer from these tiles"})
	}
	return links
}

// extraCollectionLinks lets other parts of the server (tiles, TileJSON) add
// links to a collection's description.
func (s *Server) extraCollectionLinks(base string, l *layers.Layer) []link {
	return []link{
		{Href: base + "/tiles/" + l.ID + ".json", Rel: "describedby", Type: "application/json", Title: "vector tiles of this collection: TileJSON 3.0.0 with the tile URL template"},
	}
}

type landingDoc struct {
	Title       string `json:"title"`
	Description string `json:"description"`
	Links       []link `json:"links"`
}

func (s *Server) handleLanding(c echo.Context) error {
	if err := checkParams(c, "f"); err != nil {
		return err
	}
	f, err := negotiate(c, mimeJSON)
	if err != nil {
		return err
	}
	base := s.baseURL(c.Request())
	doc := landingDoc{
		Title:       "troopmap",
		Description: "Reported troop concentrations, movements and incidents around the Donbas, Crimea and Ukraine's border zones, with the boundary layers they are mapped against.",
		Links: append(selfLinks(base, "/", f, mimeJSON),
			link{Href: base + "/api", Rel: relServiceDesc, Type: mimeOpenAPI, Title: "the API definition (OpenAPI 3.0)"},
			link{Href: base + "/api?f=html", Rel: relServiceDoc, Type: mimeHTML, Title: "the API documentation"},
			link{Href: base + "/conformance", Rel: relConformance, Type: mimeJSON, Title: "conformance classes implemented"},
			link{Href: base + "/collections", Rel: relData, Type: mimeJSON, Title: "the collections"},
		),
	}
	doc.Links = append(doc.Links, s.extraLandingLinks(base)...)
	if f == formatHTML {
		return s.page(c, "landing", doc.Title, doc)
	}
	return writeJSON(c, mimeJSON, doc)
}

type conformanceDoc struct {
	ConformsTo []string `json:"conformsTo"`
}

func (s *Server) handleConformance(c echo.Context) error {
	if err := checkParams(c, "f"); err != nil {
		return err
	}
	f, err := negotiate(c, mimeJSON)
	if err != nil {
		return err
	}
	doc := conformanceDoc{ConformsTo: conformanceClasses()}
	if f == formatHTML {
		return s.page(c, "conformance", "Conformance", doc)
	}
	return writeJSON(c, mimeJSON, doc)
}

type collectionsDoc struct {
	Links       []link          `json:"links"`
	Collections []collectionDoc `json:"collections"`
}

type collectionDoc struct {
	ID          string    `json:"id"`
	Title       string    `json:"title"`
	Description string    `json:"description,omitempty"`
	Links       []link    `json:"links"`
	Extent      extentDoc `json:"extent"`
	ItemType    string    `json:"itemType"`
	CRS         []geo.CRS `json:"crs"`
	StorageCRS  geo.CRS   `json:"storageCrs"`
}

type extentDoc struct {
	Spatial  *spatialExtent  `json:"spatial,omitempty"`
	Temporal *temporalExtent `json:"temporal,omitempty"`
}

type spatialExtent struct {
	BBox [][4]float64 `json:"bbox"`
	CRS  geo.CRS      `json:"crs"`
}

type temporalExtent struct {
	Interval [][2]*string `json:"interval"`
	TRS      string       `json:"trs"`
}

// describe builds a collection's description from its current snapshot, with
// the extent of what the reader may see.
func (s *Server) describe(c echo.Context, base string, l *layers.Layer) (collectionDoc, error) {
	p := "/collections/" + url.PathEscape(l.ID)
	d := collectionDoc{
		ID: l.ID, Title: l.Title, Description: l.Description, ItemType: "feature",
		CRS: geo.SupportedCRS(), StorageCRS: geo.CRS84,
		Links: []link{
			{Href: base + p, Rel: "self", Type: mimeJSON, Title: "this collection"},
			{Href: base + p + "?f=html", Rel: "alternate", Type: mimeHTML, Title: "this collection as HTML"},
			{Href: base + p + "/items", Rel: "items", Type: mimeGeoJSON, Title: l.Title + " as GeoJSON"},
			{Href: base + p + "/items?f=html", Rel: "items", Type: mimeHTML, Title: l.Title + " as HTML"},
			{Href: base + p + "/queryables", Rel: relQueryables, Type: mimeSchema, Title: "properties to filter on"},
		},
	}
	d.Links = append(d.Links, s.extraCollectionLinks(base, l)...)
	vis, err := s.visible(c, s.viewOf(c), l)
	if err != nil {
		return d, err
	}
	e := vis.Extent
	if e.HasBound {
		d.Extent.Spatial = &spatialExtent{BBox: [][4]float64{{e.Bound.Min[0], e.Bound.Min[1], e.Bound.Max[0], e.Bound.Max[1]}}, CRS: geo.CRS84}
	}
	if !e.Start.IsZero() {
		a, b := e.Start.UTC().Format(time.RFC3339), e.End.UTC().Format(time.RFC3339)
		d.Extent.Temporal = &temporalExtent{Interval: [][2]*string{{&a, &b}}, TRS: "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}
	}
	return d, nil
}

func (s *Server) handleCollections(c echo.Context) error {
	if err := checkParams(c, "f"); err != nil {
		return err
	}
	f, err := negotiate(c, mimeJSON)
	if err != nil {
		return err
	}
	cat, err := s.Catalog()
	if err != nil {
		return err
	}
	base := s.baseURL(c.Request())
	doc := collectionsDoc{Links: selfLinks(base, "/collections", f, mimeJSON), Collections: []collectionDoc{}}
	for _, l := range cat.Layers() {
		d, err := s.describe(c, base, l)
		if err != nil {
			return err
		}
		doc.Collections = append(doc.Collections, d)
	}
	if f == formatHTML {
		return s.page(c, "collections", "Collections", doc)
	}
	return writeJSON(c, mimeJSON, doc)
}

func (s *Server) handleCollection(c echo.Context) error {
	if err := checkParams(c, "f"); err != nil {
		return err
	}
	f, err := negotiate(c, mimeJSON)
	if err != nil {
		return err
	}
	l, err := s.layer(c)
	if err != nil {
		return err
	}
	d, err := s.describe(c, s.baseURL(c.Request()), l)
	if err != nil {
		return err
	}
	if f == formatHTML {
		return s.page(c, "collection", d.Title, d)
	}
	return writeJSON(c, mimeJSON, d)
}

// layer returns the collection named by the path parameter id.
func (s *Server) layer(c echo.Context) (*layers.Layer, error) {
	cat, err := s.Catalog()
	if err != nil {
		return nil, err
	}
	return cat.Lookup(c.Param("id"))
}

// writeJSON writes v with the given content type.
func writeJSON(c echo.Context, mime string, v any) error {
	c.Response().Header().Set(echo.HeaderContentType, mime)
	c.Response().WriteHeader(http.StatusOK)
	if c.Request().Method == http.MethodHead {
		return nil
	}
	enc := newJSONEncoder(c.Response())
	return enc.Encode(v)
}
