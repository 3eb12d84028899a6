package web

import (
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"troopmap/geo"
	"troopmap/layers"
)

// Page sizes of the items route: clients that ask for more than maxLimit get
// maxLimit (OGC says clamp, not refuse).
const (
	defaultLimit = 100
	maxLimit     = 10000
)

// itemsRequest is a parsed items query.
type itemsRequest struct {
	q      layers.Query
	crs    geo.CRS
	opts   encodeOpts
	limit  int
	offset int
}

// parseItems reads every parameter of the items route.
func (s *Server) parseItems(c echo.Context, l *layers.Layer) (itemsRequest, error) {
	r := itemsRequest{crs: geo.CRS84, limit: defaultLimit}
	if err := checkParamLists(c, itemsParams(), filterParamNames(l)); err != nil {
		return r, err
	}
	q, err := s.parseFilters(c, l)
	if err != nil {
		return r, err
	}
	params := c.QueryParams()
	get := func(k string) (string, bool) {
		v, ok := params[k]
		if !ok {
			return "", false
		}
		return v[0], true
	}
	bboxCRS := geo.CRS84
	if v, ok := get("bbox-crs"); ok {
		if bboxCRS, err = geo.ParseCRS(v); err != nil {
			return r, layers.Errorf(layers.EINVALID, "parameter bbox-crs: %v", err)
		}
	}
	if v, ok := get("bbox"); ok {
		var b geo.BBox
		if bboxCRS == geo.CRS84 {
			b, err = geo.ParseBBox(v)
		} else {
			b, err = geo.ParseBBoxNoRange(v)
			b = bboxCRS.BBoxToLonLat(b)
		}
		if err != nil {
			return r, layers.Errorf(layers.EINVALID, "parameter bbox: %v", err)
		}
		q.BBox = &b
	}
	if v, ok := get("limit"); ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			return r, layers.Errorf(layers.EINVALID, "parameter limit: %q is not an integer", v)
		}
		if n < 1 {
			return r, layers.Errorf(layers.EINVALID, "parameter limit: must be at least 1, got %d", n)
		}
		r.limit = min(n, maxLimit)
	}
	if v, ok := get("offset"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return r, layers.Errorf(layers.EINVALID, "parameter offset: %q is not a non-negative integer", v)
		}
		r.offset = n
	}
	if v, ok := get("crs"); ok {
		if r.crs, err = geo.ParseCRS(v); err != nil {
			return r, layers.Errorf(layers.EINVALID, "parameter crs: %v", err)
		}
		r.opts.project = r.crs.FromLonLat()
	}
	if v, ok := get("sortby"); ok {
		qs := s.readerQueryables(c, l)
		keys, err := layers.ParseSortBy(v, qs)
		if err != nil {
			return r, err
		}
		q.Less = layers.SortLess(keys, qs)
	}
	if q.Near, err = parseNear(params); err != nil {
		return r, err
	}
	if q.Near != nil && q.Less != nil {
		return r, layers.Errorf(layers.EINVALID, "parameters near and sortby: near orders features nearest first; leave sortby out")
	}
	if v, ok := get("properties"); ok {
		r.opts.props, err = parseProperties(v, l)
		if err != nil {
			return r, err
		}
	}
	if v, ok := get("skipGeometry"); ok {
		switch v {
		case "true":
			r.opts.skipGeometry = true
		case "false":
		default:
			return r, layers.Errorf(layers.EINVALID, "parameter skipGeometry: want true or false, got %q", v)
		}
	}
	q.Offset, q.Limit = r.offset, r.limit
	r.q = q
	return r, nil
}

// parseProperties reads the property selection (Part 6): a comma-separated
// list of property names, each of which must exist; empty selects none.
func parseProperties(v string, l *layers.Layer) (map[string]bool, error) {
	keep := map[string]bool{}
	if strings.TrimSpace(v) == "" {
		return keep, nil
	}
	known := map[string]bool{}
	for _, f := range layers.Properties(l) {
		known[f.Name] = true
	}
	for _, name := range strings.Split(v, ",") {
		name = strings.TrimSpace(name)
		if !known[name] {
			return nil, layers.Errorf(layers.EINVALID, "parameter properties: %q is not a property of collection %q", name, l.ID)
		}
		keep[name] = true
	}
	return keep, nil
}

func (s *Server) handleItems(c echo.Context) error {
	l, err := s.layer(c)
	if err != nil {
		return err
	}
	a, err := parseAsOf(c, time.Now())
	if err != nil {
		return err
	}
	if l, err = s.layerAt(c, l, a); err != nil {
		return err
	}
	r, err := s.parseItems(c, l)
	if err != nil {
		return err
	}
	f, d, err := negotiateItems(c)
	if err != nil {
		return err
	}
	if d != nil {
		if r.q, err = downloadPage(c, r.q); err != nil {
			return err
		}
	}
	v := s.viewOf(c)
	if r.q.Near != nil {
		// Distances are measured to what the reader sees.
		r.q.Near.Show = func(f *layers.Feature) *layers.Feature { return v.Show(l, f) }
	}
	page, err := l.Snapshot().Query(ctx(c), visibleQuery(v, l, r.q))
	if err != nil {
		return err
	}
	shown := make([]*layers.Feature, 0, len(page.Features))
	for i, ft := range page.Features {
		sf := v.Show(l, ft)
		if sf == nil {
			continue
		}
		if page.DistancesKm != nil {
			sf = withProperty(sf, nearDistanceProp, math.Round(page.DistancesKm[i]*1000)/1000)
		}
		shown = append(shown, sf)
	}
	if d != nil {
		if !c.QueryParams().Has("limit") && page.Matched-r.q.Offset > maxDownload {
			return layers.Errorf(layers.ETOOLARGE, "%d features match, more than one download holds (%d); narrow the filters or page with limit and offset", page.Matched, maxDownload)
		}
		return s.serveDownload(c, d, l, shown)
	}
	head := collectionHead{Matched: page.Matched, Returned: len(shown), TimeStamp: time.Now(),
		Links: s.itemsLinks(c, l, f, r, page.Matched)}
	if f == formatHTML {
		return s.page(c, "items", l.Title, itemsPage{Layer: l, Head: head, Features: shown, Opts: &r.opts, Offset: r.offset})
	}
	hdr := c.Response().Header()
	hdr.Set(echo.HeaderContentType, mimeGeoJSON)
	hdr.Set("Content-Crs", "<"+string(r.crs)+">")
	c.Response().WriteHeader(http.StatusOK)
	return writeFeatureCollection(ctx(c), c.Response(), head, shown, &r.opts)
}

// itemsLinks are self, alternate, next/prev (when there are more pages) and
// collection. Paging links keep every other parameter of the request.
func (s *Server) itemsLinks(c echo.Context, l *layers.Layer, f format, r itemsRequest, matched int) []link {
	base := s.baseURL(c.Request())
	p := "/collections/" + url.PathEscape(l.ID) + "/items"
	vals := url.Values{}
	for k, v := range c.QueryParams() {
		vals[k] = v
	}
	vals.Del("f")
	self := p
	if len(vals) > 0 {
		self += "?" + vals.Encode()
	}
	ls := selfLinks(base, self, f, mimeGeoJSON)
	pageType := mimeGeoJSON
	if f == formatHTML {
		pageType = mimeHTML
	}
	pageLink := func(rel string, offset int) link {
		v := url.Values{}
		for k, x := range c.QueryParams() {
			v[k] = x
		}
		v.Set("offset", strconv.Itoa(offset))
		v.Set("limit", strconv.Itoa(r.limit))
		return link{Href: base + p + "?" + v.Encode(), Rel: rel, Type: pageType, Title: rel + " page"}
	}
	if r.offset+r.limit < matched {
		ls = append(ls, pageLink("next", r.offset+r.limit))
	}
	if r.offset > 0 {
		ls = append(ls, pageLink("prev", max(0, r.offset-r.limit)))
	}
	ls = append(ls, link{Href: base + "/collections/" + url.PathEscape(l.ID), Rel: "collection", Type: mimeJSON, Title: l.Title})
	return ls
}

func (s *Server) handleItem(c echo.Context) error {
	l, err := s.layer(c)
	if err != nil {
		return err
	}
	if err := checkParamLists(c, itemParams()); err != nil {
		return err
	}
	crs := geo.CRS84
	if v, ok := c.QueryParams()["crs"]; ok {
		if crs, err = geo.ParseCRS(v[0]); err != nil {
			return layers.Errorf(layers.EINVALID, "parameter crs: %v", err)
		}
	}
	f, err := negotiate(c, mimeGeoJSON)
	if err != nil {
		return err
	}
	id := c.Param("fid")
	ft, err := l.Snapshot().Lookup(l.ID, id)
	if err != nil {
		return err
	}
	v := s.viewOf(c)
	if ft = v.Show(l, ft); ft == nil {
		return layers.Errorf(layers.ENOTFOUND, "collection %q has no feature %q", l.ID, id)
	}
	c.Response().Header().Set("ETag", itemETag(v, l, ft))
	base := s.baseURL(c.Request())
	p := "/collections/" + url.PathEscape(l.ID) + "/items/" + url.PathEscape(id)
	path := p
	if v, ok := c.QueryParams()["crs"]; ok {
		path = withParam(p, "crs", v[0])
	}
	links := append(selfLinks(base, path, f, mimeGeoJSON),
		link{Href: base + "/collections/" + url.PathEscape(l.ID), Rel: "collection", Type: mimeJSON, Title: l.Title})
	if l.Kind == layers.KindArea {
		links = append(links, link{Href: base + p + "/stats", Rel: "related", Type: mimeJSON,
			Title: "Weekly figures of the reports in this area (troop concentrations, personnel, incidents, fatalities)"})
	}
	opts := &encodeOpts{project: crs.FromLonLat()}
	if f == formatHTML {
		return s.page(c, "item", l.Title+": "+ft.ID, itemPage{Layer: l, Feature: ft, Links: links, Opts: opts})
	}
	hdr := c.Response().Header()
	hdr.Set(echo.HeaderContentType, mimeGeoJSON)
	hdr.Set("Content-Crs", "<"+string(crs)+">")
	b := appendFeature(make([]byte, 0, 1024), ft, opts)
	b = append(b, `,"links":`...)
	b = appendLinks(b, links)
	b = append(b, "}\n"...)
	return c.Blob(http.StatusOK, mimeGeoJSON, b)
}

// nearDistanceProp is the property that carries a feature's distance from
// the near point.
const nearDistanceProp = "near_distance_km"

// defaultNearRadiusKm is the radius of a near query without radius_km.
const defaultNearRadiusKm = 50

// parseNear reads near=lon,lat and radius_km (default 50, at most
// layers.MaxNearRadiusKm).
func parseNear(params url.Values) (*layers.Near, error) {
	nv, hasNear := params["near"]
	rv, hasRadius := params["radius_km"]
	if !hasNear {
		if hasRadius {
			return nil, layers.Errorf(layers.EINVALID, "parameter radius_km: it needs near=lon,lat")
		}
		return nil, nil
	}
	pt, err := geo.ParseLonLat(nv[0])
	if err != nil {
		return nil, layers.Errorf(layers.EINVALID, "parameter near: %v", err)
	}
	n := &layers.Near{Center: pt, RadiusKm: defaultNearRadiusKm}
	if hasRadius {
		r, err := strconv.ParseFloat(strings.TrimSpace(rv[0]), 64)
		if err != nil || math.IsNaN(r) || r <= 0 || r > layers.MaxNearRadiusKm {
			return nil, layers.Errorf(layers.EINVALID, "parameter radius_km: want a number of kilometres above 0 and at most %d, got %q", layers.MaxNearRadiusKm, rv[0])
		}
		n.RadiusKm = r
	}
	return n, nil
}

// withProperty returns a copy of f with one more property; f is not
// changed.
func withProperty(f *layers.Feature, key string, value any) *layers.Feature {
	nf := *f
	nf.Props = f.Props.Edit(map[string]any{key: value})
	return &nf
}
