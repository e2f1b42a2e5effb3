/**
 * The whole panel: header (title, status badge, count chips, Stop button), the
 * overall bar and its line of numbers with a throughput sparkline, the view tabs
 * (Lanes / Timeline, once there is a timeline), the lane rows and `+N more
 * workers` or the timeline, and the failures. Once the run is over the lanes fold
 * into one summary line (a button that opens them), so the totals and the failures
 * come first under the bar.
 * Built once; `update` rewrites only the sections whose traits changed, and
 * within them only the nodes whose content changed.
 * @module panel
 */

import { h, setAttr, setDisabled, setHidden, setText, setWidth } from "./dom.js";
import { FailureList } from "./failures.js";
import { formatCount, formatDuration, formatFraction, formatPercent, formatRate } from "./format.js";
import { LaneList, lanesSummary } from "./lanes.js";
import { createSparkline, updateSparkline } from "./sparkline.js";
import { TRAITS, failedCount, processedCount } from "./state.js";
import { TimelineView } from "./timeline.js";

/** @typedef {import("./state.js").Snapshot} Snapshot */
/** @typedef {import("./state.js").Overall} Overall */
/** @typedef {import("./state.js").Trait} Trait */
/** @typedef {"header" | "overall" | "lanes" | "more" | "failures" | "timeline" | "stop"} Section */
/** @typedef {"lanes" | "timeline"} View */

/** Which sections read which trait. */
const SECTIONS = /** @type {Record<Trait, Section[]>} */ ({
  title: ["header"],
  status: ["header", "overall", "lanes", "stop"],
  overall: ["header", "overall"],
  lanes: ["lanes"],
  more_lanes: ["more"],
  failures: ["failures"],
  more_failures: ["failures"],
  failure_groups: ["failures"],
  timeline: ["timeline"],
  stoppable: ["stop"],
  stopping: ["stop"],
});

/** The Stop button's tooltip in blocking mode, where only the kernel can interrupt the run. */
export const FOREGROUND_TIP =
  "Running in the foreground: use the kernel's interrupt (■) to stop; map_async runs can be stopped here";
const STOP_TIP = "Stop: start no new items, let the running ones finish";
const STOPPING_TIP = "Stopping: no new items start; the running ones finish";

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

/**
 * The colour of the overall bar's done part, by overall status. A failed run keeps its
 * done part green: the failures are their own red segment, so 9 done and 1 failed does
 * not read as all failed.
 */
const STATUS_TONE = /** @type {Record<string, string>} */ ({
  running: "run",
  done: "done",
  failed: "done",
  cancelled: "cancel",
});

export class Panel {
  /**
   * @param {Document} doc
   * @param {{onStop?: () => void}} [actions] what the Stop button does (sends the message)
   */
  constructor(doc, actions = {}) {
    /** @type {Snapshot | null} the snapshot last drawn */
    this.last = null;
    this.title = h(doc, "span", "pb-title");
    this.status = h(doc, "span", "pb-status");
    this.chips = CHIPS.map((chip) => {
      const n = h(doc, "span", "pb-chip-n");
      const el = h(doc, "span", "pb-chip", [n, doc.createTextNode(` ${chip.label}`)]);
      el.setAttribute("data-kind", chip.kind);
      return { ...chip, el, n };
    });
    this.stop = h(doc, "button", "pb-stop");
    this.stop.type = "button";
    this.stop.hidden = true;
    /** Pressed here: the message went out, so it is not sent again. */
    this.stopRequested = false;
    const onStop = actions.onStop ?? (() => {});
    this.onStopClick = () => {
      if (this.stop.disabled || this.stopRequested) return;
      this.stopRequested = true;
      if (this.last) this.updateStop(this.last);
      onStop();
    };
    this.stop.addEventListener("click", this.onStopClick);
    const header = h(doc, "div", "pb-header", [
      this.title,
      this.status,
      h(doc, "span", "pb-chips", this.chips.map((c) => c.el)),
      this.stop,
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
    this.spark = createSparkline(doc, "pb-ov-spark");
    this.elapsed = h(doc, "span", "pb-ov-elapsed");
    this.eta = h(doc, "span", "pb-ov-eta");
    const overall = h(doc, "div", "pb-overall", [
      this.bar,
      h(doc, "div", "pb-overall-text", [this.count, this.percent, this.rate, this.spark, this.elapsed, this.eta]),
    ]);

    /** @type {View} the view the user picked; lanes until there is a timeline */
    this.view = "lanes";
    /** The timeline is only redrawn while shown: a hidden one notes that it is behind. */
    this.timelineStale = true;
    this.tabs = /** @type {Array<[View, HTMLButtonElement]>} */ ([["lanes", "Lanes"], ["timeline", "Timeline"]].map(
      ([view, label]) => {
        const tab = h(doc, "button", "pb-tab");
        tab.type = "button";
        tab.textContent = label;
        tab.setAttribute("role", "tab");
        tab.setAttribute("data-view", view);
        return [view, tab];
      },
    ));
    this.views = h(doc, "div", "pb-views", this.tabs.map(([, tab]) => tab));
    this.views.setAttribute("role", "tablist");
    this.views.setAttribute("aria-label", "view");
    this.views.hidden = true;
    /** @param {Event} event */
    this.onTabClick = (event) => {
      const tab = /** @type {Element | null} */ (event.target)?.closest?.(".pb-tab");
      const view = tab?.getAttribute("data-view");
      if (view === "lanes" || view === "timeline") this.showView(view);
    };
    this.views.addEventListener("click", this.onTabClick);

    this.lanes = new LaneList(doc);
    this.moreLanes = h(doc, "div", "pb-more pb-more-lanes");
    /** The lanes, opened from their summary line once the run is over (the user's choice). */
    this.lanesOpen = false;
    this.fold = h(doc, "button", "pb-fold");
    this.fold.type = "button";
    this.fold.hidden = true;
    this.onFoldClick = () => {
      this.lanesOpen = !this.lanesOpen;
      if (this.last) this.updateFold(this.last);
    };
    this.fold.addEventListener("click", this.onFoldClick);
    this.laneBody = h(doc, "div", "pb-lane-body", [this.lanes.el, this.moreLanes]);
    this.lanesView = h(doc, "div", "pb-view pb-view-lanes", [this.fold, this.laneBody]);
    this.timeline = new TimelineView(doc);
    this.timeline.el.hidden = true;
    this.failures = new FailureList(doc);

    this.root = h(doc, "div", "poolbars-panel", [
      header,
      overall,
      this.views,
      this.lanesView,
      this.timeline.el,
      this.failures.el,
    ]);
    this.root.setAttribute("role", "group");
  }

  /** Remove every listener the panel added. */
  destroy() {
    this.stop.removeEventListener("click", this.onStopClick);
    this.fold.removeEventListener("click", this.onFoldClick);
    this.views.removeEventListener("click", this.onTabClick);
    this.timeline.destroy();
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
    this.last = s;
    setAttr(this.root, "data-status", s.status);
    setAttr(this.root, "aria-label", s.title || "progress");
    if (sections.has("header")) this.updateHeader(s);
    if (sections.has("overall")) this.updateOverall(s, drift);
    if (sections.has("lanes")) this.lanes.update(s.lanes, drift, s.overall.unit);
    if (sections.has("more")) this.updateMoreLanes(s.more_lanes);
    if (sections.has("lanes") || sections.has("more")) this.updateFold(s);
    if (sections.has("failures")) this.failures.update(s.failures, s.more_failures, s.failure_groups);
    if (sections.has("stop")) this.updateStop(s);
    if (sections.has("timeline")) {
      this.timelineStale = true;
      this.applyView();
    }
  }

  /**
   * Switch to a view (a tab was clicked).
   * @param {View} view
   */
  showView(view) {
    this.view = view;
    this.applyView();
  }

  /** Show the chosen view; the tabs only once there is a timeline to show. */
  applyView() {
    const timeline = this.last?.timeline;
    const hasTimeline = timeline !== undefined && timeline.lanes.length > 0;
    const view = hasTimeline ? this.view : "lanes";
    setHidden(this.views, !hasTimeline);
    for (const [name, tab] of this.tabs) setAttr(tab, "aria-selected", String(name === view));
    setHidden(this.lanesView, view !== "lanes");
    setHidden(this.timeline.el, view !== "timeline");
    if (view === "timeline" && this.timelineStale && timeline) {
      this.timeline.update(timeline);
      this.timelineStale = false;
    }
  }

  /**
   * The Stop button: only while running; usable in background mode; "Stopping…"
   * once pressed (here or in another view of the same run).
   * @param {Snapshot} s
   */
  updateStop(s) {
    const stopping = s.stopping || this.stopRequested;
    setHidden(this.stop, s.status !== "running");
    setText(this.stop, stopping ? "Stopping…" : "Stop");
    setDisabled(this.stop, stopping || !s.stoppable);
    setAttr(this.stop, "data-stopping", stopping ? "" : null);
    setAttr(this.stop, "title", stopping ? STOPPING_TIP : s.stoppable ? STOP_TIP : FOREGROUND_TIP);
  }

  /**
   * Only the clocks moved: the overall elapsed/ETA and the busy lanes' times.
   * @param {Snapshot} s
   * @param {number} drift
   */
  tick(s, drift) {
    this.updateOverall(s, drift);
    this.lanes.update(s.lanes, drift, s.overall.unit);
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
    updateSparkline(this.spark, o.spark, o.unit);
    setText(this.elapsed, `${formatDuration(o.elapsed + drift)} elapsed`);
    const showEta = running && o.eta !== null;
    // an estimate of time left rounds up: "0:00" would claim the run is over
    setText(this.eta, showEta ? `ETA ${formatDuration(Math.ceil(Math.max(0, (o.eta ?? 0) - drift)))}` : "");
    setHidden(this.eta, !showEta);
  }

  /**
   * Over: the lanes fold into their summary line, opened by a click; running: no fold.
   * @param {Snapshot} s
   */
  updateFold(s) {
    const summary = s.status === "running" ? "" : lanesSummary(s.lanes, s.more_lanes);
    const folded = summary !== "" && !this.lanesOpen;
    setText(this.fold, summary);
    setHidden(this.fold, summary === "");
    setAttr(this.fold, "aria-expanded", summary === "" ? null : String(this.lanesOpen));
    setAttr(this.fold, "title", summary === "" ? null : this.lanesOpen ? "hide the lanes" : "show the lanes");
    setHidden(this.laneBody, folded);
  }

  /** @param {number} more */
  updateMoreLanes(more) {
    setText(this.moreLanes, more > 0 ? `+${formatCount(more)} more ${more === 1 ? "worker" : "workers"}` : "");
    setHidden(this.moreLanes, more <= 0);
  }
}
