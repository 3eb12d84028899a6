package web

import "troopmap/layers"

// derivedView makes the features of derived layers (movements) follow the
// reader's view of the reports they are derived from: a track loses the
// reports the reader may not see and uses the positions they are shown.
// viewOf applies it to every view, so no output path can forget it.
func derivedView(v view) view {
	show := v.Show
	v.Show = func(l *layers.Layer, f *layers.Feature) *layers.Feature {
		if l.ForReader != nil {
			if f = l.ForReader(f, show); f == nil {
				return nil
			}
		}
		return show(l, f)
	}
	return v
}
