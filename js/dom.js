/**
 * DOM primitives for the panel: build elements, write text/attributes/widths only
 * when they change, and reconcile a keyed list of rows in place.
 * User text only ever reaches the DOM through `textContent` or `setAttribute`:
 * nothing in this package parses HTML.
 * @module dom
 */

/**
 * A new element with a class name (`pb-` prefixed in the CSS) and children.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {Document} doc
 * @param {K} tag
 * @param {string} [className]
 * @param {Array<Node>} [children]
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(doc, tag, className, children) {
  const node = doc.createElement(tag);
  if (className) node.className = className;
  if (children) for (const child of children) node.appendChild(child);
  return node;
}

const SVG_NS = "http://www.w3.org/2000/svg";

/**
 * A new SVG element with a class and attributes (drawing is plain SVG: no library).
 * @template {keyof SVGElementTagNameMap} K
 * @param {Document} doc
 * @param {K} tag
 * @param {string} [className]
 * @param {Record<string, string>} [attrs]
 * @returns {SVGElementTagNameMap[K]}
 */
export function svg(doc, tag, className, attrs) {
  const node = /** @type {SVGElementTagNameMap[K]} */ (doc.createElementNS(SVG_NS, tag));
  if (className) node.setAttribute("class", className);
  if (attrs) for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  return node;
}

/**
 * Set an element's text, if it differs.
 * @param {Element} node
 * @param {string} text
 */
export function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

/**
 * Set an attribute (null removes it), if it differs.
 * @param {Element} node
 * @param {string} name
 * @param {string | null} value
 */
export function setAttr(node, name, value) {
  if (value === null) {
    if (node.hasAttribute(name)) node.removeAttribute(name);
  } else if (node.getAttribute(name) !== value) {
    node.setAttribute(name, value);
  }
}

/**
 * Show or hide an element (HTML or SVG: the panel's CSS hides any `[hidden]`),
 * if that changes anything.
 * @param {Element} node
 * @param {boolean} hidden
 */
export function setHidden(node, hidden) {
  setAttr(node, "hidden", hidden ? "" : null);
}

/**
 * Enable or disable a button, if that changes anything.
 * @param {HTMLButtonElement} node
 * @param {boolean} disabled
 */
export function setDisabled(node, disabled) {
  if (node.disabled !== disabled) node.disabled = disabled;
}

/** Last width written per element: browsers normalise `style.width`, so it can't be compared. */
const widths = new WeakMap();

/**
 * Set a bar fill's width from a fraction in [0, 1], if the rounded value differs.
 * @param {HTMLElement} node
 * @param {number} frac
 */
export function setWidth(node, frac) {
  const width = `${Math.round(frac * 1000) / 10}%`;
  if (widths.get(node) !== width) {
    widths.set(node, width);
    node.style.width = width;
  }
}

/**
 * @template R
 * @typedef {R & {el: HTMLElement}} Row
 */

/**
 * Make `container`'s children the rows for `items`, in order, keyed by `keyOf`:
 * existing rows are updated in place (same node), new keys get a new row and
 * vanished keys lose theirs. Nodes are moved only when out of place.
 * A repeated key gets a suffix, so one bad key can't hide a row.
 * @template T, R
 * @param {HTMLElement} container
 * @param {Map<string, Row<R>>} rows the rows of the last call, updated here
 * @param {T[]} items
 * @param {(item: T, i: number) => string} keyOf
 * @param {(item: T) => Row<R>} create
 * @param {(row: Row<R>, item: T) => void} update
 */
export function reconcile(container, rows, items, keyOf, create, update) {
  /** @type {string[]} */
  const keys = [];
  const seen = new Set();
  items.forEach((item, i) => {
    let key = keyOf(item, i);
    for (let n = 2; seen.has(key); n += 1) key = `${keyOf(item, i)}\u0000${n}`;
    seen.add(key);
    keys.push(key);
  });
  // Remove first, so that a removal does not look like every later row moving.
  for (const [key, row] of rows) {
    if (!seen.has(key)) {
      row.el.remove();
      rows.delete(key);
    }
  }
  /** @type {ChildNode | null} */
  let next = container.firstChild;
  items.forEach((item, i) => {
    let row = rows.get(keys[i]);
    if (!row) {
      row = create(item);
      rows.set(keys[i], row);
    }
    update(row, item);
    if (row.el !== next) container.insertBefore(row.el, next);
    next = row.el.nextSibling;
  });
}
