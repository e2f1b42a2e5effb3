/**
 * The timeline view: what ran where and when. One row per lane (its name, then an
 * SVG track), one `<rect>` per block, coloured by outcome, under a time axis.
 * Each track's viewBox spans [0, t1] in seconds, so a block's rect holds its own
 * start and duration and only changes when that block does: as t1 grows, one
 * attribute per row moves. Rects are reused by position within their lane.
 * Hover a block for its `<title>` (label, outcome, duration, error); click it to
 * pin the same text under the timeline.
 * @module timeline
 */

import { h, reconcile, setAttr, setHidden, setText, svg } from "./dom.js";
import { formatCount, formatDuration, formatSpan } from "./format.js";

/** @typedef {import("./state.js").Block} Block */
/** @typedef {import("./state.js").Timeline} Timeline */
/** @typedef {import("./state.js").TimelineLane} TimelineLane */

/**
 * @typedef {object} TrackParts
 * @property {HTMLElement} name
 * @property {SVGSVGElement} track
 * @property {SVGRectElement[]} rects one per block, in order
 * @property {Block[]} blocks what each rect shows now
 */

/** @typedef {import("./dom.js").Row<TrackParts>} TrackRow */

/** Block outcomes with a colour of their own, in legend order; what the legend says. */
const OUTCOMES = /** @type {Record<string, string>} */ ({
  done: "done",
  failed: "failed",
  timeout: "timed out",
  crashed: "crashed",
  retried: "retried",
  cancelled: "cancelled",
  running: "running",
});

/** Axis steps in seconds, from which the smallest giving at most MAX_TICKS intervals is taken. */
const STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];
const MAX_TICKS = 5;

/**
 * The colour class suffix of a block status: itself when known, else `other`.
 * @param {string} status
 * @returns {string}
 */
export function outcomeClass(status) {
  return Object.hasOwn(OUTCOMES, status) ? status : "other";
}

/**
 * The times (s) to label on an axis over [0, span]: 0 and round multiples of a step.
 * @param {number} span
 * @returns {number[]}
 */
export function axisTicks(span) {
  if (!(span >= 1)) return [0];
  const step = STEPS.find((s) => span / s <= MAX_TICKS) ?? Math.ceil(span / MAX_TICKS / 86400) * 86400;
  /** @type {number[]} */
  const ticks = [];
  for (let t = 0; t <= span + 1e-9; t += step) ticks.push(t);
  return ticks;
}

/**
 * A block's tooltip: `label — done, 1.2 s (0:03–0:04)`, then the error, if any.
 * @param {Block} b
 * @returns {string}
 */
export function blockTip(b) {
  const outcome = OUTCOMES[b.status] ?? b.status;
  const when = `${formatDuration(b.start)}–${formatDuration(b.end)}`;
  const line = `${b.label || "(no label)"} — ${outcome}, ${formatSpan(b.end - b.start)} (${when})`;
  return b.error ? `${line}\n${b.error}` : line;
}

/**
 * The seconds the axis covers: up to t1, or to the last block end if later.
 * @param {Timeline} tl
 * @returns {number}
 */
export function timelineSpan(tl) {
  let span = tl.t1;
  for (const lane of tl.lanes) for (const b of lane.blocks) if (b.end > span) span = b.end;
  // A zero-width viewBox would draw nothing at all.
  return span > 0 ? span : 1;
}

export class TimelineView {
  /** @param {Document} doc */
  constructor(doc) {
    this.doc = doc;
    this.list = h(doc, "div", "pb-tl-rows");
    this.list.setAttribute("role", "list");
    this.axis = svg(doc, "svg", "pb-tl-axis", { "aria-hidden": "true" });
    this.axisRow = h(doc, "div", "pb-tl-row pb-tl-axis-row", [h(doc, "span", "pb-tl-name"), this.axis]);
    this.detail = h(doc, "div", "pb-tl-detail");
    this.detail.hidden = true;
    /** The legend: a swatch per outcome, shown when some block has it. */
    this.keys = Object.entries(OUTCOMES).map(([status, text]) => {
      const el = h(doc, "span", `pb-tl-key pb-blk-${status}`);
      el.textContent = text;
      el.hidden = true;
      return { status, el };
    });
    this.more = h(doc, "span", "pb-tl-more");
    this.el = h(doc, "section", "pb-timeline", [
      this.list,
      this.axisRow,
      this.detail,
      h(doc, "div", "pb-tl-foot", [...this.keys.map((k) => k.el), this.more]),
    ]);
    this.el.setAttribute("aria-label", "timeline");
    /** @type {Map<string, TrackRow>} */
    this.rows = new Map();
    /** @type {Array<{line: SVGLineElement, text: SVGTextElement}>} */
    this.ticks = [];
    /** @type {SVGRectElement | null} the block whose tooltip is pinned */
    this.pinned = null;
    /** @param {Event} event */
    this.onClick = (event) => {
      const target = /** @type {Element | null} */ (event.target);
      const rect = /** @type {SVGRectElement | null} */ (target?.closest?.("rect.pb-blk") ?? null);
      this.pin(rect === this.pinned ? null : rect);
    };
    this.el.addEventListener("click", this.onClick);
  }

  /** @param {Timeline} tl */
  update(tl) {
    const span = timelineSpan(tl);
    const viewBox = `0 0 ${coord(span)} 1`;
    /** @type {Set<string>} */
    const present = new Set();
    reconcile(
      this.list,
      this.rows,
      tl.lanes,
      (lane) => lane.key,
      () => this.createRow(),
      (row, lane) => updateTrack(row, lane, viewBox, present),
    );
    setHidden(this.axisRow, tl.lanes.length === 0);
    this.updateAxis(span);
    for (const key of this.keys) setHidden(key.el, !present.has(key.status));
    const more = tl.more_blocks;
    setText(this.more, more > 0 ? `${formatCount(more)} older ${more === 1 ? "block" : "blocks"} merged to keep the timeline small` : "");
    setHidden(this.more, more <= 0);
    this.showPinned();
  }

  /** @returns {TrackRow} */
  createRow() {
    const doc = this.doc;
    const name = h(doc, "span", "pb-tl-name");
    const track = svg(doc, "svg", "pb-tl-track", { preserveAspectRatio: "none", role: "img" });
    const el = h(doc, "div", "pb-tl-row", [name, track]);
    el.setAttribute("role", "listitem");
    return { el, name, track, rects: [], blocks: [] };
  }

  /**
   * Tick marks and labels, reusing the elements of the last call.
   * @param {number} span
   */
  updateAxis(span) {
    const times = axisTicks(span);
    while (this.ticks.length > times.length) {
      const tick = this.ticks.pop();
      tick?.line.remove();
      tick?.text.remove();
    }
    times.forEach((t, i) => {
      let tick = this.ticks[i];
      if (!tick) {
        tick = {
          line: svg(this.doc, "line", "pb-tl-tick", { y1: "0", y2: "3" }),
          text: svg(this.doc, "text", "pb-tl-label", { y: "13" }),
        };
        this.axis.append(tick.line, tick.text);
        this.ticks.push(tick);
      }
      const frac = t / span;
      const x = `${Math.round(frac * 1000) / 10}%`;
      setAttr(tick.line, "x1", x);
      setAttr(tick.line, "x2", x);
      setAttr(tick.text, "x", x);
      // Labels at the ends are aligned inwards, so they are not cut off.
      setAttr(tick.text, "text-anchor", frac < 0.05 ? "start" : frac > 0.9 ? "end" : "middle");
      setText(tick.text, formatDuration(t));
    });
  }

  /**
   * Pin the tooltip of `rect` under the timeline (null: unpin).
   * @param {SVGRectElement | null} rect
   */
  pin(rect) {
    if (this.pinned) setAttr(this.pinned, "data-pinned", null);
    this.pinned = rect;
    if (rect) setAttr(rect, "data-pinned", "");
    this.showPinned();
  }

  /** Show the pinned block's text, current after an update; unpin a block that is gone. */
  showPinned() {
    const rect = this.pinned;
    if (rect && !this.el.contains(rect)) this.pinned = null;
    const name = this.pinned?.closest(".pb-tl-row")?.querySelector(".pb-tl-name")?.textContent;
    const text = this.pinned ? `${name ? `${name}: ` : ""}${this.pinned.textContent ?? ""}` : "";
    setText(this.detail, text);
    setHidden(this.detail, text === "");
  }

  /** Remove the listener added by the constructor. */
  destroy() {
    this.el.removeEventListener("click", this.onClick);
  }
}

/**
 * Write one lane's blocks into its track: rect i shows block i; a rect is only
 * touched when its block changed.
 * @param {TrackRow} row
 * @param {TimelineLane} lane
 * @param {string} viewBox
 * @param {Set<string>} present outcomes seen, filled in here
 */
function updateTrack(row, lane, viewBox, present) {
  setText(row.name, lane.name);
  setAttr(row.name, "title", lane.name || null);
  setAttr(row.track, "viewBox", viewBox);
  const n = lane.blocks.length;
  setAttr(row.track, "aria-label", `${lane.name || "lane"}: ${n} ${n === 1 ? "block" : "blocks"}`);
  lane.blocks.forEach((b, i) => {
    const cls = outcomeClass(b.status);
    present.add(cls);
    let rect = row.rects[i];
    if (!rect) {
      rect = svg(row.track.ownerDocument, "rect", "pb-blk", { y: "0", height: "1" });
      rect.appendChild(svg(row.track.ownerDocument, "title"));
      row.track.appendChild(rect);
      row.rects.push(rect);
    } else if (sameBlock(row.blocks[i], b)) {
      return;
    }
    setAttr(rect, "class", `pb-blk pb-blk-${cls}`);
    setAttr(rect, "x", coord(b.start));
    setAttr(rect, "width", coord(b.end - b.start));
    setText(/** @type {SVGTitleElement} */ (rect.firstChild), blockTip(b));
  });
  while (row.rects.length > n) row.rects.pop()?.remove();
  row.blocks = lane.blocks;
}

/**
 * @param {Block | undefined} a
 * @param {Block} b
 */
function sameBlock(a, b) {
  return a !== undefined && a.start === b.start && a.end === b.end && a.status === b.status &&
    a.label === b.label && a.error === b.error;
}

/**
 * Seconds as an SVG coordinate: to the millisecond, no trailing zeros.
 * @param {number} x
 * @returns {string}
 */
function coord(x) {
  return String(Math.round(x * 1000) / 1000);
}
