"""panels.py: the panels open in this process, and where a main-process bar reports."""

import pytest

import poolbars as pb
from poolbars.panel import panels
from poolbars.panel.panels import Panels
from poolbars.progress.reporting import Reporter


class Opened:
    """An open panel as reporting sees it: a reporter that keeps what it is sent."""

    def __init__(self, title=""):
        self.title = title
        self.sent = []
        self.reporter = Reporter(self.sent.append, source="main")
        self.closed = False

    def close(self):
        self.closed = True


def test_the_innermost_is_the_last_opened_of_those_still_open():
    open_panels = Panels()
    assert open_panels.innermost() is None
    outer, inner = Opened(), Opened()
    open_panels.enter(outer)
    open_panels.enter(inner)
    assert open_panels.innermost() is inner
    open_panels.leave(outer)  # panels may close out of order
    assert open_panels.innermost() is inner
    open_panels.leave(inner)
    open_panels.leave(inner)  # twice: nothing happens
    assert open_panels.innermost() is None


def test_a_panel_of_its_own_comes_from_the_opener():
    open_panels = Panels()
    with pytest.raises(RuntimeError, match="import poolbars"):
        open_panels.open_own("t")
    open_panels.opener = Opened
    own = open_panels.open_own("a title")
    assert isinstance(own, Opened) and own.title == "a title"
    assert open_panels.innermost() is None  # entering is the panel's own business


def test_a_main_process_bar_with_none_open_has_a_panel_of_its_own_while_it_lives():
    assert panels.THIS_PROCESS.innermost() is None
    bar = pb.bar(total=3, desc="alone")
    own = panels.THIS_PROCESS.innermost()
    assert own is not None and bar.reporter is own.reporter
    bar.update(3)
    bar.close()
    assert panels.THIS_PROCESS.innermost() is None and own.closed
    final = own.state.snapshot()
    assert [(lane["desc"], lane["n"], lane["state"]) for lane in final["lanes"]] == [
        ("alone", 3, "done")]
    assert final["status"] == "done"


@pytest.mark.timeout(60)
def test_a_main_process_bar_reports_to_the_open_panel():
    with pb.Panel(title="open", display=None) as panel:
        with pb.bar(total=2, desc="in the panel") as bar:
            assert panels.THIS_PROCESS.innermost().reporter is bar.reporter
            bar.update(2)
        pb.message("a word")
        panel.close()
        lanes = panel.snapshot()["lanes"]
    assert ("in the panel", 2) in [(lane["desc"], lane["n"]) for lane in lanes]
    assert "a word" in [lane["message"] for lane in lanes]
    assert panels.THIS_PROCESS.innermost() is None
