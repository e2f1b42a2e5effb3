import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import { axisTicks, blockTip } from "../timeline.js";
import { clickOn, fakeModel, makeHost, mount, renderView, snapshot, timeline, timelineLane, unmountAll } from "./helpers.js";

afterEach(unmountAll);

/** @param {Element} root @param {"lanes" | "timeline"} view */
function tab(root, view) {
  return /** @type {HTMLElement} */ (root.querySelector(`.pb-tab[data-view="${view}"]`));
}

/** @param {Element} root */
function showTimeline(root) {
  tab(root, "timeline").click();
}

/** The timeline rows, by lane name. @param {Element} root @param {string} name */
function track(root, name) {
  for (const row of root.querySelectorAll(".pb-tl-row")) {
    if (row.querySelector(".pb-tl-name")?.textContent === name) return /** @type {SVGSVGElement} */ (row.querySelector("svg"));
  }
  throw new Error(`no timeline row ${name}`);
}

/** @param {SVGSVGElement} svg */
function rects(svg) {
  return [...svg.querySelectorAll("rect.pb-blk")];
}

/** @param {Element} rect */
function box(rect) {
  return { x: Number(rect.getAttribute("x")), width: Number(rect.getAttribute("width")) };
}

/** @param {Element} root */
function panes(root) {
  return {
    lanes: /** @type {HTMLElement} */ (root.querySelector(".pb-view-lanes")).hidden,
    timeline: /** @type {HTMLElement} */ (root.querySelector(".pb-timeline")).hidden,
  };
}

describe("timeline", () => {
  test("one rect per block, placed by start/end over [0, t1], coloured by outcome", () => {
    const { root } = mount({ timeline: timeline() });
    showTimeline(root);
    assert.equal(root.querySelectorAll(".pb-tl-row[role=listitem]").length, 2);
    const w0 = track(root, "worker 0");
    const w1 = track(root, "worker 1");
    // The track's viewBox spans [0, t1] seconds: a rect's x/width are its start/duration.
    assert.equal(w0.getAttribute("viewBox"), "0 0 10 1");
    assert.equal(w0.getAttribute("preserveAspectRatio"), "none");
    assert.deepEqual(rects(w0).map(box), [{ x: 0, width: 2 }, { x: 2, width: 3 }, { x: 5, width: 1 }]);
    assert.deepEqual(rects(w1).map(box), [{ x: 0, width: 1 }, { x: 1, width: 2 }, { x: 3, width: 7 }]);
    const classes = [...rects(w0), ...rects(w1)].map((r) => r.getAttribute("class"));
    assert.deepEqual(classes, [
      "pb-blk pb-blk-done",
      "pb-blk pb-blk-failed",
      "pb-blk pb-blk-timeout",
      "pb-blk pb-blk-crashed",
      "pb-blk pb-blk-retried",
      "pb-blk pb-blk-running",
    ]);
  });

  test("a block ending after t1 stretches the scale, so nothing is drawn off the end", () => {
    const { root } = mount({ timeline: timeline({ t1: 8 }) });
    showTimeline(root);
    assert.equal(track(root, "worker 0").getAttribute("viewBox"), "0 0 10 1");
  });

  test("each block has a <title>: label, outcome, duration, when, and the error", () => {
    const { root } = mount({ timeline: timeline() });
    showTimeline(root);
    const tips = rects(track(root, "worker 0")).map((r) => r.querySelector("title")?.textContent);
    assert.deepEqual(tips, [
      "1 — done, 2.0 s (0:00–0:02)",
      "2 — failed, 3.0 s (0:02–0:05)\nValueError: bad item",
      "3 — timed out, 1.0 s (0:05–0:06)\nTimeoutError: over 1 s",
    ]);
  });

  test("updating a block changes the same rect element, and leaves the others alone", () => {
    const { window, root, model } = mount({ timeline: timeline() });
    showTimeline(root);
    const w1 = track(root, "worker 1");
    const [crashed, retried, running] = rects(w1);
    const observer = new window.MutationObserver(() => {});
    observer.observe(crashed, { subtree: true, attributes: true, characterData: true, childList: true });
    const next = timeline({ t1: 12 });
    next.lanes[1] = timelineLane("1", [
      [0, 1, "crashed", "4", "worker died"],
      [1, 3, "retried", "5", "OSError: flaky"],
      [3, 12, "done", "6", ""],
      [12, 12, "running", "7", ""],
    ]);
    model.set("timeline", next);
    const after = rects(track(root, "worker 1"));
    assert.equal(track(root, "worker 1"), w1, "same track element");
    assert.deepEqual(after.slice(0, 3), [crashed, retried, running], "rects are reused by position");
    assert.equal(after.length, 4);
    assert.deepEqual(box(running), { x: 3, width: 9 });
    assert.equal(running.getAttribute("class"), "pb-blk pb-blk-done");
    assert.equal(w1.getAttribute("viewBox"), "0 0 12 1");
    assert.deepEqual(observer.takeRecords(), [], "an unchanged block's rect is not touched");
    model.set("timeline", timeline({ lanes: [timelineLane("1", [[0, 1, "done", "4", ""]])] }));
    assert.equal(rects(w1).length, 1, "rects of vanished blocks are removed");
    assert.equal(rects(w1)[0], crashed);
    assert.equal(root.querySelectorAll(".pb-tl-row[role=listitem]").length, 1, "the vanished lane's row is removed");
  });

  test("re-sending the same timeline while shown touches no node", () => {
    const { window, root, model } = mount({ timeline: timeline({ more_blocks: 3 }) });
    showTimeline(root);
    clickOn(rects(track(root, "worker 0"))[1]);
    const observer = new window.MutationObserver(() => {});
    observer.observe(root, { subtree: true, childList: true, attributes: true, characterData: true });
    model.set("timeline", timeline({ more_blocks: 3 }));
    assert.deepEqual(observer.takeRecords(), []);
  });

  test("a hostile block label is literal text in its <title> and creates no element", () => {
    const evil = "<img src=x onerror=alert(1)>";
    const { root } = mount({
      timeline: timeline({ lanes: [timelineLane("0", [[0, 1, "failed", evil, evil]], { name: evil })] }),
    });
    showTimeline(root);
    const title = root.querySelector("rect.pb-blk > title");
    assert.equal(title?.textContent, `${evil} — failed, 1.0 s (0:00–0:01)\n${evil}`);
    assert.equal(title?.children.length, 0);
    assert.equal(root.querySelector(".pb-tl-name")?.textContent, evil);
    assert.equal(root.querySelectorAll("img").length, 0);
  });

  test("the tabs switch between lanes and timeline", () => {
    const { root } = mount({ timeline: timeline() });
    const views = /** @type {HTMLElement} */ (root.querySelector(".pb-views"));
    assert.equal(views.hidden, false);
    assert.equal(views.getAttribute("role"), "tablist");
    assert.deepEqual(panes(root), { lanes: false, timeline: true }, "lanes first");
    assert.equal(tab(root, "lanes").getAttribute("aria-selected"), "true");
    showTimeline(root);
    assert.deepEqual(panes(root), { lanes: true, timeline: false });
    assert.equal(tab(root, "timeline").getAttribute("aria-selected"), "true");
    assert.equal(tab(root, "lanes").getAttribute("aria-selected"), "false");
    tab(root, "lanes").click();
    assert.deepEqual(panes(root), { lanes: false, timeline: true });
  });

  test("the failures stay visible under the timeline", () => {
    const { root } = mount({ timeline: timeline(), failures: [{ index: 2, label: "2", kind: "error", error: "E" }] });
    showTimeline(root);
    assert.equal(/** @type {HTMLElement} */ (root.querySelector(".pb-failures")).hidden, false);
  });

  test("a hidden timeline is not redrawn; showing it draws the latest", () => {
    const { root, model } = mount({ timeline: timeline() });
    model.set("timeline", timeline({ t1: 30 }));
    assert.equal(root.querySelectorAll("rect.pb-blk").length, 0, "nothing drawn while the lanes are shown");
    showTimeline(root);
    assert.equal(track(root, "worker 0").getAttribute("viewBox"), "0 0 30 1");
    assert.equal(root.querySelectorAll("rect.pb-blk").length, 6);
  });

  test("without a timeline (older Python, older notebook) there are no tabs and no timeline", () => {
    const { root } = mount();
    assert.equal(/** @type {HTMLElement} */ (root.querySelector(".pb-views")).hidden, true);
    assert.deepEqual(panes(root), { lanes: false, timeline: true });
    assert.equal(root.querySelectorAll(".pb-tl-row[role=listitem], rect").length, 0);
    assert.equal(root.querySelectorAll(".pb-lane").length, 2, "the lanes are drawn as before");
  });

  test("a malformed timeline does not throw", () => {
    for (const bad of ["nope", null, 3, { lanes: "x" }, { t1: "9", lanes: [null, { blocks: [null, 5, [], ["a", "b"]] }] }]) {
      const host = makeHost();
      const model = fakeModel({ ...snapshot(), timeline: bad });
      renderView(model, host.el);
      const root = /** @type {Element} */ (host.el.querySelector(".poolbars-panel"));
      const timelineTab = root.querySelector('.pb-tab[data-view="timeline"]');
      /** @type {HTMLElement} */ (timelineTab).click();
      for (const rect of root.querySelectorAll("rect.pb-blk")) {
        assert.ok(Number(rect.getAttribute("width")) >= 0);
        assert.ok(!Number.isNaN(Number(rect.getAttribute("x"))));
      }
    }
  });

  test("if the timeline empties while shown, the lanes come back", () => {
    const { root, model } = mount({ timeline: timeline() });
    showTimeline(root);
    model.set("timeline", { t0: null, t1: 0, lanes: [], more_blocks: 0 });
    assert.deepEqual(panes(root), { lanes: false, timeline: true });
    model.set("timeline", timeline());
    assert.deepEqual(panes(root), { lanes: true, timeline: false }, "the user's choice is remembered");
  });

  test("the axis labels round times from 0 to t1", () => {
    const { root, model } = mount({ timeline: timeline({ t1: 60 }) });
    showTimeline(root);
    /** @returns {string[]} */
    const labels = () => [...root.querySelectorAll(".pb-tl-axis text")].map((t) => t.textContent ?? "");
    assert.deepEqual(labels(), ["0:00", "0:15", "0:30", "0:45", "1:00"]);
    const texts = [...root.querySelectorAll(".pb-tl-axis text")];
    assert.deepEqual(texts.map((t) => t.getAttribute("x")), ["0%", "25%", "50%", "75%", "100%"]);
    assert.equal(texts[0].getAttribute("text-anchor"), "start");
    assert.equal(texts[4].getAttribute("text-anchor"), "end");
    model.set("timeline", timeline({ t1: 7200 }));
    assert.deepEqual(labels(), ["0:00", "30:00", "1:00:00", "1:30:00", "2:00:00"]);
    assert.equal(root.querySelectorAll(".pb-tl-axis line").length, 5, "old ticks are reused or removed");
  });

  test("merged blocks are noted; the note hides at zero", () => {
    const { root, model } = mount({ timeline: timeline({ more_blocks: 1234 }) });
    showTimeline(root);
    const more = /** @type {HTMLElement} */ (root.querySelector(".pb-tl-more"));
    assert.equal(more.hidden, false);
    assert.equal(more.textContent, "1234 older blocks merged to keep the timeline small");
    model.set("timeline", timeline());
    assert.equal(more.hidden, true);
  });

  test("the legend lists the outcomes present", () => {
    const { root, model } = mount({ timeline: timeline() });
    showTimeline(root);
    /** @returns {string[]} */
    const shown = () => [...root.querySelectorAll(".pb-tl-key")].filter((k) => !(/** @type {HTMLElement} */ (k).hidden)).map((k) => k.textContent ?? "");
    assert.deepEqual(shown(), ["done", "failed", "timed out", "crashed", "retried", "running"]);
    model.set("timeline", timeline({ lanes: [timelineLane("0", [[0, 1, "done", "1", ""]])] }));
    assert.deepEqual(shown(), ["done"]);
    // An interrupted run's last blocks are cancelled: they get a key of their own.
    model.set("timeline", timeline({ lanes: [timelineLane("0", [[0, 1, "done", "1", ""], [1, 2, "cancelled", "2", ""]])] }));
    assert.deepEqual(shown(), ["done", "cancelled"]);
    const cancelled = rects(track(root, "worker 0"))[1];
    assert.ok(cancelled.classList.contains("pb-blk-cancelled"));
  });

  test("clicking a block pins its text under the timeline; clicking it again unpins", () => {
    const { root, model } = mount({ timeline: timeline() });
    showTimeline(root);
    const detail = /** @type {HTMLElement} */ (root.querySelector(".pb-tl-detail"));
    assert.equal(detail.hidden, true);
    const failed = rects(track(root, "worker 0"))[1];
    clickOn(failed);
    assert.equal(detail.hidden, false);
    assert.equal(detail.textContent, "worker 0: 2 — failed, 3.0 s (0:02–0:05)\nValueError: bad item");
    assert.ok(failed.hasAttribute("data-pinned"));
    // A live update keeps the pinned text current.
    model.set("timeline", timeline({ lanes: [timelineLane("0", [[0, 2, "done", "1", ""], [2, 5, "failed", "2", "ValueError: worse"]])] }));
    assert.equal(detail.textContent, "worker 0: 2 — failed, 3.0 s (0:02–0:05)\nValueError: worse");
    clickOn(failed);
    assert.equal(detail.hidden, true);
    assert.ok(!failed.hasAttribute("data-pinned"));
  });

  test("a pinned block that goes away unpins", () => {
    const { root, model } = mount({ timeline: timeline() });
    showTimeline(root);
    const last = rects(track(root, "worker 0"))[2];
    clickOn(last);
    model.set("timeline", timeline({ lanes: [timelineLane("0", [[0, 2, "done", "1", ""]])] }));
    assert.equal(/** @type {HTMLElement} */ (root.querySelector(".pb-tl-detail")).hidden, true);
  });

  test("cleanup removes the tab and block click listeners", () => {
    const { root, cleanup } = mount({ timeline: timeline() });
    showTimeline(root);
    tab(root, "lanes").click();
    cleanup();
    showTimeline(root);
    assert.deepEqual(panes(root), { lanes: false, timeline: true }, "a tab click after cleanup does nothing");
    const rect = rects(track(root, "worker 0"))[0];
    clickOn(rect);
    assert.equal(/** @type {HTMLElement} */ (root.querySelector(".pb-tl-detail")).hidden, true);
  });
});

describe("axisTicks", () => {
  test("at most six round ticks from 0", () => {
    assert.deepEqual(axisTicks(10), [0, 2, 4, 6, 8, 10]);
    assert.deepEqual(axisTicks(61), [0, 15, 30, 45, 60]);
    assert.deepEqual(axisTicks(4), [0, 1, 2, 3, 4]);
    assert.deepEqual(axisTicks(0.4), [0]);
    assert.deepEqual(axisTicks(3 * 86400), [0, 86400, 2 * 86400, 3 * 86400]);
    assert.deepEqual(axisTicks(20 * 86400), [0, 4, 8, 12, 16, 20].map((d) => d * 86400));
  });
});

describe("blockTip", () => {
  test("a short block gets a fine duration; no error, no second line", () => {
    assert.equal(blockTip({ start: 1, end: 1.25, status: "done", label: "'a.csv'", error: "" }), "'a.csv' — done, 0.25 s (0:01–0:01)");
    assert.equal(blockTip({ start: 0, end: 75, status: "retried", label: "", error: "E" }), "(no label) — retried, 1:15 (0:00–1:15)\nE");
  });
});
