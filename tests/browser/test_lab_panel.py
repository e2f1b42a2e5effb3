"""The panel in a real JupyterLab: live updates while the cell runs, failures with their
tracebacks, and hostile text shown literally."""

from __future__ import annotations

import re

import _notebooks as nbs
from _harness import read_panel, watched

POOL_CELL = 1


def _fingerprint(state):
    return (state["count"], tuple((l["count"], l["width"], l["task"]) for l in state["lanes"]))


def test_live_updates_while_the_cell_runs(open_lab, artifacts):
    nbp = open_lab("live.ipynb")
    panel = nbp.run_to_panel(POOL_CELL, "live")

    # mid-run: several polls while the cell is still [*]
    polls = []
    shot = False
    while nbp.cell_running(POOL_CELL) and len(polls) < 40:
        state = read_panel(panel)
        if nbp.cell_running(POOL_CELL):
            polls.append(state)
            if not shot and any(l["state"] == "busy" for l in state["lanes"]) and len(polls) >= 3:
                panel.screenshot(path=str(artifacts / "lab-live-mid.png"))
                shot = True
        nbp.page.wait_for_timeout(400)
    # the final state reaches the page a moment before the prompt leaves [*]: those last
    # polls show the end, not the live run
    while polls and polls[-1]["status"] != "running":
        polls.pop()
    assert len(polls) >= 5, f"only {len(polls)} polls while the cell ran: {polls}"
    assert shot, "no poll caught a busy lane"
    # workers' lanes appear as the workers start; once all are up, one row per worker
    names = [f"worker {i}" for i in range(nbs.LIVE_WORKERS)]
    first_full = next((i for i, s in enumerate(polls) if len(s["lanes"]) == nbs.LIVE_WORKERS),
                      len(polls))
    assert first_full <= len(polls) - 4, [s["lanes"] for s in polls]
    for i, state in enumerate(polls):
        assert state["status"] == "running", state
        lanes = [l["name"] for l in state["lanes"]]
        assert lanes == names[:len(lanes)], state["lanes"]
        if i >= first_full:
            assert lanes == names, (i, state["lanes"])
    prints = [_fingerprint(s) for s in polls]
    changed = sum(a != b for a, b in zip(prints, prints[1:]))
    assert changed >= 0.7 * (len(prints) - 1), f"values did not move between polls: {prints}"
    # inner bars seen part-way, labels consistent with the task each lane runs
    partial = [l for s in polls for l in s["lanes"]
               if re.fullmatch(r"([1-9]|1\d|2[0-4])/25 it", l["count"])]
    assert partial, "no inner bar seen part-way"
    for lane in partial:
        assert lane["task"] in {str(i) for i in range(nbs.LIVE_TASKS)}, lane
        assert lane["desc"] == f"step of {lane['task']}", lane
        assert 0 < float(lane["width"].rstrip("%")) < 100, lane
    overall = [int(s["count"].split("/")[0]) for s in polls]
    assert overall == sorted(overall) and overall[-1] > overall[0], overall

    seen = watched(nbp.page, "live")
    tasks = {t for t in seen["task"] if t.isdigit()}
    assert len(tasks) >= nbs.LIVE_TASKS - 1, f"item labels seen: {sorted(seen['task'])}"
    messages = {m for m in seen["message"] if m}
    assert len(messages) >= nbs.LIVE_TASKS - 2, messages
    assert all(re.fullmatch(r"working on \d+", m) for m in messages), messages

    # final state
    nbp.wait_all_done()
    nbp.wait_status(POOL_CELL, "done")
    final = read_panel(panel)
    panel.screenshot(path=str(artifacts / "lab-live-final.png"))
    n = nbs.LIVE_TASKS
    assert final["percent"] == "100%" and final["count"] == f"{n}/{n} it", final
    assert final["overallWidth"] == "100%", final
    assert final["chips"]["done"] == str(n) and final["chips"]["failed"] == "0", final["chips"]
    assert final["chips"]["running"] == "0" and final["chips"]["pending"] == "0", final["chips"]
    assert len(final["lanes"]) == nbs.LIVE_WORKERS and not final["failures"], final
    done_by_lanes = sum(int(l["done"].lstrip("\u2713 ")) for l in final["lanes"] if l["done"])
    assert done_by_lanes == n, final["lanes"]
    assert f"STATS {n} {n} 0 0 0 {sum(i * i for i in range(n))}" in nbp.outputs_text()
    assert not nbp.dialogs and not nbp.page_errors, (nbp.dialogs, nbp.page_errors)


EXPECTED_KINDS = {"1": "error", "2": "crashed", "3": "timeout"}


def test_failures_show_kind_and_expandable_traceback(open_lab, artifacts):
    nbp = open_lab("failures.ipynb")
    nbp.run_all()
    nbp.wait_all_done(timeout=120)
    panel = nbp.panel(POOL_CELL)
    nbp.wait_status(POOL_CELL, "failed")
    state = read_panel(panel)
    assert {f["label"]: f["kind"] for f in state["failures"]} == EXPECTED_KINDS, state["failures"]
    assert state["chips"].get("done") == "3" and state["chips"].get("failed") == "1", state["chips"]
    assert state["chips"].get("crashed") == "1" and state["chips"].get("timed_out") == "1", state["chips"]
    assert state["count"] == "6/6 it" and state["percent"] == "100%", state
    assert "KINDS [(1, 'error'), (2, 'crashed'), (3, 'timeout')]" in nbp.outputs_text()

    failures = panel.locator(".pb-failure")
    assert failures.count() == 3
    expected_text = {
        "error": ["Traceback (most recent call last)", "ValueError: bad record 1", "in risky"],
        "crashed": ["WorkerCrashed", "exited with code 1"],
        "timeout": ["TaskTimeout", "timeout of 2 s"],
    }
    for i in range(3):
        row = failures.nth(i)
        kind = row.get_attribute("data-kind")
        badge = row.locator(".pb-kind")
        assert badge.inner_text().lower() == kind and badge.is_visible()
        traceback = row.locator(".pb-traceback")
        assert not traceback.is_visible(), "traceback shown before the click"
        assert row.get_attribute("open") is None
        row.locator("summary").click()
        traceback.wait_for(state="visible", timeout=5_000)
        assert row.get_attribute("open") is not None
        text = traceback.inner_text()
        for needle in expected_text[kind]:
            assert needle in text, f"{kind}: {needle!r} not in {text!r}"
        assert row.locator(".pb-failure-error").inner_text().strip(), kind
    panel.screenshot(path=str(artifacts / "lab-failures-expanded.png"))
    # a later click closes it again
    failures.nth(0).locator("summary").click()
    failures.nth(0).locator(".pb-traceback").wait_for(state="hidden", timeout=5_000)
    assert not nbp.dialogs and not nbp.page_errors, (nbp.dialogs, nbp.page_errors)


_INJECTED_JS = """(root) => ({
  // what the hostile strings would create if parsed (the panel draws its own SVG: not counted)
  elements: root.querySelectorAll('img, script, b, iframe').length,
  handlers: Array.from(root.querySelectorAll('*')).flatMap(
      e => e.getAttributeNames().filter(a => a.startsWith('on'))).length,
  pwned: window.__pb_pwned ?? null,
  scrollWidth: root.scrollWidth, clientWidth: root.clientWidth,
  // rows may bleed 4px into the panel's padding (hover highlight); text must not overflow
  rowsOverflow: Array.from(root.querySelectorAll(
      '.pb-lane, .pb-failure, .pb-header, .pb-overall, .pb-traceback, .pb-lane-info, .pb-failure-line'))
      .filter(e => e.scrollWidth > e.clientWidth + 4).map(e => [e.className, e.scrollWidth - e.clientWidth]),
  right: root.getBoundingClientRect().right,
  areaRight: root.closest('.jp-OutputArea-output').getBoundingClientRect().right,
})"""


def _assert_safe(panel, where):
    facts = panel.evaluate(_INJECTED_JS)
    assert facts["elements"] == 0 and facts["handlers"] == 0, (where, facts)
    assert facts["pwned"] is None, (where, facts)
    assert facts["scrollWidth"] <= facts["clientWidth"], (where, facts)
    assert facts["right"] <= facts["areaRight"] + 1, (where, facts)
    return facts


def test_hostile_text_is_shown_literally(open_lab, artifacts):
    nbp = open_lab("hostile.ipynb")
    panel = nbp.run_to_panel(POOL_CELL, "hostile")
    hostile = [nbs.IMG, nbs.SCRIPT, nbs.CLOSE, nbs.LONG]

    # mid-run: the descriptions are the hostile strings themselves
    nbp.page.wait_for_function(
        "(want) => { const w = window.__pbWatch.hostile; return w && w.seen.desc.has(want); }",
        arg=nbs.IMG, timeout=30_000)
    _assert_safe(panel, "mid-run")
    panel.screenshot(path=str(artifacts / "lab-hostile-mid.png"))

    nbp.wait_all_done(timeout=120)
    nbp.wait_status(POOL_CELL, "failed")
    seen = watched(nbp.page, "hostile")
    short = hostile[:3]
    # Long text is clipped by the collector (300 chars, labels 80): still literal, no spaces.
    long_w = re.compile(r"W{60,}…?")
    for item in short:
        assert item in seen["desc"], f"desc {item!r} never shown literally: {seen['desc']}"
        assert repr(item) in seen["task"], f"label {item!r} never shown literally: {seen['task']}"
        assert "msg " + item in seen["message"], (item, seen["message"])
    assert any(long_w.fullmatch(d) for d in seen["desc"]), seen["desc"]
    assert any(re.fullmatch(r"'W+\.\.\.W+'|'W+'", t) for t in seen["task"]), seen["task"]
    assert any(m.startswith("msg WWWWWWWWWWWW") for m in seen["message"]), seen["message"]

    state = read_panel(panel)
    assert state["title"].startswith("T " + nbs.IMG + nbs.SCRIPT + "WWWWWWWWWW"), state["title"]
    errors = sorted(f["error"] for f in state["failures"])
    assert len(errors) == 4, state["failures"]
    assert errors[:3] == sorted(f"RuntimeError: boom {item}" for item in short), errors
    assert long_w.fullmatch(errors[3].removeprefix("RuntimeError: boom ")), errors[3][:100]
    labels = {f["label"] for f in state["failures"]}
    assert {repr(i) for i in short} <= labels, labels
    for f in state["failures"]:
        if f["label"] in {repr(i) for i in short}:
            assert f["traceback"].rstrip().endswith(f["error"]), f
            assert "in nasty" in f["traceback"], f
        else:  # the traceback keeps its last 1,500 characters: here, all W's
            assert re.fullmatch(r"…?[\s\S]*W{100,}", f["traceback"].rstrip()), f["traceback"][-200:]
    _assert_safe(panel, "final")
    # open every traceback (the long one too): still literal, still no overflow
    rows = panel.locator(".pb-failure")
    for i in range(rows.count()):
        rows.nth(i).locator("summary").click()
        rows.nth(i).locator(".pb-traceback").wait_for(state="visible")
    facts = _assert_safe(panel, "tracebacks open")
    assert not facts["rowsOverflow"], facts
    panel.screenshot(path=str(artifacts / "lab-hostile-final.png"))
    assert nbp.page.evaluate("() => window.__pb_pwned ?? null") is None
    assert nbp.dialogs == [], nbp.dialogs
    assert not nbp.page_errors, nbp.page_errors


def test_message_before_a_long_phase_shows_while_it_runs(open_lab):
    nbp = open_lab("late.ipynb")
    nbp.run_to_panel(POOL_CELL, "late")
    nbp.wait_all_done(timeout=60)
    shown = {text: at for text, at in watched(nbp.page, "late")["firstSeen"]
             if text.startswith("message:writing since ")}
    assert len(shown) == 1, f"the message never reached the page: {shown}"
    (text, at), = shown.items()
    delay_s = at / 1000 - float(text.removeprefix("message:writing since "))
    # the task sleeps 4 s after the message: it must show long before the task ends
    assert delay_s < 1.0, f"the message reached the page {delay_s:.2f} s after it was sent"
