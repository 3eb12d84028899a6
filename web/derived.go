package web

import "troopmap/layers"

// derivedView makes the features of derived layers (movements) follow the
// reader's view of the reports they are derived from: a track loses the
// reports the reader may not see and uses the positions they are shown.
// viewOf applies it to every view, so no output path can forget it.
func derivedView(v view) view {
	show, visible := v.Show, v.Visible
	v.Show = func(l *layers.Layer, f *layers.Feature) *layers.Feature {
		if l.ForReader != nil {
			if f = l.ForReader(f, show); f == nil {
				return nil
			}
		}
		return show(l, f)
	}
	derived := v.Show
	v.Visible = func(l *layers.Layer, f *layers.Feature) bool {
		if l.ForReader != nil {
			return derived(l, f) != nil
		}
		return visible(l, f)
	}
	return v
}
