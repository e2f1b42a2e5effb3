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

  test("the summary counts unlisted lanes, counts bar lanes as bars, and reports broken workers", () => {
    const crashed = lane("5", { state: "crashed", failed: 1 });
    assert.equal(lanesSummary([lane("0"), crashed], 62), "64 workers · 4 done · 1 failed (on 1 worker) · 1 crashed");
    assert.equal(lanesSummary([lane("main:1", { state: "done", done: 0 })], 0), "1 bar");
    assert.equal(lanesSummary([lane("main:1", { state: "done" }), lane("main:2", { state: "running" })], 0),
      "2 bars (1 unfinished)");
    assert.equal(lanesSummary([lane("0"), lane("main:1", { state: "done" })], 0), "1 worker · 2 done · 1 bar");
    assert.equal(lanesSummary([], 0), "");
  });
});

describe("failure groups", () => {
  const failures = [90, 5, 22].map((i) => failure({ index: i, label: String(i), error: `ValueError: shard ${i} is corrupt` }));
  const groups = [
    { kind: "error", shape: "ValueError: shard … is corrupt", count: 7, items: [5, 22, 39, 56, 73, 90, 107] },
    { kind: "timeout", shape: "TaskTimeout: item took longer than … s", count: 60, items: [1, 2, 3] },
  ];

  test("failures are listed by item index", () => {
    const { root } = mount({ failures });
    const labels = [...root.querySelectorAll(".pb-failure-label")].map((e) => e.textContent);
    assert.deepEqual(labels, ["5", "22", "90"]);
    assert.ok(root.querySelector(".pb-group-list")?.hidden, "three failures: no groups");
    assert.ok(root.querySelector(".pb-each")?.hasAttribute("open"));
  });

  test("many failures: one line per shape with its count, opening to its items; the rows fold", () => {
    const { root } = mount({ failures, more_failures: 64, failure_groups: groups });
    const rows = [...root.querySelectorAll(".pb-group")];
    assert.equal(rows.length, 2);
    assert.equal(text(rows[0], ".pb-group-shape"), "ValueError: shard … is corrupt");
    assert.equal(text(rows[0], ".pb-group-count"), "×7");
    assert.equal(text(rows[0], ".pb-group-items"), "items 5, 22, 39, 56, 73, 90, 107");
    assert.equal(text(rows[1], ".pb-group-items"), "items 1, 2, 3 … +57 more");
    assert.equal(rows[1].getAttribute("data-kind"), "timeout");
    assert.equal(rows[0].hasAttribute("open"), false);
    assert.equal(root.querySelector(".pb-each")?.hasAttribute("open"), false);
    assert.equal(text(root, ".pb-each-line"), "the first 3 failures, with tracebacks");
    assert.equal(text(root, ".pb-failures-count"), "67 failures");
  });

  test("the user's opening of the folded rows survives later updates", () => {
    const { root, model } = mount({ failures, more_failures: 64, failure_groups: groups });
    const each = /** @type {HTMLDetailsElement} */ (root.querySelector(".pb-each"));
    each.open = true;
    model.set("more_failures", 70);
    assert.ok(each.open);
  });
});
