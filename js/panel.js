/**
 * The whole panel: header (title, status badge, count chips), the overall bar
 * and its line of numbers, the lane rows, `+N more workers`, and the failures.
 * Built once; `update` rewrites only the sections whose traits changed, and
 * within them only the nodes whose content changed.
 * @module panel
 */

import { h, setAttr, setHidden, setText, setWidth } from "./dom.js";
import { FailureList } from "./failures.js";
import { formatCount, formatDuration, formatFraction, formatPercent, formatRate } from "./format.js";
import { LaneList } from "./lanes.js";
import { TRAITS, failedCount, processedCount } from "./state.js";

/** @typedef {import("./state.js").Snapshot} Snapshot */
/** @typedef {import("./state.js").Overall} Overall */
/** @typedef {import("./state.js").Trait} Trait */
/** @typedef {"header" | "overall" | "lanes" | "more" | "failures"} Section */

/** Which sections read which trait. */
const SECTIONS = /** @type {Record<Trait, Section[]>} */ ({
  title: ["header"],
  status: ["header", "overall", "lanes"],
  overall: ["header", "overall"],
  lanes: ["lanes"],
  more_lanes: ["more"],
  failures: ["failures"],
  more_failures: ["failures"],
});

/**
 * The count chips of the header, in order. `always`: shown even at zero.
 * @type {Array<{kind: string, label: string, always: boolean, count: (o: Overall) => number | null}>}
 */
const CHIPS = [
  { kind: "done", label: "done", always: true, count: (o) => o.done },
  { kind: "failed", label: "failed", always: true, count: (o) => o.failed },
  { kind: "timed_out", label: "timed out", always: false, count: (o) => o.timed_out },
  { kind: "crashed", label: "crashed", always: false, count: (o) => o.crashed },
  { kind: "cancelled", label: "cancelled", always: false, count: (o) => o.cancelled },
  { kind: "running", label: "running", always: true, count: (o) => o.running },
  { kind: "retrying", label: "retrying", always: false, count: (o) => o.retrying },
  { kind: "pending", label: "pending", always: true, count: (o) => o.pending },
];

/** The bar colour of each overall status. */
const STATUS_TONE = /** @type {Record<string, string>} */ ({
  running: "run",
  done: "done",
  failed: "fail",
  cancelled: "cancel",
});

export class Panel {
  /** @param {Document} doc */
  constructor(doc) {
    this.title = h(doc, "span", "pb-title");
    this.status = h(doc, "span", "pb-status");
    this.chips = CHIPS.map((chip) => {
      const n = h(doc, "span", "pb-chip-n");
      const el = h(doc, "span", "pb-chip", [n, doc.createTextNode(` ${chip.label}`)]);
      el.setAttribute("data-kind", chip.kind);
      return { ...chip, el, n };
    });
    const header = h(doc, "div", "pb-header", [
      this.title,
      this.status,
      h(doc, "span", "pb-chips", this.chips.map((c) => c.el)),
    ]);

    this.okFill = h(doc, "div", "pb-fill");
    this.badFill = h(doc, "div", "pb-fill pb-fill-bad");
    this.cancelFill = h(doc, "div", "pb-fill pb-fill-cancel");
    this.bar = h(doc, "div", "pb-bar pb-bar-overall", [this.okFill, this.badFill, this.cancelFill]);
    this.bar.setAttribute("role", "progressbar");
    this.bar.setAttribute("aria-label", "overall progress");
    this.bar.setAttribute("aria-valuemin", "0");
    this.count = h(doc, "span", "pb-ov-count");
    this.percent = h(doc, "span", "pb-ov-percent");
    this.rate = h(doc, "span", "pb-ov-rate");
    this.elapsed = h(doc, "span", "pb-ov-elapsed");
    this.eta = h(doc, "span", "pb-ov-eta");
    const overall = h(doc, "div", "pb-overall", [
      this.bar,
      h(doc, "div", "pb-overall-text", [this.count, this.percent, this.rate, this.elapsed, this.eta]),
    ]);

    this.lanes = new LaneList(doc);
    this.moreLanes = h(doc, "div", "pb-more pb-more-lanes");
    this.failures = new FailureList(doc);

    this.root = h(doc, "div", "poolbars-panel", [
      header,
      overall,
      this.lanes.el,
      this.moreLanes,
      this.failures.el,
    ]);
    this.root.setAttribute("role", "group");
  }

  /**
   * Bring the DOM up to date with `s`.
   * @param {Snapshot} s
   * @param {number} drift seconds since the snapshot, added to running clocks
   * @param {Iterable<Trait>} [changed] the traits that changed; all by default
   */
  update(s, drift, changed = TRAITS) {
    /** @type {Set<Section>} */
    const sections = new Set();
    for (const trait of changed) for (const section of SECTIONS[trait] ?? []) sections.add(section);
    setAttr(this.root, "data-status", s.status);
    setAttr(this.root, "aria-label", s.title || "progress");
    if (sections.has("header")) this.updateHeader(s);
    if (sections.has("overall")) this.updateOverall(s, drift);
    if (sections.has("lanes")) this.lanes.update(s.lanes, drift);
    if (sections.has("more")) this.updateMoreLanes(s.more_lanes);
    if (sections.has("failures")) this.failures.update(s.failures, s.more_failures);
  }

  /**
   * Only the clocks moved: the overall elapsed/ETA and the busy lanes' times.
   * @param {Snapshot} s
   * @param {number} drift
   */
  tick(s, drift) {
    this.updateOverall(s, drift);
    this.lanes.update(s.lanes, drift);
  }

  /** @param {Snapshot} s */
  updateHeader(s) {
    setText(this.title, s.title);
    setAttr(this.title, "title", s.title || null);
    setHidden(this.title, s.title === "");
    setText(this.status, s.status);
    setAttr(this.status, "data-status", s.status);
    for (const chip of this.chips) {
      const n = chip.count(s.overall);
      setHidden(chip.el, n === null || (n === 0 && !chip.always));
      setText(chip.n, n === null ? "" : formatCount(n));
      setAttr(chip.el, "data-zero", n === 0 ? "" : null);
    }
  }

  /**
   * @param {Snapshot} s
   * @param {number} drift
   */
  updateOverall(s, drift) {
    const o = s.overall;
    const processed = processedCount(o);
    const failed = failedCount(o);
    const known = o.total !== null && o.total > 0;
    const running = s.status === "running";
    setAttr(this.bar, "data-tone", STATUS_TONE[s.status] ?? "run");
    setAttr(this.bar, "data-indeterminate", o.total === null && running ? "" : null);
    if (known && o.total !== null) {
      const ok = Math.min(o.done / o.total, 1);
      const bad = Math.min(failed / o.total, 1 - ok);
      setWidth(this.okFill, ok);
      setWidth(this.badFill, bad);
      setWidth(this.cancelFill, Math.min(o.cancelled / o.total, 1 - ok - bad));
    } else {
      // Unknown (or zero) total: a full bar once finished, a moving stripe while running.
      setWidth(this.okFill, s.status === "cancelled" ? 0 : 1);
      setWidth(this.badFill, 0);
      setWidth(this.cancelFill, 0);
    }
    setAttr(this.bar, "aria-valuemax", o.total === null ? null : String(o.total));
    setAttr(this.bar, "aria-valuenow", o.total === null ? null : String(processed));
    const badText = failed > 0 ? `, ${failed} failed` : "";
    setAttr(this.bar, "aria-valuetext", `${processed} of ${o.total ?? "?"} processed${badText}`);

    setText(this.count, formatFraction(processed, o.total, o.unit));
    const percent = formatPercent(processed, o.total);
    setText(this.percent, percent);
    setHidden(this.percent, percent === "");
    const rate = formatRate(o.rate, o.unit);
    setText(this.rate, rate);
    setHidden(this.rate, rate === "");
    setText(this.elapsed, `${formatDuration(o.elapsed + drift)} elapsed`);
    const showEta = running && o.eta !== null;
    // an estimate of time left rounds up: "0:00" would claim the run is over
    setText(this.eta, showEta ? `ETA ${formatDuration(Math.ceil(Math.max(0, (o.eta ?? 0) - drift)))}` : "");
    setHidden(this.eta, !showEta);
  }

  /** @param {number} more */
  updateMoreLanes(more) {
    setText(this.moreLanes, more > 0 ? `+${formatCount(more)} more ${more === 1 ? "worker" : "workers"}` : "");
    setHidden(this.moreLanes, more <= 0);
  }
}
