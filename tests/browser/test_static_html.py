"""An executed notebook keeps the panel's FINAL state: in its saved widget state (shown by
an HTML export opened offline from file://, with locally vendored JS) and in the text/plain
fallback. A `</script>` in a label must not break the exported page (ipywidgets #2188)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import anywidget
import nbformat
import pytest

import _notebooks as nbs
from _harness import ROOT

VIEW = "application/vnd.jupyter.widget-view+json"
STATE = "application/vnd.jupyter.widget-state+json"
TAG_TITLE = "labels </script> end"
TAG_ITEM = "</script><script>alert(1)</script>"

# beside the HTML: require.js resolves the widget modules from the page's folder
VENDORED = {
    "require.js": "requirejs/require.js",
    "embed-amd.js": "@jupyter-widgets/html-manager/dist/embed-amd.js",
    # the html-manager asks require.js for the module "anywidget" -> ./anywidget.js
    "anywidget.js": "anywidget/dist/index.js",
}


def _node_modules():
    modules = ROOT / "node_modules"
    if not all((modules / path).exists() for path in VENDORED.values()):
        npm = shutil.which("npm")
        assert npm, "npm is needed for the vendored widget JS (package.json devDependencies)"
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=ROOT, check=True, timeout=600)
    version = json.loads((modules / "anywidget/package.json").read_text())["version"]
    assert version.split(".")[:2] == anywidget.__version__.split(".")[:2], (
        f"npm anywidget {version} does not match the Python anywidget {anywidget.__version__}: "
        "update the devDependency in package.json")
    return modules


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """The quickstart plus a `</script>` label, executed with its widget state stored."""
    from nbclient import NotebookClient

    work = tmp_path_factory.mktemp("static")
    nb = nbformat.read(ROOT / "notebooks" / "quickstart.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(nbs.CLOSING_TAG_CELL))
    runtime = work / "runtime"  # the kernel's connection file stays out of the home folder
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_RUNTIME_DIR", str(runtime))
        NotebookClient(nb, timeout=300, kernel_name="python3", store_widget_state=True,
                       resources={"metadata": {"path": str(work)}}).execute()
    nbformat.write(nb, work / "quickstart-executed.ipynb")
    return work, nb


def _panel_outputs(nb):
    """(text/plain, saved state) of every poolbars panel output, in order."""
    states = nb.metadata["widgets"][STATE]["state"]
    found = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if VIEW in data:
                model = states.get(data[VIEW]["model_id"])
                assert model is not None, f"no saved state for {data[VIEW]['model_id']}"
                if model["state"].get("_anywidget_id", "").endswith("ProgressPanel"):
                    found.append((data.get("text/plain", ""), model["state"]))
    return found


def test_saved_state_and_text_fallback_are_final(executed):
    _, nb = executed
    panels = _panel_outputs(nb)
    titles = [state["title"] for _, state in panels]
    assert titles == ["Convert", "Squares", "Parse", "Parse, raising", TAG_TITLE], titles
    for plain, state in panels:
        assert state["status"] != "running", (state["title"], state["status"])
        assert "[running]" not in plain, plain
        o = state["overall"]
        assert o["running"] == 0 and o["pending"] == 0, (state["title"], o)
    by_title = {state["title"]: (plain, state) for plain, state in panels}
    plain, state = by_title["Convert"]
    assert state["status"] == "done" and state["overall"]["done"] == 40, state["overall"]
    assert plain.startswith("Convert [done] 40/40 100%"), plain
    assert "done 40 · failed 0" in plain, plain
    plain, state = by_title["Squares"]
    assert plain.startswith("Squares [done] 10000/10000 100%"), plain
    plain, _ = by_title[TAG_TITLE]
    assert plain.startswith(f"{TAG_TITLE} [failed] 2/2 100%"), plain
    assert repr(TAG_ITEM) in plain and "ZeroDivisionError" in plain, plain
    # the text fallback folds the lanes into one line, above the failures
    assert re.search(r"\n  2 workers · 1 done · 1 failed \(on 1 worker\)\n  ✗ error", plain), plain


def test_exported_html_renders_final_state_offline(executed, browser, artifacts):
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    work, nb = executed
    modules = _node_modules()
    config = Config()
    config.HTMLExporter.require_js_url = "require.js"
    config.HTMLExporter.widget_renderer_url = "embed-amd.js"
    config.HTMLExporter.mathjax_url = ""
    body, _ = HTMLExporter(config=config).from_notebook_node(nb)
    page_path = work / "quickstart.html"
    page_path.write_text(body, encoding="utf-8")
    for name, source in VENDORED.items():
        shutil.copy(modules / source, work / name)
    # keep the page and its JS for a look (opens offline from the artifacts folder too)
    keep = artifacts / "static-html"
    keep.mkdir(exist_ok=True)
    for name in [page_path.name, "quickstart-executed.ipynb", *VENDORED]:
        shutil.copy(work / name, keep / name)

    ctx = browser.new_context(viewport={"width": 1100, "height": 900})
    blocked, loaded, dialogs, errors = [], [], [], []

    def route(r):
        if r.request.url.startswith("file://"):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    ctx.route("**/*", route)
    page = ctx.new_page()
    page.on("request", lambda req: loaded.append(req.url))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(page_path.as_uri(), wait_until="load")
        expected = len(_panel_outputs(nb))
        page.wait_for_function(
            "(n) => document.querySelectorAll('.poolbars-panel .pb-status').length >= n",
            arg=expected, timeout=30_000)
        panels = page.evaluate("""() => Array.from(document.querySelectorAll('.poolbars-panel'))
          .map(p => ({title: p.querySelector('.pb-title').textContent,
                      status: p.querySelector('.pb-status').textContent,
                      count: p.querySelector('.pb-ov-count').textContent,
                      percent: p.querySelector('.pb-ov-percent').textContent,
                      width: p.querySelector('.pb-bar-overall > .pb-fill').style.width,
                      labels: Array.from(p.querySelectorAll('.pb-failure-label')).map(e => e.textContent),
                      fold: p.querySelector('.pb-fold').hidden ? null : p.querySelector('.pb-fold').textContent,
                      lanesShown: !p.querySelector('.pb-lane-body').hidden,
                      injected: p.querySelectorAll('script, img, iframe').length}))""")
        page.screenshot(path=str(artifacts / "static-html.png"), full_page=True)
        cells = page.locator(".jp-Cell").count()
        last_output = page.locator(".jp-Cell").last.inner_text()
    finally:
        ctx.close()

    assert any(u.startswith("file://") and u.endswith("/anywidget.js") for u in loaded), loaded
    assert not [u for u in blocked if "anywidget" in u or "html-manager" in u], blocked
    by_title = {p["title"]: p for p in panels}
    assert len(panels) == expected and len(by_title) == expected, panels
    convert = by_title["Convert"]
    assert convert["status"] == "done" and convert["percent"] == "100%", convert
    assert convert["count"] == "40/40 it" and convert["width"] == "100%", convert
    # the saved final state folds the lanes into one line, as the live panel did
    assert re.fullmatch(r"\d+ workers? · 40 done", convert["fold"] or ""), convert
    assert not convert["lanesShown"], convert
    squares = by_title["Squares"]
    assert squares["status"] == "done" and squares["percent"] == "100%", squares
    assert by_title["Parse"]["labels"] == ["3"], by_title["Parse"]
    # the page survived the </script> in the saved state and still renders to the end
    tagged = by_title[TAG_TITLE]
    assert tagged["status"] == "failed" and tagged["labels"] == [repr(TAG_ITEM)], tagged
    assert all(p["injected"] == 0 for p in panels), panels
    assert cells == len(nb.cells), (cells, len(nb.cells))
    assert not dialogs and not errors, (dialogs, errors)
    assert TAG_TITLE in last_output and repr(TAG_ITEM) in last_output, last_output
