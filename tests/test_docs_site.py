"""The documentation site: the API reference lists exactly `poolbars.__all__`, and
`mkdocs build --strict` succeeds (every page, every docstring, every link), with the
notebook pages rendered offline. The browser half is tests/browser/test_docs_pages.py."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

import poolbars
from docsite import build_site

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))


def _hook():
    spec = importlib.util.spec_from_file_location("notebooks_hook",
                                                  ROOT / "docs" / "hooks" / "notebooks.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_reference_lists_every_public_name_once():
    text = (ROOT / "docs" / "reference.md").read_text()
    entries = re.findall(r"^::: *(\S+)", text, flags=re.M)
    expected = [f"poolbars.{name}" for name in poolbars.__all__]
    assert sorted(entries) == sorted(expected), (
        f"missing: {sorted(set(expected) - set(entries))}, "
        f"not public: {sorted(set(entries) - set(expected))}")
    assert len(entries) == len(set(entries)), entries


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return build_site(tmp_path_factory.mktemp("site"))


def test_strict_build_renders_every_reference_entry(site):
    html = (site / "reference.html").read_text()
    ids = set(re.findall(r'<h\d id="([^"]+)"', html))
    missing = [name for name in poolbars.__all__ if f"poolbars.{name}" not in ids]
    assert not missing, missing
    assert (site / "index.html").is_file()


def test_notebook_pages_load_their_widget_js_locally(site):
    for name in NOTEBOOKS:
        page = (site / "notebooks" / f"{name}.html").read_text()
        assert f'src="html/{name}.html"' in page, name
        assert f'data-dark="html/{name}.dark.html"' in page, name
        for export_name in [f"{name}.html", f"{name}.dark.html"]:
            export = (site / "notebooks" / "html" / export_name).read_text()
            assert "application/vnd.jupyter.widget-state+json" in export, export_name
            assert "poolbarsNotebookHeight" in export, export_name
            # every script the export loads comes from beside it, none from a CDN
            sources = re.findall(r'<script[^>]*\ssrc="([^"]*)"', export)
            assert {s for s in sources if s} == {"require.js"}, (export_name, sources)
            assert "widgetRendererSrc = 'embed-amd.js'" in export, export_name
        assert (site / "notebooks" / f"{name}.ipynb").is_file(), name
    for js in _hook().VENDORED:
        assert (site / "notebooks" / "html" / js).stat().st_size > 1000, js


def test_missing_node_modules_names_the_fix(tmp_path):
    from mkdocs.exceptions import PluginError

    with pytest.raises(PluginError, match=r"missing: requirejs/require\.js.*Run `npm ci` in"):
        _hook()._node_modules(tmp_path)


def test_readme_links_the_built_site():
    readme = (ROOT / "README.md").read_text()
    assert "(site/index.html)" in readme
    assert 'pip install -e ".[docs]" && mkdocs build' in readme


def test_notebooks_are_saved_with_the_current_front_end():
    # the site draws each notebook's panels with the widget JS saved in it: a notebook
    # saved before a front-end change would show readers yesterday's panel
    static = ROOT / "src" / "poolbars" / "static"
    esm, css = (static / "widget.js").read_text(), (static / "widget.css").read_text()
    stale = []
    for name in NOTEBOOKS:
        nb = json.loads((ROOT / "notebooks" / f"{name}.ipynb").read_text())
        states = nb["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
        panels = [m["state"] for m in states.values()
                  if m["state"].get("_anywidget_id", "").endswith("ProgressPanel")]
        assert panels, f"notebooks/{name}.ipynb has no saved panel"
        if any(p["_esm"] != esm or p.get("_css") != css for p in panels):
            stale.append(name)
    assert not stale, (f"notebooks {stale} were saved with an older front end: re-execute them "
                       "(cd notebooks && jupyter nbconvert --to notebook --execute --inplace "
                       "*.ipynb)")
