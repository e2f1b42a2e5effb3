/**
 * The failures section: one `<details>` per failed item, keyed by index + kind +
 * label, so a traceback the user opened stays open through later updates.
 * The summary line: kind badge · item label · error; the body: who ran it, how
 * many attempts, and the traceback.
 * @module failures
 */

import { h, reconcile, setAttr, setHidden, setText } from "./dom.js";
import { formatCount } from "./format.js";

/** @typedef {import("./state.js").Failure} Failure */

/**
 * @typedef {object} FailureParts
 * @property {HTMLElement} kind
 * @property {HTMLElement} label
 * @property {HTMLElement} error
 * @property {HTMLElement} meta
 * @property {HTMLElement} traceback
 */

/** @typedef {import("./dom.js").Row<FailureParts>} FailureRow */

/** What the kind badge says. */
const KIND_TEXT = /** @type {Record<string, string>} */ ({
  error: "error",
  timeout: "timeout",
  crashed: "crashed",
});

/**
 * The key of a failure row.
 * @param {Failure} f
 * @returns {string}
 */
export function failureKey(f) {
  return `${f.index ?? ""}\u0000${f.kind}\u0000${f.label}`;
}

/**
 * Builds and updates the failures section.
 */
export class FailureList {
  /** @param {Document} doc */
  constructor(doc) {
    this.doc = doc;
    this.count = h(doc, "span", "pb-failures-count");
    this.list = h(doc, "div", "pb-failure-list");
    this.more = h(doc, "div", "pb-more pb-more-failures");
    this.el = h(doc, "section", "pb-failures", [
      h(doc, "div", "pb-failures-head", [this.count]),
      this.list,
      this.more,
    ]);
    this.el.setAttribute("aria-label", "failures");
    /** @type {Map<string, FailureRow>} */
    this.rows = new Map();
  }

  /**
   * @param {Failure[]} failures
   * @param {number} more failures not listed
   */
  update(failures, more) {
    reconcile(this.list, this.rows, failures, failureKey, () => this.createRow(), updateRow);
    const total = failures.length + more;
    setText(this.count, `${formatCount(total)} ${total === 1 ? "failure" : "failures"}`);
    setText(this.more, more > 0 ? `+${formatCount(more)} more ${more === 1 ? "failure" : "failures"}` : "");
    setHidden(this.more, more <= 0);
    setHidden(this.el, total === 0);
  }

  /** @returns {FailureRow} */
  createRow() {
    const doc = this.doc;
    const kind = h(doc, "span", "pb-kind");
    const label = h(doc, "span", "pb-failure-label");
    const error = h(doc, "span", "pb-failure-error");
    const meta = h(doc, "div", "pb-failure-meta");
    const traceback = h(doc, "pre", "pb-traceback");
    const summary = h(doc, "summary", "pb-failure-line", [kind, label, error]);
    const el = h(doc, "details", "pb-failure", [summary, h(doc, "div", "pb-failure-body", [meta, traceback])]);
    return { el, kind, label, error, meta, traceback };
  }
}

/**
 * Write one failure into its row. Never touches `open`: that is the user's.
 * @param {FailureRow} row
 * @param {Failure} f
 */
function updateRow(row, f) {
  setAttr(row.el, "data-kind", f.kind);
  setText(row.kind, KIND_TEXT[f.kind] ?? f.kind);
  setText(row.label, f.label);
  setAttr(row.label, "title", f.label ? `item ${f.label}` : null);
  setText(row.error, f.error);
  setAttr(row.error, "title", f.error || null);
  const meta = failureMeta(f);
  setText(row.meta, meta);
  setHidden(row.meta, meta === "");
  setText(row.traceback, f.traceback || f.error || "(no traceback)");
}

/**
 * `item #5 · on worker 1 · 2 attempts`, leaving out what is unknown.
 * @param {Failure} f
 * @returns {string}
 */
function failureMeta(f) {
  /** @type {string[]} */
  const parts = [];
  if (f.index !== null) parts.push(`item #${f.index}`);
  if (f.worker !== null) parts.push(`on ${f.worker}`);
  if (f.attempts > 1) parts.push(`${f.attempts} attempts`);
  return parts.join(" · ");
}
