import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import { fakeModel, lane, laneByName, makeHost, mount, overall, renderView, snapshot, text, unmountAll } from "./helpers.js";

afterEach(unmountAll);

describe("render", () => {
  test("creates one row per lane with name, task and n/total", () => {
    const { root } = mount({
      lanes: [lane("a", { name: "worker 0", task: "'a.csv'", n: 10, total: 40 }), lane("b", { name: "worker 1", task: "7", n: 3, total: 8, unit: "rows" })],
    });
    const rows = root.querySelectorAll(".pb-lane");
    assert.equal(rows.length, 2);
    const w0 = laneByName(root, "worker 0");
    assert.equal(text(w0, ".pb-task"), "'a.csv'");
    assert.equal(text(w0, ".pb-lane-count"), "10/40 it");
    assert.equal(w0?.querySelector(".pb-fill")?.getAttribute("style"), "width: 25%;");
    const w1 = laneByName(root, "worker 1");
    assert.equal(text(w1, ".pb-task"), "7");
    assert.equal(text(w1, ".pb-lane-count"), "3/8 rows");
    assert.equal(text(w1, ".pb-lane-done"), "✓ 2");
  });

  test("the overall line shows finished/total, percent, rate, elapsed and ETA", () => {
    const { root } = mount({ overall: overall({ done: 3, failed: 1, running: 2, pending: 2, total: 8, rate: 0.5, elapsed: 65, eta: 8 }) });
    assert.equal(text(root, ".pb-ov-count"), "4/8 it");
    assert.equal(text(root, ".pb-ov-percent"), "50%");
    assert.equal(text(root, ".pb-ov-rate"), "2.0 s/it");
    assert.equal(text(root, ".pb-ov-elapsed"), "1:05 elapsed");
    assert.equal(text(root, ".pb-ov-eta"), "ETA 0:08");
    const bar = root.querySelector(".pb-bar-overall");
    assert.equal(bar?.getAttribute("role"), "progressbar");
    assert.equal(bar?.getAttribute("aria-valuenow"), "4");
    assert.equal(bar?.getAttribute("aria-valuemax"), "8");
    assert.equal(bar?.getAttribute("data-tone"), "run");
  });

  test("the header shows the title, the status badge and the count chips", () => {
    const { root } = mount({ overall: overall({ done: 5, failed: 1, timed_out: 0, crashed: 2, running: 0, pending: 0, total: 8 }), status: "failed" });
    assert.equal(text(root, ".pb-title"), "crunch");
    assert.equal(text(root, ".pb-status"), "failed");
    assert.equal(root.querySelector(".pb-status")?.getAttribute("data-status"), "failed");
    /** @param {string} kind */
    const chip = (kind) => /** @type {HTMLElement} */ (root.querySelector(`.pb-chip[data-kind="${kind}"]`));
    assert.equal(chip("done").textContent, "5 done");
    assert.equal(chip("failed").textContent, "1 failed");
    assert.equal(chip("crashed").textContent, "2 crashed");
    assert.equal(chip("crashed").hidden, false);
    assert.equal(chip("timed_out").hidden, true, "zero timed out is not shown");
    assert.equal(chip("running").hidden, false, "running is shown even at zero");
    // The done part stays green; the failures are a red segment of their own.
    assert.equal(root.querySelector(".pb-bar-overall")?.getAttribute("data-tone"), "done");
    const bad = /** @type {HTMLElement} */ (root.querySelector(".pb-bar-overall > .pb-fill-bad"));
    assert.notEqual(bad.style.width, "0%");
    assert.notEqual(bad.style.width, "");
  });

  test("an empty title is hidden and a missing trait does not throw", () => {
    const host = makeHost();
    const model = fakeModel({ title: "", status: "running" });
    renderView(model, host.el);
    const root = host.el.querySelector(".poolbars-panel");
    assert.equal(/** @type {HTMLElement} */ (root?.querySelector(".pb-title")).hidden, true);
    assert.equal(root?.querySelectorAll(".pb-lane").length, 0);
    assert.equal(text(root, ".pb-ov-count"), "0/?");
  });

  test("rendering twice into one element leaves one panel and one set of listeners", () => {
    const host = makeHost();
    const model = fakeModel(snapshot());
    renderView(model, host.el);
    renderView(model, host.el);
    assert.equal(host.el.querySelectorAll(".poolbars-panel").length, 1);
    assert.equal(model.listenerCount(), 11);
  });

  test("two views of one model both follow it", () => {
    const model = fakeModel(snapshot());
    const a = makeHost();
    const b = makeHost();
    renderView(model, a.el);
    renderView(model, b.el);
    model.set("title", "second");
    assert.equal(text(a.el, ".pb-title"), "second");
    assert.equal(text(b.el, ".pb-title"), "second");
  });
});

describe("updates", () => {
  test("a lane's row is updated in place: same node, new text", () => {
    const { root, model } = mount();
    const before = laneByName(root, "worker 0");
    const fillBefore = before?.querySelector(".pb-fill");
    model.set("lanes", [lane("0", { n: 20, task: "9", message: "half way" }), lane("1", { task: "4", index: 4, n: 30 })]);
    const after = laneByName(root, "worker 0");
    assert.ok(before && after);
    assert.equal(after, before, "same DOM node for the same key");
    assert.equal(after.querySelector(".pb-fill"), fillBefore);
    assert.equal(text(after, ".pb-lane-count"), "20/40 it");
    assert.equal(text(after, ".pb-task"), "9");
    assert.equal(text(after, ".pb-message"), "half way");
    assert.equal(fillBefore?.getAttribute("style"), "width: 50%;");
  });

  test("a new lane adds a row and a vanished lane loses its row", () => {
    const { root, model } = mount();
    const keep = laneByName(root, "worker 1");
    model.set("lanes", [lane("1", { task: "4" }), lane("2", { name: "worker 2" })]);
    const rows = [...root.querySelectorAll(".pb-lane")];
    assert.equal(rows.length, 2);
    assert.equal(laneByName(root, "worker 0"), null);
    assert.equal(rows[0], keep, "the kept row is the same node, now first");
    assert.equal(text(rows[1], ".pb-lane-name-text"), "worker 2");
  });

  test("lanes are reordered without rebuilding", () => {
    const { root, model } = mount({ lanes: [lane("a"), lane("b"), lane("c")] });
    const [a, b, c] = root.querySelectorAll(".pb-lane");
    model.set("lanes", [lane("c"), lane("a"), lane("b")]);
    assert.deepEqual([...root.querySelectorAll(".pb-lane")], [c, a, b]);
  });

  test("an update that changes nothing touches no node", () => {
    const { window, root, model } = mount({ lanes: Array.from({ length: 64 }, (_, i) => lane(String(i), { n: i % 40 })) });
    const observer = new window.MutationObserver(() => {});
    observer.observe(root, { subtree: true, childList: true, attributes: true, characterData: true });
    for (const [name, value] of Object.entries(snapshot({ lanes: Array.from({ length: 64 }, (_, i) => lane(String(i), { n: i % 40 })) }))) {
      model.set(name, value);
    }
    assert.deepEqual(observer.takeRecords(), []);
  });

  test("with 64 lanes, moving one bar touches only that lane's nodes", () => {
    const lanes = Array.from({ length: 64 }, (_, i) => lane(String(i), { n: i % 40 }));
    const { window, root, model } = mount({ lanes });
    const observer = new window.MutationObserver(() => {});
    observer.observe(root, { subtree: true, childList: true, attributes: true, characterData: true });
    lanes[17] = lane("17", { n: 39 });
    model.set("lanes", lanes);
    const records = observer.takeRecords();
    assert.ok(records.length > 0);
    const row = laneByName(root, "worker 17");
    for (const record of records) assert.ok(row?.contains(record.target), "mutation outside lane 17");
    assert.equal(text(row, ".pb-lane-count"), "39/40 it");
  });

  test("status change recolours the overall bar; done turns it green", () => {
    const { root, model } = mount();
    model.set("overall", overall({ done: 8, running: 0, pending: 0, eta: 0 }));
    model.set("status", "done");
    const bar = root.querySelector(".pb-bar-overall");
    assert.equal(bar?.getAttribute("data-tone"), "done");
    assert.equal(text(root, ".pb-status"), "done");
    assert.equal(text(root, ".pb-ov-percent"), "100%");
    assert.equal(/** @type {HTMLElement} */ (root.querySelector(".pb-ov-eta")).hidden, true, "no ETA once finished");
    model.set("status", "cancelled");
    assert.equal(bar?.getAttribute("data-tone"), "cancel");
  });

  test("failed items are a red segment of the overall bar", () => {
    const { root } = mount({ overall: overall({ done: 4, failed: 1, crashed: 1, running: 2, pending: 0, total: 8 }) });
    const fills = root.querySelectorAll(".pb-bar-overall > .pb-fill");
    assert.deepEqual(
      [...fills].map((f) => f.getAttribute("style")),
      ["width: 50%;", "width: 25%;", "width: 0%;"],
    );
    assert.ok(fills[1].classList.contains("pb-fill-bad"));
  });
});

describe("lane states", () => {
  test("an idle lane shows its state instead of a task and no count", () => {
    const { root } = mount({ lanes: [lane("0", { state: "idle", task: null, index: null, n: 0, total: null, elapsed: 0 })] });
    const row = root.querySelector(".pb-lane");
    assert.equal(row?.getAttribute("data-state"), "idle");
    assert.equal(text(row, ".pb-task"), "idle");
    assert.ok(row?.querySelector(".pb-task")?.hasAttribute("data-empty"));
    assert.equal(text(row, ".pb-lane-count"), "");
    assert.equal(text(row, ".pb-lane-time"), "");
    assert.equal(row?.querySelector(".pb-bar")?.hasAttribute("data-indeterminate"), false);
    assert.ok(row?.querySelector(".pb-bar")?.hasAttribute("data-empty"), "no empty track for an idle lane");
  });

  test("a worker whose setup failed says so, with the error, in the failure tone", () => {
    const { root } = mount({ lanes: [lane("1", { state: "setup failed", task: null, index: null, n: 0,
      total: null, elapsed: 0, message: "NoSuchGPU: gpu 1 is out of memory" })] });
    const row = root.querySelector(".pb-lane");
    assert.equal(text(row, ".pb-task"), "setup failed");
    assert.ok(row?.textContent?.includes("NoSuchGPU: gpu 1 is out of memory"));
    assert.equal(row?.getAttribute("data-tone"), "fail");
  });

  test("a task without inner progress gets a moving bar, its clock, and no 0/?", () => {
    const { root } = mount({ lanes: [lane("0", { n: 0, total: null, desc: "", elapsed: 12 })] });
    const row = root.querySelector(".pb-lane");
    assert.ok(row?.querySelector(".pb-bar")?.hasAttribute("data-indeterminate"));
    assert.equal(text(row, ".pb-lane-count"), "");
    assert.equal(text(row, ".pb-lane-time"), "0:12");
  });

  test("a bar of its own (no task label) shows its desc and time, not its state word", () => {
    const { root } = mount({ lanes: [lane("main", { name: "main", state: "running", task: null, index: null, desc: "rows", n: 5, total: 10, elapsed: 3 })] });
    const row = root.querySelector(".pb-lane");
    assert.equal(/** @type {HTMLElement} */ (row?.querySelector(".pb-task")).hidden, true);
    assert.equal(text(row, ".pb-desc"), "rows");
    assert.equal(text(row, ".pb-lane-count"), "5/10 it");
    assert.equal(text(row, ".pb-lane-time"), "0:03");
  });

  test("a stalled task is marked amber and says so beside its clock", () => {
    const { root } = mount({ lanes: [lane("0", { stalled: true, elapsed: 75 })] });
    const row = root.querySelector(".pb-lane");
    assert.equal(row?.getAttribute("data-tone"), "warn");
    assert.equal(text(row, ".pb-lane-time"), "stalled 1:15");
  });

  test("bar tone follows the lane: running, done, failed", () => {
    const { root } = mount({
      lanes: [lane("r"), lane("d", { n: 40 }), lane("x", { state: "crashed" }), lane("s", { state: "stalled" })],
    });
    const tones = [...root.querySelectorAll(".pb-lane .pb-bar")].map((b) => b.getAttribute("data-tone"));
    assert.deepEqual(tones, ["run", "done", "fail", "warn"]);
  });

  test("desc, message and postfix pairs are shown; the info line hides when empty", () => {
    const { root, model } = mount({ lanes: [lane("0", { desc: "rows", message: "loading", postfix: [["loss", "0.25"], ["lr", "1e-3"]] })] });
    const row = root.querySelector(".pb-lane");
    assert.equal(text(row, ".pb-desc"), "rows");
    assert.equal(text(row, ".pb-message"), "loading");
    assert.deepEqual([...(row?.querySelectorAll(".pb-kv") ?? [])].map((n) => n.textContent), ["loss=0.25", "lr=1e-3"]);
    model.set("lanes", [lane("0", { postfix: [["loss", "0.2"]] })]);
    assert.deepEqual([...(row?.querySelectorAll(".pb-kv") ?? [])].map((n) => n.textContent), ["loss=0.2"]);
    model.set("lanes", [lane("0")]);
    assert.equal(/** @type {HTMLElement} */ (row?.querySelector(".pb-lane-info")).hidden, true);
  });

  test("a bar's meta shows on hover over its row and description, and goes with it", () => {
    const meta = [["shard", "7"], ["tags", '["a", "b"]']];
    const { root, model } = mount({ lanes: [lane("0", { desc: "rows", meta })] });
    const row = root.querySelector(".pb-lane");
    assert.equal(row?.getAttribute("title"), 'shard: 7\ntags: ["a", "b"]');
    assert.equal(row?.querySelector(".pb-desc")?.getAttribute("title"), 'rows\nshard: 7\ntags: ["a", "b"]');
    model.set("lanes", [lane("0", { desc: "rows" })]);
    assert.equal(row?.hasAttribute("title"), false);
    assert.equal(row?.querySelector(".pb-desc")?.getAttribute("title"), "rows");
  });
});

describe("indeterminate bars and notes", () => {
  test("a lane with no total is indeterminate and shows n/?", () => {
    const { root } = mount({ lanes: [lane("0", { n: 1234, total: null, unit: "rows" })] });
    const bar = root.querySelector(".pb-lane .pb-bar");
    assert.ok(bar?.hasAttribute("data-indeterminate"));
    assert.equal(bar?.hasAttribute("aria-valuenow"), false);
    assert.equal(text(root, ".pb-lane-count"), "1234/? rows");
  });

  test("an unknown overall total is indeterminate while running, full once done", () => {
    const { root, model } = mount({ overall: overall({ total: null, pending: null }) });
    const bar = root.querySelector(".pb-bar-overall");
    assert.ok(bar?.hasAttribute("data-indeterminate"));
    assert.equal(bar?.hasAttribute("aria-valuenow"), false);
    assert.equal(text(root, ".pb-ov-count"), "3/? it");
    assert.equal(/** @type {HTMLElement} */ (root.querySelector(".pb-ov-percent")).hidden, true);
    assert.equal(/** @type {HTMLElement} */ (root.querySelector('.pb-chip[data-kind="pending"]')).hidden, true);
    model.set("status", "done");
    assert.equal(bar?.hasAttribute("data-indeterminate"), false);
    assert.equal(bar?.querySelector(".pb-fill")?.getAttribute("style"), "width: 100%;");
  });

  test("more_lanes and more_failures add notes, hidden at zero", () => {
    const { root, model } = mount({ more_lanes: 3, failures: [{ index: 1, label: "1", kind: "error", error: "E", traceback: "", worker: null, attempts: 1 }], more_failures: 12 });
    const moreLanes = /** @type {HTMLElement} */ (root.querySelector(".pb-more-lanes"));
    const moreFailures = /** @type {HTMLElement} */ (root.querySelector(".pb-more-failures"));
    assert.equal(moreLanes.textContent, "+3 more workers");
    assert.equal(moreFailures.textContent, "+12 more failures");
    assert.equal(text(root, ".pb-failures-count"), "13 failures");
    model.set("more_lanes", 1);
    assert.equal(moreLanes.textContent, "+1 more worker");
    model.set("more_lanes", 0);
    model.set("more_failures", 0);
    assert.equal(moreLanes.hidden, true);
    assert.equal(moreFailures.hidden, true);
  });
});

describe("cleanup", () => {
  test("removes every listener render added, with the same callbacks", () => {
    const { model, cleanup } = mount();
    assert.equal(model.calls.on.length, 11);
    assert.deepEqual(
      model.calls.on.map(([event]) => event).sort(),
      ["failure_groups", "failures", "lanes", "more_failures", "more_lanes", "overall", "status", "stoppable", "stopping", "timeline", "title"]
        .map((t) => `change:${t}`),
    );
    assert.equal(model.calls.off.length, 0);
    cleanup();
    assert.equal(model.calls.off.length, model.calls.on.length);
    for (const [event, callback] of model.calls.on) {
      assert.ok(
        model.calls.off.some(([e, cb]) => e === event && cb === callback),
        `${event} was not removed with its own callback`,
      );
    }
    assert.equal(model.listenerCount(), 0);
  });

  test("after cleanup, changes no longer reach the DOM", () => {
    const { root, model, cleanup } = mount();
    cleanup();
    model.set("title", "changed");
    assert.equal(text(root, ".pb-title"), "crunch");
  });
});

describe("cancelled runs", () => {
  test("cancelled items are not counted as processed, and get their own segment", () => {
    const { root } = mount({
      status: "cancelled",
      overall: overall({ done: 3, cancelled: 5, running: 0, pending: 0, total: 8, eta: null }),
    });
    assert.equal(text(root, ".pb-ov-count"), "3/8 it");
    assert.equal(text(root, ".pb-ov-percent"), "37%");
    assert.equal(root.querySelector(".pb-fill-cancel")?.getAttribute("style"), "width: 62.5%;");
    assert.equal(text(root, '.pb-chip[data-kind="cancelled"]'), "5 cancelled");
    assert.equal(root.querySelector(".pb-bar-overall")?.getAttribute("data-tone"), "cancel");
  });
});
