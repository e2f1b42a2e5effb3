"""The panel at scale in a real JupyterLab: pb.Pool(32) over 120 tasks, 7 failing (the
issue's case). While it runs, the 32 lanes scroll in a bounded height, failing lanes
first, each with its numbers; once it ends, the lanes fold into one summary line, so the
totals and the failures come first under the bar."""

from __future__ import annotations

import re

import _notebooks as nbs
from _harness import read_panel

POOL_CELL = 1

_LANES_JS = """(root) => {
  const list = root.querySelector('.pb-lanes');
  const rows = [...root.querySelectorAll('.pb-lane')];
  return {
    status: root.querySelector('.pb-status').textContent,
    many: list.hasAttribute('data-many'),
    listHeight: list.getBoundingClientRect().height, scrollHeight: list.scrollHeight,
    rows: rows.length,
    failed: rows.map(r => r.querySelector('.pb-lane-failed').textContent),
    eta: rows.map(r => r.querySelector('.pb-lane-eta').textContent).filter(t => t),
    rate: rows.map(r => r.querySelector('.pb-lane-rate').textContent).filter(t => t),
  };
}"""

_LAYOUT_JS = """(root) => {
  const box = (s) => root.querySelector(s).getBoundingClientRect();
  const fold = root.querySelector('.pb-fold');
  return {
    fold: fold.hidden ? null : fold.textContent, expanded: fold.getAttribute('aria-expanded'),
    bodyHidden: root.querySelector('.pb-lane-body').hidden,
    barBottom: box('.pb-overall').bottom, foldTop: box('.pb-fold').top,
    foldBottom: box('.pb-fold').bottom, failuresTop: box('.pb-failures').top,
    panelHeight: root.getBoundingClientRect().height,
  };
}"""


def test_32_workers_scroll_while_running_and_fold_into_one_line_at_the_end(open_lab, artifacts):
    nbp = open_lab("wide.ipynb")
    panel = nbp.run_to_panel(POOL_CELL, "wide")
    polls, shot = [], False
    while nbp.cell_running(POOL_CELL):
        poll = panel.evaluate(_LANES_JS)
        if poll["status"] == "running":
            polls.append(poll)
            if not shot and poll["rows"] == nbs.WIDE_WORKERS and poll["eta"]:
                panel.screenshot(path=str(artifacts / "lab-wide-mid.png"))
                shot = True
        nbp.page.wait_for_timeout(250)
    nbp.wait_all_done(timeout=240)
    nbp.wait_status(POOL_CELL, "failed")

    full = [p for p in polls if p["rows"] == nbs.WIDE_WORKERS]
    assert full and shot, polls
    for poll in full:  # bounded: the 32 rows scroll inside the list
        assert poll["many"] and poll["scrollHeight"] > poll["listHeight"] + 50, poll
        assert poll["listHeight"] < 450, poll
        # lanes where items failed are drawn first
        marks = [bool(f) for f in poll["failed"]]
        assert marks == sorted(marks, reverse=True), poll["failed"]
    assert any(p["eta"] for p in full) and any(p["rate"] for p in full), full
    assert all(re.fullmatch(r"ETA \d+:\d\d", e) for p in full for e in p["eta"]), full

    final = read_panel(panel)
    layout = panel.evaluate(_LAYOUT_JS)
    panel.screenshot(path=str(artifacts / "lab-wide-final.png"))
    n, bad = nbs.WIDE_TASKS, len(nbs.WIDE_FAILING)
    assert final["count"] == f"{n}/{n} it", final
    assert final["chips"]["done"] == str(n - bad) and final["chips"]["failed"] == str(bad)
    assert f"STATS {n} {n - bad} {bad}" in nbp.outputs_text()
    assert re.fullmatch(rf"{nbs.WIDE_WORKERS} workers · {n - bad} done · {bad} failed "
                        r"\(on \d+ workers?\)", layout["fold"] or ""), layout
    assert layout["bodyHidden"] and layout["expanded"] == "false", layout
    # the summary line is right under the bar, and the failures right under it
    assert 0 <= layout["foldTop"] - layout["barBottom"] < 60, layout
    assert 0 <= layout["failuresTop"] - layout["foldBottom"] < 30, layout
    # 7 failures of one shape: one line, opening to its items; the rows, by index, fold
    assert [int(f["label"]) for f in final["failures"]] == list(nbs.WIDE_FAILING)
    group = panel.locator(".pb-group")
    assert group.count() == 1
    assert group.locator(".pb-group-shape").inner_text() == "ValueError: shard … is corrupt"
    assert group.locator(".pb-group-count").inner_text() == f"×{bad}"
    items = group.locator(".pb-group-items")
    assert not items.is_visible()
    group.locator("summary").click()
    items.wait_for(state="visible", timeout=5_000)
    assert items.inner_text() == "items " + ", ".join(map(str, nbs.WIDE_FAILING))
    assert not panel.locator(".pb-failure").first.is_visible()  # folded under a line
    panel.screenshot(path=str(artifacts / "lab-wide-final-group-open.png"))

    fold = panel.locator(".pb-fold")
    fold.click()
    panel.locator(".pb-lane-body").wait_for(state="visible", timeout=5_000)
    assert panel.locator(".pb-lane").count() == nbs.WIDE_WORKERS
    panel.screenshot(path=str(artifacts / "lab-wide-final-open.png"))
    fold.click()
    panel.locator(".pb-lane-body").wait_for(state="hidden", timeout=5_000)
    assert not nbp.dialogs and not nbp.page_errors, (nbp.dialogs, nbp.page_errors)
