package web

import (
	"mime"
	"sort"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"troopmap/layers"
)

// The query parameters each route accepts, in one place. A parameter not
// listed gets a 400 naming it, so typos do not silently return everything.
// Routes added later extend these lists (for example near, radius_km, asof).

// filterParams are read by parseFilters, shared by items and tiles. The
// queryable properties of the layer come on top (see filterParamNames).
func filterParams() []string {
	return []string{"datetime", "filter", "filter-lang", "filter-crs"}
}

// itemsParams are the items route's own parameters.
func itemsParams() []string {
	return []string{"f", "bbox", "bbox-crs", "limit", "offset", "crs", "sortby", "properties", "skipGeometry", "asof", "near", "radius_km"}
}

// itemParams are the single-feature route's parameters.
func itemParams() []string { return []string{"f", "crs"} }

// filterParamNames returns the parameters parseFilters reads for layer l:
// the fixed ones and one per queryable property of its report schema.
func filterParamNames(l *layers.Layer) []string {
	out := filterParams()
	if schema, ok := l.Schema(); ok {
		for _, f := range schema.Queryables() {
			out = append(out, f.Name)
		}
	}
	return out
}

// checkParams answers 400 for the first query parameter (in name order) that
// is not in any of the allowed lists, and for a parameter given twice.
func checkParams(c echo.Context, allowed ...string) error {
	return checkParamLists(c, allowed)
}

func checkParamLists(c echo.Context, lists ...[]string) error {
	ok := map[string]bool{}
	for _, l := range lists {
		for _, p := range l {
			ok[p] = true
		}
	}
	params := c.QueryParams()
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !ok[k] {
			known := make([]string, 0, len(ok))
			for p := range ok {
				known = append(known, p)
			}
			sort.Strings(known)
			return layers.Errorf(layers.EINVALID, "unknown parameter %q; this resource takes %s", k, strings.Join(known, ", "))
		}
		if len(params[k]) > 1 {
			return layers.Errorf(layers.EINVALID, "parameter %s is given %d times; give it once", k, len(params[k]))
		}
	}
	return nil
}

// format is a response representation.
type format int

const (
	formatJSON format = iota
	formatHTML
)

// negotiate picks JSON or HTML: ?f=json|html wins, then the Accept header.
// Anything JSON-like, */* or no Accept at all gets JSON; a browser, which
// ranks text/html above */*, gets HTML. jsonType is the JSON flavour the
// resource would send, so that Accept: application/geo+json counts.
func negotiate(c echo.Context, jsonType string) (format, error) {
	c.Response().Header().Add("Vary", "Accept")
	if v, ok := c.QueryParams()["f"]; ok {
		switch v[0] {
		case "json":
			return formatJSON, nil
		case "html":
			return formatHTML, nil
		}
		return 0, layers.Errorf(layers.EINVALID, "parameter f: %q is not json or html", v[0])
	}
	accept := c.Request().Header.Get("Accept")
	if strings.TrimSpace(accept) == "" {
		return formatJSON, nil
	}
	qHTML, qJSON := -1.0, -1.0
	specHTML, specJSON := -1, -1
	for _, r := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(r))
		if err != nil {
			continue
		}
		q := 1.0
		if s, ok := params["q"]; ok {
			if v, err := strconv.ParseFloat(s, 64); err == nil {
				q = v
			}
		}
		// The most specific matching range decides each type's quality.
		if sp := specificity(mt, mimeHTML); sp > specHTML {
			specHTML, qHTML = sp, q
		}
		for _, jt := range []string{jsonType, mimeJSON, mimeGeoJSON} {
			if sp := specificity(mt, jt); sp > specJSON {
				specJSON, qJSON = sp, q
			} else if sp == specJSON && sp >= 0 && q > qJSON {
				qJSON = q
			}
		}
	}
	switch {
	case qHTML > 0 && qHTML > qJSON:
		return formatHTML, nil
	case qJSON > 0:
		return formatJSON, nil
	case qHTML > 0:
		return formatHTML, nil
	}
	return 0, layers.Errorf(layers.ENOTACCEPTABLE, "Accept %q: this resource is available as %s or %s (or use ?f=json / ?f=html)", accept, jsonType, mimeHTML)
}

// specificity says how precisely the media range r names type t: 2 exactly,
// 1 by subtype wildcard, 0 by */*, -1 not at all.
func specificity(r, t string) int {
	t, _, _ = strings.Cut(t, ";")
	switch {
	case r == t:
		return 2
	case r == "*/*":
		return 0
	case strings.HasSuffix(r, "/*") && strings.HasPrefix(t, strings.TrimSuffix(r, "*")):
		return 1
	}
	return -1
}
