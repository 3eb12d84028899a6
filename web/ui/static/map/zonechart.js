// A small chart of /stats/zones: for each zone, the number of reports over
// time, drawn as plain SVG (no chart library, nothing inline).

import { el, clear, svg } from './dom.js';

const COLOURS = ['#8c6d2f', '#4d6f87', '#a04848', '#6a4c93', '#2a9d8f', '#555'];

export class ZoneChart {
  // range() returns the [from, to] ISO times to chart (the time window).
  constructor(cfg, root, range) {
    this.cfg = cfg;
    this.root = root;
    this.range = range;
    this.timer = null;
    const panel = root.closest('details');
    this.loaded = false;
    // Fetch only when the panel is opened the first time.
    panel.addEventListener('toggle', () => { if (panel.open && !this.loaded) this.load(); });
    if (panel.open) this.load();
  }

  refreshSoon(delay = 2000) {
    if (!this.loaded) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.load(), delay);
  }

  async load() {
    this.loaded = true;
    try {
      const [from, to] = this.range();
      const q = new URLSearchParams({ interval: 'week', from, to });
      const r = await fetch(this.cfg.root + '/stats/zones?' + q, { headers: { Accept: 'application/json' } });
      if (r.status === 400) {
        const b = await r.json().catch(() => ({}));
        throw new Error(b.description || 'HTTP 400');
      }
      if (!r.ok) throw new Error('HTTP ' + r.status);
      this.draw(series(await r.json()));
    } catch (err) {
      clear(this.root).append(el('p', { className: 'muted' }, 'Zone figures are not available: ' + err.message));
    }
  }

  draw(data) {
    clear(this.root);
    if (!data.length) {
      this.root.append(el('p', { className: 'muted' }, 'No zones.'));
      return;
    }
    const W = 230, H = 140, L = 30, B = 18, T = 6;
    const times = [...new Set(data.flatMap((s) => s.points.map((p) => p.t)))].sort();
    const max = Math.max(1, ...data.flatMap((s) => s.points.map((p) => p.v)));
    const xi = (t) => L + (times.length < 2 ? (W - L) / 2 : (times.indexOf(t) / (times.length - 1)) * (W - L - 4));
    const yv = (v) => T + (1 - v / max) * (H - T - B);
    const chart = svg('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-label': 'Reports per zone and week' });
    chart.append(svg('line', { x1: L, y1: H - B, x2: W, y2: H - B, class: 'axis' }));
    chart.append(svg('line', { x1: L, y1: T, x2: L, y2: H - B, class: 'axis' }));
    chart.append(svg('text', { x: L - 4, y: T + 8, class: 'tick', 'text-anchor': 'end' }, String(max)));
    chart.append(svg('text', { x: L - 4, y: H - B, class: 'tick', 'text-anchor': 'end' }, '0'));
    chart.append(svg('text', { x: L, y: H - 4, class: 'tick' }, times[0]));
    if (times.length > 1) chart.append(svg('text', { x: W, y: H - 4, class: 'tick', 'text-anchor': 'end' }, times[times.length - 1]));
    const legend = el('ul', { className: 'legend' });
    data.forEach((s, i) => {
      const colour = COLOURS[i % COLOURS.length];
      const pts = s.points.map((p) => `${xi(p.t).toFixed(1)},${yv(p.v).toFixed(1)}`).join(' ');
      chart.append(svg('polyline', { points: pts, fill: 'none', stroke: colour, 'stroke-width': 2, 'data-zone': s.zone }));
      for (const p of s.points) {
        chart.append(svg('circle', { cx: xi(p.t).toFixed(1), cy: yv(p.v).toFixed(1), r: 2.5, fill: colour },
          svg('title', {}, `${s.zone} ${p.t}: ${p.v}`)));
      }
      const sw = el('span', { className: 'swatch zone-' + i });
      legend.append(el('li', {}, sw, `${s.zone} (${s.points.reduce((a, p) => a + p.v, 0)})`));
    });
    this.root.append(el('p', { className: 'muted' }, 'Reports per week in each zone'), chart, legend);
  }
}

// series turns the /stats/zones document into [{zone, points: [{t, v}]}]:
// per zone, the reports (troop concentrations and incidents) of each week.
export function series(doc) {
  const out = [];
  for (const z of doc.zones || []) {
    const points = (z.intervals || []).map((iv) => ({
      t: String(iv.start || '').slice(0, 10),
      v: (Number(iv.troop_concentrations) || 0) + (Number(iv.incidents) || 0),
    })).filter((p) => p.t);
    out.push({ zone: String(z.title || z.id), points });
  }
  return out;
}
