package web

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"sort"

	"github.com/labstack/echo/v4"

	"troopmap/layers"
)

//go:embed templates/*.html
var templateFS embed.FS

// parsePages parses the embedded HTML templates once, at start-up.
func parsePages() *template.Template {
	funcs := template.FuncMap{
		"geojson": func(f *layers.Feature, o *encodeOpts) string {
			if f.Geometry == nil || o.skipGeometry {
				return ""
			}
			return string(appendGeometry(nil, f.Geometry, o.project))
		},
		"geomType": func(f *layers.Feature) string {
			if f.Geometry == nil {
				return "none"
			}
			return f.Geometry.GeoJSONType()
		},
		"props": func(f *layers.Feature, o *encodeOpts) []kv {
			var out []kv
			for k, v := range f.Props.All() {
				if o != nil && o.props != nil && !o.props[k] {
					continue
				}
				out = append(out, kv{k, displayValue(v)})
			}
			sort.Slice(out, func(i, j int) bool { return out[i].K < out[j].K })
			return out
		},
		"add": func(a, b int) int { return a + b },
		"json": func(v any) string {
			b, _ := json.MarshalIndent(v, "", "  ")
			return string(b)
		},
	}
	return template.Must(template.New("").Funcs(funcs).ParseFS(templateFS, "templates/*.html"))
}

type kv struct{ K, V string }

func displayValue(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case float64, bool, int:
		return fmt.Sprint(v)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// pageData is what every page template gets.
type pageData struct {
	Title string
	Base  string
	Data  any
}

type itemsPage struct {
	Layer    *layers.Layer
	Head     collectionHead
	Features []*layers.Feature
	Opts     *encodeOpts
	Offset   int
}

type itemPage struct {
	Layer   *layers.Layer
	Feature *layers.Feature
	Links   []link
	Opts    *encodeOpts
}

// page renders the named template inside the common layout. It renders into
// a buffer first so that a template error becomes a 500, not half a page.
func (s *Server) page(c echo.Context, name, title string, data any) error {
	var buf bytes.Buffer
	err := s.pages.ExecuteTemplate(&buf, name, pageData{Title: title, Base: s.baseURL(c.Request()), Data: data})
	if err != nil {
		return fmt.Errorf("render %s page: %w", name, err)
	}
	return c.HTMLBlob(http.StatusOK, buf.Bytes())
}
