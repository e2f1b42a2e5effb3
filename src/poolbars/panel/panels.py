"""The panels open in this process, innermost last: where a bar, `track()` or `message()`
made in the main process, outside any task, reports.

`THIS_PROCESS` is written by session.py only: a Session `enter`s when it opens and
`leave`s when it closes, and session.py names the `opener` of a panel (`Session`) once,
when it is imported. reporting.py reads it (`innermost()`, or `open_own()` when none is
open, for a panel that lives as long as the bar), so reporting.py never imports
session.py, and a worker, which reports through its installed reporter, never opens one.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Callable, Optional, Protocol

if TYPE_CHECKING:
    from ..progress.reporting import Reporter


class OpenPanel(Protocol):
    """An open panel, as reporting sees it: a reporter to post to, and its end."""

    reporter: Reporter

    def close(self) -> None: ...


class Panels:
    """The open panels of one process, innermost last, and how to open one more."""

    def __init__(self) -> None:
        self._open: list[OpenPanel] = []
        self._lock = threading.Lock()  # sessions open and close on any thread
        self.opener: Optional[Callable[[str], OpenPanel]] = None  # title -> a new open panel

    def enter(self, panel: OpenPanel) -> None:
        """`panel` is open: bars made from now on report to it."""
        with self._lock:
            self._open.append(panel)

    def leave(self, panel: OpenPanel) -> None:
        """`panel` closed (leaving twice, or a panel never entered, is a no-op)."""
        with self._lock:
            if panel in self._open:
                self._open.remove(panel)

    def innermost(self) -> Optional[OpenPanel]:
        """The panel opened last of those still open, if any."""
        with self._lock:
            return self._open[-1] if self._open else None

    def open_own(self, title: str) -> OpenPanel:
        """A new panel for a bar made when none is open (the caller closes it)."""
        if self.opener is None:  # session.py names it on import, and poolbars imports it
            raise RuntimeError("no panel can be opened here: import poolbars first")
        return self.opener(title)


THIS_PROCESS = Panels()
