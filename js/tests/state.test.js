import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { processedCount, readSnapshot, readTimeline } from "../state.js";

describe("readSnapshot", () => {
  test("missing traits become safe defaults", () => {
    const s = readSnapshot(() => undefined);
    assert.equal(s.title, "");
    assert.equal(s.status, "running");
    assert.deepEqual(s.lanes, []);
    assert.deepEqual(s.failures, []);
    assert.equal(s.overall.total, null);
    assert.equal(s.overall.done, 0);
    assert.equal(s.more_lanes, 0);
  });

  test("missing insight traits (older Python, older notebooks) read as empty or false", () => {
    const s = readSnapshot((name) => (name === "lanes" ? [{ key: "0" }] : undefined));
    assert.deepEqual(s.timeline, { t0: null, t1: 0, lanes: [], more_blocks: 0 });
    assert.equal(s.stoppable, false);
    assert.equal(s.stopping, false);
    assert.deepEqual(s.overall.spark, []);
    assert.deepEqual(s.lanes[0].spark, []);
  });

  test("insight traits are coerced: only true is true, sparks are non-negative numbers", () => {
    /** @type {Record<string, unknown>} */
    const raw = {
      stoppable: "true",
      stopping: 1,
      overall: { spark: [1.5, "2", null, -3, NaN] },
      lanes: [{ key: "0", spark: "nope" }],
    };
    const s = readSnapshot((name) => raw[name]);
    assert.equal(s.stoppable, false);
    assert.equal(s.stopping, false);
    assert.deepEqual(s.overall.spark, [1.5, 0, 0, 0, 0], "a bad value keeps its place as 0");
    assert.deepEqual(s.lanes[0].spark, []);
  });

  test("a lane's keys left out while at their default read as that default", () => {
    const busy = { key: "0", name: "worker 0", state: "busy", done: 2, elapsed: 1.5 };
    const failing = { ...busy, meta: [["shard", "3"]], failed: 2, rate: 0.5, eta: 4, stalled: true, spark: [1, 2] };
    const [lean, full] = readSnapshot((name) => (name === "lanes" ? [busy, failing] : undefined)).lanes;
    assert.deepEqual(
      [lean.meta, lean.failed, lean.rate, lean.eta, lean.stalled, lean.spark],
      [[], 0, null, null, false, []],
    );
    assert.deepEqual(
      [full.meta, full.failed, full.rate, full.eta, full.stalled, full.spark],
      [[["shard", "3"]], 2, 0.5, 4, true, [1, 2]],
    );
  });

  test("overall.dropped is read as a count; missing or junk reads as 0", () => {
    assert.equal(readSnapshot((name) => (name === "overall" ? { dropped: 3 } : undefined)).overall.dropped, 3);
    assert.equal(readSnapshot((name) => (name === "overall" ? { dropped: "3" } : undefined)).overall.dropped, 0);
    assert.equal(readSnapshot(() => undefined).overall.dropped, 0);
  });

  test("timeline blocks: lists or objects; no end means still going; junk is dropped", () => {
    const tl = readTimeline({
      t0: 1.7e9,
      t1: 9,
      lanes: [
        {
          key: 3,
          name: "worker 3",
          blocks: [
            [0, 2, "done", "a", ""],
            { start: 2, end: 4, status: "failed", label: 5, error: "E" },
            [4, null, "running", "b"],
            [6, 5, "done", "c", null],
            "junk",
            null,
          ],
        },
        { blocks: "x" },
      ],
      more_blocks: 2.4,
    });
    assert.equal(tl.t0, 1.7e9);
    assert.equal(tl.lanes[0].key, "3");
    assert.deepEqual(tl.lanes[0].blocks, [
      { start: 0, end: 2, status: "done", label: "a", error: "" },
      { start: 2, end: 4, status: "failed", label: "5", error: "E" },
      { start: 4, end: 9, status: "running", label: "b", error: "" },
      { start: 6, end: 6, status: "done", label: "c", error: "" },
    ]);
    assert.equal(tl.lanes[1].key, "#1");
    assert.deepEqual(tl.lanes[1].blocks, []);
    assert.equal(tl.more_blocks, 2);
  });

  test("wrong types are coerced, never passed through", () => {
    /** @type {Record<string, unknown>} */
    const raw = {
      title: 42,
      overall: { done: "3", total: "8", rate: NaN, elapsed: 2.5 },
      lanes: [{ name: 7, n: "5", postfix: [["a", 1], "bare"], task: 12 }, null],
      failures: "nope",
      more_lanes: -3,
    };
    const s = readSnapshot((name) => raw[name]);
    assert.equal(s.title, "42");
    assert.equal(s.overall.done, 0);
    assert.equal(s.overall.total, null);
    assert.equal(s.overall.rate, null);
    assert.equal(s.overall.elapsed, 2.5);
    assert.equal(s.lanes[0].name, "7");
    assert.equal(s.lanes[0].task, "12");
    assert.equal(s.lanes[0].n, 0);
    assert.deepEqual(s.lanes[0].postfix, [["a", "1"], ["", "bare"]]);
    assert.equal(s.lanes[0].key, "#0", "a lane without key is keyed by position");
    assert.equal(s.lanes[1].key, "#1");
    assert.deepEqual(s.failures, []);
    assert.equal(s.more_lanes, 0);
  });

  test("processed counts done and failed items, not cancelled ones", () => {
    const s = readSnapshot((name) =>
      name === "overall" ? { done: 3, failed: 1, timed_out: 1, crashed: 1, cancelled: 2, running: 5 } : undefined,
    );
    assert.equal(processedCount(s.overall), 6);
  });
});
