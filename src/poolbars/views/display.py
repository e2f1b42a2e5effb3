"""Picks the view for a panel: `display="auto" | "widget" | "terminal" | "log" | None`.

"auto" means: the widget inside a Jupyter kernel, rich in a terminal, plain lines
otherwise (CI logs, redirected output). A view has `update(snapshot)`, called from the
collector thread, and `close(snapshot)`, called once from the thread that opened it."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..panel.snapshot import Snapshot

DISPLAYS = ("auto", "widget", "terminal", "log", None)


class NullView:
    """display=None: nothing is shown; the state is still kept."""

    def update(self, snapshot: dict) -> None:
        pass

    def close(self, snapshot: dict) -> None:
        pass


class WidgetView:
    """The ProgressPanel, shown in the current cell's output."""

    def __init__(self, title: str):
        from IPython.display import display

        from ..widget import ProgressPanel

        self.panel = ProgressPanel(title=title)
        self.handle = display(self.panel, display_id=True)

    def update(self, snapshot: Snapshot) -> None:
        self.panel.apply(snapshot)

    def close(self, snapshot: Snapshot) -> None:
        self.panel.apply(snapshot)
        self.panel.on_stop = None
        if self.handle is not None:  # refresh the text/plain and text/html fallbacks too
            self.handle.update(self.panel)


def in_notebook() -> bool:
    """True inside a Jupyter kernel (where a widget can be shown)."""
    if "ipykernel" not in sys.modules:
        return False
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def resolve(display) -> str | None:
    """The concrete display for `display`, checking the value."""
    if display not in DISPLAYS:
        raise ValueError(f"display={display!r} is not one of {DISPLAYS}: "
                         'use "auto" to pick by environment, or None to show nothing')
    if display != "auto":
        return display
    if in_notebook():
        return "widget"
    stream = sys.stderr
    return "terminal" if hasattr(stream, "isatty") and stream.isatty() else "log"


def open_view(display, title: str):
    kind = resolve(display)
    if kind == "widget":
        return WidgetView(title)
    if kind == "terminal":
        from .terminal import TerminalView
        return TerminalView(title)
    if kind == "log":
        from .terminal import LogView
        return LogView(title)
    return NullView()
