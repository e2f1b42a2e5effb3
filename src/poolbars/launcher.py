"""`python -m poolbars run script.py [args]` / `run -m package.module [args]`: an unmodified
program run as `python` would run it, with every tqdm bar of every interpreter it starts
shown as a lane of one panel.

The program runs as a child `python` whose environment names a panel (POOLBARS_PANEL,
POOLBARS_AUTHKEY) and puts a generated `sitecustomize.py` first on PYTHONPATH; that file
calls `pb.install()` and then the `sitecustomize` it hides, if any. Spawned and
forkserver children inherit the environment, forked ones the installed capture, so each
process reports through a connection of its own. The panel is a `pb.Panel` in this
process, or, with `--connect HOST:PORT`, one in a notebook, checked before the program
starts. The child's exit code (or the signal that ended it) becomes ours.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from multiprocess import AuthenticationError

from .panel.remote import Panel
from .panel.snapshot import PanelStatus
from .progress.retrofit import AUTHKEY_ENV, PANEL_ENV, parse_address
from .protocol.channel import authkey_bytes, connect
from .views.terminal import TerminalView

if TYPE_CHECKING:
    from rich.console import Console

SITECUSTOMIZE = '''\
"""Written by `python -m poolbars run`: this interpreter's tqdm bars go to its panel."""
import importlib, os, sys

_here = os.path.dirname(os.path.abspath(__file__))
try:
    import poolbars
except ImportError:  # poolbars is not on this interpreter's path: where the runner found it
    sys.path.append({package_parent!r})
    import poolbars
poolbars.install()
# then the sitecustomize this one hides, if any, and no trace of this directory
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _here]
_this = sys.modules.pop("sitecustomize")
try:
    importlib.import_module("sitecustomize")
except ModuleNotFoundError as exc:
    if exc.name != "sitecustomize":
        raise
    sys.modules["sitecustomize"] = _this  # the import system looks for it when we return
'''
RELAY_GRACE = 2.0  # seconds to wait, after the program exits, for output still in a pipe


class LaunchError(Exception):
    """The program cannot be started as asked; the message says why and the fix."""


def program_command(script: str | None, module: str | None, args: list[str]) -> list[str]:
    """The `python` command line that runs the program, as the user would type it."""
    if module is not None:
        return [sys.executable, "-m", module, *args]
    if script is None:
        raise LaunchError("no program to run: give a script (run script.py [args]) or a "
                          "module (run -m package.module [args])")
    if not Path(script).exists():
        raise LaunchError(f"{script}: no such file; give the path of a Python script, or "
                          "-m package.module for a module")
    return [sys.executable, script, *args]


def checked_remote(target: str) -> tuple[str, str]:
    """(address, authkey hex) of the panel at `target` ("HOST:PORT"), once it accepted
    POOLBARS_AUTHKEY; a LaunchError naming the fix otherwise."""
    key_text = os.environ.get(AUTHKEY_ENV, "")
    if not key_text:
        raise LaunchError(f"--connect needs the panel's authkey: set {AUTHKEY_ENV} to its "
                          "connect_info()['authkey'].hex() in the notebook")
    try:
        address = parse_address(target)
    except ValueError as exc:
        raise LaunchError(f"--connect: {exc}") from None
    try:
        key = authkey_bytes(key_text)
    except ValueError as exc:
        raise LaunchError(f"{AUTHKEY_ENV}: {exc}") from None
    try:
        connect(address, key).close()
    except (OSError, EOFError) as exc:  # EOFError: it hung up during the handshake
        raise LaunchError(f"no panel answers at {target} ({exc}): open pb.Panel() in the "
                          "notebook and pass its connect_info()['address'] as HOST:PORT") from None
    except AuthenticationError:
        raise LaunchError(f"the panel at {target} refused {AUTHKEY_ENV}: set it to that "
                          "panel's connect_info()['authkey'].hex()") from None
    return f"{address[0]}:{address[1]}", key.hex()


def child_environment(panel: str, authkey_hex: str, site_dir: str) -> dict[str, str]:
    """Our environment, plus the panel to report to and the generated sitecustomize."""
    env = dict(os.environ)
    env[PANEL_ENV], env[AUTHKEY_ENV] = panel, authkey_hex
    env["PYTHONPATH"] = os.pathsep.join(p for p in (site_dir, env.get("PYTHONPATH")) if p)
    return env


def write_sitecustomize(directory: str) -> None:
    package_parent = str(Path(__file__).resolve().parent.parent)
    Path(directory, "sitecustomize.py").write_text(
        SITECUSTOMIZE.format(package_parent=package_parent))


class Relay:
    """Copies the program's stdout or stderr, line by line, above the live terminal
    panel (writing straight to the terminal would be drawn over by its redraws)."""

    def __init__(self, console: Console):
        self.console = console
        self.read_end, self.write_end = os.pipe()
        self.thread = threading.Thread(target=self._copy, name="poolbars-relay", daemon=True)
        self.thread.start()

    def _copy(self) -> None:
        from rich.text import Text

        with os.fdopen(self.read_end, "rb") as stream:
            for line in stream:
                text = line.decode(errors="replace").rstrip("\r\n")
                self.console.print(Text.from_ansi(text), soft_wrap=True)

    def child_started(self) -> None:
        os.close(self.write_end)  # the child holds it now: end of file when it exits

    def join(self) -> None:
        self.thread.join(RELAY_GRACE)


def run_program(command: list[str], env: dict[str, str], view: object) -> int:
    """Run `command` to its end (Ctrl-C reaches it, not us; a SIGTERM to us is passed
    on) and return its returncode (negative: the signal that ended it)."""
    relays = []
    if isinstance(view, TerminalView):  # output to the terminal goes above the panel
        relays = [Relay(view.console) if stream.isatty() else None
                  for stream in (sys.stdout, sys.stderr)]
    streams = [relay.write_end if relay else None for relay in relays] or [None, None]
    if relays and any(relays):
        env = dict(env, PYTHONUNBUFFERED="1")  # a pipe, not a terminal: lines as printed
    # the program decides what Ctrl-C does; a handler, not SIG_IGN, which it would inherit
    previous = signal.signal(signal.SIGINT, _ignore), signal.getsignal(signal.SIGTERM)
    try:
        child = subprocess.Popen(command, env=env, stdout=streams[0], stderr=streams[1])
        signal.signal(signal.SIGTERM, lambda signum, frame: child.send_signal(signum))
        for relay in relays:
            if relay:
                relay.child_started()
        returncode = child.wait()
    finally:
        signal.signal(signal.SIGINT, previous[0])
        signal.signal(signal.SIGTERM, previous[1])
    for relay in relays:
        if relay:
            relay.join()
    return returncode


def _ignore(signum: int, frame: FrameType | None) -> None:
    """Ctrl-C while the program runs: it reaches the program too, whose exit tells."""


def status_of(returncode: int) -> PanelStatus:
    """The panel's final status for the program's returncode."""
    if returncode == 0:
        return "done"
    return "cancelled" if returncode == -signal.SIGINT else "failed"


def exit_like(returncode: int) -> int:
    """Our exit code for the program's: the same, or death by the same signal."""
    if returncode >= 0:
        return returncode
    signal.signal(-returncode, signal.SIG_DFL)
    os.kill(os.getpid(), -returncode)
    return 128 - returncode  # where the signal does not end us


def launch(script: str | None, module: str | None, args: list[str], display: str = "auto",
           connect_to: str | None = None, title: str | None = None) -> int:
    """Run the program under a panel (ours, or the one at `connect_to`); its exit code."""
    command = program_command(script, module, args)
    remote = checked_remote(connect_to) if connect_to else None
    with tempfile.TemporaryDirectory(prefix="poolbars-run-") as site_dir:
        write_sitecustomize(site_dir)
        if remote is not None:
            return run_program(command, child_environment(*remote, site_dir), None)
        panel = Panel(title=title or (f"-m {module}" if module else script), display=display)
        info = panel.connect_info()
        address = f"{info['address'][0]}:{info['address'][1]}"
        env = child_environment(address, info["authkey"].hex(), site_dir)
        returncode = 1
        try:
            returncode = run_program(command, env, panel.session.view)
        finally:
            panel.close(status_of(returncode))
    return returncode
