// Package ui holds troopmap's map page: the HTML template, its scripts and
// styles, and the vendored front-end libraries (MapLibre GL JS, milsymbol),
// all embedded in the binary so that the page works on an air-gapped network.
// It knows nothing of HTTP routing: package web serves what it returns.
//
// Static files are addressed by a content hash of the whole tree
// (/static/<hash>/...), so they can be cached for a year and a new build
// never mixes old and new files. One hash for the tree, rather than one per
// file, keeps relative module imports (MapLibre loads its worker from beside
// itself) working.
package ui

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"
)

//go:embed static page.html
var files embed.FS

// Asset is one static file, ready to send.
type Asset struct {
	Name        string
	ContentType string
	ETag        string // strong, quoted
	Body        []byte

	gzOnce sync.Once
	gz     []byte
}

// Gzipped returns the gzip-compressed body, computed once on first use.
// It returns nil when compression does not make the file smaller.
func (a *Asset) Gzipped() []byte {
	a.gzOnce.Do(func() {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		_, _ = zw.Write(a.Body)
		_ = zw.Close()
		if buf.Len() < len(a.Body) {
			a.gz = buf.Bytes()
		}
	})
	return a.gz
}

// Assets is the embedded static tree and the map page template. It is
// read-only after New and safe for concurrent use.
type Assets struct {
	hash   string
	byName map[string]*Asset
	page   *template.Template
}

// New loads the embedded files and computes the tree's content hash.
func New() (*Assets, error) {
	a := &Assets{byName: map[string]*Asset{}}
	var names []string
	err := fs.WalkDir(files, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		names = append(names, p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walk embedded static files: %w", err)
	}
	sort.Strings(names)
	tree := sha256.New()
	for _, p := range names {
		b, err := files.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("read embedded %s: %w", p, err)
		}
		sum := sha256.Sum256(b)
		name := strings.TrimPrefix(p, "static/")
		fmt.Fprintf(tree, "%s %x\n", name, sum)
		a.byName[name] = &Asset{Name: name, ContentType: contentType(name),
			ETag: `"` + hex.EncodeToString(sum[:12]) + `"`, Body: b}
	}
	a.hash = hex.EncodeToString(tree.Sum(nil))[:16]
	src, err := files.ReadFile("page.html")
	if err != nil {
		return nil, fmt.Errorf("read embedded page.html: %w", err)
	}
	a.page, err = template.New("page").Parse(string(src))
	if err != nil {
		return nil, fmt.Errorf("parse page template: %w", err)
	}
	return a, nil
}

// Hash is the content hash of the static tree, used in asset URLs.
func (a *Assets) Hash() string { return a.hash }

// Lookup returns the asset at name (relative to the static root, e.g.
// "map/main.js").
func (a *Assets) Lookup(name string) (*Asset, bool) {
	x, ok := a.byName[path.Clean(name)]
	return x, ok
}

// Names lists the assets, sorted.
func (a *Assets) Names() []string {
	out := make([]string, 0, len(a.byName))
	for n := range a.byName {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// PageData fills the map page template.
type PageData struct {
	// Static is the URL prefix of the static tree, e.g. /static/<hash>.
	Static string
	// Config is the page's configuration as JSON; the template puts it in
	// an attribute, escaped, where the scripts read it.
	Config string
}

// RenderPage writes the map page.
func (a *Assets) RenderPage(w io.Writer, d PageData) error {
	return a.page.Execute(w, d)
}

func contentType(name string) string {
	switch path.Ext(name) {
	case ".mjs", ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	case ".json":
		return "application/json"
	}
	return "text/plain; charset=utf-8"
}
