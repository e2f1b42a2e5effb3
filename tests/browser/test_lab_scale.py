"""2,000 tasks on 2 workers in a real JupyterLab: the panel's DOM stays bounded, the
kernel sends few comm messages a second, and updates reach the page quickly."""

from __future__ import annotations

import statistics

import _notebooks as nbs
from _harness import CommCounter, read_panel, record_metrics, watched

POOL_CELL = 1
MAX_COMM_MSGS_PER_S = 15

# null while the output is being replaced (the final text fallback, as the cell ends)
_DOM_JS = """(root) => !root.closest('.jp-Cell-outputArea') ? null : ({
  elements: root.querySelectorAll('*').length,
  lanes: root.querySelectorAll('.pb-lane').length,
  failures: root.querySelectorAll('.pb-failure').length,
  outputs: root.closest('.jp-Cell-outputArea').querySelectorAll('*').length,
  done: root.querySelector('.pb-chip[data-kind=done] .pb-chip-n')?.textContent,
  messages: [...root.querySelectorAll('.pb-lane .pb-message')].map((e) => e.textContent)})"""


def test_scale_dom_bounded_few_messages_low_latency(open_lab, artifacts):
    nbp = open_lab("scale.ipynb", setup=CommCounter)
    counter = nbp.extra
    panel = nbp.run_to_panel(POOL_CELL, "scale")

    polls = []
    while nbp.cell_running(POOL_CELL):
        poll = panel.evaluate(_DOM_JS)
        if poll is not None:
            polls.append(poll)
        if len(polls) == 6:
            panel.screenshot(path=str(artifacts / "lab-scale-mid.png"))
        nbp.page.wait_for_timeout(500)
    nbp.wait_all_done(timeout=240)
    nbp.wait_status(POOL_CELL, "done")
    final = read_panel(panel)
    panel.screenshot(path=str(artifacts / "lab-scale-final.png"))
    n = nbs.SCALE_TASKS
    assert final["count"] == f"{n}/{n} it" and final["percent"] == "100%", final
    assert final["chips"]["done"] == str(n), final["chips"]
    assert f"STATS {n} {n} " in nbp.outputs_text()

    # the DOM stays bounded while thousands of items go by
    assert len(polls) >= 8, f"the run was too short to watch: {len(polls)} polls"
    dones = [int(p["done"]) for p in polls if p["done"] and p["done"].isdigit()]
    assert dones and dones[-1] - dones[0] >= n // 4, "too few items finished between polls"
    assert max(p["lanes"] for p in polls) == nbs.SCALE_WORKERS, polls
    assert max(p["failures"] for p in polls) == 0
    # nothing per item: a few hundred elements at most for 2,000 items, and no growth in
    # step with the items finished (a row or node per item would add hundreds here)
    max_elements = max(p["elements"] for p in polls)
    assert max_elements <= n // 5, max_elements
    steady = [p for p in polls if p["lanes"] == nbs.SCALE_WORKERS and (p["done"] or "").isdigit()]
    grown = steady[-1]["elements"] - steady[0]["elements"]
    finished = int(steady[-1]["done"]) - int(steady[0]["done"])
    assert grown <= max(20, finished // 20), (grown, finished, [p["elements"] for p in polls])
    assert max(p["outputs"] for p in polls) <= max_elements + 40, polls
    # lanes of 6 ms tasks are never blank between tasks: each shows its latest message
    shown = [m for p in steady for m in p["messages"]]
    assert sum(m.startswith("t=") for m in shown) >= 0.9 * len(shown), shown

    # comm messages of the panel's model reaching the page, timed by the kernel's clock
    comms = counter.panel_comms()
    assert len(comms) == 1, f"panel comms: {comms} of {list(counter.opens)}"
    times = sorted(counter.msgs.get(comms[0], []))
    assert len(times) >= 10, f"only {len(times)} comm messages for the panel"
    span = times[-1] - times[0]
    rate = (len(times) - 1) / span
    window = max(sum(1 for u in times if t <= u < t + 1) for t in times)

    # latency: the task's time.time() in its message and bar description -> Date.now()
    # when that text first reached the DOM (same machine, same clock). Only values still
    # current at a snapshot are shown; the ones superseded in between never are.
    seen = watched(nbp.page, "scale")["firstSeen"]
    stamps = [(key.split(":", 1)[1], at) for key, at in seen]
    latencies = sorted(at - float(text[2:]) * 1000 for text, at in stamps if text.startswith("t="))
    assert len(latencies) >= 20, f"only {len(latencies)} timed updates reached the page"
    median = statistics.median(latencies)
    metrics = {
        "tasks": n, "workers": nbs.SCALE_WORKERS, "run_s": round(span, 2),
        "comm_msgs": len(times), "comm_msgs_per_s": round(rate, 2),
        "comm_msgs_max_in_1s": window,
        "latency_ms": {"median": round(median, 1),
                       "p90": round(latencies[int(0.9 * (len(latencies) - 1))], 1),
                       "min": round(latencies[0], 1), "max": round(latencies[-1], 1),
                       "samples": len(latencies)},
        "dom": {"max_elements": max_elements, "max_lanes": max(p["lanes"] for p in polls),
                "polls": len(polls)},
    }
    record_metrics("scale", metrics)
    print("browser metrics:", metrics)
    assert rate <= MAX_COMM_MSGS_PER_S, metrics
    assert latencies[0] >= -5, f"negative latency: clocks disagree? {metrics}"
    assert median <= 500, metrics
