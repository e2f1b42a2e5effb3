import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, mock, test } from "node:test";
import { MAX_DRIFT_S, TICK_MS, lane, mount, overall, text, unmountAll } from "./helpers.js";

beforeEach(() => mock.timers.enable({ apis: ["setInterval", "Date"], now: 1_000_000 }));
afterEach(async () => {
  await unmountAll();
  mock.timers.reset();
});

describe("running clocks", () => {
  test("elapsed and ETA advance between snapshots while running", () => {
    const { root, model } = mount({ overall: overall({ elapsed: 10, eta: 20 }), lanes: [lane("0", { elapsed: 3 })] });
    assert.equal(text(root, ".pb-ov-elapsed"), "0:10 elapsed");
    mock.timers.tick(TICK_MS * 5);
    assert.equal(text(root, ".pb-ov-elapsed"), "0:15 elapsed");
    assert.equal(text(root, ".pb-ov-eta"), "ETA 0:15");
    assert.equal(text(root, ".pb-lane-time"), "0:08");
    // A new snapshot is the truth again.
    model.set("overall", overall({ elapsed: 14, eta: 16 }));
    assert.equal(text(root, ".pb-ov-elapsed"), "0:14 elapsed");
  });

  test("a lane's task ETA counts down between snapshots", () => {
    const { root } = mount({ lanes: [lane("0", { elapsed: 3, eta: 10 })] });
    assert.equal(text(root, ".pb-lane-eta"), "ETA 0:10");
    mock.timers.tick(TICK_MS * 4);
    assert.equal(text(root, ".pb-lane-eta"), "ETA 0:06");
  });

  test("a lane that is not working does not tick", () => {
    const { root } = mount({ lanes: [lane("0", { elapsed: 3, n: 40 })] });
    mock.timers.tick(TICK_MS * 5);
    assert.equal(text(root, ".pb-lane-time"), "0:03");
  });

  test("clocks stop when the run ends and stay still after", () => {
    const { root, model } = mount({ overall: overall({ elapsed: 10 }) });
    model.set("status", "done");
    mock.timers.tick(TICK_MS * 5);
    assert.equal(text(root, ".pb-ov-elapsed"), "0:10 elapsed");
  });

  test("clocks stop advancing MAX_DRIFT_S after the last snapshot", () => {
    const { root } = mount({ overall: overall({ elapsed: 0, eta: null }) });
    mock.timers.tick(TICK_MS * (MAX_DRIFT_S + 30));
    assert.equal(text(root, ".pb-ov-elapsed"), `${Math.floor(MAX_DRIFT_S / 60)}:00 elapsed`);
  });

  test("cleanup clears the ticking timer", () => {
    const { root, cleanup } = mount({ overall: overall({ elapsed: 10 }) });
    cleanup();
    mock.timers.tick(TICK_MS * 5);
    assert.equal(text(root, ".pb-ov-elapsed"), "0:10 elapsed");
  });
});
