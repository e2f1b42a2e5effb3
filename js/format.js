/**
 * Pure formatting helpers: numbers, counts, durations, rates and percentages
 * as the panel shows them. No DOM here; every function returns a string.
 * @module format
 */

const SUFFIXES = ["", "k", "M", "G", "T", "P"];

/**
 * True when `x` is a usable finite number.
 * @param {unknown} x
 * @returns {x is number}
 */
export function isNum(x) {
  return typeof x === "number" && Number.isFinite(x);
}

/**
 * A number with a k/M/G suffix once it reaches 1000: `999`, `1.2k`, `12.5k`,
 * `350k`, `1.5M`. Below 1000, integers stay exact and fractions keep one decimal.
 * @param {number | null | undefined} x
 * @returns {string}
 */
export function formatNumber(x) {
  if (!isNum(x)) return "?";
  const sign = x < 0 ? "-" : "";
  let v = Math.abs(x);
  if (v < 999.95) return sign + (Number.isInteger(v) ? String(v) : trimZero(v.toFixed(1)));
  let i = 0;
  while (v >= 999.95 && i < SUFFIXES.length - 1) {
    v /= 1000;
    i += 1;
  }
  // "12.5k" but "350k": three significant digits are plenty in a progress line.
  const digits = v < 100 ? 1 : 0;
  return sign + trimZero(v.toFixed(digits)) + SUFFIXES[i];
}

/**
 * A count as people read it next to a bar: exact below 10 000 (`1234`), then with
 * a suffix (`12.3k`), so a column of counts stays short.
 * @param {number | null | undefined} x
 * @returns {string}
 */
export function formatCount(x) {
  if (!isNum(x)) return "?";
  if (Math.abs(x) < 10000) {
    return Number.isInteger(x) ? String(x) : trimZero(x.toFixed(1));
  }
  return formatNumber(x);
}

/**
 * `n/total unit`, with `?` for an unknown total: `3/40 it`, `12.3k/? rows`.
 * @param {number | null | undefined} n
 * @param {number | null | undefined} total
 * @param {string} [unit]
 * @returns {string}
 */
export function formatFraction(n, total, unit) {
  const text = `${formatCount(isNum(n) ? n : 0)}/${isNum(total) ? formatCount(total) : "?"}`;
  return unit ? `${text} ${unit}` : text;
}

/**
 * A duration in seconds as a clock: `0:05`, `12:34`, `1:02:03`. Unknown → `?`.
 * @param {number | null | undefined} seconds
 * @returns {string}
 */
export function formatDuration(seconds) {
  if (!isNum(seconds) || seconds < 0) return "?";
  const total = Math.floor(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const ss = String(s).padStart(2, "0");
  if (h === 0) return `${m}:${ss}`;
  return `${h}:${String(m).padStart(2, "0")}:${ss}`;
}

/**
 * How long something took, fine enough for short tasks: `0.42 s`, `3.1 s`, then
 * as a clock from 10 s on (`0:12`, `1:02:03`). Unknown → `?`.
 * @param {number | null | undefined} seconds
 * @returns {string}
 */
export function formatSpan(seconds) {
  if (!isNum(seconds) || seconds < 0) return "?";
  if (seconds < 1) return `${seconds.toFixed(2)} s`;
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  return formatDuration(seconds);
}

/**
 * A rate in units per second: `3.2 it/s`, `45 it/s`, `12.5k it/s`; below one per
 * second it is turned round, as tqdm does: `2.1 s/it`. Unknown → "".
 * @param {number | null | undefined} perSecond
 * @param {string} [unit] defaults to `it`
 * @returns {string}
 */
export function formatRate(perSecond, unit) {
  const u = unit || "it";
  if (!isNum(perSecond) || perSecond < 0) return "";
  if (perSecond === 0) return `0 ${u}/s`;
  if (perSecond < 1) {
    const secs = 1 / perSecond;
    return `${secs < 100 ? secs.toFixed(1) : formatNumber(Math.round(secs))} s/${u}`;
  }
  if (perSecond < 100) return `${perSecond.toFixed(1)} ${u}/s`;
  if (perSecond < 1000) return `${Math.round(perSecond)} ${u}/s`;
  return `${formatNumber(perSecond)} ${u}/s`;
}

/**
 * The fraction `n/total` clamped to [0, 1]; null when the total is unknown or 0.
 * @param {number | null | undefined} n
 * @param {number | null | undefined} total
 * @returns {number | null}
 */
export function fraction(n, total) {
  if (!isNum(total) || total <= 0) return null;
  const f = (isNum(n) ? n : 0) / total;
  return f < 0 ? 0 : f > 1 ? 1 : f;
}

/**
 * A whole percentage, rounded down so that `100%` means really finished:
 * `0%`, `87%`, `100%`. Unknown total → "".
 * @param {number | null | undefined} n
 * @param {number | null | undefined} total
 * @returns {string}
 */
export function formatPercent(n, total) {
  const f = fraction(n, total);
  if (f === null) return "";
  // 1e-9 keeps 0.29 * 100 = 28.999999999999996 from showing as 28%.
  return `${Math.floor(f * 100 + 1e-9)}%`;
}

/**
 * `toFixed` output without a useless trailing `.0`.
 * @param {string} s
 * @returns {string}
 */
function trimZero(s) {
  return s.endsWith(".0") ? s.slice(0, -2) : s;
}
