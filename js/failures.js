/**
 * The failures section: one `<details>` per failed item, keyed by index + kind +
 * label, so a traceback the user opened stays open through later updates.
 * The summary line: kind badge · item label · error; the body: who ran it, how
 * many attempts, and the traceback. Rows are sorted by item index. With more than
 * GROUP_AFTER failures in fewer shapes, one line per group comes first
 * (`ValueError: shard … is corrupt ×7`, opening to its items) and the rows fold
 * under a line that opens them.
 * @module failures
 */

import { h, reconcile, setAttr, setHidden, setText } from "./dom.js";
import { formatCount } from "./format.js";

/** @typedef {import("./state.js").Failure} Failure */
/** @typedef {import("./state.js").FailureGroup} FailureGroup */

/** Past this many failures, grouped by shape (when there are fewer shapes than failures). */
export const GROUP_AFTER = 5;

/**
 * @typedef {object} GroupParts
 * @property {HTMLElement} kind
 * @property {HTMLElement} shape
 * @property {HTMLElement} count
 * @property {HTMLElement} items
 */

/** @typedef {import("./dom.js").Row<GroupParts>} GroupRow */

/**
 * Whether to show the failures by group.
 * @param {FailureGroup[]} groups
 * @param {number} total failures, listed or not
 */
export function grouped(groups, total) {
  return total > GROUP_AFTER && groups.length > 0 && groups.length < total;
}

/**
 * Failures by item index; a worker's own (no index) first.
 * @param {Failure[]} failures
 * @returns {Failure[]}
 */
export function byIndex(failures) {
  return [...failures].sort((a, b) => (a.index ?? -1) - (b.index ?? -1));
}

/**
 * A group's items: `items 5, 22, 39` and `… +N more` past those listed.
 * @param {FailureGroup} g
 * @returns {string}
 */
export function groupItems(g) {
  const more = g.count - g.items.length;
  const listed = g.items.length === 0 ? "" : `${g.items.length === 1 ? "item" : "items"} ${g.items.join(", ")}`;
  return more > 0 ? `${listed}${listed ? " " : ""}… +${formatCount(more)} more` : listed;
}

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
    this.groups = h(doc, "div", "pb-group-list");
    this.list = h(doc, "div", "pb-failure-list");
    this.more = h(doc, "div", "pb-more pb-more-failures");
    this.eachLine = h(doc, "summary", "pb-each-line");
    /** The listed failures: always open, until grouping folds them (then the user's). */
    this.each = /** @type {HTMLDetailsElement} */ (h(doc, "details", "pb-each", [this.eachLine, this.list, this.more]));
    this.each.open = true;
    this.el = h(doc, "section", "pb-failures", [
      h(doc, "div", "pb-failures-head", [this.count]),
      this.groups,
      this.each,
    ]);
    this.el.setAttribute("aria-label", "failures");
    /** @type {Map<string, FailureRow>} */
    this.rows = new Map();
    /** @type {Map<string, GroupRow>} */
    this.groupRows = new Map();
    this.wasGrouped = false;
  }

  /**
   * @param {Failure[]} failures
   * @param {number} more failures not listed
   * @param {FailureGroup[]} [groups] every item failure, by kind and message shape
   */
  update(failures, more, groups = []) {
    reconcile(this.list, this.rows, byIndex(failures), failureKey, () => this.createRow(), updateRow);
    const total = failures.length + more;
    const byGroup = grouped(groups, total);
    reconcile(this.groups, this.groupRows, byGroup ? groups : [], (g) => `${g.kind}\u0000${g.shape}`,
      () => this.createGroupRow(), updateGroupRow);
    setHidden(this.groups, !byGroup);
    setHidden(this.eachLine, !byGroup);
    setText(this.eachLine, more > 0 ? `the first ${formatCount(failures.length)} failures, with tracebacks` :
      "each failure, with its traceback");
    // grouping folds the rows once, when it begins; ungrouped, they are always shown
    if ((byGroup !== this.wasGrouped || !byGroup) && this.each.open === byGroup) this.each.open = !byGroup;
    this.wasGrouped = byGroup;
    setText(this.count, `${formatCount(total)} ${total === 1 ? "failure" : "failures"}`);
    setText(this.more, more > 0 ? `+${formatCount(more)} more ${more === 1 ? "failure" : "failures"}` : "");
    setHidden(this.more, more <= 0);
    setHidden(this.el, total === 0);
  }

  /** @returns {GroupRow} */
  createGroupRow() {
    const doc = this.doc;
    const kind = h(doc, "span", "pb-kind");
    const shape = h(doc, "span", "pb-group-shape");
    const count = h(doc, "span", "pb-group-count");
    const items = h(doc, "div", "pb-group-items");
    const el = h(doc, "details", "pb-group", [h(doc, "summary", "pb-failure-line", [kind, shape, count]), items]);
    return { el, kind, shape, count, items };
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
 * Write one group into its row. Never touches `open`: that is the user's.
 * @param {GroupRow} row
 * @param {FailureGroup} g
 */
function updateGroupRow(row, g) {
  setAttr(row.el, "data-kind", g.kind);
  setText(row.kind, KIND_TEXT[g.kind] ?? g.kind);
  setText(row.shape, g.shape);
  setAttr(row.shape, "title", g.shape || null);
  setText(row.count, `×${formatCount(g.count)}`);
  setText(row.items, groupItems(g));
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
