import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { afterEach, describe, test } from "node:test";
import { failure, lane, mount, overall, timelineLane, unmountAll } from "./helpers.js";

afterEach(unmountAll);

const HOSTILE = [
  "<img src=x onerror=alert(1)>",
  "</script><script>alert(1)</script>",
  '"><svg onload=alert(1)>',
  "&lt;b&gt;not bold&lt;/b&gt;",
];

/** Every user string of a snapshot set to `evil`. @param {string} evil */
function hostileSnapshot(evil) {
  return {
    title: evil,
    status: evil,
    overall: overall({ unit: evil }),
    lanes: [
      lane(evil, {
        name: evil,
        state: evil,
        task: evil,
        desc: evil,
        unit: evil,
        message: evil,
        postfix: [[evil, evil]],
        meta: [[evil, evil]],
      }),
      lane("idle", { name: evil, state: evil, task: null }),
    ],
    more_lanes: 0,
    failures: [failure({ label: evil, kind: evil, error: evil, traceback: evil, worker: evil })],
    more_failures: 0,
    timeline: {
      t0: 0,
      t1: 4,
      lanes: [timelineLane(evil, [[0, 1, evil, evil, evil], [1, 4, "failed", evil, evil]], { name: evil })],
      more_blocks: 0,
    },
  };
}

/** Show the timeline, so that its text is drawn too. @param {Element} root */
function showTimeline(root) {
  /** @type {HTMLElement} */ (root.querySelector('.pb-tab[data-view="timeline"]')).click();
}

/** @param {Element} root */
function assertNoInjectedElements(root) {
  assert.equal(root.querySelectorAll("img, script, b, iframe").length, 0, "user text created an element");
  // The panel draws its own SVG (sparklines, timeline): each has a pb- class.
  for (const node of root.querySelectorAll("svg")) {
    assert.ok(/^pb-/.test(node.getAttribute("class") ?? ""), "user text created an svg element");
  }
  for (const node of root.querySelectorAll("*")) {
    for (const attr of node.getAttributeNames()) assert.ok(!attr.startsWith("on"), `event handler attribute ${attr}`);
  }
}

describe("user text is shown literally", () => {
  for (const evil of HOSTILE) {
    test(`on first render: ${evil}`, () => {
      const { root } = mount(hostileSnapshot(evil));
      showTimeline(root);
      assertNoInjectedElements(root);
      const row = root.querySelector(".pb-lane");
      for (const selector of [".pb-title", ".pb-status", ".pb-lane-name-text", ".pb-task", ".pb-desc", ".pb-message"]) {
        assert.equal(row?.querySelector(selector)?.textContent ?? root.querySelector(selector)?.textContent, evil, selector);
      }
      assert.equal(root.querySelector(".pb-kv")?.textContent, `${evil}=${evil}`);
      assert.equal(root.querySelector(".pb-failure-label")?.textContent, evil);
      assert.equal(root.querySelector(".pb-failure-error")?.textContent, evil);
      assert.equal(root.querySelector(".pb-kind")?.textContent, evil);
      assert.equal(root.querySelector(".pb-traceback")?.textContent, evil);
      assert.ok(root.querySelector(".pb-failure-meta")?.textContent?.includes(evil));
      assert.equal(root.querySelector(".pb-title")?.getAttribute("title"), evil, "tooltips carry the text verbatim");
      assert.equal(row?.getAttribute("title"), `${evil}: ${evil}`, "the meta tooltip carries the text verbatim");
      assert.equal(row?.querySelector(".pb-desc")?.getAttribute("title"), `${evil}\n${evil}: ${evil}`);
      assert.equal(root.querySelector(".pb-tl-name")?.textContent, evil);
      const tips = [...root.querySelectorAll("rect.pb-blk > title")].map((t) => t.textContent ?? "");
      assert.equal(tips.length, 2);
      for (const tip of tips) assert.ok(tip.startsWith(`${evil} — `) && tip.endsWith(`\n${evil}`), tip);
      assert.ok(root.querySelector("rect.pb-blk")?.classList.contains("pb-blk-other"), "an unknown status gets no class of its own");
      assert.ok(root.textContent?.includes(evil));
    });

    test(`on update: ${evil}`, () => {
      const { root, model } = mount();
      for (const [name, value] of Object.entries(hostileSnapshot(evil))) model.set(name, value);
      showTimeline(root);
      assertNoInjectedElements(root);
      assert.ok(root.querySelector("rect.pb-blk > title")?.textContent?.startsWith(evil));
      assert.equal(root.querySelector(".pb-title")?.textContent, evil);
      assert.equal(root.querySelector(".pb-traceback")?.textContent, evil);
    });
  }
});

test("no source module writes HTML", () => {
  const dir = new URL("../", import.meta.url);
  const sources = readdirSync(dir).filter((f) => f.endsWith(".js"));
  assert.ok(sources.includes("widget.js") && sources.includes("panel.js"));
  for (const file of sources) {
    const code = readFileSync(new URL(file, dir), "utf8");
    for (const sink of ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "createContextualFragment", "DOMParser"]) {
      assert.ok(!code.includes(sink), `${file} uses ${sink}`);
    }
  }
});
