// MIL-STD-2525D unit symbols for troop concentrations, drawn with milsymbol
// (the global `ms`, loaded as a classic script before the modules), and the
// other small images the map uses. Images are drawn on canvases and added to
// the map on demand from its styleimagemissing event, so MapLibre needs no
// sprite and no glyphs.

// Standard identity (SIDC digit 4) per side. Ukraine is drawn as friend and
// Russia as hostile, as analysts of this region read maps; Belarus, which
// hosts Russian forces but has not fought, as suspect.
const IDENTITY = { ua: '3', ru: '6', by: '5', unknown: '1' };

// Echelon amplifier (SIDC digits 9-10).
const ECHELON = {
  team: '11', squad: '12', section: '13', platoon: '14', company: '15', battalion: '16',
  regiment: '17', brigade: '18', division: '21', corps: '22', army: '23', unknown: '00',
};

// Land unit entity (digits 11-16), sector 1 and sector 2 modifiers (17-20).
const FUNCTION = {
  infantry: ['121100', '00', '00'],
  mechanized: ['121102', '00', '00'],
  armor: ['120500', '00', '00'],
  artillery: ['130300', '00', '00'],
  rocket_artillery: ['130300', '41', '00'], // field artillery, multiple rocket launcher
  air_defense: ['130100', '00', '00'],
  engineer: ['140700', '00', '00'],
  recon: ['121300', '00', '00'],
  uav: ['121900', '00', '00'],
  ew: ['150500', '00', '00'],
  logistics: ['160000', '00', '00'],
  hq: ['110000', '00', '00'],
  aviation: ['120600', '00', '00'],
  airborne: ['121100', '00', '01'],
  naval_infantry: ['121101', '00', '00'],
  unknown: ['000000', '00', '00'],
};

// sidc builds the 20-digit MIL-STD-2525D code of a troop concentration.
export function sidc(p) {
  const id = IDENTITY[p.side] || IDENTITY.unknown;
  const ech = ECHELON[p.echelon] || '00';
  const [entity, m1, m2] = FUNCTION[p.unit_function] || FUNCTION.unknown;
  const hq = p.unit_function === 'hq' ? '2' : '0';
  // version 10, context reality, identity, land unit, status present.
  return '10' + '0' + id + '10' + '0' + hq + ech + entity + m1 + m2;
}

const SEP = '\u001f';

// unitKey is the style expression naming a troop concentration's image: the
// properties that change its drawing, joined. Headings are rounded to 5°.
export function unitKeyExpression() {
  const heading = ['case', ['has', 'heading_deg'],
    ['to-string', ['*', 5, ['round', ['/', ['to-number', ['get', 'heading_deg'], 0], 5]]]], ''];
  return ['concat', 'u', SEP,
    ['coalesce', ['get', 'side'], 'unknown'], SEP,
    ['coalesce', ['get', 'echelon'], 'unknown'], SEP,
    ['coalesce', ['get', 'unit_function'], 'unknown'], SEP,
    heading, SEP,
    ['coalesce', ['get', 'unit_designation'], '']];
}

// clusterKeyExpression names a cluster's image from its count, its summed
// figure (with the mark that prefixes it) and its colour key.
export function clusterKeyExpression(sumField, mark, colour) {
  return ['concat', 'c', SEP,
    ['to-string', ['coalesce', ['get', 'point_count'], 0]], SEP,
    ['to-string', ['round', ['to-number', ['coalesce', ['get', sumField], 0], 0]]], SEP,
    mark, SEP, colour];
}

const CLUSTER_COLOUR = { ru: '#b3302f', ua: '#2467b5', by: '#b8741a', unknown: '#55606a', incident: '#7b3f00' };

// drawImage returns {image, pixelRatio} for an image id, or null when the
// id is not one of ours.
export function drawImage(id, dpr) {
  const parts = String(id).split(SEP);
  switch (parts[0]) {
    case 'u':
      return unitImage(parts, dpr);
    case 'c':
      return clusterImage(Number(parts[1]) || 0, Number(parts[2]) || 0, parts[3] || '', CLUSTER_COLOUR[parts[4]] || CLUSTER_COLOUR.unknown, dpr);
    case 'arrow':
      return arrowImage(dpr);
  }
  return null;
}

function unitImage([, side, echelon, fn, heading, designation], dpr) {
  if (typeof ms === 'undefined') return null;
  const opts = { size: 24, fill: true, frame: true, strokeWidth: 4 };
  if (heading !== '') opts.direction = Number(heading);
  if (designation) opts.uniqueDesignation = designation.slice(0, 24);
  const sym = new ms.Symbol(sidc({ side, echelon, unit_function: fn }), opts);
  return centred(sym.asCanvas(dpr), sym.getAnchor(), dpr);
}

// centred copies a milsymbol canvas onto one whose centre is the symbol's
// anchor, because MapLibre anchors icons at their centre and a direction
// arrow or label makes milsymbol's canvas lopsided.
function centred(src, anchor, dpr) {
  const ax = anchor.x * dpr, ay = anchor.y * dpr;
  const w = 2 * Math.ceil(Math.max(ax, src.width - ax));
  const h = 2 * Math.ceil(Math.max(ay, src.height - ay));
  const c = document.createElement('canvas');
  c.width = w;
  c.height = h;
  const ctx = c.getContext('2d');
  ctx.drawImage(src, Math.round(w / 2 - ax), Math.round(h / 2 - ay));
  return { image: ctx.getImageData(0, 0, w, h), pixelRatio: dpr };
}

// abbreviate writes 12345 as 12k.
export function abbreviate(n) {
  if (n >= 1e6) return (n / 1e6).toFixed(n >= 1e7 ? 0 : 1) + 'M';
  if (n >= 1e3) return (n / 1e3).toFixed(n >= 1e4 ? 0 : 1) + 'k';
  return String(n);
}

function clusterImage(count, strength, mark, colour, dpr) {
  const r = Math.round(14 + 5 * Math.log10(Math.max(count, 1)));
  const size = 2 * r + 4;
  const c = document.createElement('canvas');
  c.width = c.height = size * dpr;
  const ctx = c.getContext('2d');
  ctx.scale(dpr, dpr);
  ctx.beginPath();
  ctx.arc(size / 2, size / 2, r, 0, 2 * Math.PI);
  ctx.globalAlpha = 0.88;
  ctx.fillStyle = colour;
  ctx.fill();
  ctx.globalAlpha = 1;
  ctx.lineWidth = 2;
  ctx.strokeStyle = '#fff';
  ctx.stroke();
  ctx.fillStyle = '#fff';
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  ctx.font = 'bold 12px "Liberation Sans", Arial, sans-serif';
  ctx.fillText(abbreviate(count), size / 2, strength > 0 ? size / 2 - 6 : size / 2);
  if (strength > 0) {
    ctx.font = '10px "Liberation Sans", Arial, sans-serif';
    ctx.fillText(mark + abbreviate(strength), size / 2, size / 2 + 7);
  }
  return { image: ctx.getImageData(0, 0, c.width, c.height), pixelRatio: dpr };
}

function arrowImage(dpr) {
  const s = 14;
  const c = document.createElement('canvas');
  c.width = c.height = s * dpr;
  const ctx = c.getContext('2d');
  ctx.scale(dpr, dpr);
  // A chevron pointing along the line (to the right, as MapLibre expects).
  ctx.beginPath();
  ctx.moveTo(3, 2);
  ctx.lineTo(12, 7);
  ctx.lineTo(3, 12);
  ctx.lineWidth = 2.5;
  ctx.strokeStyle = '#fff';
  ctx.stroke();
  return { image: ctx.getImageData(0, 0, c.width, c.height), pixelRatio: dpr, sdf: false };
}
