// The URL hash keeps what someone sees, so that a link reproduces it:
//   #map=ZOOM/LAT/LON&end=ISO&win=30d&layers=a,b&side=ru&echelon=army
// Unknown or malformed parts are ignored.

export const WINDOWS = { all: 0, '1d': 1, '7d': 7, '30d': 30, '90d': 90, '365d': 365 };

export function parseHash(hash, filterNames) {
  const p = new URLSearchParams(String(hash || '').replace(/^#/, ''));
  const out = { view: null, end: null, win: null, layers: null, filters: {} };
  const m = (p.get('map') || '').split('/').map(Number);
  if (m.length === 3 && m.every(Number.isFinite) && m[0] >= 0 && m[0] <= 24 &&
      Math.abs(m[1]) <= 90 && Math.abs(m[2]) <= 180) {
    out.view = { zoom: m[0], lat: m[1], lon: m[2] };
  }
  const end = p.get('end');
  if (end && !Number.isNaN(Date.parse(end))) out.end = new Date(end).toISOString();
  const win = p.get('win');
  if (win && Object.hasOwn(WINDOWS, win)) out.win = win;
  if (p.has('layers')) out.layers = p.get('layers').split(',').filter(Boolean);
  for (const name of filterNames) {
    const v = p.get(name);
    if (v) out.filters[name] = v;
  }
  return out;
}

export function formatHash(s) {
  const p = new URLSearchParams();
  if (s.view) {
    p.set('map', [s.view.zoom.toFixed(2), s.view.lat.toFixed(4), s.view.lon.toFixed(4)].join('/'));
  }
  if (s.end) p.set('end', s.end);
  if (s.win) p.set('win', s.win);
  if (s.layers) p.set('layers', s.layers.join(','));
  for (const [k, v] of Object.entries(s.filters || {})) {
    if (v) p.set(k, v);
  }
  // Keep slashes, commas and colons readable in the address bar.
  return '#' + p.toString().replaceAll('%2F', '/').replaceAll('%2C', ',').replaceAll('%3A', ':');
}
