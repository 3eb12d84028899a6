// Small DOM helpers. Data from the server is only ever put into the page as
// text (textContent, text nodes, attribute values), never parsed as HTML.

// el builds an element. attrs sets properties (className, id, type, ...) and
// data-* / aria-* attributes; children are nodes or strings (as text).
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('data-') || k.startsWith('aria-') || k === 'role' || k === 'for') {
      node.setAttribute(k, String(v));
    } else if (k === 'href') {
      const safe = safeURL(v);
      if (safe) node.href = safe;
    } else {
      node[k] = v;
    }
  }
  append(node, ...children);
  return node;
}

// append adds children (nodes, strings as text, arrays flattened, nulls skipped).
export function append(node, ...children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

// clear empties a node.
export function clear(node) {
  node.replaceChildren();
  return node;
}

// safeURL returns u when it is an absolute http(s) URL, else "": source
// links from reports must never become javascript: or data: links.
export function safeURL(u) {
  if (typeof u !== 'string' || u === '') return '';
  try {
    const url = new URL(u); // absolute URLs only: no base
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : '';
  } catch {
    return '';
  }
}

// link makes an outside link that opens in a new tab without telling the
// other site where it came from.
export function link(href, text) {
  const a = el('a', { href, target: '_blank', rel: 'noopener noreferrer' }, text || href);
  return a;
}

const SVG = 'http://www.w3.org/2000/svg';

// svg builds an SVG element with attributes.
export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== undefined && v !== null) node.setAttribute(k, String(v));
  }
  append(node, ...children);
  return node;
}
