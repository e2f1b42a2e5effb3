/**
 * The snapshot the widget renders (docs/snapshot.md), as JSDoc types, and the
 * readers that turn whatever the model holds into well-typed values, so the DOM
 * code never meets `undefined` or a number where it wants a string. The typedefs
 * mirror the TypedDicts of src/poolbars/panel/snapshot.py, name for name
 * (tests/test_snapshot_contract.py holds them to it).
 * @module state
 */

/** The synced traits of `ProgressPanel`, in the order the panel draws them. */
export const TRAITS = /** @type {const} */ ([
  "title",
  "status",
  "overall",
  "lanes",
  "more_lanes",
  "failures",
  "more_failures",
  "failure_groups",
  "timeline",
  "stoppable",
  "stopping",
]);

/** @typedef {typeof TRAITS[number]} Trait */

/**
 * @typedef {object} Overall
 * @property {number} done
 * @property {number} failed
 * @property {number} timed_out
 * @property {number} crashed
 * @property {number} cancelled
 * @property {number} running
 * @property {number} retrying
 * @property {number | null} total null while the input's length is unknown
 * @property {number | null} pending
 * @property {number} elapsed seconds
 * @property {number | null} rate items per second
 * @property {number | null} eta seconds
 * @property {string} unit
 * @property {number} dropped malformed batches from other processes, dropped unread
 * @property {number[]} spark items finished per second, 2-second buckets, oldest first
 */

/**
 * A lane as read: the wire leaves out `meta`, `failed`, `rate`, `eta`, `stalled` and
 * `spark` while they hold their default, and `readLane` puts the default back.
 * @typedef {object} Lane
 * @property {string} key stable id, keys the DOM row
 * @property {string} name
 * @property {string} state a worker's: `starting` · `idle` · `busy` · `exited` · `crashed` · `setup failed`; a bar of its own: `running` · `done`
 * @property {string | null} task label of the current item
 * @property {number | null} index
 * @property {string} desc
 * @property {number} n the wire's null (not a finite number) reads as 0
 * @property {number | null} total null: indeterminate
 * @property {string} unit
 * @property {string} message
 * @property {Array<[string, string]>} postfix
 * @property {number} elapsed seconds on the current task
 * @property {number} done items this lane finished
 * @property {Array<[string, string]>} meta the bar's custom payload: [key, JSON text of the value], shown on hover; left out when empty
 * @property {number} failed items that ended badly on this lane: errors, timeouts, crashes; left out when 0
 * @property {number | null} rate items this lane settles per second, since its first task; left out when null
 * @property {number | null} eta seconds left on the current task, from its inner bar's total; left out when null
 * @property {boolean} stalled no news of its task for `stale_after` seconds; left out when false
 * @property {number[]} spark items finished per second, 2-second buckets, oldest first; left out when empty
 */

/**
 * @typedef {object} Failure
 * @property {number | null} index
 * @property {string} label
 * @property {string} kind `error` · `timeout` · `crashed`; a worker's own: `setup` · `teardown` (index null)
 * @property {string} error
 * @property {string} traceback
 * @property {string | null} worker
 * @property {number} attempts
 */

/**
 * Failures of one kind and message shape.
 * @typedef {object} FailureGroup
 * @property {string} kind `error` · `timeout` · `crashed`
 * @property {string} shape the error's first line, numbers and quoted text made "…"
 * @property {number} count
 * @property {number[]} items the smallest of their item indices, sorted
 */

/**
 * One chunk of items run on a lane: times in seconds after `t0`.
 * @typedef {object} Block
 * @property {number} start
 * @property {number} end never before `start`
 * @property {string} status `done` · `failed` · `timeout` · `crashed` · `retried` · `cancelled` · `running`
 * @property {string} label the item's label, or "N items" for merged blocks
 * @property {string} error "" or the error text
 */

/**
 * @typedef {object} TimelineLane
 * @property {string} key stable id, keys the DOM row
 * @property {string} name
 * @property {Block[]} blocks
 */

/**
 * What ran where and when (docs/snapshot.md, "Insight fields").
 * @typedef {object} Timeline
 * @property {number | null} t0 epoch seconds of the first start
 * @property {number} t1 seconds after t0: now, or the end
 * @property {TimelineLane[]} lanes
 * @property {number} more_blocks blocks merged away to stay bounded
 */

/**
 * @typedef {object} Snapshot
 * @property {string} title
 * @property {string} status `running` · `done` · `failed` · `cancelled`
 * @property {Overall} overall
 * @property {Lane[]} lanes
 * @property {number} more_lanes
 * @property {Failure[]} failures
 * @property {number} more_failures
 * @property {FailureGroup[]} failure_groups every item failure, by kind and message shape
 * @property {Timeline} timeline empty when the model has none (older Python, old notebook)
 * @property {boolean} stoppable the run is in background mode: Stop may be used
 * @property {boolean} stopping Stop was pressed and the pool is draining
 */

/**
 * Read every trait through `get` (the model's) and normalise it.
 * @param {(name: Trait) => unknown} get
 * @returns {Snapshot}
 */
export function readSnapshot(get) {
  const s = /** @type {Snapshot} */ ({});
  for (const name of TRAITS) withTrait(s, name, get(name));
  return s;
}

/**
 * Normalise one trait's raw value into `s` (in place) and return `s`.
 * @param {Snapshot} s
 * @param {Trait} name
 * @param {unknown} raw
 * @returns {Snapshot}
 */
export function withTrait(s, name, raw) {
  switch (name) {
    case "title": s.title = str(raw); break;
    case "status": s.status = str(raw) || "running"; break;
    case "overall": s.overall = readOverall(raw); break;
    case "lanes": s.lanes = list(raw).map(readLane); break;
    case "more_lanes": s.more_lanes = int(raw); break;
    case "failures": s.failures = list(raw).map(readFailure); break;
    case "failure_groups": s.failure_groups = list(raw).map(readFailureGroup); break;
    case "more_failures": s.more_failures = int(raw); break;
    case "timeline": s.timeline = readTimeline(raw); break;
    case "stoppable": s.stoppable = raw === true; break;
    case "stopping": s.stopping = raw === true; break;
  }
  return s;
}

/**
 * @param {unknown} raw
 * @returns {Overall}
 */
export function readOverall(raw) {
  const o = obj(raw);
  return {
    done: int(o.done),
    failed: int(o.failed),
    timed_out: int(o.timed_out),
    crashed: int(o.crashed),
    cancelled: int(o.cancelled),
    running: int(o.running),
    retrying: int(o.retrying),
    total: numOrNull(o.total),
    pending: numOrNull(o.pending),
    elapsed: num(o.elapsed),
    rate: numOrNull(o.rate),
    eta: numOrNull(o.eta),
    unit: str(o.unit),
    dropped: int(o.dropped),
    spark: readSpark(o.spark),
  };
}

/**
 * @param {unknown} raw
 * @param {number} i position, the key of last resort
 * @returns {Lane}
 */
export function readLane(raw, i) {
  const o = obj(raw);
  return {
    key: o.key == null ? `#${i}` : String(o.key),
    name: str(o.name),
    state: str(o.state),
    task: o.task == null ? null : String(o.task),
    index: numOrNull(o.index),
    desc: str(o.desc),
    n: num(o.n),
    total: numOrNull(o.total),
    unit: str(o.unit),
    message: str(o.message),
    postfix: list(o.postfix).map(readPair),
    elapsed: num(o.elapsed),
    done: int(o.done),
    meta: list(o.meta).map(readPair), // each of these: a missing key reads as its default
    failed: int(o.failed),
    rate: numOrNull(o.rate),
    eta: numOrNull(o.eta),
    stalled: o.stalled === true,
    spark: readSpark(o.spark),
  };
}

/**
 * @param {unknown} raw
 * @returns {FailureGroup}
 */
export function readFailureGroup(raw) {
  const o = obj(raw);
  return { kind: str(o.kind), shape: str(o.shape), count: int(o.count), items: list(o.items).map(int) };
}

/**
 * @param {unknown} raw
 * @returns {Failure}
 */
export function readFailure(raw) {
  const o = obj(raw);
  return {
    index: numOrNull(o.index),
    label: str(o.label),
    kind: str(o.kind) || "error",
    error: str(o.error),
    traceback: str(o.traceback),
    worker: o.worker == null ? null : String(o.worker),
    attempts: int(o.attempts),
  };
}

/**
 * A timeline; anything missing or malformed reads as empty.
 * @param {unknown} raw
 * @returns {Timeline}
 */
export function readTimeline(raw) {
  const o = obj(raw);
  const t1 = Math.max(0, num(o.t1));
  return {
    t0: numOrNull(o.t0),
    t1,
    lanes: list(o.lanes).map((lane, i) => readTimelineLane(lane, i, t1)),
    more_blocks: int(o.more_blocks),
  };
}

/**
 * @param {unknown} raw
 * @param {number} i position, the key of last resort
 * @param {number} t1 the end of a block that has none yet
 * @returns {TimelineLane}
 */
function readTimelineLane(raw, i, t1) {
  const o = obj(raw);
  return {
    key: o.key == null ? `#${i}` : String(o.key),
    name: str(o.name),
    blocks: list(o.blocks).flatMap((block) => readBlock(block, t1)),
  };
}

/**
 * A block: `[start, end, status, label, error]` on the wire (an object with those
 * keys is read too). Not a list or object: no block.
 * @param {unknown} raw
 * @param {number} t1
 * @returns {Block[]}
 */
function readBlock(raw, t1) {
  /** @type {unknown[]} */
  let f;
  if (Array.isArray(raw)) f = raw;
  else if (raw !== null && typeof raw === "object") {
    const o = obj(raw);
    f = [o.start, o.end, o.status, o.label, o.error];
  } else return [];
  const start = Math.max(0, num(f[0]));
  // A block with no end yet is still going: it ends now.
  const end = numOrNull(f[1]) ?? t1;
  return [{ start, end: Math.max(start, end), status: str(f[2]), label: str(f[3]), error: str(f[4]) }];
}

/**
 * A sparkline series: finite, non-negative numbers (anything else counts as 0).
 * @param {unknown} raw
 * @returns {number[]}
 */
function readSpark(raw) {
  return list(raw).map((x) => Math.max(0, num(x)));
}

/**
 * The count of the overall line: items that were processed, well or badly.
 * Cancelled items are left out, so a cancelled run never reads "100%".
 * @param {Overall} o
 * @returns {number}
 */
export function processedCount(o) {
  return o.done + failedCount(o);
}

/** Items that ended badly: failed, timed out or crashed.
 * @param {Overall} o
 * @returns {number}
 */
export function failedCount(o) {
  return o.failed + o.timed_out + o.crashed;
}

/**
 * A postfix entry: `[key, value]`; a bare value becomes `["", value]`.
 * @param {unknown} raw
 * @returns {[string, string]}
 */
function readPair(raw) {
  if (Array.isArray(raw)) return [str(raw[0]), str(raw[1])];
  return ["", str(raw)];
}

/**
 * @param {unknown} x
 * @returns {Record<string, unknown>}
 */
function obj(x) {
  return x !== null && typeof x === "object" && !Array.isArray(x)
    ? /** @type {Record<string, unknown>} */ (x)
    : {};
}

/**
 * @param {unknown} x
 * @returns {unknown[]}
 */
function list(x) {
  return Array.isArray(x) ? x : [];
}

/**
 * @param {unknown} x
 * @returns {string}
 */
function str(x) {
  return x == null ? "" : String(x);
}

/**
 * @param {unknown} x
 * @returns {number}
 */
function num(x) {
  return typeof x === "number" && Number.isFinite(x) ? x : 0;
}

/**
 * @param {unknown} x
 * @returns {number}
 */
function int(x) {
  return Math.max(0, Math.round(num(x)));
}

/**
 * @param {unknown} x
 * @returns {number | null}
 */
function numOrNull(x) {
  return typeof x === "number" && Number.isFinite(x) ? x : null;
}
