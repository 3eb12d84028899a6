// The details panel: every property of a clicked report, its sources as
// links, its history, and for a cluster the reports under it. All text goes
// in as text: report fields are untrusted.

import { el, clear, link, safeURL } from './dom.js';
import { abbreviate } from './symbols.js';
import { CLUSTER_SUM } from './style.js';

export class Details {
  constructor(cfg, map, root) {
    this.cfg = cfg;
    this.map = map;
    this.root = root;
    this.body = root.querySelector('#details-body');
    this.current = null;
    this.seq = 0;
    root.querySelector('#details-close').addEventListener('click', () => this.hide());
    document.addEventListener('keydown', (e) => { if (e.key === 'Escape') this.hide(); });
  }

  hide() {
    this.root.hidden = true;
    this.current = null;
  }

  // show opens the panel for a feature picked from the map.
  show(f) {
    const collection = f.layer.id.split(':')[0];
    const p = f.properties || {};
    if (p.clustered === true || p.clustered === 'true') {
      this.showCluster(collection, p, p.cluster_id ?? f.id);
      return;
    }
    this.showReport(collection, String(p.id ?? f.id), p);
  }

  url(path) { return this.cfg.root + path; }

  async showReport(collection, id, tileProps) {
    const seq = ++this.seq;
    this.current = { collection, id };
    this.root.hidden = false;
    clear(this.body);
    const head = el('h2', {}, reportTitle(collection, tileProps));
    const props = el('div', { className: 'props' }, propsTable(tileProps));
    const hist = el('section', { className: 'history' }, el('h3', {}, 'History'), el('p', { className: 'muted' }, 'loading…'));
    this.body.append(head, el('p', { className: 'muted' }, collection + ' · ' + id), props, hist);
    this.body.dataset.collection = collection;
    this.body.dataset.id = id;
    try {
      const r = await fetchAs(this.url(`/collections/${enc(collection)}/items/${enc(id)}`), 'application/geo+json');
      if (!r.ok) throw new Error(await errorText(r));
      const feat = await r.json();
      if (seq !== this.seq) return;
      head.textContent = reportTitle(collection, feat.properties || {});
      clear(props).append(propsTable(feat.properties || {}, feat.geometry));
      this.body.dataset.loaded = 'item';
    } catch (err) {
      if (seq !== this.seq) return;
      props.append(el('p', { className: 'error' }, 'Full report not available: ' + err.message));
    }
    try {
      const r = await fetchAs(this.url(`/collections/${enc(collection)}/items/${enc(id)}/history`), 'application/json');
      if (!r.ok) throw new Error(await errorText(r));
      const h = await r.json();
      if (seq !== this.seq) return;
      clear(hist).append(el('h3', {}, 'History'), historyList(h));
    } catch (err) {
      if (seq !== this.seq) return;
      clear(hist).append(el('h3', {}, 'History'), el('p', { className: 'muted' }, 'No history: ' + err.message));
    }
  }

  async showCluster(collection, p, clusterId) {
    const seq = ++this.seq;
    this.current = { collection, cluster: clusterId };
    this.root.hidden = false;
    clear(this.body);
    const count = Number(p.point_count) || 0;
    const sum = CLUSTER_SUM[collection];
    const strength = sum ? Number(p[sum.field]) || 0 : 0;
    const list = el('ol', { className: 'leaves' });
    this.body.append(
      el('h2', {}, `${count} reports`),
      el('p', { className: 'muted' }, collection + (strength ? ` · ${abbreviate(strength)} ${sum.label} (sum of best estimates)` : '')),
      propsTable(p),
      el('h3', {}, 'Reports in this cluster'), list);
    this.body.dataset.collection = collection;
    this.body.dataset.cluster = String(clusterId);
    try {
      const qs = window.troopmap ? window.troopmap.queryFor(collection) : '';
      const r = await fetch(this.url(`/collections/${enc(collection)}/clusters/${enc(String(clusterId))}/leaves${qs ? '?' + qs : ''}`),
        { headers: { Accept: 'application/geo+json' } });
      if (!r.ok) throw new Error(await errorText(r));
      const fc = await r.json();
      if (seq !== this.seq) return;
      for (const leaf of fc.features || []) {
        const lp = leaf.properties || {};
        const b = el('button', { type: 'button', className: 'linklike' }, reportTitle(collection, lp));
        b.addEventListener('click', () => this.showReport(collection, String(leaf.id ?? lp.id), lp));
        list.append(el('li', {}, b, ' ', el('span', { className: 'muted' }, (lp.observed_at || '').slice(0, 10))));
      }
    } catch (err) {
      if (seq !== this.seq) return;
      list.append(el('li', { className: 'error' }, 'Reports not available: ' + err.message));
    }
  }

  // changed reloads the panel when a live change touches what it shows.
  changed(ev) {
    if (this.current && this.current.id && ev.collection === this.current.collection && String(ev.id) === this.current.id) {
      this.showReport(this.current.collection, this.current.id, {});
    }
  }
}

function enc(s) { return encodeURIComponent(s); }

async function errorText(r) {
  try {
    const b = await r.json();
    return `${r.status} ${b.description || b.code || ''}`.trim();
  } catch {
    return String(r.status);
  }
}

function reportTitle(collection, p) {
  if (collection === 'troop-concentrations') {
    return [p.unit_designation, p.echelon, p.unit_function].filter(Boolean).join(' · ') || 'Troop concentration';
  }
  if (collection === 'incidents') {
    return [p.event_type, p.sub_event_type, p.location_name].filter(Boolean).map((x) => String(x).replaceAll('_', ' ')).join(' · ') || 'Incident';
  }
  if (collection === 'movements') return [p.unit_designation, 'movement'].filter(Boolean).join(' · ');
  return p.title || p.name || collection;
}

// propsTable lists every property; sources become links and notes a text
// block.
function propsTable(props, geometry) {
  const frag = document.createDocumentFragment();
  const rows = el('tbody');
  for (const [k, v] of Object.entries(props)) {
    if (k === 'sources' || k === 'notes') continue;
    rows.append(el('tr', { 'data-prop': k }, el('th', {}, k), el('td', {}, value(v))));
  }
  if (geometry && geometry.type) {
    rows.append(el('tr', { 'data-prop': 'geometry' }, el('th', {}, 'geometry'), el('td', {}, geometrySummary(geometry))));
  }
  if (props.notes !== undefined && props.notes !== null) {
    frag.append(el('h3', {}, 'Notes'), el('p', { className: 'notes', 'data-prop': 'notes' }, String(props.notes)));
  }
  if (props.sources !== undefined) frag.append(sourcesList(props.sources));
  frag.append(el('table', { className: 'proptable' }, rows));
  return frag;
}

function sourcesList(sources) {
  if (typeof sources === 'string') {
    try { sources = JSON.parse(sources); } catch { sources = [sources]; }
  }
  const list = el('ul', { className: 'sources' });
  for (const s of Array.isArray(sources) ? sources : [sources]) {
    const src = typeof s === 'string' ? { url: s } : s || {};
    const li = el('li', {});
    if (safeURL(src.url)) li.append(link(src.url, src.title || src.url));
    else li.append(String(src.title || src.url || ''));
    const meta = [src.kind, src.captured_at && 'captured ' + src.captured_at].filter(Boolean).join(', ');
    if (meta) li.append(' ', el('span', { className: 'muted' }, '(' + meta + ')'));
    if (safeURL(src.archived_url)) li.append(' ', link(src.archived_url, 'archived copy'));
    if (src.sha256) li.append(' ', el('code', {}, 'sha256 ' + String(src.sha256).slice(0, 16) + '…'));
    list.append(li);
  }
  return el('section', { className: 'sources-section' }, el('h3', {}, 'Sources'), list);
}

function value(v) {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') {
    if (Array.isArray(v) && v.every((x) => typeof x !== 'object')) return v.join(', ');
    if (!Array.isArray(v) && isRange(v)) return rangeText(v);
    if (!Array.isArray(v)) {
      const t = el('table', { className: 'nested' });
      for (const [k, x] of Object.entries(v)) t.append(el('tr', {}, el('th', {}, k), el('td', {}, value(x))));
      return t;
    }
    return el('code', {}, JSON.stringify(v));
  }
  if (typeof v === 'string' && /^\s*[[{]/.test(v)) {
    // Tiles carry nested values as JSON text.
    try { return value(JSON.parse(v)); } catch { /* plain text */ }
  }
  return String(v);
}

function isRange(o) {
  return Object.keys(o).length > 0 && Object.keys(o).every((k) => ['low', 'best', 'high'].includes(k));
}

function rangeText(o) {
  const best = o.best ?? '?';
  return o.low !== undefined || o.high !== undefined ? `${best} (${o.low ?? '?'}–${o.high ?? '?'})` : String(best);
}

function geometrySummary(g) {
  if (g.type === 'Point') return `Point ${g.coordinates[1].toFixed(4)}°N ${g.coordinates[0].toFixed(4)}°E`;
  return g.type;
}

// fetchAs reads with the API key the analyst entered for uploads (kept for
// the session), so that keyed readers see who wrote each version, which
// anonymous readers are not shown. A refused key falls back to reading
// anonymously.
async function fetchAs(url, accept) {
  const key = sessionStorage.getItem('troopmap.apikey');
  if (key) {
    const r = await fetch(url, { headers: { Accept: accept, Authorization: 'Bearer ' + key } });
    if (r.status !== 401) return r;
  }
  return fetch(url, { headers: { Accept: accept } });
}

// historyList renders the versions of a report, newest first, whatever the
// exact shape: a list, {versions: [...]}, or a FeatureCollection.
function historyList(h) {
  const items = Array.isArray(h) ? h : h.versions || h.history || h.features || h.items || [];
  if (!items.length) return el('p', { className: 'muted' }, 'No earlier versions.');
  const list = el('ol', { className: 'history-list' });
  for (const it of items) {
    const p = it.properties && !it.version ? { ...it.properties, ...it } : it;
    const version = p.version ?? (it.properties && it.properties.version);
    const op = p.op || p.operation || '';
    const actor = p.actor || p.created_by || p.updated_by || '';
    const at = p.time || p.at || p.changed_at || p.updated_at || p.created_at || '';
    list.append(el('li', {}, `v${version ?? '?'} `, el('strong', {}, op), actor ? ` by ${actor}` : '', at ? ` · ${at}` : ''));
  }
  return list;
}
