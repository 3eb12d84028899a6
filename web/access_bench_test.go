package web

import (
	"context"
	"net/http/httptest"
	"testing"

	"troopmap/layers"
	"troopmap/layers/synth"
)

// BenchmarkItemsByAudience measures one items page over 20,000 public
// incidents (all written by a key, so all carry created_by) for a keyed
// reader, who gets the stored features as they are, and for an anonymous
// one, whose view tests each feature's visibility and copies only the
// page's features, without created_by. The keyed case is the baseline.
func BenchmarkItemsByAudience(b *testing.B) {
	inc := layers.NewLayer(layers.ReportMetas()[1])
	var fs []*layers.Feature
	if err := synth.Generate(context.Background(), 40000, 1, nil, func(r synth.Report) error {
		if r.Collection == layers.Incidents && len(fs) < 20000 {
			fs = append(fs, r.Feature)
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	if err := inc.Load(fs); err != nil {
		b.Fatal(err)
	}
	cat, err := layers.NewCatalog(inc)
	if err != nil {
		b.Fatal(err)
	}
	s := New(Config{Keys: roleKeys})
	s.SetCatalog(cat)
	h := s.Handler()
	for _, c := range []struct{ name, key, query string }{
		{"keyed", "k-viewer", "limit=100"},
		{"anonymous", "", "limit=100"},
		{"keyed-filtered", "k-viewer", "limit=100&event_type=battles"},
		{"anonymous-filtered", "", "limit=100&event_type=battles"},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest("GET", "/collections/incidents/items?"+c.query, nil)
				if c.key != "" {
					req.Header.Set("Authorization", "Bearer "+c.key)
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatalf("%d %s", rec.Code, rec.Body)
				}
			}
		})
	}
}
