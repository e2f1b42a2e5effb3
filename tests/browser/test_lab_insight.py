"""Insight in the browser: the timeline tab, and the Stop button of a background run."""

import re

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]


def test_the_timeline_shows_one_block_per_item_coloured_by_outcome(open_lab, artifacts):
    nbp = open_lab("timeline.ipynb")
    panel = nbp.run_to_panel(1)
    stop = panel.locator("button.pb-stop")
    if stop.count() and stop.is_visible():  # blocking mode: Stop is disabled, and says why
        assert stop.is_disabled() and "interrupt" in (stop.get_attribute("title") or "")
    nbp.wait_status(1, "failed", timeout=90)
    panel.locator('.pb-tab[data-view="timeline"]').click()
    timeline = panel.locator(".pb-timeline")
    timeline.wait_for(state="visible", timeout=10_000)
    blocks = timeline.locator("rect.pb-blk")
    assert blocks.count() == 8
    assert timeline.locator("rect.pb-blk-failed").count() == 1
    assert timeline.locator("rect.pb-blk-done").count() == 7
    failed_title = timeline.locator("rect.pb-blk-failed title").text_content()
    assert "3" in failed_title and "item 3 went wrong" in failed_title
    names = [n for n in timeline.locator(".pb-tl-name").all_text_contents() if n]  # the axis row has none
    assert set(names) <= {"worker 0", "worker 1"} and names
    panel.screenshot(path=str(artifacts / "lab-timeline.png"))


def test_stop_drains_a_background_run_while_the_kernel_is_idle(open_lab, artifacts):
    nbp = open_lab("background.ipynb")
    nbp.run_all()
    nbp.wait_all_done(timeout=60)  # the cell returned at once: the kernel is idle
    panel = nbp.panel(0)
    panel.wait_for(state="visible", timeout=30_000)
    stop = panel.locator("button.pb-stop")
    stop.wait_for(state="visible", timeout=10_000)
    nbp.page.wait_for_function("(b) => !b.disabled", arg=stop.element_handle(), timeout=10_000)
    nbp.page.wait_for_timeout(1500)  # a few items finish
    stop.click()
    assert re.search("Stopping", stop.text_content() or "")
    # drained: the rest of the 80 items is counted cancelled, nothing runs any more
    cancelled = panel.locator('.pb-chip[data-kind="cancelled"] .pb-chip-n')
    cancelled.wait_for(state="visible", timeout=30_000)
    nbp.page.wait_for_function(
        """(root) => root.querySelector('.pb-chip[data-kind="running"] .pb-chip-n')
           ?.textContent === '0'""", arg=panel.element_handle(), timeout=30_000)
    n_cancelled = int(cancelled.text_content())
    assert 40 < n_cancelled < 80
    panel.screenshot(path=str(artifacts / "lab-stopped.png"))
