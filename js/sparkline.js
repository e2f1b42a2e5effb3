/**
 * Throughput sparklines: `sparkPoints` turns a series of rates into the `points`
 * of an SVG polyline (pure, no DOM); `createSparkline`/`updateSparkline` draw one
 * inline, hidden while there are fewer than two points to join.
 * @module sparkline
 */

import { setAttr, setHidden, setText, svg } from "./dom.js";
import { formatRate } from "./format.js";

/** The drawn size, in CSS pixels. */
export const SPARK_W = 60;
export const SPARK_H = 14;
/** Seconds per value of a series (docs/snapshot.md: 2-second buckets). */
export const SPARK_BUCKET_S = 2;
/** Room kept round the line so its stroke is not clipped at the edges. */
const PAD = 1;

/**
 * The `points` attribute of a polyline through `values`, spread evenly across
 * `width`, scaled from 0 (bottom) to the series' peak (top). "" for < 2 values.
 * @param {number[]} values
 * @param {number} [width]
 * @param {number} [height]
 * @returns {string}
 */
export function sparkPoints(values, width = SPARK_W, height = SPARK_H) {
  const n = values.length;
  if (n < 2) return "";
  const peak = Math.max(...values);
  const dx = (width - 2 * PAD) / (n - 1);
  const dy = height - 2 * PAD;
  return values
    .map((v, i) => `${round(PAD + i * dx)},${round(PAD + dy * (peak > 0 ? 1 - v / peak : 1))}`)
    .join(" ");
}

/**
 * An empty sparkline element.
 * @param {Document} doc
 * @param {string} [className] added to `pb-spark`
 * @returns {SVGSVGElement}
 */
export function createSparkline(doc, className) {
  const line = svg(doc, "polyline", "pb-spark-line");
  const title = svg(doc, "title");
  const el = svg(doc, "svg", className ? `pb-spark ${className}` : "pb-spark", {
    width: String(SPARK_W),
    height: String(SPARK_H),
    viewBox: `0 0 ${SPARK_W} ${SPARK_H}`,
    role: "img",
    hidden: "",
  });
  el.append(title, line);
  return el;
}

/**
 * Draw `values` into a sparkline made by `createSparkline`.
 * @param {SVGSVGElement} el
 * @param {number[]} values items per second, oldest first
 * @param {string} unit
 */
export function updateSparkline(el, values, unit) {
  const points = sparkPoints(values);
  setHidden(el, points === "");
  if (points === "") return;
  setAttr(/** @type {SVGPolylineElement} */ (el.lastChild), "points", points);
  const peak = formatRate(Math.max(...values), unit);
  const text = `throughput over the last ${values.length * SPARK_BUCKET_S} s (peak ${peak})`;
  setText(/** @type {SVGTitleElement} */ (el.firstChild), text);
  setAttr(el, "aria-label", text);
}

/**
 * A coordinate with at most one decimal: short attributes, stable strings.
 * @param {number} x
 * @returns {string}
 */
function round(x) {
  return String(Math.round(x * 10) / 10);
}
