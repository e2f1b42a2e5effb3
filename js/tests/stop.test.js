import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import { clickOn, mount, unmountAll } from "./helpers.js";

afterEach(unmountAll);

const FOREGROUND =
  "Running in the foreground: use the kernel's interrupt (■) to stop; map_async runs can be stopped here";

/** @param {Element} root */
function stopButton(root) {
  const button = root.querySelector(".pb-header > button.pb-stop");
  assert.ok(button, "the Stop button is in the header");
  return /** @type {HTMLButtonElement} */ (button);
}

describe("Stop button", () => {
  test("in blocking mode it is disabled, and its tooltip says to interrupt the kernel", () => {
    const { root, model } = mount({ stoppable: false });
    const stop = stopButton(root);
    assert.equal(stop.hidden, false);
    assert.equal(stop.disabled, true);
    assert.equal(stop.getAttribute("title"), FOREGROUND);
    assert.equal(stop.textContent, "Stop");
    stop.click();
    assert.deepEqual(model.calls.send, [], "a disabled Stop sends nothing");
  });

  test("a model without the trait (older Python) is treated as blocking", () => {
    const { root } = mount();
    assert.equal(stopButton(root).disabled, true);
    assert.equal(stopButton(root).getAttribute("title"), FOREGROUND);
  });

  test("in background mode it is enabled", () => {
    const { root, model } = mount({ stoppable: false });
    model.set("stoppable", true);
    const stop = stopButton(root);
    assert.equal(stop.disabled, false);
    assert.equal(stop.textContent, "Stop");
    assert.notEqual(stop.getAttribute("title"), FOREGROUND);
  });

  test("a click sends {event: 'stop'} once and shows Stopping…", () => {
    const { root, model } = mount({ stoppable: true });
    const stop = stopButton(root);
    stop.click();
    assert.deepEqual(model.calls.send, [{ event: "stop" }]);
    assert.equal(stop.textContent, "Stopping…");
    assert.equal(stop.disabled, true);
    stop.click();
    clickOn(stop);
    assert.equal(model.calls.send.length, 1, "sent once");
    // A snapshot before Python has set `stopping` does not bring the button back.
    model.set("status", "running");
    assert.equal(stop.textContent, "Stopping…");
  });

  test("the stopping trait shows Stopping… (pressed in another view of the run)", () => {
    const { root, model } = mount({ stoppable: true, stopping: false });
    model.set("stopping", true);
    const stop = stopButton(root);
    assert.equal(stop.textContent, "Stopping…");
    assert.equal(stop.disabled, true);
    assert.ok(stop.hasAttribute("data-stopping"));
  });

  test("hidden once the run is over", () => {
    const { root, model } = mount({ stoppable: true });
    for (const status of ["done", "failed", "cancelled"]) {
      model.set("status", status);
      assert.equal(stopButton(root).hidden, true, status);
    }
    model.set("status", "running");
    assert.equal(stopButton(root).hidden, false);
  });

  test("a saved notebook's model (no send) does not throw on a click", () => {
    const { root, model } = mount({ stoppable: true });
    /** @type {any} */ (model).send = undefined;
    stopButton(root).click();
    assert.equal(stopButton(root).textContent, "Stopping…");
  });

  test("cleanup removes its click listener", () => {
    const { root, model, cleanup } = mount({ stoppable: true });
    cleanup();
    stopButton(root).click();
    assert.deepEqual(model.calls.send, []);
  });
});
