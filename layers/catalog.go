package layers

import "fmt"

// Catalog is the fixed, ordered set of layers a server offers. It is built at
// start-up and not changed afterwards, so it is safe for concurrent reads.
type Catalog struct {
	list []*Layer
	byID map[string]*Layer
}

// NewCatalog builds a catalog; layer ids must be unique and non-empty.
func NewCatalog(ls ...*Layer) (*Catalog, error) {
	c := &Catalog{byID: make(map[string]*Layer, len(ls))}
	for _, l := range ls {
		if l.ID == "" {
			return nil, fmt.Errorf("catalog: layer without id")
		}
		if _, dup := c.byID[l.ID]; dup {
			return nil, fmt.Errorf("catalog: duplicate layer id %q", l.ID)
		}
		c.byID[l.ID] = l
		c.list = append(c.list, l)
	}
	return c, nil
}

// Layer returns the layer with the given id.
func (c *Catalog) Layer(id string) (*Layer, bool) {
	l, ok := c.byID[id]
	return l, ok
}

// Layers returns the layers in catalog order. The caller must not modify the
// returned slice.
func (c *Catalog) Layers() []*Layer { return c.list }

// Lookup returns the layer or a not-found *Error naming the id.
func (c *Catalog) Lookup(id string) (*Layer, error) {
	if l, ok := c.byID[id]; ok {
		return l, nil
	}
	return nil, Errorf(ENOTFOUND, "collection %q does not exist", id)
}
