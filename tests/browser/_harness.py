"""The machinery of the browser tests: a Jupyter server (JupyterLab or Notebook 7) on
loopback with its own dirs, and helpers that drive a notebook page in Chromium and read
the panel. Conditions are waited on (prompts, kernel status, the panel's status badge),
never fixed sleeps alone.

See /work/shared/NOTEBOOK-AND-BROWSER-TESTING.md for the traps these avoid."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path

try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
except ImportError:  # the fixtures skip (or fail in CI) with a clear reason
    PlaywrightTimeout = TimeoutError

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
METRICS: dict = {}  # measured numbers of this session, written to browser-metrics.json


def record_metrics(name: str, values: dict) -> None:
    """Keep `values` under `name`, and rewrite test-artifacts/browser-metrics.json
    (numbers of earlier sessions for other names are kept)."""
    path = ARTIFACTS / "browser-metrics.json"
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        saved = json.loads(path.read_text())
    except (OSError, ValueError):
        saved = {}
    METRICS[name] = values
    saved.update(METRICS)
    path.write_text(json.dumps(saved, indent=2, sort_keys=True) + "\n")

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}

# Settings that keep JupyterLab (and Notebook 7, which shares its extensions) quiet and
# keep off-screen widget views in the DOM.
BASE_SETTINGS = {
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false",
                                                     "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
}


def chromium_executable() -> str | None:
    """Chromium for Playwright: $POOLBARS_CHROMIUM when set (only it), else
    /usr/bin/chromium (never a browser downloaded by `playwright install`)."""
    chosen = os.environ.get("POOLBARS_CHROMIUM")
    for candidate in ([chosen] if chosen else ["/usr/bin/chromium", shutil.which("chromium")]):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class JupyterServer:
    """One Jupyter server (`app` = "jupyterlab" or "notebook") serving `root`, with its
    config, data, runtime, settings and workspace dirs under `home`, in its own process
    group. `stop()` shuts the kernels down, then ends the whole group."""

    def __init__(self, app: str, root: Path, home: Path, settings: dict | None = None):
        self.app, self.root, self.home = app, root, home
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = home / f"{app}.log"
        self.settings_dir = home / "settings"
        for name, value in {**BASE_SETTINGS, **(settings or {})}.items():
            self.write_setting(name, value)
        cls = "LabApp" if app == "jupyterlab" else "JupyterNotebookApp"
        cmd = [sys.executable, "-m", app, "--no-browser", "--allow-root", "--ip=127.0.0.1",
               f"--port={self.port}", "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={root}",
               f"--{cls}.user_settings_dir={self.settings_dir}",
               f"--{cls}.workspaces_dir={home / 'workspaces'}",
               "--ServerApp.open_browser=False"]
        if app == "jupyterlab":
            cmd += ["--LabApp.news_url=None", "--LabApp.extension_manager=readonly"]
        env = dict(os.environ, JUPYTER_CONFIG_DIR=str(home / "config"),
                   JUPYTER_DATA_DIR=str(home / "data"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
                   IPYTHONDIR=str(home / "ipython"), PYTHONUNBUFFERED="1")
        env.pop("JUPYTER_PATH", None)
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=self._log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        self._wait_ready(timeout=90)

    def write_setting(self, name: str, value: dict) -> None:
        plugin_dir, plugin = name.rsplit("/", 1)
        path = self.settings_dir / plugin_dir / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))

    def log_tail(self, chars: int = 4000) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-chars:]

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.app} exited with {self.proc.returncode}:\n"
                                   + self.log_tail())
            try:
                if self.api("GET", "/api/status") is not None:
                    return
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.app} did not answer /api/status within {timeout:.0f} s:\n"
                           + self.log_tail())

    def api(self, method: str, path: str, body=None, timeout: float = 10):
        data = None if body is None else json.dumps(body).encode()
        sep = "&" if "?" in path else "?"
        req = urllib.request.Request(f"{self.base}{path}{sep}token={self.token}", data=data,
                                     method=method)
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else {}

    def url(self, path: str) -> str:
        sep = "&" if "?" in path else "?"
        return f"{self.base}{path}{sep}token={self.token}"

    def shutdown_kernels(self, timeout: float = 20) -> None:
        """Delete every session and kernel, and wait until none is left."""
        try:
            for session in self.api("GET", "/api/sessions"):
                self.api("DELETE", f"/api/sessions/{session['id']}", timeout=timeout)
            for kernel in self.api("GET", "/api/kernels"):
                self.api("DELETE", f"/api/kernels/{kernel['id']}", timeout=timeout)
            deadline = time.monotonic() + timeout
            while self.api("GET", "/api/kernels") and time.monotonic() < deadline:
                time.sleep(0.2)
        except (OSError, urllib.error.URLError):
            pass  # the server is gone already; stop() ends the group

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.shutdown_kernels()
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # anything left in the group
        except (ProcessLookupError, PermissionError):
            pass
        if self.proc.poll() is None:
            self.proc.wait(10)
        self._log.close()


# ---------------------------------------------------------------- notebook pages

# The prompts of the code cells: "[ ]:", "[*]:" or "[12]:".
_PROMPTS_JS = """() => Array.from(document.querySelectorAll(
    '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-CodeCell .jp-InputArea-prompt'))
    .map(p => p.textContent.trim())"""

_KERNEL_IDLE_JS = """() => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  if (!panel) return false;
  const name = panel.querySelector('.jp-Toolbar-kernelName');
  const ind = panel.querySelector('.jp-Notebook-ExecutionIndicator');
  return !!name && /Python 3/.test(name.textContent) && !!ind && ind.dataset.status === 'idle';
}"""


class NotebookPage:
    """A notebook opened in a page of JupyterLab or Notebook 7."""

    def __init__(self, page, server: JupyterServer, name: str, setup=None):
        self.page, self.server, self.name = page, server, name
        self.dialogs: list[str] = []
        self.page_errors: list[str] = []
        page.on("dialog", self._on_dialog)
        page.on("pageerror", lambda exc: self.page_errors.append(f"{exc}\n{exc.stack or ''}"[:2000]))
        self.extra = setup(page) if setup else None  # e.g. listeners wanted before load
        if server.app == "jupyterlab":
            # A workspace of its own: the default one would reopen earlier tests' notebooks.
            path = f"/lab/workspaces/w{secrets.token_hex(4)}/tree/{name}?reset"
        else:
            path = f"/notebooks/{name}"
        page.goto(server.url(path), wait_until="domcontentloaded", timeout=60_000)
        page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=60_000)

    def _on_dialog(self, dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        try:
            dialog.dismiss()
        except Exception:  # the page may be closing
            pass

    def wait_kernel_idle(self, timeout: float = 60) -> None:
        """A real kernel connected and Idle: Run All clicked earlier silently runs nothing."""
        self.page.wait_for_function(_KERNEL_IDLE_JS, timeout=timeout * 1000)

    def prompts(self) -> list[str]:
        return self.page.evaluate(_PROMPTS_JS)

    def run_all(self) -> None:
        """Kernel Idle, then Run > Run All Cells; checks that the cells were queued."""
        for attempt in range(2):
            self.wait_kernel_idle()
            self.page.get_by_role("menuitem", name="Run", exact=True).first.click()
            item = self.page.locator(".lm-Menu-item:visible",
                                     has=self.page.locator(".lm-Menu-itemLabel",
                                                           has_text=re.compile(r"^Run All Cells$")))
            item.first.click()
            try:
                self.page.wait_for_function(
                    f"() => ({_PROMPTS_JS})().some(p => /\\[(\\*|\\d+)\\]/.test(p))",
                    timeout=15_000)
                return
            except PlaywrightTimeout:
                if attempt:
                    raise AssertionError(f"Run All did not start any cell; prompts: "
                                         f"{self.prompts()}")

    def cell_running(self, index: int) -> bool:
        return self.prompts()[index].startswith("[*]")

    def wait_cell_started(self, index: int, timeout: float = 60) -> None:
        """Wait until code cell `index` is the one executing (earlier cells are done)."""
        self.page.wait_for_function(
            f"""() => {{ const p = ({_PROMPTS_JS})();
                 return p.length > {index} && p[{index}].startsWith('[*]') &&
                        p.slice(0, {index}).every(x => /\\[\\d+\\]/.test(x)); }}""",
            timeout=timeout * 1000)

    def wait_all_done(self, timeout: float = 180) -> None:
        """Wait until no cell is queued or running, then check that every cell ran."""
        self.page.wait_for_function(
            f"""() => {{ const p = ({_PROMPTS_JS})();
                 return p.length > 0 && !p.some(x => x.startsWith('[*]')); }}""",
            timeout=timeout * 1000)
        prompts = self.prompts()
        if not all(re.match(r"\[\d+\]", p) for p in prompts):
            raise AssertionError(f"not every cell ran: {prompts}\n--- outputs ---\n"
                                 + self.outputs_text())

    def outputs_text(self) -> str:
        return "\n---\n".join(self.page.locator(
            ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output").all_inner_texts())

    def cell(self, index: int):
        return self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook "
                                 ".jp-CodeCell").nth(index)

    def panel(self, index: int):
        """The (first) poolbars panel in the output of code cell `index`."""
        return self.cell(index).locator(".poolbars-panel").first

    def run_to_panel(self, index: int, key: str | None = None):
        """Run All, and wait until cell `index` runs and shows its panel; with `key`,
        record its output's first-seen texts (see `watch`). Returns the panel."""
        self.run_all()
        self.wait_cell_started(index)
        panel = self.panel(index)
        panel.wait_for(state="visible", timeout=30_000)
        if key is not None:
            watch(self.cell(index).locator(".jp-Cell-outputArea"), key)
        return panel

    def wait_status(self, index: int, status: str, timeout: float = 60) -> None:
        self.panel(index).locator(".pb-status").filter(
            has_text=re.compile(f"^{status}$")).wait_for(timeout=timeout * 1000)


# Everything the tests read off a panel, in one round trip.
READ_PANEL_JS = """(root) => {
  const q = (s) => root.querySelector(s);
  const text = (s) => (q(s)?.textContent ?? null);
  const chips = {};
  for (const c of root.querySelectorAll('.pb-chip')) {
    if (!c.hidden) chips[c.dataset.kind] = c.querySelector('.pb-chip-n').textContent;
  }
  return {
    status: text('.pb-status'), title: text('.pb-title'),
    count: text('.pb-ov-count'), percent: text('.pb-ov-percent'),
    overallWidth: q('.pb-bar-overall > .pb-fill')?.style.width ?? null,
    chips,
    lanes: Array.from(root.querySelectorAll('.pb-lane')).map(l => ({
      state: l.dataset.state, name: l.querySelector('.pb-lane-name-text').textContent,
      task: l.querySelector('.pb-task').textContent, desc: l.querySelector('.pb-desc').textContent,
      count: l.querySelector('.pb-lane-count').textContent,
      width: l.querySelector('.pb-fill').style.width,
      message: l.querySelector('.pb-message').textContent,
      done: l.querySelector('.pb-lane-done').textContent })),
    failures: Array.from(root.querySelectorAll('.pb-failure')).map(f => ({
      kind: f.dataset.kind, badge: f.querySelector('.pb-kind').textContent,
      label: f.querySelector('.pb-failure-label').textContent,
      error: f.querySelector('.pb-failure-error').textContent, open: f.open,
      traceback: f.querySelector('.pb-traceback').textContent })),
    elements: root.querySelectorAll('*').length,
  };
}"""


def read_panel(locator) -> dict:
    return locator.evaluate(READ_PANEL_JS)


# ---------------------------------------------------------------- kernel websocket frames

def parse_kernel_frame(payload) -> dict | None:
    """A kernel websocket frame as a message dict (channel, header, content), for both the
    JSON protocol and the binary `v1.kernel.websocket.jupyter.org` one; None otherwise."""
    if isinstance(payload, str):
        try:
            msg = json.loads(payload)
        except ValueError:
            return None
        return msg if isinstance(msg, dict) and "header" in msg else None
    data = bytes(payload)
    if len(data) < 8:
        return None
    # offset_number, then that many offsets (where each part starts), then the parts:
    # channel, header, parent_header, metadata, content, buffers…
    n = int.from_bytes(data[:8], "little")
    if not 5 <= n <= 64 or len(data) < 8 * (n + 1):
        return None
    starts = [int.from_bytes(data[8 * (i + 1):8 * (i + 2)], "little") for i in range(n)]
    ends = starts[1:] + [len(data)]
    try:
        parts = [data[s:e] for s, e in zip(starts, ends)]
        return {"channel": parts[0].decode(), "header": json.loads(parts[1]),
                "parent_header": json.loads(parts[2]) if parts[2] else {},
                "content": json.loads(parts[4]) if parts[4] else {}}
    except (ValueError, UnicodeDecodeError):
        return None


def kernel_time(msg: dict) -> float:
    """The message's header date (the kernel's clock) as a POSIX timestamp."""
    return datetime.fromisoformat(msg["header"]["date"].replace("Z", "+00:00")).timestamp()


class CommCounter:
    """Counts, per comm, the iopub comm messages reaching the page's kernel websockets,
    and knows which comms are poolbars panels (from their comm_open state)."""

    def __init__(self, page):
        self.opens: dict[str, dict] = {}
        self.msgs: dict[str, list[float]] = {}
        self.other_frames = 0
        page.on("websocket", self._on_ws)

    def _on_ws(self, ws) -> None:
        if "/api/kernels/" in ws.url:
            ws.on("framereceived", self._on_frame)

    def _on_frame(self, payload) -> None:
        msg = parse_kernel_frame(payload)
        if msg is None or msg.get("channel") != "iopub":
            self.other_frames += 1
            return
        kind = msg["header"].get("msg_type")
        content = msg.get("content") or {}
        if kind == "comm_open":
            self.opens[content.get("comm_id")] = (content.get("data") or {}).get("state") or {}
        elif kind == "comm_msg":
            self.msgs.setdefault(content.get("comm_id"), []).append(kernel_time(msg))

    def panel_comms(self) -> list[str]:
        return [cid for cid, state in self.opens.items()
                if str(state.get("_anywidget_id", "")).endswith("ProgressPanel")
                or "poolbars-panel" in str(state.get("_css", ""))[:2000]]


# ---------------------------------------------------------------- watching the DOM

# Records, under window.__pbWatch[key], every text that ever appeared in the lanes'
# message, task and description cells inside `node` (so nothing shown between two
# polls is missed), and when each distinct message or description first reached the DOM
# (Date.now()), keyed "message:<text>" / "desc:<text>".
WATCH_JS = """([node, key]) => {
  const seen = {message: new Set(), task: new Set(), desc: new Set()};
  const firstSeen = new Map();
  const classes = {'pb-message': 'message', 'pb-task': 'task', 'pb-desc': 'desc'};
  const note = (el, now) => {
    for (const [cls, name] of Object.entries(classes)) {
      if (el.classList && el.classList.contains(cls)) {
        const t = el.textContent;
        seen[name].add(t);
        if (name !== 'task' && !firstSeen.has(name + ':' + t)) firstSeen.set(name + ':' + t, now);
      }
    }
  };
  const obs = new MutationObserver((records) => {
    const now = Date.now();
    for (const r of records) {
      const el = r.target.nodeType === 1 ? r.target : r.target.parentElement;
      if (el) note(el, now);
      for (const n of r.addedNodes) {
        if (n.nodeType !== 1) continue;
        note(n, now);
        n.querySelectorAll('.pb-message, .pb-task, .pb-desc').forEach((e) => note(e, now));
      }
    }
  });
  obs.observe(node, {subtree: true, childList: true, characterData: true});
  node.querySelectorAll('.pb-message, .pb-task, .pb-desc').forEach((e) => note(e, Date.now()));
  window.__pbWatch = window.__pbWatch || {};
  window.__pbWatch[key] = {seen, firstSeen, obs};
}"""

WATCHED_JS = """(key) => {
  const w = window.__pbWatch[key];
  return {message: [...w.seen.message], task: [...w.seen.task], desc: [...w.seen.desc],
          firstSeen: [...w.firstSeen.entries()]};
}"""


def watch(locator, key: str) -> None:
    locator.evaluate(f"(node) => ({WATCH_JS})([node, {json.dumps(key)}])")


def watched(page, key: str) -> dict:
    return page.evaluate(WATCHED_JS, key)


# ---------------------------------------------------------------- colours

def parse_css_colour(text: str) -> tuple[float, float, float, float]:
    """`rgb(…)`, `rgba(…)` or `color(srgb r g b / a)` as (r, g, b in 0..255, alpha)."""
    text = text.strip()
    m = re.fullmatch(r"rgba?\(([^)]*)\)", text)
    if m:
        parts = [p for p in re.split(r"[\s,/]+", m.group(1)) if p]
        r, g, b = (float(p) for p in parts[:3])
        a = float(parts[3]) if len(parts) > 3 else 1.0
        return r, g, b, a
    m = re.fullmatch(r"color\(srgb ([^)]*)\)", text)
    if m:
        parts = [p for p in re.split(r"[\s/]+", m.group(1)) if p]
        r, g, b = (255 * float(p) for p in parts[:3])
        a = float(parts[3]) if len(parts) > 3 else 1.0
        return r, g, b, a
    raise ValueError(f"cannot parse colour {text!r}")


def composite(top, bottom):
    a = top[3]
    return tuple(top[i] * a + bottom[i] * (1 - a) for i in range(3)) + (1.0,)


def relative_luminance(rgb) -> float:
    def channel(c):
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(fg, bg) -> float:
    l1, l2 = sorted((relative_luminance(fg), relative_luminance(bg)), reverse=True)
    return (l1 + 0.05) / (l2 + 0.05)


# The colour of an element's text and the backgrounds it sits on, innermost first, up to
# the first opaque one.
COLOURS_JS = """(el) => {
  const layers = [];
  for (let e = el; e; e = e.parentElement) {
    const bg = getComputedStyle(e).backgroundColor;
    layers.push(bg);
    if (/^rgb\\(/.test(bg) || (/^rgba\\(/.test(bg) && /,\\s*1\\)$/.test(bg))) break;
  }
  return {color: getComputedStyle(el).color, backgrounds: layers};
}"""


def effective_colours(locator) -> dict:
    """Text colour and the effective (composited) background of an element, and their
    contrast ratio."""
    raw = locator.evaluate(COLOURS_JS)
    bg = (255.0, 255.0, 255.0, 1.0)
    for layer in reversed(raw["backgrounds"]):
        colour = parse_css_colour(layer)
        if colour[3] > 0:
            bg = composite(colour, bg)
    fg = composite(parse_css_colour(raw["color"]), bg)
    return {"color": raw["color"], "fg": [round(c) for c in fg[:3]],
            "bg": [round(c) for c in bg[:3]], "contrast": round(contrast_ratio(fg, bg), 2)}
