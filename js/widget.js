/**
 * The anywidget front end of `ProgressPanel`: `render` builds the panel from the
 * model's current traits, follows `change:<trait>` to update it in place, ticks
 * the clocks once a second while the run is live, sends `{event: "stop"}` when
 * the Stop button is pressed, and returns a cleanup that removes every listener
 * and timer it added.
 * @module widget
 */

import "./widget.css";
import { Panel } from "./panel.js";
import { TRAITS, readSnapshot, withTrait } from "./state.js";

/** How often the running clocks (elapsed, ETA) advance between snapshots. */
export const TICK_MS = 1000;
/** Clocks stop advancing this long after the last snapshot (a dead kernel sends none). */
export const MAX_DRIFT_S = 60;

/**
 * The part of the anywidget model this view uses.
 * @typedef {object} Model
 * @property {(name: string) => any} get
 * @property {(event: string, callback: () => void) => void} on
 * @property {(event: string, callback: () => void) => void} off
 * @property {(content: object) => void} [send] a custom message to Python
 */

/** The cleanup of the view currently drawn in each element, so a second render replaces it. */
const mounted = /** @type {WeakMap<HTMLElement, () => void>} */ (new WeakMap());

/**
 * @param {{model: Model, el: HTMLElement}} view
 * @returns {() => void} cleanup
 */
function render({ model, el }) {
  mounted.get(el)?.();
  const panel = new Panel(el.ownerDocument, {
    // A saved notebook has no kernel behind it: then there is nothing to send to.
    onStop: () => model.send?.({ event: "stop" }),
  });
  let snapshot = readSnapshot((name) => model.get(name));
  let receivedAt = Date.now();
  /** @type {ReturnType<typeof setInterval> | null} */
  let timer = null;

  /** Seconds since the last snapshot while the run is live, capped; else 0. */
  const drift = () =>
    snapshot.status === "running" ? Math.min(Math.max(0, (Date.now() - receivedAt) / 1000), MAX_DRIFT_S) : 0;

  const stopClock = () => {
    if (timer !== null) clearInterval(timer);
    timer = null;
  };
  const tick = () => {
    const d = drift();
    panel.tick(snapshot, d);
    if (d >= MAX_DRIFT_S) stopClock();
  };
  const syncClock = () => {
    if (snapshot.status !== "running") stopClock();
    else if (timer === null) timer = setInterval(tick, TICK_MS);
  };

  panel.update(snapshot, 0);
  el.replaceChildren(panel.root);
  syncClock();

  /** @type {Array<[string, () => void]>} */
  const listeners = TRAITS.map((name) => {
    const onChange = () => {
      snapshot = withTrait({ ...snapshot }, name, model.get(name));
      receivedAt = Date.now();
      panel.update(snapshot, 0, [name]);
      syncClock();
    };
    return [`change:${name}`, onChange];
  });
  for (const [event, callback] of listeners) model.on(event, callback);

  const cleanup = () => {
    for (const [event, callback] of listeners) model.off(event, callback);
    stopClock();
    panel.destroy();
    if (mounted.get(el) === cleanup) mounted.delete(el);
  };
  mounted.set(el, cleanup);
  return cleanup;
}

export default { render };
