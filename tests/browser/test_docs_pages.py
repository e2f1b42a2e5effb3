"""The built documentation site, opened from file:// in Chromium with every other request
aborted: the quickstart notebook's page draws its panels from the saved widget state with
their final numbers (no kernel, no CDN), and the API reference has a heading for every
public name."""

from __future__ import annotations

import json
import re

import pytest

import poolbars
from docsite import build_site
from _harness import ROOT, parse_css_colour, read_panel, relative_luminance

QUICKSTART_TITLES = ["Convert", "Squares", "Parse", "Parse, raising"]
VIEW = "application/vnd.jupyter.widget-view+json"
STATE = "application/vnd.jupyter.widget-state+json"
NOTEBOOKS = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))


def _saved_panels(name: str) -> list[tuple[str, str]]:
    """(title, status) of each panel output of notebooks/NAME.ipynb, from its saved state."""
    nb = json.loads((ROOT / "notebooks" / f"{name}.ipynb").read_text())
    states = nb["metadata"]["widgets"][STATE]["state"]
    found = []
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            model = states.get(out.get("data", {}).get(VIEW, {}).get("model_id"))
            if model and model["state"].get("_anywidget_id", "").endswith("ProgressPanel"):
                found.append((model["state"]["title"], model["state"]["status"]))
    return found


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return build_site(tmp_path_factory.mktemp("site"))


@pytest.fixture
def offline_page(browser):
    """A page that may load file:// only, with what it loaded, blocked and threw."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(30_000)
    seen = {"loaded": [], "blocked": [], "errors": []}

    def route(r):
        if r.request.url.startswith("file://"):
            r.continue_()
        else:
            seen["blocked"].append(r.request.url)
            r.abort()

    ctx.route("**/*", route)
    page = ctx.new_page()
    page.on("request", lambda req: seen["loaded"].append(req.url))
    page.on("pageerror", lambda exc: seen["errors"].append(str(exc)))
    page.on("console", lambda m: m.type == "error" and seen["errors"].append(m.text))
    yield page, seen
    ctx.close()


def test_quickstart_page_renders_saved_panels_offline(site, offline_page, artifacts):
    page, seen = offline_page
    page.goto((site / "notebooks" / "quickstart.html").as_uri(), wait_until="load")
    frame_el = page.locator("iframe.pb-notebook")
    frame = frame_el.element_handle().content_frame()
    frame.locator(".poolbars-panel .pb-status").nth(len(QUICKSTART_TITLES) - 1).wait_for()
    panels = [read_panel(p) for p in frame.locator(".poolbars-panel").all()]
    folds = frame.locator(".poolbars-panel .pb-fold").evaluate_all(
        "(els) => els.map(e => e.hidden ? null : e.textContent)")
    # the frame is sized to its content: the page scrolls, not the frame
    page.wait_for_function(
        "() => parseFloat(document.querySelector('iframe.pb-notebook').style.height) > 900")
    frame_height = frame_el.evaluate("(f) => f.getBoundingClientRect().height")
    content_height = frame.evaluate("() => document.documentElement.scrollHeight")
    page.screenshot(path=str(artifacts / "docs-notebook.png"), full_page=True)
    heading = page.locator("article h1").first.inner_text()

    assert heading.startswith("poolbars quick start"), heading
    assert [p["title"] for p in panels] == QUICKSTART_TITLES, panels
    convert = panels[0]
    assert convert["status"] == "done" and convert["count"] == "40/40 it", convert
    assert convert["percent"] == "100%" and convert["overallWidth"] == "100%", convert
    assert convert["chips"]["done"] == "40", convert
    assert re.fullmatch(r"\d+ workers? · 40 done", folds[0] or ""), folds
    squares = panels[1]
    assert squares["status"] == "done" and squares["percent"] == "100%", squares
    assert [f["label"] for f in panels[2]["failures"]] == ["3"], panels[2]
    assert all(p["status"] != "running" for p in panels), panels
    assert abs(frame_height - content_height) <= 4, (frame_height, content_height)
    dark = _dark_scheme_panel(page, artifacts)
    assert dark["title"] == "Convert" and dark["status"] == "done", dark
    assert relative_luminance(parse_css_colour(dark["titleColour"])) > 0.5, dark
    # the same color-scheme on both sides: the frame stays transparent over the dark page
    assert dark["schemes"] == ["dark", "dark"], dark
    widget_js = [u for u in seen["loaded"]
                 if u.startswith("file://") and u.endswith("/notebooks/html/anywidget.js")]
    assert widget_js, seen["loaded"]
    assert not seen["blocked"] and not seen["errors"], seen


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_notebook_page_draws_its_saved_panels(site, offline_page, name):
    page, seen = offline_page
    expected = _saved_panels(name)
    assert expected, f"notebooks/{name}.ipynb saved no panel state"
    page.goto((site / "notebooks" / f"{name}.html").as_uri(), wait_until="load")
    frame = page.locator("iframe.pb-notebook").element_handle().content_frame()
    frame.locator(".poolbars-panel .pb-status").nth(len(expected) - 1).wait_for()
    shown = [(p["title"], p["status"]) for p in
             (read_panel(panel) for panel in frame.locator(".poolbars-panel").all())]
    assert shown == expected, (shown, expected)
    assert not seen["blocked"] and not seen["errors"], seen


def _dark_scheme_panel(page, artifacts) -> dict:
    """Switch the site to its dark scheme with material's toggle: the frame shows the
    notebook's dark export, whose first panel is read back."""
    page.locator('label[title="Dark mode"]').click()
    page.wait_for_function("() => document.querySelector('iframe.pb-notebook')"
                           ".getAttribute('src').endsWith('quickstart.dark.html')")
    frame = page.locator("iframe.pb-notebook").element_handle().content_frame()
    frame.wait_for_url("**/quickstart.dark.html")
    panel = frame.locator(".poolbars-panel").first
    panel.locator(".pb-status").wait_for()
    state = read_panel(panel)
    state["titleColour"] = panel.locator(".pb-title").evaluate("(e) => getComputedStyle(e).color")
    state["schemes"] = [
        page.locator("iframe.pb-notebook").evaluate("(f) => getComputedStyle(f).colorScheme"),
        frame.evaluate("() => getComputedStyle(document.documentElement).colorScheme")]
    page.screenshot(path=str(artifacts / "docs-notebook-dark.png"))
    return state


def test_reference_has_a_heading_per_public_name(site, offline_page):
    page, seen = offline_page
    page.goto((site / "reference.html").as_uri(), wait_until="load")
    found = page.evaluate("""(names) => names.map(n => {
        const el = document.getElementById('poolbars.' + n);
        return [n, el ? el.tagName : null, el ? el.textContent : null];
      })""", poolbars.__all__)
    missing = [name for name, tag, _ in found if not (tag and re.fullmatch(r"H[1-6]", tag))]
    assert not missing, found
    assert all(name in text for name, _, text in found), found
    assert not seen["blocked"] and not seen["errors"], seen
