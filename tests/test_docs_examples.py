"""The examples of the getting-started page and the guides run as written.

Every ```python block of docs/getting-started.md and docs/guides/*.md is run as a script
of its own, in a fresh interpreter with a temporary working directory: stderr is not a
terminal there, so `display="auto"` gives the plain log lines. A block must exit 0 and
print no uncaught traceback. Two marks, each an HTML comment on the line before the fence
(invisible on the site), change that:

- `<!-- raises: Name -->`: the block is meant to end with the uncaught exception `Name`
  (e.g. a map under on_error="raise"); it must exit non-zero with that exception last.
- `<!-- no-run: reason -->`: the block cannot run on its own (a notebook, a Dask
  scheduler elsewhere, another machine); it is not run. Such blocks must have a reason
  and stay a minority, so that the pages are mostly examples that are known to work.

The log view prints the tracebacks of failed tasks indented by two spaces; an uncaught
exception's traceback starts at the beginning of a line, which is what is looked for.
The log view never writes a carriage return: one in stderr is a bar that drew itself
(e.g. a tqdm bar the capture missed), so it fails the block too.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "docs" / "getting-started.md", *sorted((ROOT / "docs" / "guides").glob("*.md"))]
FENCE = re.compile(r"^```python[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)
MARK = re.compile(r"<!--\s*(no-run|raises):\s*(.*?)\s*-->\s*$")
UNCAUGHT = re.compile(r"^Traceback \(most recent call last\):", re.M)
TIME_LIMIT = 60  # seconds for one block: the examples are small and short


def blocks() -> list[tuple[str, int, str, str, str]]:
    """(page, line, code, mark, mark's text) for every python block of the pages."""
    found = []
    for page in PAGES:
        source = page.read_text(encoding="utf-8")
        for match in FENCE.finditer(source):
            line = source.count("\n", 0, match.start()) + 1
            before = source[:match.start()].rstrip("\n").rsplit("\n", 1)[-1]
            mark = MARK.search(before)
            found.append((page.relative_to(ROOT).as_posix(), line, match.group(1),
                          mark.group(1) if mark else "", mark.group(2) if mark else ""))
    return found


BLOCKS = blocks()
RUNNABLE = [b for b in BLOCKS if b[3] != "no-run"]


def test_every_page_exists_and_has_examples():
    names = {p.name for p in PAGES}
    assert "getting-started.md" in names
    guides = {"failures", "timeouts-retries-crashes", "interrupts", "worker-setup",
              "inner-progress", "commands", "remote", "retrofit", "dask",
              "record-and-journal", "terminal-and-logs"}
    assert guides <= {p.stem for p in PAGES}
    with_examples = {page for page, *_ in BLOCKS}
    assert with_examples == {p.relative_to(ROOT).as_posix() for p in PAGES}, (
        "every page has at least one python example")


def test_blocks_not_run_are_a_minority_and_say_why():
    skipped = [b for b in BLOCKS if b[3] == "no-run"]
    for page, line, _, _, reason in skipped:
        assert len(reason) >= 10, f"{page}:{line}: a no-run block must say why it cannot run"
    assert len(skipped) * 4 < len(BLOCKS), (
        f"{len(skipped)} of {len(BLOCKS)} blocks are not run: make more of them runnable")


def test_raises_marks_name_an_exception():
    for page, line, _, mark, name in BLOCKS:
        if mark == "raises":
            assert re.fullmatch(r"[A-Za-z_][\w.]*", name), f"{page}:{line}: raises: {name!r}"


@pytest.mark.parametrize("page,line,code,mark,expected", RUNNABLE,
                         ids=[f"{b[0]}:{b[1]}" for b in RUNNABLE])
def test_example_runs(page, line, code, mark, expected, tmp_path):
    script = tmp_path / "example.py"
    script.write_text(code, encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]))
    env.pop("POOLBARS_PANEL", None)
    env.pop("POOLBARS_AUTHKEY", None)
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=TIME_LIMIT)
    # bytes, decoded here: text mode would turn a carriage return into a newline
    stdout, stderr = (out.decode("utf-8", "replace") for out in (done.stdout, done.stderr))
    where = f"{page}:{line}\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}"
    if mark == "raises":
        assert done.returncode != 0, f"the block should have raised {expected}: {where}"
        last = stderr.strip().splitlines()[-1] if stderr.strip() else ""
        assert UNCAUGHT.search(stderr) and re.match(
            rf"({re.escape(expected)}|[\w.]*\.{re.escape(expected)})\b", last), (
            f"the block should end with an uncaught {expected}: {where}")
    else:
        assert done.returncode == 0, where
        assert not UNCAUGHT.search(stderr), where
        assert "\r" not in stderr, f"a bar drew itself on stderr: {where}"
