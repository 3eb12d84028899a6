// The filter panel: one choice per filter parameter that some report
// layer's schema declares. Values go to the tiles as the server's own
// filter parameters (side=ru, zones=donbas, ...).

import { el, clear } from './dom.js';

const LABELS = { side: 'Side', echelon: 'Echelon', posture: 'Posture', event_type: 'Event type', verification: 'Verification', zones: 'Zone' };

export class Filters {
  constructor(cfg, initial, form) {
    this.onChange = () => {};
    this.selects = {};
    const options = {};
    for (const f of Object.values(cfg.filters)) {
      for (const [name, values] of Object.entries(f)) {
        options[name] = [...new Set([...(options[name] || []), ...values])];
      }
    }
    clear(form);
    for (const [name, values] of Object.entries(options)) {
      const sel = el('select', { name, id: 'filter-' + name }, el('option', { value: '' }, 'any'),
        values.map((v) => el('option', { value: v }, v.replaceAll('_', ' '))));
      if (initial[name] && values.includes(initial[name])) sel.value = initial[name];
      sel.addEventListener('change', () => this.onChange());
      this.selects[name] = sel;
      form.append(el('label', {}, LABELS[name] || name, sel));
    }
    form.append(el('button', { type: 'reset' }, 'Clear filters'));
    form.addEventListener('reset', () => setTimeout(() => this.onChange(), 0));
    form.addEventListener('submit', (e) => e.preventDefault());
  }

  values() {
    const out = {};
    for (const [name, sel] of Object.entries(this.selects)) {
      if (sel.value) out[name] = sel.value;
    }
    return out;
  }

  set(name, value) {
    this.selects[name].value = value;
    this.onChange();
  }
}
