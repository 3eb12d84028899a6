// The troopmap map page. Everything it loads comes from this server; the
// code runs under a strict Content-Security-Policy (no inline scripts, no
// inline event handlers, no eval).

import * as maplibregl from '../vendor/maplibre-gl/maplibre-gl.mjs';
import { parseHash, formatHash } from './hashstate.js';
import { buildStyle, tileURL } from './style.js';
import { drawImage } from './symbols.js';
import { Timebar } from './timebar.js';
import { Filters } from './filters.js';
import { LayerPanel } from './layerpanel.js';
import { Details } from './details.js';
import { Live } from './live.js';
import { Upload } from './upload.js';
import { ZoneChart } from './zonechart.js';

const cfg = JSON.parse(document.body.dataset.config);
const filterNames = [...new Set(Object.values(cfg.filters).flatMap((f) => Object.keys(f)))];
const initial = parseHash(location.hash, filterNames);

const timebar = new Timebar(cfg, initial);
const filters = new Filters(cfg, initial.filters, document.getElementById('filters'));

// queryFor returns the tile query string of a report layer: its time
// window and those filters its schema declares.
function queryFor(id) {
  const p = new URLSearchParams();
  const dt = timebar.datetime();
  if (dt) p.set('datetime', dt);
  for (const [k, v] of Object.entries(filters.values())) {
    if (v && cfg.filters[id] && cfg.filters[id][k]) p.set(k, v);
  }
  return p.toString();
}

const reportIds = cfg.layers.filter((l) => l.kind !== 'area').map((l) => l.id);
const queries = Object.fromEntries(reportIds.map((id) => [id, queryFor(id)]));
const { style, groups } = buildStyle(cfg, queries);

// The live connection starts after the map; tile requests made before it
// exists need no cache-busting.
let live = null;

// Without a view in the link, show the east of Ukraine: the Donbas, Crimea
// and both border zones.
const camera = initial.view
  ? { center: [initial.view.lon, initial.view.lat], zoom: initial.view.zoom }
  : { bounds: [[29.5, 44.2], [41.5, 52.8]] };
const map = new maplibregl.Map({
  container: 'map',
  style,
  ...camera,
  maxBounds: [[cfg.bbox[0] - 8, cfg.bbox[1] - 5], [cfg.bbox[2] + 8, cfg.bbox[3] + 5]],
  // Tests (and anyone taking a screenshot) read the drawn pixels back.
  canvasContextAttributes: { preserveDrawingBuffer: true },
  attributionControl: { compact: true },
  transformRequest: (url, type) => (live ? live.transformRequest(url, type) : { url }),
});
map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-right');

// Unit symbols, cluster badges and arrows are drawn on demand, when a tile
// first needs them.
map.setMissingStyleImageResolver((id) => {
  if (map.hasImage(id)) return;
  const img = drawImage(id, window.devicePixelRatio || 1);
  if (img) map.addImage(id, img.image, { pixelRatio: img.pixelRatio });
});

const layerPanel = new LayerPanel(map, groups, initial.layers, document.getElementById('layers'));
const details = new Details(cfg, map, document.getElementById('details'));
live = new Live(cfg, map, reportIds, document.getElementById('live'), {
  onChange: (ev) => {
    details.changed(ev);
    zoneChart.refreshSoon();
  },
});
const upload = new Upload(cfg, document.getElementById('upload'));
const zoneChart = new ZoneChart(cfg, document.getElementById('zonechart'), () => timebar.range());

// Outside style from the operator: its layers go beneath ours.
if (cfg.styleURL) {
  fetch(cfg.styleURL).then((r) => (r.ok ? r.json() : Promise.reject(new Error('HTTP ' + r.status))))
    .then((outside) => {
      for (const [id, src] of Object.entries(outside.sources || {})) {
        if (!map.getSource('base:' + id)) map.addSource('base:' + id, src);
      }
      if (outside.sprite && !Array.isArray(outside.sprite)) map.setSprite(outside.sprite);
      if (outside.glyphs) map.setGlyphs(outside.glyphs);
      const before = map.getStyle().layers[1] ? map.getStyle().layers[1].id : undefined;
      for (const l of outside.layers || []) {
        if (l.type === 'background') continue;
        const copy = { ...l, id: 'base:' + l.id };
        if (copy.source) copy.source = 'base:' + copy.source;
        map.addLayer(copy, before);
      }
    })
    .catch((err) => console.warn('outside style', cfg.styleURL, err));
}

function refreshTiles() {
  zoneChart.refreshSoon(0);
  for (const id of reportIds) {
    const src = map.getSource(id);
    if (src) src.setTiles([tileURL(cfg, id, queryFor(id))]);
  }
  writeHash();
}

function writeHash() {
  const c = map.getCenter();
  const hash = formatHash({
    view: { zoom: map.getZoom(), lat: c.lat, lon: c.lng },
    end: timebar.endParam(), win: timebar.windowParam(),
    layers: layerPanel.hashValue(), filters: filters.values(),
  });
  if (hash !== location.hash) history.replaceState(null, '', hash);
}

timebar.onChange = refreshTiles;
filters.onChange = refreshTiles;
layerPanel.onChange = writeHash;
map.on('moveend', writeHash);
map.on('load', writeHash);

// Clicks on reports and clusters open the details panel.
const clickable = groups.flatMap((g) => g.clickable || []);
map.on('click', (e) => {
  const box = [[e.point.x - 4, e.point.y - 4], [e.point.x + 4, e.point.y + 4]];
  const hits = map.queryRenderedFeatures(box, { layers: clickable.filter((id) => map.getLayer(id)) });
  if (hits.length) details.show(hits[0]);
});
for (const id of clickable) {
  map.on('mouseenter', id, () => { map.getCanvas().style.cursor = 'pointer'; });
  map.on('mouseleave', id, () => { map.getCanvas().style.cursor = ''; });
}

// Hooks for the browser tests and for debugging from the console.
window.troopmap = { map, cfg, timebar, filters, details, live, upload, zoneChart, layerPanel, queryFor };
