import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import { sparkPoints } from "../sparkline.js";
import { lane, laneByName, mount, overall, unmountAll } from "./helpers.js";

afterEach(unmountAll);

describe("sparkPoints", () => {
  test("spreads the values across the width, 0 at the bottom and the peak at the top", () => {
    // 60×14 with 1 px kept round the line: x from 1 to 59, y from 13 (0) to 1 (peak).
    assert.equal(sparkPoints([0, 1, 2]), "1,13 30,7 59,1");
    assert.equal(sparkPoints([4, 0, 1, 3], 30, 10), "1,1 10.3,9 19.7,7 29,3");
  });

  test("a flat series lies at the top, an all-zero one at the bottom", () => {
    assert.equal(sparkPoints([2, 2]), "1,1 59,1");
    assert.equal(sparkPoints([0, 0, 0]), "1,13 30,13 59,13");
  });

  test("fewer than two points draw nothing", () => {
    assert.equal(sparkPoints([]), "");
    assert.equal(sparkPoints([5]), "");
  });
});

describe("sparklines in the panel", () => {
  /** @param {Element | null | undefined} node */
  const isHidden = (node) => node?.hasAttribute("hidden");

  test("the overall sparkline sits beside the rate, with its peak in a tooltip", () => {
    const { root } = mount({ overall: overall({ spark: [0, 1, 2] }) });
    const spark = root.querySelector(".pb-overall-text > svg.pb-spark");
    assert.ok(spark);
    assert.equal(spark.previousElementSibling?.className, "pb-ov-rate");
    assert.equal(isHidden(spark), false);
    assert.equal(spark.getAttribute("width"), "60");
    assert.equal(spark.getAttribute("height"), "14");
    assert.equal(spark.querySelector("polyline")?.getAttribute("points"), "1,13 30,7 59,1");
    assert.equal(spark.querySelector("title")?.textContent, "throughput over the last 6 s (peak 2.0 it/s)");
  });

  test("each lane row has its own sparkline", () => {
    const { root, model } = mount({ lanes: [lane("0", { spark: [1, 0] }), lane("1", { spark: [3] })] });
    const w0 = laneByName(root, "worker 0")?.querySelector("svg.pb-spark");
    const w1 = laneByName(root, "worker 1")?.querySelector("svg.pb-spark");
    assert.equal(isHidden(w0), false);
    assert.equal(w0?.querySelector("polyline")?.getAttribute("points"), "1,1 59,13");
    assert.equal(isHidden(w1), true, "one point: hidden");
    model.set("lanes", [lane("0", { spark: [1, 0, 1] }), lane("1", { spark: [3, 4] })]);
    assert.equal(laneByName(root, "worker 0")?.querySelector("svg.pb-spark"), w0, "updated in place");
    assert.equal(w0?.querySelector("polyline")?.getAttribute("points"), "1,1 30,13 59,1");
    assert.equal(isHidden(w1), false);
  });

  test("missing or short series hide the sparklines", () => {
    const { root, model } = mount();
    const sparks = [...root.querySelectorAll("svg.pb-spark")];
    assert.equal(sparks.length, 3, "one overall, one per lane");
    for (const spark of sparks) assert.equal(isHidden(spark), true);
    model.set("overall", overall({ spark: [1, 2] }));
    model.set("overall", overall({ spark: [1] }));
    assert.equal(isHidden(root.querySelector(".pb-ov-spark")), true);
  });
});
