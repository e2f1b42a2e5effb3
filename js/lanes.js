/**
 * The lane rows: one per worker (or stand-alone bar), keyed by `lane.key` and
 * updated in place. A row: state dot + name · task label + desc · inner bar ·
 * `n/total unit` · time on the task and its ETA · items done and failed · the lane's
 * rate · throughput sparkline; a second line for the message and postfix pairs
 * appears only when there is one. Past MANY_LANES rows the list has a bounded height
 * and scrolls, with the lanes of crashed workers and failed items on top.
 * @module lanes
 */

import { h, reconcile, setAttr, setHidden, setText, setWidth } from "./dom.js";
import { formatCount, formatDuration, formatFraction, formatPercent, formatRate, fraction } from "./format.js";
import { createSparkline, updateSparkline } from "./sparkline.js";

/** @typedef {import("./state.js").Lane} Lane */

/**
 * @typedef {object} LaneParts
 * @property {HTMLElement} dot
 * @property {HTMLElement} name
 * @property {HTMLElement} task
 * @property {HTMLElement} desc
 * @property {HTMLElement} bar
 * @property {HTMLElement} fill
 * @property {HTMLElement} count
 * @property {HTMLElement} time
 * @property {HTMLElement} eta
 * @property {HTMLElement} done
 * @property {HTMLElement} failed
 * @property {HTMLElement} rate
 * @property {SVGSVGElement} spark
 * @property {HTMLElement} info
 * @property {HTMLElement} message
 * @property {HTMLElement} postfix
 */

/** @typedef {import("./dom.js").Row<LaneParts>} LaneRow */

/** Past this many lanes the list scrolls in a bounded height, failing lanes first. */
export const MANY_LANES = 16;

/** Lane states that mean the worker itself is in trouble. */
const BROKEN = new Set(["crashed", "setup failed"]);

/**
 * The lanes in the order to draw: as sent, or past MANY_LANES the failing ones
 * (a broken worker, or items failed there) first, each group in its own order.
 * @param {Lane[]} lanes
 * @returns {Lane[]}
 */
export function laneOrder(lanes) {
  if (lanes.length <= MANY_LANES) return lanes;
  const failing = (/** @type {Lane} */ lane) => BROKEN.has(lane.state) || lane.failed > 0;
  return [...lanes.filter(failing), ...lanes.filter((lane) => !failing(lane))];
}

/**
 * The lanes folded into one line once the run is over: `32 workers · 113 done ·
 * 7 failed (on 5 workers) · 1 crashed`, then the bars of their own (`· 2 bars`, or
 * `2 bars (1 unfinished)` when they are all there is), as the text views' `lanes_summary`.
 * @param {Lane[]} lanes
 * @param {number} more lanes not listed
 * @returns {string}
 */
export function lanesSummary(lanes, more) {
  const workers = lanes.filter((lane) => !lane.key.includes(":"));
  const bars = lanes.filter((lane) => lane.key.includes(":"));
  const parts = workers.length + more > 0 ? workersSummary(workers, workers.length + more) : [];
  if (bars.length > 0) {
    const open = bars.filter((lane) => lane.state !== "done").length; // left running
    parts.push(plural(bars.length, "bar") + (open > 0 ? ` (${open} unfinished)` : ""));
  }
  return parts.join(" · ");
}

/**
 * @param {Lane[]} workers
 * @param {number} count listed and unlisted
 * @returns {string[]}
 */
function workersSummary(workers, count) {
  const parts = [plural(count, "worker"),
    `${formatCount(workers.reduce((sum, lane) => sum + lane.done, 0))} done`];
  const failing = workers.filter((lane) => lane.failed > 0);
  if (failing.length > 0) {
    const failed = failing.reduce((sum, lane) => sum + lane.failed, 0);
    parts.push(`${formatCount(failed)} failed (on ${plural(failing.length, "worker")})`);
  }
  for (const state of BROKEN) {
    const hit = workers.filter((lane) => lane.state === state).length;
    if (hit > 0) parts.push(`${hit} ${state}`);
  }
  return parts;
}

/** `1 bar`, `2 bars`, `1,024 workers`. @param {number} n @param {string} noun */
function plural(n, noun) {
  return `${formatCount(n)} ${noun}${n === 1 ? "" : "s"}`;
}

/** States in which a lane is not working on anything: the row is greyed. */
const RESTING = new Set(["idle", "exited", "pending", "starting"]);
/** States of a lane whose bar shows a bad end. */
const BAD = new Set(["failed", "timeout", "crashed", "setup failed"]);

/**
 * The colour family of a lane's bar: `run` · `done` · `fail` · `warn` · `cancel` · `idle`.
 * @param {Lane} lane
 * @returns {string}
 */
export function laneTone(lane) {
  if (BAD.has(lane.state)) return "fail";
  if (lane.state === "cancelled") return "cancel";
  if (lane.stalled || lane.state === "retrying" || lane.state === "stalled") return "warn";
  if (lane.state === "done") return "done";
  if (lane.total !== null && lane.total > 0 && lane.n >= lane.total) return "done";
  if (RESTING.has(lane.state)) return "idle";
  return "run";
}

/** States that go without saying when a lane has no task label (a bare bar at work). */
const SILENT = new Set(["busy", "running"]);

/**
 * Whether a lane is working on something: a task, or a bar of its own.
 * @param {Lane} lane
 */
function isWorking(lane) {
  return lane.task !== null || lane.total !== null || lane.n > 0 || lane.desc !== "";
}

/**
 * Whether a lane has a count to show: a total or some progress. A task that
 * reports no inner progress gets a moving bar but no `0/?`.
 * @param {Lane} lane
 */
function hasCount(lane) {
  return lane.total !== null || lane.n > 0 || lane.desc !== "";
}

/**
 * Builds and updates the lane rows inside one container.
 */
export class LaneList {
  /** @param {Document} doc */
  constructor(doc) {
    this.doc = doc;
    this.el = h(doc, "div", "pb-lanes");
    this.el.setAttribute("role", "list");
    /** @type {Map<string, LaneRow>} */
    this.rows = new Map();
  }

  /**
   * @param {Lane[]} lanes
   * @param {number} drift seconds to add to the elapsed time of busy lanes
   * @param {string} [itemUnit] the unit of the pool's items, which the sparklines count
   */
  update(lanes, drift, itemUnit = "") {
    reconcile(
      this.el,
      this.rows,
      laneOrder(lanes),
      (lane) => lane.key,
      () => this.createRow(),
      (row, lane) => updateRow(row, lane, drift, itemUnit),
    );
    setHidden(this.el, lanes.length === 0);
    setAttr(this.el, "data-many", lanes.length > MANY_LANES ? "" : null);
  }

  /** @returns {LaneRow} */
  createRow() {
    const doc = this.doc;
    const dot = h(doc, "span", "pb-dot");
    const name = h(doc, "span", "pb-lane-name-text");
    const task = h(doc, "span", "pb-task");
    const desc = h(doc, "span", "pb-desc");
    const fill = h(doc, "div", "pb-fill");
    const bar = h(doc, "div", "pb-bar", [fill]);
    bar.setAttribute("role", "progressbar");
    bar.setAttribute("aria-valuemin", "0");
    const count = h(doc, "span", "pb-lane-count");
    const time = h(doc, "span", "pb-lane-time");
    const eta = h(doc, "span", "pb-lane-eta");
    const done = h(doc, "span", "pb-lane-done");
    const failed = h(doc, "span", "pb-lane-failed");
    const rate = h(doc, "span", "pb-lane-rate");
    const spark = createSparkline(doc, "pb-lane-spark");
    const message = h(doc, "span", "pb-message");
    const postfix = h(doc, "span", "pb-postfix");
    const info = h(doc, "div", "pb-lane-info", [message, postfix]);
    const el = h(doc, "div", "pb-lane", [
      h(doc, "span", "pb-lane-name", [dot, name]),
      h(doc, "span", "pb-lane-task", [task, desc]),
      bar,
      count,
      h(doc, "span", "pb-lane-clock", [time, eta]),
      h(doc, "span", "pb-lane-tally", [done, failed]),
      rate,
      spark,
      info,
    ]);
    el.setAttribute("role", "listitem");
    return { el, dot, name, task, desc, bar, fill, count, time, eta, done, failed, rate, spark, info, message, postfix };
  }
}

/**
 * Write one lane into its row, touching only what changed.
 * @param {LaneRow} row
 * @param {Lane} lane
 * @param {number} drift
 * @param {string} itemUnit
 */
function updateRow(row, lane, drift, itemUnit) {
  const tone = laneTone(lane);
  setAttr(row.el, "data-state", lane.state || null);
  setAttr(row.el, "data-tone", tone);
  setAttr(row.dot, "title", lane.state || null);

  setText(row.name, lane.name);
  setAttr(row.name, "title", lane.name || null);

  // No task label: say what the lane is doing instead ("idle", "exited", ...).
  const taskText = lane.task ?? (SILENT.has(lane.state) ? "" : lane.state);
  setText(row.task, taskText);
  setHidden(row.task, taskText === "");
  setAttr(row.task, "data-empty", lane.task === null ? "" : null);
  setAttr(row.task, "title", lane.task === null ? null : taskTitle(lane));
  setText(row.desc, lane.desc);
  setHidden(row.desc, lane.desc === "");
  // the bar's meta shows on hover: over the row, and with the description over it
  const meta = metaText(lane.meta);
  setAttr(row.el, "title", meta || null);
  setAttr(row.desc, "title", [lane.desc, meta].filter((part) => part !== "").join("\n") || null);

  updateBar(row, lane, tone, isWorking(lane));

  setText(row.count, hasCount(lane) ? formatFraction(lane.n, lane.total, lane.unit) : "");
  // The snapshot sends 0 s for a lane that is not timing anything.
  const timed = lane.task !== null || lane.elapsed > 0;
  const ticking = timed && (tone === "run" || tone === "warn");
  const clock = timed ? formatDuration(lane.elapsed + (ticking ? drift : 0)) : "";
  setText(row.time, lane.stalled ? `stalled ${clock}` : clock);
  setAttr(row.time, "title", lane.stalled ? "no news of this task for a while" :
    timed ? "time on this task" : null);
  setText(row.done, lane.done > 0 ? `✓ ${formatCount(lane.done)}` : "");
  setAttr(row.done, "title", lane.done > 0 ? `${lane.done} finished by ${lane.name || "this lane"}` : null);
  updateNumbers(row, lane, ticking ? drift : 0, itemUnit);
  updateSparkline(row.spark, lane.spark, itemUnit);

  setText(row.message, lane.message);
  setHidden(row.message, lane.message === "");
  updatePostfix(row.postfix, lane.postfix);
  setHidden(row.info, lane.message === "" && lane.postfix.length === 0);
}

/**
 * The task's time left, the items failed on the lane, and its rate.
 * @param {LaneRow} row
 * @param {Lane} lane
 * @param {number} drift seconds since the snapshot, while the lane's clock runs
 * @param {string} itemUnit
 */
function updateNumbers(row, lane, drift, itemUnit) {
  // an estimate of time left rounds up: "0:00" would claim the task is over
  const eta = lane.eta === null ? "" : `ETA ${formatDuration(Math.ceil(Math.max(0, lane.eta - drift)))}`;
  setText(row.eta, eta);
  setHidden(row.eta, eta === "");
  setAttr(row.eta, "title", eta ? "time left on this task, at its pace so far" : null);
  setText(row.failed, lane.failed > 0 ? `✗ ${formatCount(lane.failed)}` : "");
  setHidden(row.failed, lane.failed === 0);
  setAttr(row.failed, "title", lane.failed > 0 ? `${lane.failed} failed on ${lane.name || "this lane"} (errors, timeouts, crashes)` : null);
  setText(row.rate, formatRate(lane.rate, itemUnit || "it"));
  setAttr(row.rate, "title", lane.rate === null ? null : "items this lane settles per second");
}

/**
 * @param {LaneRow} row
 * @param {Lane} lane
 * @param {string} tone
 * @param {boolean} working
 */
function updateBar(row, lane, tone, working) {
  const frac = fraction(lane.n, lane.total);
  const indeterminate = working && frac === null && (tone === "run" || tone === "warn");
  setAttr(row.bar, "data-tone", tone);
  setAttr(row.bar, "data-indeterminate", indeterminate ? "" : null);
  // A lane with nothing to show keeps its grid cell but draws no empty track.
  setAttr(row.bar, "data-empty", !working && frac === null ? "" : null);
  // Unknown total: a moving lane is hatched full, a finished (or failed) one is full.
  setWidth(row.fill, frac ?? (indeterminate || tone === "done" || tone === "fail" ? 1 : 0));
  setAttr(row.bar, "aria-label", `${lane.name || "lane"} progress`);
  setAttr(row.bar, "aria-valuemax", lane.total === null ? null : String(lane.total));
  setAttr(row.bar, "aria-valuenow", lane.total === null ? null : String(lane.n));
  setAttr(row.bar, "title", frac === null ? null : formatPercent(lane.n, lane.total));
}

/**
 * The tooltip of a task label: the full label, with the item's index.
 * @param {Lane} lane
 * @returns {string}
 */
function taskTitle(lane) {
  const label = lane.task ?? "";
  return lane.index === null || String(lane.index) === label ? `item ${label}` : `item #${lane.index}: ${label}`;
}

/**
 * A bar's meta as hover text, one `key: value` line per pair ("" for none).
 * @param {Array<[string, string]>} pairs
 * @returns {string}
 */
export function metaText(pairs) {
  return pairs.map(([key, value]) => `${key}: ${value}`).join("\n");
}

/**
 * Postfix pairs as `key=value` chips, reusing the existing chip nodes.
 * @param {HTMLElement} container
 * @param {Array<[string, string]>} pairs
 */
function updatePostfix(container, pairs) {
  const doc = container.ownerDocument;
  while (container.children.length > pairs.length) container.lastElementChild?.remove();
  while (container.children.length < pairs.length) container.appendChild(h(doc, "span", "pb-kv"));
  pairs.forEach(([key, value], i) => {
    setText(/** @type {HTMLElement} */ (container.children[i]), key === "" ? value : `${key}=${value}`);
  });
  setHidden(container, pairs.length === 0);
}
