// Shared test fixtures: a happy-dom document, a fake anywidget model, snapshot builders.
import { register } from "node:module";
import { Window } from "happy-dom";

register("./css-loader.js", import.meta.url);

// The real entry point, CSS import included. Imported dynamically: a static import
// would be loaded before the CSS hook above is registered.
const widgetModule = await import("../widget.js");
export const widget = widgetModule.default;
export const { TICK_MS, MAX_DRIFT_S } = widgetModule;

/** @type {Array<() => void>} */
const teardowns = [];

/** Clean up every view and window the helpers made (their clocks would keep node alive). */
export async function unmountAll() {
  for (const teardown of teardowns.splice(0).reverse()) await teardown();
}

/**
 * Render a view and remember to clean it up.
 * @param {any} model
 * @param {HTMLElement} el
 */
export function renderView(model, el) {
  const cleanup = widget.render({ model, el });
  teardowns.push(cleanup);
  return cleanup;
}

/** A fresh document with an empty host element, as anywidget hands to `render`. */
export function makeHost() {
  const window = new Window();
  teardowns.push(() => window.happyDOM.close());
  const document = window.document;
  const el = document.createElement("div");
  document.body.appendChild(el);
  return { window, document, el };
}

/**
 * A fake model: `get` reads a plain object, `on`/`off` are recorded, `send`
 * records each custom message, and `set(name, value)` updates the object and
 * fires the `change:name` callbacks.
 * @param {Record<string, unknown>} initial
 */
export function fakeModel(initial) {
  const state = structuredClone(initial);
  /** @type {Map<string, Set<Function>>} */
  const listeners = new Map();
  /** @type {{on: Array<[string, Function]>, off: Array<[string, Function]>, send: unknown[]}} */
  const calls = { on: [], off: [], send: [] };
  return {
    state,
    calls,
    listeners,
    /** @param {string} name */
    get(name) {
      return state[name];
    },
    /** @param {string} event @param {Function} callback */
    on(event, callback) {
      calls.on.push([event, callback]);
      if (!listeners.has(event)) listeners.set(event, new Set());
      listeners.get(event)?.add(callback);
    },
    /** @param {string} event @param {Function} callback */
    off(event, callback) {
      calls.off.push([event, callback]);
      listeners.get(event)?.delete(callback);
    },
    /** @param {unknown} content */
    send(content) {
      calls.send.push(structuredClone(content));
    },
    /** @param {string} name @param {unknown} value */
    set(name, value) {
      state[name] = structuredClone(value);
      for (const callback of [...(listeners.get(`change:${name}`) ?? [])]) callback();
    },
    /** How many callbacks are still registered. */
    listenerCount() {
      let n = 0;
      for (const set of listeners.values()) n += set.size;
      return n;
    },
  };
}

/**
 * A lane with sensible defaults.
 * @param {string} key
 * @param {Record<string, unknown>} [over]
 */
export function lane(key, over = {}) {
  return {
    key,
    name: `worker ${key}`,
    state: "busy",
    task: "3",
    index: 3,
    desc: "",
    n: 10,
    total: 40,
    unit: "it",
    message: "",
    postfix: [],
    meta: [],
    elapsed: 1.5,
    done: 2,
    failed: 0,
    rate: null,
    eta: null,
    ...over,
  };
}

/**
 * A failure with sensible defaults.
 * @param {Record<string, unknown>} [over]
 */
export function failure(over = {}) {
  return {
    index: 5,
    label: "5",
    kind: "error",
    error: "ValueError: bad item",
    traceback: 'Traceback (most recent call last):\n  File "<cell>", line 3, in work\nValueError: bad item',
    worker: "worker 1",
    attempts: 1,
    ...over,
  };
}

/**
 * The overall dict, consistent by default: 8 items, 3 done, 2 running, 3 pending.
 * @param {Record<string, unknown>} [over]
 */
export function overall(over = {}) {
  return {
    done: 3,
    failed: 0,
    timed_out: 0,
    crashed: 0,
    cancelled: 0,
    running: 2,
    retrying: 0,
    total: 8,
    pending: 3,
    elapsed: 4.2,
    rate: 0.8,
    eta: 6.5,
    unit: "it",
    ...over,
  };
}

/**
 * A timeline lane: `blocks` as on the wire, `[start, end, status, label, error]`.
 * @param {string} key
 * @param {unknown[]} blocks
 * @param {Record<string, unknown>} [over]
 */
export function timelineLane(key, blocks, over = {}) {
  return { key, name: `worker ${key}`, blocks, ...over };
}

/**
 * The `timeline` trait: two workers over 10 s, one block of each outcome.
 * @param {Record<string, unknown>} [over]
 */
export function timeline(over = {}) {
  return {
    t0: 1_700_000_000,
    t1: 10,
    lanes: [
      timelineLane("0", [
        [0, 2, "done", "1", ""],
        [2, 5, "failed", "2", "ValueError: bad item"],
        [5, 6, "timeout", "3", "TimeoutError: over 1 s"],
      ]),
      timelineLane("1", [
        [0, 1, "crashed", "4", "worker died"],
        [1, 3, "retried", "5", "OSError: flaky"],
        [3, 10, "running", "6", ""],
      ]),
    ],
    more_blocks: 0,
    ...over,
  };
}

/**
 * A whole snapshot (the model's traits).
 * @param {Record<string, unknown>} [over]
 */
export function snapshot(over = {}) {
  return {
    title: "crunch",
    status: "running",
    overall: overall(),
    lanes: [lane("0"), lane("1", { task: "4", index: 4, n: 30 })],
    more_lanes: 0,
    failures: [],
    more_failures: 0,
    failure_groups: [],
    ...over,
  };
}

/**
 * Render a snapshot into a fresh host.
 * @param {Record<string, unknown>} [over]
 */
export function mount(over = {}) {
  const host = makeHost();
  const model = fakeModel(snapshot(over));
  const cleanup = renderView(model, host.el);
  const root = /** @type {HTMLElement} */ (host.el.querySelector(".poolbars-panel"));
  return { ...host, model, cleanup, root };
}

/**
 * The lane row element of `key`, found by its position among rows with that name.
 * @param {Element} root
 * @param {string} name
 */
export function laneByName(root, name) {
  for (const row of root.querySelectorAll(".pb-lane")) {
    if (row.querySelector(".pb-lane-name-text")?.textContent === name) return row;
  }
  return null;
}

/**
 * Click any element, SVG ones included (they have no `click()`): a bubbling click event.
 * @param {Element} node
 */
export function clickOn(node) {
  const view = node.ownerDocument.defaultView;
  node.dispatchEvent(view ? new view.MouseEvent("click", { bubbles: true }) : new Event("click", { bubbles: true }));
}

/** @param {Element | null | undefined} node @param {string} selector */
export function text(node, selector) {
  return node?.querySelector(selector)?.textContent ?? null;
}
