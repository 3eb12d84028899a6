// Live updates: listens to the server's /events stream and refreshes only
// the tiles that a change touches. Each event names the collection, the
// report and the bounding box of its old and new geometry; the tiles that
// box covers (with a margin for symbols and clusters) are reloaded, and the
// browser is told to revalidate them rather than use its cache.

// The server names each committed change "change"; "dropped" means it cut
// this client off (it fell behind), so changes may have been missed;
// "reset" that a reconnect came too late for the missed ones to be replayed.
const EVENT_NAMES = ['change'];

export class Live {
  constructor(cfg, map, reportIds, indicator, { onChange }) {
    this.cfg = cfg;
    this.map = map;
    this.reportIds = new Set(reportIds);
    this.indicator = indicator;
    this.onChange = onChange || (() => {});
    this.stale = new Set(); // "collection/z/x/y" of tiles to fetch fresh once
    this.always = new Set(); // collections whose tiles always revalidate
    // Movements are derived from troop concentrations: a change to one
    // report can move a whole line, so they are always revalidated.
    if (this.reportIds.has('movements')) this.always.add('movements');
    this.received = 0;
    this.retry = 1000;
    this.connect();
  }

  status(state, text) {
    this.indicator.className = 'live ' + state;
    this.indicator.textContent = text;
    this.indicator.dataset.state = state;
  }

  connect() {
    this.status('off', this.received ? 'reconnecting…' : 'connecting…');
    const es = new EventSource(this.cfg.root + '/events');
    this.es = es;
    es.onopen = () => {
      this.retry = 1000;
      this.status('on', 'live');
    };
    es.onerror = () => {
      if (es.readyState === EventSource.CLOSED) {
        // The browser gave up (e.g. an error status): try again, backing off.
        this.status('off', 'reconnecting…');
        setTimeout(() => this.connect(), this.retry);
        this.retry = Math.min(this.retry * 2, 30000);
      } else {
        this.status('off', 'reconnecting…');
      }
    };
    const handle = (e) => {
      let ev;
      try { ev = JSON.parse(e.data); } catch { return; }
      this.handle(ev);
    };
    es.onmessage = handle;
    for (const name of EVENT_NAMES) es.addEventListener(name, handle);
    // After a reconnect the browser sends Last-Event-ID and the server
    // replays what was missed; "reset" says that was no longer held.
    es.addEventListener('reset', () => {
      for (const id of this.reportIds) this.refresh(id, null);
    });
    es.addEventListener('dropped', () => {
      es.close();
      this.status('off', 'reconnecting…');
      for (const id of this.reportIds) this.refresh(id, null);
      setTimeout(() => this.connect(), 1000);
    });
  }

  handle(ev) {
    if (!ev || !this.reportIds.has(ev.collection)) return;
    this.received++;
    this.indicator.dataset.received = String(this.received);
    this.refresh(ev.collection, ev.bbox);
    if (ev.collection === 'troop-concentrations' && this.map.getSource('movements')) {
      this.map.refreshTiles('movements');
    }
    this.onChange(ev);
  }

  // refresh reloads the tiles of a collection that bbox touches, at the
  // zooms the map may show next; with no bbox, all of its tiles.
  refresh(collection, bbox) {
    const src = this.map.getSource(collection);
    if (!src) return;
    if (!Array.isArray(bbox) || bbox.length < 4 || !bbox.every(Number.isFinite)) {
      this.always.add(collection);
      this.map.refreshTiles(collection);
      return;
    }
    const ids = [];
    const top = Math.min(src.maxzoom ?? 14, Math.ceil(this.map.getZoom()) + 1);
    for (let z = src.minzoom ?? 0; z <= top; z++) {
      for (const t of tilesCovering(bbox, z, 0.5)) {
        this.stale.add(`${collection}/${t.z}/${t.x}/${t.y}`);
        ids.push(t);
      }
    }
    this.map.refreshTiles(collection, ids);
  }

  // transformRequest makes a stale tile's next request skip the HTTP cache.
  transformRequest(url, type) {
    if (type !== 'Tile') return { url };
    const m = /\/tiles\/([^/?]+)\/(\d+)\/(\d+)\/(\d+)\.mvt/.exec(url);
    if (!m) return { url };
    const collection = decodeURIComponent(m[1]);
    const key = `${collection}/${m[2]}/${m[3]}/${m[4]}`;
    if (this.always.has(collection) || this.stale.delete(key)) return { url, cache: 'no-cache' };
    return { url };
  }
}

// tilesCovering lists the z tiles that bbox [w, s, e, n] touches, widened
// by margin (a fraction of a tile) on every side, at most 256 tiles.
export function tilesCovering(bbox, z, margin) {
  const n = 2 ** z;
  const x = (lon) => ((lon + 180) / 360) * n;
  const y = (lat) => {
    const r = (Math.max(-85.05, Math.min(85.05, lat)) * Math.PI) / 180;
    return ((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * n;
  };
  const clamp = (v) => Math.max(0, Math.min(n - 1, Math.floor(v)));
  const x0 = clamp(x(bbox[0]) - margin), x1 = clamp(x(bbox[2]) + margin);
  const y0 = clamp(y(bbox[3]) - margin), y1 = clamp(y(bbox[1]) + margin);
  const out = [];
  for (let tx = x0; tx <= x1; tx++) {
    for (let ty = y0; ty <= y1; ty++) {
      if (out.length >= 256) return out;
      out.push({ z, x: tx, y: ty });
    }
  }
  return out;
}
