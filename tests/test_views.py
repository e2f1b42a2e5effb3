"""The views: widget fallbacks, the log lines, the terminal panel, and the display choice."""

import io

import pytest

from poolbars.views import display, text
from poolbars.panel.state import PanelState
from poolbars.views.terminal import LogView, TerminalView, render
from poolbars.widget import ProgressPanel
from poolbars.protocol import events as ev


def finished_run_snapshot():
    s = PanelState("Convert")
    for event in [(ev.WORKER, 0, "idle", 1), (ev.SEEN, 0, 3), (ev.START, 0, 0, 3, "'a.csv'", 1.0),
                  (ev.BAR, 0, 1, 0, "file a", 120, 200, "rows", (("loss", "0.1"),), False, 1.5),
                  (ev.MESSAGE, 0, 0, "writing <b>bold</b>"),
                  (ev.FAIL, 0, 1, "'b.csv'", "error", "ValueError: <script>x</script>",
                   "Traceback (most recent call last):\nValueError: <script>x</script>\n", 1, 2.0)]:
        s.fold(event)
    running = s.snapshot(now=3.0)
    for event in [(ev.DONE, 0, 2, 4.0), (ev.END, "failed", 5.0)]:
        s.fold(event)
    return running, s.snapshot(now=5.0)


def test_widget_fallbacks_show_the_current_state_never_a_frozen_zero():
    _, final = finished_run_snapshot()
    panel = ProgressPanel()
    panel.apply(final)
    bundle = panel._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    plain = data["text/plain"]
    assert plain.startswith("Convert [failed] 3/3 100%")
    assert "done 2 · failed 1" in plain and "ValueError" in plain
    assert "object at 0x" not in plain and repr(panel) == plain
    html = data["text/html"]
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "application/vnd.jupyter.widget-view+json" in data


def test_every_synced_trait_is_documented_and_in_the_snapshot():
    synced = set(ProgressPanel.class_trait_names(sync=True)) - set(ProgressPanel().keys) | set(text.SNAPSHOT_KEYS)
    import inspect

    source = inspect.getsource(ProgressPanel)
    for name in text.SNAPSHOT_KEYS:
        assert name in ProgressPanel.class_trait_names(sync=True)
        block = source.split(f"\n    {name} = ", 1)[1]
        assert block.split("\n", 1)[1].lstrip().startswith('"""'), f"trait {name} has no docstring"
    assert synced


def test_log_view_writes_few_plain_lines_and_a_final_summary():
    running, final = finished_run_snapshot()
    clock = iter([0.0, 1.0, 2.0, 7.0, 7.0, 8.0]).__next__
    out = io.StringIO()
    view = LogView("Convert", stream=out, interval=5.0, clock=clock)
    view.update(running)  # t=1: the failure line only
    view.update(running)  # t=2: nothing new
    view.update(running)  # t=7: a progress line
    view.close(final)
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue()
    assert lines[0].startswith("✗ error: item 'b.csv' on worker 0: ValueError")
    assert lines[1].startswith("Convert [running] 1/3")
    assert lines[2].startswith("Convert [failed] 3/3 100%")
    assert "Traceback (most recent call last):" in out.getvalue()
    assert sum("✗ error" in line for line in lines) == 1  # each failure once


def test_terminal_view_draws_lanes_and_leaves_the_final_frame_on_screen():
    running, final = finished_run_snapshot()
    from rich.console import Console

    out = io.StringIO()
    view = TerminalView("Convert", console=Console(file=out, force_terminal=True, width=160))
    view.update(running)
    view.close(final)
    screen = out.getvalue()
    assert "worker 0" in screen and "file a" in screen and "120/200 rows" in screen
    assert "loss=0.1" in screen and "writing <b>bold</b>" in screen
    # the lane's numbers: done, failed, the item's time, the lane's rate, the task's ETA
    assert "✓ 0 · ✗ 1 · 0:02 · 2.00 s/it · ETA 0:02" in screen
    assert "3/3 100%" in screen and "[failed]" in screen
    # once over, the lanes fold into one line, above the failures
    assert screen.index("1 worker · 2 done · 1 failed (on 1 worker)") < screen.rindex("✗ error")


def test_a_narrow_terminal_cuts_a_lanes_task_text_before_its_numbers():
    running, _ = finished_run_snapshot()
    from rich.console import Console

    out = io.StringIO()
    Console(file=out, width=100).print(render(running))
    assert "ETA 0:02" in out.getvalue() and "writing <b>bold</b>" not in out.getvalue()


def test_terminal_overall_bar_keeps_done_green_and_shows_failures_red():
    from poolbars.views.terminal import _overall_bar

    def parts(o, status):
        bar = _overall_bar(o, status, o["total"])
        return [(span.style, span.end - span.start) for span in bar.spans]

    failed_run = {"done": 9, "failed": 1, "timed_out": 1, "crashed": 1, "total": 12}
    assert parts(failed_run, "failed") == [("green", 18), ("red", 6)]
    stopped = {"done": 3, "cancelled": 9, "total": 12}
    assert parts(stopped, "cancelled") == [("green", 6), ("yellow", 18)]
    assert parts({"done": 6, "total": 12}, "running") == [("blue", 12), ("grey23", 12)]


def test_display_choice():
    assert display.resolve("log") == "log" and display.resolve(None) is None
    assert display.resolve("auto") in ("terminal", "log")  # pytest is not a kernel
    with pytest.raises(ValueError, match="display='html'"):
        display.resolve("html")


def test_the_terminal_has_a_style_for_every_status_and_lane_state():
    from poolbars.panel import snapshot as snap
    from poolbars.views.terminal import LANE_STYLE, STATUS_STYLE
    assert sorted(STATUS_STYLE) == sorted(snap.values(snap.PanelStatus))
    assert sorted(LANE_STYLE) == sorted(snap.values(snap.LaneState))


def test_the_saved_text_and_html_fold_the_lanes_into_one_line_above_the_failures():
    running, final = finished_run_snapshot()
    assert "worker 0 (busy) ✓ 0 · ✗ 1 · 0:02" in text.plain(running)
    lines = text.plain(final).splitlines()
    assert lines[2] == "  1 worker · 2 done · 1 failed (on 1 worker)"
    assert lines[3].startswith("  ✗ error: item 'b.csv'")
    page = text.html(final)
    assert page.index("<summary>1 worker · 2 done · 1 failed (on 1 worker)</summary>") < \
        page.index("ValueError")
    assert "worker 0 (exited)" in page  # the lanes are inside the fold


def test_the_log_views_final_summary_has_the_lanes_line():
    _, final = finished_run_snapshot()
    out = io.StringIO()
    LogView("Convert", stream=out).close(final)
    lines = out.getvalue().splitlines()
    assert lines[1].startswith("Convert [failed]")
    assert lines[2] == "1 worker · 2 done · 1 failed (on 1 worker)"


def many_failures_snapshot(failing=70):
    s = PanelState("Shards")
    s.fold((ev.WORKER, 0, "idle", 1))
    s.fold((ev.SEEN, 0, 200))
    for i in reversed(range(failing)):  # the newest first: the views sort by index
        error = f"ValueError: shard {i} is corrupt" if i % 10 else f"KeyError: 'part {i}'"
        s.fold((ev.FAIL, 0, i, str(i), "error", error, f"Traceback\n{error}\n", 1, 2.0))
    s.fold((ev.END, "failed", 5.0))
    return s.snapshot(now=5.0)


def test_many_failures_show_as_one_line_per_shape_in_every_text_view():
    final = many_failures_snapshot()
    lines = text.plain(final).splitlines()
    smallest = [str(i) for i in range(70) if i % 10][:50]  # the first 50 listed, of 63
    assert lines[3:] == [
        "  ✗ error ×7: KeyError: '…' (items 0, 10, 20, 30, 40, 50, 60)",
        f"  ✗ error ×63: ValueError: shard … is corrupt (items {', '.join(smallest)} … +13 more)",
    ]
    assert "KeyError: &#x27;…&#x27; (items 0, 10" in text.html(final)
    out = io.StringIO()
    LogView("Shards", stream=out).close(final)
    assert "✗ error ×63: ValueError: shard … is corrupt (items 1, 2" in out.getvalue()
    from rich.console import Console

    screen = io.StringIO()
    Console(file=screen, width=160).print(render(final))
    assert "✗ error ×63" in screen.getvalue() and "+50 more failures" not in screen.getvalue()


def test_a_few_failures_are_listed_each_by_item_index():
    final = many_failures_snapshot(failing=4)
    assert [line.split(":")[1] for line in text.plain(final).splitlines()[3:]] == [
        " item 0 on worker 0", " item 1 on worker 0", " item 2 on worker 0", " item 3 on worker 0"]


def test_a_terminal_of_many_lanes_shows_the_failing_and_busy_ones_and_counts_the_rest():
    s = PanelState("Wide")
    for w in range(40):
        s.fold((ev.WORKER, w, "idle", 100 + w))
    for w in (3, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 20, 21, 22, 23, 24, 25):
        s.fold((ev.START, w, w, 1, str(w), 1.0))
    s.fold((ev.FAIL, 3, 3, "3", "error", "E", "", 1, 2.0))
    s.fold((ev.WORKER, 7, "crashed", 107))
    snapshot = s.snapshot(now=3.0)
    lanes, more = text.shown_lanes(snapshot)
    keys = [int(lane["key"]) for lane in lanes]
    assert len(keys) == text.MANY_LANES and more == 40 - text.MANY_LANES
    assert {3, 7} <= set(keys) and keys == sorted(keys)  # failing first, then busy, in order
    assert all(lane["state"] == "busy" for lane in lanes if int(lane["key"]) not in (3, 7))
    from rich.console import Console

    screen = io.StringIO()
    Console(file=screen, width=160).print(render(snapshot))
    assert "+24 more" in screen.getvalue() and "worker 7 crashed" in screen.getvalue()


def test_the_folded_line_of_bars_counts_bars_not_items():
    # a Panel of bars only (a retrofitted script, pb.bar in the main process) once over:
    # its bars, and those left open, never "0 done"; beside a pool's workers, a bar count
    import poolbars as pb

    with pb.Panel(display=None, title="Jobs") as panel:
        with pb.bar(total=2, desc="load") as done:
            done.update(2)
        left_open = pb.bar(total=5, desc="left open")
        left_open.update(1)
    assert text.lanes_summary(panel.snapshot()) == "2 bars (1 unfinished)"
    with pb.Panel(display=None) as panel:
        with pb.bar(total=1) as one:
            one.update(1)
    assert text.lanes_summary(panel.snapshot()) == "1 bar"
    with pb.Panel(display=None) as panel:
        with pb.bar(total=1) as one:
            one.update(1)
        with pb.Pool(1, panel=panel, display=None) as pool:
            pool.map(abs, range(3))
    assert text.lanes_summary(panel.snapshot()) == "1 worker · 3 done · 1 bar"
