// The upload panel: an analyst's API key (kept in this tab's session
// storage only, never in local storage or a cookie), and a dropped GeoJSON,
// CSV or KML file posted to the collection's items. The server's
// per-feature errors are listed against the feature index.

import { el, clear } from './dom.js';

const KEY = 'troopmap.apikey';

const TYPES = {
  geojson: 'application/geo+json', json: 'application/geo+json',
  csv: 'text/csv', kml: 'application/vnd.google-earth.kml+xml', kmz: 'application/vnd.google-earth.kmz',
};

export class Upload {
  constructor(cfg, form) {
    this.cfg = cfg;
    this.key = form.querySelector('#apikey');
    this.collection = form.querySelector('#upload-collection');
    this.status = form.querySelector('#upload-status');
    this.errors = form.querySelector('#upload-errors');
    this.drop = form.querySelector('#drop');
    this.file = form.querySelector('#file');
    this.chosen = false;
    this.key.value = sessionStorage.getItem(KEY) || '';
    this.key.addEventListener('input', () => {
      if (this.key.value) sessionStorage.setItem(KEY, this.key.value);
      else sessionStorage.removeItem(KEY);
    });
    for (const l of cfg.layers.filter((x) => x.writable)) {
      this.collection.append(el('option', { value: l.id }, l.title || l.id));
    }
    this.collection.addEventListener('change', () => { this.chosen = true; });
    form.addEventListener('submit', (e) => e.preventDefault());
    this.file.addEventListener('change', () => {
      if (this.file.files[0]) this.send(this.file.files[0]);
      this.file.value = '';
    });
    for (const t of ['dragenter', 'dragover']) {
      this.drop.addEventListener(t, (e) => { e.preventDefault(); this.drop.classList.add('over'); });
    }
    this.drop.addEventListener('dragleave', () => this.drop.classList.remove('over'));
    this.drop.addEventListener('drop', (e) => {
      e.preventDefault();
      this.drop.classList.remove('over');
      const f = e.dataTransfer && e.dataTransfer.files[0];
      if (f) this.send(f);
    });
  }

  // send posts a File (or Blob with a name).
  async send(file) {
    clear(this.errors);
    const ext = String(file.name || '').split('.').pop().toLowerCase();
    const type = TYPES[ext];
    if (!type) {
      this.say('error', `${file.name}: use a .geojson, .csv, .kml or .kmz file`);
      return null;
    }
    // KMZ is a zip: send its bytes as they are.
    const payload = ext === 'kmz' ? await file.arrayBuffer() : await file.text();
    if (type === TYPES.geojson && !this.chosen) this.guessCollection(payload);
    const collection = this.collection.value;
    if (!this.key.value) {
      this.say('error', 'Enter an API key first (ask an administrator for one).');
      return null;
    }
    this.say('busy', `Uploading ${file.name} to ${collection}…`);
    let r;
    try {
      r = await fetch(`${this.cfg.root}/collections/${encodeURIComponent(collection)}/items`, {
        method: 'POST',
        headers: { 'Content-Type': type, Accept: 'application/json', Authorization: 'Bearer ' + this.key.value },
        body: payload,
      });
    } catch (err) {
      this.say('error', 'Upload failed: ' + err.message);
      return null;
    }
    let body = null;
    try { body = await r.json(); } catch { /* no JSON body */ }
    if (r.ok) {
      const ids = body && (body.ids || (body.id ? [body.id] : null));
      const n = ids ? ids.length : 1;
      this.say('ok', `Stored ${n} report${n === 1 ? '' : 's'} in ${collection}.`);
      return body;
    }
    this.say('error', `${r.status}: ${(body && (body.description || body.code)) || r.statusText}`);
    this.showErrors(body && (body.errors || body.details));
    return body;
  }

  guessCollection(text) {
    try {
      const doc = JSON.parse(text);
      const first = doc.type === 'FeatureCollection' ? (doc.features || [])[0] : doc;
      const p = (first && first.properties) || {};
      const guess = 'event_type' in p ? 'incidents' : 'side' in p || 'echelon' in p ? 'troop-concentrations' : null;
      if (guess && [...this.collection.options].some((o) => o.value === guess)) this.collection.value = guess;
    } catch { /* the server will say what is wrong */ }
  }

  say(state, text) {
    this.status.className = state;
    this.status.textContent = text;
  }

  // showErrors lists errors by feature: "feature 17 · properties/echelon: message".
  showErrors(errors) {
    if (!Array.isArray(errors)) return;
    for (const e of errors.slice(0, 200)) {
      const pointer = String(e.pointer || e.path || e.field || '');
      const m = /^\/features\/(\d+)(\/.*)?$/.exec(pointer);
      // GeoJSON errors point into /features/N; CSV and KML errors name
      // the row or placemark in their pointer or message.
      const where = m ? `feature ${m[1]}` : e.index !== undefined ? `feature ${e.index}` : e.row !== undefined ? `row ${e.row}` : '';
      const field = m ? (m[2] || '').replace(/^\//, '') : pointer.replace(/^\//, '');
      this.errors.append(el('li', { 'data-feature': m ? m[1] : e.index ?? '' },
        el('strong', {}, where), field ? ` · ${field}` : '', ': ', String(e.message || e.description || JSON.stringify(e))));
    }
    if (errors.length > 200) this.errors.append(el('li', {}, `… and ${errors.length - 200} more`));
  }
}
