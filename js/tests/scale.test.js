// The panel at scale: a lane's numbers, many lanes, and the lanes folded once the run is over.
import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import { MANY_LANES, lanesSummary } from "../lanes.js";
import { clickOn, failure, lane, laneByName, mount, overall, text, unmountAll } from "./helpers.js";

afterEach(unmountAll);

/** 32 lanes; workers 3, 9 and 20 had items fail, worker 20 crashed. */
function manyLanes(over = {}) {
  return Array.from({ length: 32 }, (_, i) => lane(String(i), {
    failed: i === 3 || i === 9 ? 2 : i === 20 ? 3 : 0, state: i === 20 ? "crashed" : "busy", ...over,
  }));
}

describe("a lane's numbers", () => {
  test("items done and failed, the item's time and its ETA, and the lane's rate", () => {
    const { root } = mount({ lanes: [lane("0", { done: 12, failed: 2, elapsed: 4, eta: 5.2, rate: 1.5 })] });
    const row = laneByName(root, "worker 0");
    assert.equal(text(row, ".pb-lane-done"), "✓ 12");
    assert.equal(text(row, ".pb-lane-failed"), "✗ 2");
    assert.equal(text(row, ".pb-lane-time"), "0:04");
    assert.equal(text(row, ".pb-lane-eta"), "ETA 0:06");
    assert.equal(text(row, ".pb-lane-rate"), "1.5 it/s");
  });

  test("no failures, no rate and no total: nothing shown for them", () => {
    const { root } = mount({ lanes: [lane("0", { total: null })] });
    const row = laneByName(root, "worker 0");
    assert.ok(row?.querySelector(".pb-lane-failed")?.hidden);
    assert.ok(row?.querySelector(".pb-lane-eta")?.hidden);
    assert.equal(text(row, ".pb-lane-rate"), "");
  });
});

describe("many lanes", () => {
  test(`past ${MANY_LANES} lanes the list scrolls, failing lanes on top, in their order`, () => {
    const { root } = mount({ lanes: manyLanes() });
    const list = root.querySelector(".pb-lanes");
    assert.ok(list?.hasAttribute("data-many"));
    const names = [...root.querySelectorAll(".pb-lane-name-text")].map((e) => e.textContent);
    assert.equal(names.length, 32);
    assert.deepEqual(names.slice(0, 4), ["worker 3", "worker 9", "worker 20", "worker 0"]);
  });

  test(`${MANY_LANES} lanes or fewer keep their order and no bounded height`, () => {
    const { root } = mount({ lanes: manyLanes().slice(0, MANY_LANES) });
    assert.equal(root.querySelector(".pb-lanes")?.hasAttribute("data-many"), false);
    assert.equal(text(root, ".pb-lane-name-text"), "worker 0");
  });
});

describe("the fold", () => {
  const final = {
    status: "failed",
    overall: overall({ done: 113, failed: 7, running: 0, pending: 0, total: 120 }),
    lanes: manyLanes({ state: "exited", task: null, index: null, done: 3 }),
    failures: [failure()],
    more_failures: 6,
  };

  test("while running there is no fold: the lanes are shown", () => {
    const { root } = mount({ lanes: manyLanes() });
    assert.ok(root.querySelector(".pb-fold")?.hidden);
    assert.equal(root.querySelector(".pb-lane-body")?.hidden, false);
  });

  test("over: one summary line under the bar, the lanes folded, the failures next", () => {
    const { root } = mount(final);
    const fold = root.querySelector(".pb-fold");
    assert.equal(fold?.textContent, "32 workers · 96 done · 7 failed (on 3 workers)");
    assert.equal(fold?.getAttribute("aria-expanded"), "false");
    assert.ok(root.querySelector(".pb-lane-body")?.hidden);
    // in the page's order: the bar, the summary line, then the failures
    const order = [...root.querySelectorAll(".pb-bar-overall, .pb-fold, .pb-failures")].map((e) => e.className);
    assert.deepEqual(order, ["pb-bar pb-bar-overall", "pb-fold", "pb-failures"]);
  });

  test("a click opens the lanes and another folds them again; later updates keep the choice", () => {
    const { root, model } = mount(final);
    const fold = /** @type {HTMLElement} */ (root.querySelector(".pb-fold"));
    clickOn(fold);
    assert.equal(fold.getAttribute("aria-expanded"), "true");
    assert.equal(root.querySelector(".pb-lane-body")?.hidden, false);
    model.set("lanes", final.lanes.slice(0, 8));
    assert.equal(root.querySelector(".pb-lane-body")?.hidden, false);
    assert.equal(fold.textContent, "8 workers · 24 done · 2 failed (on 1 worker)");
    clickOn(fold);
    assert.ok(root.querySelector(".pb-lane-body")?.hidden);
  });

  test("the run ends in a live view: the lanes fold then", () => {
    const { root, model } = mount({ lanes: manyLanes() });
    model.set("lanes", final.lanes);
    model.set("status", "failed");
    assert.equal(root.querySelector(".pb-fold")?.hidden, false);
    assert.ok(root.querySelector(".pb-lane-body")?.hidden);
  });

  test("the summary counts unlisted lanes, names bar lanes as lanes, and reports broken workers", () => {
    const crashed = lane("5", { state: "crashed", failed: 1 });
    assert.equal(lanesSummary([lane("0"), crashed], 62), "64 workers · 4 done · 1 failed (on 1 worker) · 1 crashed");
    assert.equal(lanesSummary([lane("main:1", { done: 0 })], 0), "1 lane · 0 done");
    assert.equal(lanesSummary([], 0), "");
  });
});
