"""External commands as pool tasks, driven by a line protocol on their stdout.

A command prints lines; these drive its bar in the panel:

    PROGRESS: <n>      the count so far (absolute)
    TOTAL: <n>         the count at which it is done
    STATUS: <name>     a status word, shown beside the bar
    MESSAGE: <text>    the command's message, shown on its row

Any other line is kept in a bounded log tail (the last LOG_LINES lines), shown with the
failure if the command fails. A protocol line that does not parse is counted and kept in
the tail; it never stops the run. The exit code decides: 0 is done, anything else fails.
Each command runs in its own process group, which the pool kills on a timeout, an
interrupt or a dead worker.
"""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field

from ..engine.worker import note_command_group
from ..errors import Failure
from . import reporting

LOG_LINES = 50


@dataclass
class CommandResult:
    """What became of one command: what `Pool.run_commands` returns, one per command.

    A record poolbars fills, whatever happened to the command (a failure is also in the
    panel and in `pool.failures`).

    Attributes:
        command: The command as given (an argv list or a shell string).
        exit_code: Its exit code; None if it never finished (a timeout, a crash).
        duration: How long it ran, in seconds.
        log_tail: Its last output lines that were not protocol lines (at most 50).
        malformed: How many protocol lines did not parse.
        error: Why it failed ("" when it succeeded).
    """

    command: object
    exit_code: int | None
    duration: float
    log_tail: list = field(default_factory=list)
    malformed: int = 0
    error: str = ""

    @property
    def ok(self) -> bool:
        """Whether it exited with code 0."""
        return self.exit_code == 0


class CommandFailed(Exception):
    """A command exited with a non-zero code; carries its result. Its `details` (the log
    tail) stand in for a traceback in the panel and in `pool.failures`."""

    def __init__(self, result: CommandResult):
        super().__init__(f"exit code {result.exit_code}: {_label(result.command)}")
        self.result = result
        self.details = "\n".join(result.log_tail + [f"(exit code {result.exit_code})"])

    def __reduce__(self):
        return (CommandFailed, (self.result,))


@dataclass
class CommandSpec:
    """One command to run, with its environment additions and working directory."""

    command: str | list  # a shell line, or an argument list
    env: dict | None = None
    cwd: str | None = None

    def __repr__(self) -> str:  # the item's label in the panel
        return _label(self.command)


def run_command(spec: CommandSpec) -> CommandResult:
    """Run one command in a worker (the task behind `Pool.run_commands`)."""
    command, env, cwd = spec.command, spec.env, spec.cwd
    shell = isinstance(command, str)
    started = time.time()
    process = subprocess.Popen(
        command, shell=shell, cwd=cwd, env=None if env is None else {**os.environ, **env},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        text=True, errors="replace", bufsize=1, start_new_session=True)
    note_command_group(process.pid)
    threading.Thread(target=_end_group_with, args=(process,), daemon=True).start()
    tail: collections.deque = collections.deque(maxlen=LOG_LINES)
    malformed = 0
    bar = reporting.Bar(None, _label(command))
    try:
        for line in process.stdout:  # type: ignore[union-attr]  # stdout=PIPE: never None
            line = line.rstrip("\n")
            if not _follow(line, bar):
                if _looks_like_protocol(line):
                    malformed += 1
                    bar.set_postfix(malformed=malformed)
                tail.append(line)
        code = process.wait()
    finally:
        note_command_group(0)
        bar.close()
    result = CommandResult(command, code, time.time() - started, list(tail), malformed)
    if code != 0:
        raise CommandFailed(result)
    return result


def command_result(command: object, outcome: CommandResult | Failure) -> CommandResult:
    """A command's `CommandResult` from its task's outcome: the result, or a `Failure` (a
    non-zero exit carries its result; a timeout or a crash gets one made up)."""
    if not isinstance(outcome, Failure):
        return outcome
    original = outcome.remote.exception() if outcome.remote else None
    result = getattr(original, "result", None) or CommandResult(
        command, None, 0.0, [], 0, f"{outcome.kind}: {outcome.message}")
    if not result.error:
        result.error = f"exit code {result.exit_code}"
    return result


def _end_group_with(process: subprocess.Popen) -> None:
    """Once the command's own process exits, kill the rest of its process group."""
    try:  # wait without reaping: while unreaped, its pid cannot name another group
        os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT)
    except (AttributeError, ChildProcessError, OSError):
        process.wait()
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except OSError:
        pass  # nothing was left


_KEYS = ("PROGRESS:", "TOTAL:", "STATUS:", "MESSAGE:")


def _follow(line: str, bar: reporting.Bar) -> bool:
    """Apply a protocol line to `bar`; False if the line is not (valid) protocol."""
    key, _, value = line.partition(":")
    value = value.strip()
    try:
        if key == "PROGRESS":
            bar.n = float(value) if "." in value else int(value)
            bar.refresh()
        elif key == "TOTAL":
            bar.total = float(value) if "." in value else int(value)
            bar.refresh()
        elif key == "STATUS" and value:
            bar.postfix = tuple(p for p in bar.postfix if p[0] != "status") + (("status", value),)
            bar.refresh()
        elif key == "MESSAGE":
            reporting.message(value)
        else:
            return False
    except ValueError:
        return False
    return True


def _looks_like_protocol(line: str) -> bool:
    return line.startswith(_KEYS)


def _label(command) -> str:
    """A short name for a command: paths cut to their last part (`python job.py --x 3`)."""
    words = command.split() if isinstance(command, str) else [str(c) for c in command]
    text = " ".join(os.path.basename(w) if os.sep in w else w for w in words)
    return text if len(text) <= 60 else text[:59] + "…"
