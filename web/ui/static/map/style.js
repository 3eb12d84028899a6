// The map's style: troopmap's own area layers as the base, the report
// layers on top, all from troopmap's vector tiles. Layer ids in the style
// are "<collection>" or "<collection>:<part>", so the layer panel can toggle
// every part of a collection at once.

import { unitKeyExpression, clusterKeyExpression } from './symbols.js';

// What a cluster of each layer sums, as the tiles name it: personnel
// (strength.personnel.best) for troop concentrations, fatalities
// (fatalities.best) for incidents.
export const CLUSTER_SUM = {
  'troop-concentrations': { field: 'personnel_best_sum', label: 'personnel', mark: '≈' },
  incidents: { field: 'fatalities_best_sum', label: 'fatalities', mark: '†' },
};

// The side with most reports in a troop concentration cluster colours it.
const CLUSTER_SIDE = ['case',
  ['all', ['>=', ['coalesce', ['get', 'side_ru'], 0], ['coalesce', ['get', 'side_ua'], 0]],
    ['>=', ['coalesce', ['get', 'side_ru'], 0], ['coalesce', ['get', 'side_by'], 0]],
    ['>', ['coalesce', ['get', 'side_ru'], 0], 0]], 'ru',
  ['all', ['>=', ['coalesce', ['get', 'side_ua'], 0], ['coalesce', ['get', 'side_by'], 0]],
    ['>', ['coalesce', ['get', 'side_ua'], 0], 0]], 'ua',
  ['>', ['coalesce', ['get', 'side_by'], 0], 0], 'by',
  'unknown'];

const SIDE_COLOUR = ['match', ['get', 'side'], 'ru', '#d33c3c', 'ua', '#2f7fd8', 'by', '#d98c1f', '#8a8a8a'];

const EVENT_COLOUR = ['match', ['get', 'event_type'],
  'battles', '#c0392b',
  'explosions_remote_violence', '#e67e22',
  'violence_against_civilians', '#8e44ad',
  'protests', '#16a085',
  'riots', '#f1c40f',
  'strategic_developments', '#2c3e50',
  '#7f8c8d'];

const AREA_STYLE = {
  oblasts: { fill: '#e9e4d8', line: '#a59f8f', width: 0.8, dash: null, opacity: 1 },
  donbas: { fill: '#c9a96e', line: '#8c6d2f', width: 1.5, dash: null, opacity: 0.35 },
  crimea: { fill: '#9fb8c9', line: '#4d6f87', width: 1.5, dash: null, opacity: 0.4 },
  'northern-border-zone': { fill: '#c97a7a', line: '#a04848', width: 1.2, dash: [3, 2], opacity: 0.18 },
  'eastern-border-zone': { fill: '#c97a7a', line: '#a04848', width: 1.2, dash: [3, 2], opacity: 0.18 },
};
const AREA_DEFAULT = { fill: '#cccccc', line: '#777777', width: 1, dash: null, opacity: 0.3 };

// Metres per pixel at zoom 0 over the area of interest (latitude ~48.5°),
// for 512-pixel tiles: ce_m circles are drawn in metres.
const MPP0 = 78271.517 * Math.cos((48.5 * Math.PI) / 180);

const NOT_CLUSTER = ['all', ['!=', ['get', 'clustered'], true], ['==', ['geometry-type'], 'Point']];
const IS_CLUSTER = ['==', ['get', 'clustered'], true];

// Fainter for region-level positions and for reports not (yet) verified.
const FAINT = ['*',
  ['case', ['==', ['get', 'geo_precision'], 'region'], 0.65, 1],
  ['case', ['==', ['get', 'verification'], 'verified'], 1, 0.7]];

export function tileURL(cfg, id, query) {
  const q = query ? '?' + query : '';
  return location.origin + cfg.root + '/tiles/' + id.split(',').map(encodeURIComponent).join(',') + '/{z}/{x}/{y}.mvt' + q;
}

// buildStyle returns the style and the list of toggleable layer groups
// ({id, title, styleLayers}).
export function buildStyle(cfg, queries) {
  const areas = cfg.layers.filter((l) => l.kind === 'area');
  // Oblasts first so that the zones draw over them.
  areas.sort((a, b) => (a.id === 'oblasts' ? -1 : b.id === 'oblasts' ? 1 : 0));
  const reports = cfg.layers.filter((l) => l.kind !== 'area');
  const style = {
    version: 8,
    name: 'troopmap',
    sources: {},
    layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#cfd8dc' } }],
  };
  const groups = [];
  if (areas.length) {
    // One source for all area layers: one tile request per tile.
    style.sources.areas = {
      type: 'vector', tiles: [tileURL(cfg, areas.map((l) => l.id).join(','), '')],
      minzoom: Math.max(...areas.map((l) => l.minzoom || 0)),
      maxzoom: Math.min(...areas.map((l) => l.maxzoom || 14)),
      attribution: 'Boundaries: Natural Earth',
    };
  }
  for (const l of areas) {
    const s = AREA_STYLE[l.id] || AREA_DEFAULT;
    const fill = { id: l.id + ':fill', type: 'fill', source: 'areas', 'source-layer': l.id,
      paint: { 'fill-color': s.fill, 'fill-opacity': s.opacity } };
    const line = { id: l.id + ':line', type: 'line', source: 'areas', 'source-layer': l.id,
      paint: { 'line-color': s.line, 'line-width': s.width } };
    if (s.dash) line.paint['line-dasharray'] = s.dash;
    style.layers.push(fill, line);
    groups.push({ id: l.id, title: l.title, styleLayers: [fill.id, line.id], kind: 'area' });
  }
  for (const l of reports) {
    style.sources[l.id] = {
      type: 'vector', tiles: [tileURL(cfg, l.id, queries[l.id])],
      minzoom: l.minzoom || 0, maxzoom: Math.min(l.maxzoom || 14, 16),
      bounds: cfg.bbox, attribution: 'troopmap reports',
    };
  }
  const order = ['incidents', 'movements', 'troop-concentrations'];
  reports.sort((a, b) => order.indexOf(a.id) - order.indexOf(b.id));
  for (const l of reports) {
    const ls = reportLayers(l.id);
    style.layers.push(...ls);
    groups.push({ id: l.id, title: l.title, styleLayers: ls.map((x) => x.id), kind: l.kind, clickable: ls.filter((x) => x.metadata && x.metadata.clickable).map((x) => x.id) });
  }
  return { style, groups };
}

// shapeLayers draw reports given as lines or areas (a front sector, a
// region of activity) beneath the point symbols.
function shapeLayers(id, src, click, colour) {
  return [
    { id: id + ':areas', type: 'fill', ...src, filter: ['==', ['geometry-type'], 'Polygon'], metadata: click,
      paint: { 'fill-color': colour, 'fill-opacity': ['*', 0.25, FAINT] } },
    { id: id + ':lines', type: 'line', ...src, filter: ['!=', ['geometry-type'], 'Point'],
      paint: { 'line-color': colour, 'line-width': 2, 'line-opacity': FAINT, 'line-dasharray': [2, 1] } },
  ];
}

function reportLayers(id) {
  const src = { source: id, 'source-layer': id };
  const click = { clickable: true };
  if (id === 'troop-concentrations') {
    return [
      ...shapeLayers(id, src, click, SIDE_COLOUR),
      { id: id + ':ce', type: 'circle', ...src,
        filter: ['all', NOT_CLUSTER, ['>', ['to-number', ['get', 'ce_m'], 0], 0]],
        paint: {
          'circle-radius': ['interpolate', ['exponential', 2], ['zoom'],
            0, ['/', ['to-number', ['get', 'ce_m'], 0], MPP0],
            22, ['/', ['to-number', ['get', 'ce_m'], 0], MPP0 / 2 ** 22]],
          'circle-color': SIDE_COLOUR, 'circle-opacity': ['*', 0.12, FAINT],
          'circle-stroke-color': SIDE_COLOUR, 'circle-stroke-width': 1,
          'circle-stroke-opacity': ['*', 0.6, FAINT],
        } },
      { id: id + ':units', type: 'symbol', ...src, filter: NOT_CLUSTER, metadata: click,
        layout: { 'icon-image': unitKeyExpression(), 'icon-allow-overlap': true, 'icon-ignore-placement': true },
        paint: { 'icon-opacity': FAINT } },
      { id: id + ':clusters', type: 'symbol', ...src, filter: IS_CLUSTER, metadata: click,
        // Clusters near a tile edge come in both tiles: collision hides the twin.
        layout: { 'icon-image': clusterKeyExpression(CLUSTER_SUM[id].field, CLUSTER_SUM[id].mark, CLUSTER_SIDE), 'icon-allow-overlap': false } },
    ];
  }
  if (id === 'movements') {
    return [
      { id: id + ':line', type: 'line', ...src, metadata: click,
        layout: { 'line-cap': 'round', 'line-join': 'round' },
        paint: { 'line-color': SIDE_COLOUR, 'line-width': 3, 'line-opacity': 0.85 } },
      { id: id + ':arrows', type: 'symbol', ...src,
        layout: { 'symbol-placement': 'line', 'symbol-spacing': 60, 'icon-image': 'arrow',
          'icon-allow-overlap': true, 'icon-rotation-alignment': 'map' } },
    ];
  }
  // Incidents and any other point layer.
  return [
    ...shapeLayers(id, src, click, id === 'incidents' ? EVENT_COLOUR : '#555'),
    { id: id + ':points', type: 'circle', ...src, filter: NOT_CLUSTER, metadata: click,
      paint: {
        'circle-radius': 6, 'circle-color': id === 'incidents' ? EVENT_COLOUR : '#555',
        'circle-opacity': FAINT, 'circle-stroke-color': '#fff', 'circle-stroke-width': 1.5,
      } },
    { id: id + ':clusters', type: 'symbol', ...src, filter: IS_CLUSTER, metadata: click,
      layout: { 'icon-image': clusterKeyExpression((CLUSTER_SUM[id] || {}).field || 'sum', (CLUSTER_SUM[id] || {}).mark || '', 'incident'), 'icon-allow-overlap': false } },
  ];
}
