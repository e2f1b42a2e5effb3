import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { processedCount, readSnapshot } from "../state.js";

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
