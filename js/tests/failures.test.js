import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import { failure, mount, unmountAll } from "./helpers.js";

afterEach(unmountAll);

/** @param {Element} root */
const details = (root) => /** @type {HTMLDetailsElement[]} */ ([...root.querySelectorAll("details.pb-failure")]);

describe("failures", () => {
  test("each failure shows its kind, label and error; the traceback is collapsed", () => {
    const { root } = mount({
      failures: [
        failure(),
        failure({ index: 6, label: "'b.csv'", kind: "timeout", error: "TaskTimeout: over 5.0 s", traceback: "", worker: "worker 0", attempts: 2 }),
        failure({ index: 7, label: "7", kind: "crashed", error: "worker 1 died (SIGKILL)", traceback: "" }),
      ],
    });
    const rows = details(root);
    assert.equal(rows.length, 3);
    assert.deepEqual(rows.map((d) => d.querySelector(".pb-kind")?.textContent), ["error", "timeout", "crashed"]);
    assert.deepEqual(rows.map((d) => d.getAttribute("data-kind")), ["error", "timeout", "crashed"]);
    assert.equal(rows[0].querySelector(".pb-failure-label")?.textContent, "5");
    assert.equal(rows[0].querySelector(".pb-failure-error")?.textContent, "ValueError: bad item");
    assert.match(rows[0].querySelector(".pb-traceback")?.textContent ?? "", /^Traceback \(most recent call last\)/);
    assert.equal(rows[1].querySelector(".pb-failure-meta")?.textContent, "item #6 · on worker 0 · 2 attempts");
    assert.equal(rows[1].querySelector(".pb-traceback")?.textContent, "TaskTimeout: over 5.0 s", "no traceback: the error stands in");
    for (const row of rows) {
      assert.equal(row.open, false, "collapsed by default");
      assert.equal(row.firstElementChild?.tagName, "SUMMARY");
    }
    assert.equal(text(root), "3 failures");
    assert.equal(/** @type {HTMLElement} */ (root.querySelector(".pb-failures")).hidden, false);
  });

  test("the section is hidden when nothing failed", () => {
    const { root } = mount();
    assert.equal(/** @type {HTMLElement} */ (root.querySelector(".pb-failures")).hidden, true);
  });

  test("an expanded traceback stays expanded through later updates", () => {
    const { root, model } = mount({ failures: [failure({ index: 1, label: "1" }), failure({ index: 2, label: "2" })] });
    const [first, second] = details(root);
    second.open = true;
    model.set("failures", [
      failure({ index: 1, label: "1" }),
      failure({ index: 2, label: "2", attempts: 3 }),
      failure({ index: 9, label: "9" }),
    ]);
    model.set("status", "failed");
    const after = details(root);
    assert.equal(after.length, 3);
    assert.equal(after[0], first);
    assert.equal(after[1], second, "the same node, not a rebuilt one");
    assert.equal(after[1].open, true);
    assert.equal(after[0].open, false);
    assert.equal(after[2].open, false);
    assert.equal(after[1].querySelector(".pb-failure-meta")?.textContent, "item #2 · on worker 1 · 3 attempts");
  });

  test("clicking the summary expands the traceback", () => {
    const { root } = mount({ failures: [failure()] });
    const [row] = details(root);
    /** @type {HTMLElement} */ (row.querySelector("summary")).click();
    assert.equal(row.open, true);
  });

  test("failures with the same label but another kind are separate rows", () => {
    const { root, model } = mount({ failures: [failure({ kind: "error" })] });
    const [errorRow] = details(root);
    errorRow.open = true;
    model.set("failures", [failure({ kind: "error" }), failure({ kind: "timeout" })]);
    const rows = details(root);
    assert.equal(rows.length, 2);
    assert.equal(rows[0], errorRow);
    assert.equal(rows[0].open, true);
  });

  test("identical failures are all shown", () => {
    const { root } = mount({ failures: [failure({ index: null }), failure({ index: null })] });
    assert.equal(details(root).length, 2);
  });
});

/** @param {Element} root */
function text(root) {
  return root.querySelector(".pb-failures-count")?.textContent;
}
