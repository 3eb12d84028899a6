// The layer panel: a checkbox per collection that shows or hides all of
// its style layers.

import { el, clear } from './dom.js';

export class LayerPanel {
  constructor(map, groups, visible, root) {
    this.map = map;
    this.groups = groups;
    this.boxes = {};
    this.onChange = () => {};
    clear(root);
    for (const g of groups) {
      const box = el('input', { type: 'checkbox', checked: !visible || visible.includes(g.id), value: g.id });
      box.addEventListener('change', () => { this.apply(g); this.onChange(); });
      this.boxes[g.id] = box;
      root.append(el('label', { className: 'layer ' + g.kind, 'data-layer': g.id }, box, ' ', g.title || g.id));
    }
    // Apply the initial visibility (from the URL hash) once the style exists.
    const applyAll = () => groups.forEach((g) => this.apply(g));
    if (map.isStyleLoaded()) applyAll();
    else map.once('styledata', applyAll);
  }

  apply(g) {
    const vis = this.boxes[g.id].checked ? 'visible' : 'none';
    for (const id of g.styleLayers) {
      if (this.map.getLayer(id)) this.map.setLayoutProperty(id, 'visibility', vis);
    }
  }

  // hashValue is the visible collections, or null when all are visible.
  hashValue() {
    const on = this.groups.filter((g) => this.boxes[g.id].checked).map((g) => g.id);
    return on.length === this.groups.length ? null : on;
  }

  set(id, visible) {
    this.boxes[id].checked = visible;
    this.apply(this.groups.find((g) => g.id === id));
    this.onChange();
  }
}
