package web

import (
	"github.com/labstack/echo/v4"

	"troopmap/layers"
)

// Every path that sends features out (items, item, tiles, clusters, history,
// events, exports, stats) must pass them through the reader's view: it hides
// what the reader may not see and coarsens what they may see only roughly.
// Caches must key on view.Key so that different audiences never share an
// entry.

// view is what one reader may see.
type view struct {
	// Key names the audience for cache keys and ETags, e.g. "public".
	Key string
	// Show returns the feature as this reader may see it: f itself, a
	// coarsened copy, or nil when it is hidden. It never changes f.
	Show func(l *layers.Layer, f *layers.Feature) *layers.Feature
}

// viewOf returns the reader's view for a request. Until roles and access
// rules exist, everyone sees everything as the public audience.
func (s *Server) viewOf(c echo.Context) view {
	return derivedView(view{Key: "public", Show: func(_ *layers.Layer, f *layers.Feature) *layers.Feature { return f }})
}

// visibleQuery adds the view's filter to q so that counts (numberMatched)
// and pages see only visible features. Coarsening is applied on output with
// view.Show.
func visibleQuery(v view, l *layers.Layer, q layers.Query) layers.Query {
	prev := q.Match
	q.Match = func(f *layers.Feature) bool {
		if v.Show(l, f) == nil {
			return false
		}
		return prev == nil || prev(f)
	}
	return q
}
