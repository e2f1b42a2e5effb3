"""The panel in JupyterLab's dark theme: its colours follow the theme and its text stays
legible. The theme is switched through the menu (Settings > Theme) and set back after."""

from __future__ import annotations

import re

from _harness import (composite, contrast_ratio, effective_colours, parse_css_colour, read_panel,
                      record_metrics)

POOL_CELL = 1
THEMES = "@jupyterlab/apputils-extension/themes"


def _set_theme(page, name: str, light: bool) -> None:
    page.get_by_role("menuitem", name="Settings", exact=True).first.click()
    page.locator(".lm-Menu-item:visible", has=page.locator(
        ".lm-Menu-itemLabel", has_text=re.compile(r"^Theme$"))).first.hover()
    page.locator(".lm-Menu-item:visible", has=page.locator(
        ".lm-Menu-itemLabel", has_text=re.compile(f"^{name}$"))).first.click()
    page.wait_for_function(
        """([name, light]) => document.body.dataset.jpThemeName === name &&
             document.body.dataset.jpThemeLight === String(light)""",
        arg=[name, light], timeout=30_000)


# White on each status badge's colour: a probe badge per status, added to the panel and
# removed again (the live panel only shows its own status).
_BADGES_JS = """(root) => {
  const out = {};
  for (const status of ['running', 'done', 'failed', 'cancelled']) {
    const probe = document.createElement('span');
    probe.className = 'pb-status';
    probe.dataset.status = status;
    probe.textContent = status;
    root.querySelector('.pb-header').appendChild(probe);
    const cs = getComputedStyle(probe);
    out[status] = [cs.color, cs.backgroundColor];
    probe.remove();
  }
  return out;
}"""


def _badge_contrasts(panel) -> dict:
    result = {}
    for status, (fg, bg) in panel.evaluate(_BADGES_JS).items():
        back = composite(parse_css_colour(bg), (255.0, 255.0, 255.0, 1.0))
        result[status] = round(contrast_ratio(composite(parse_css_colour(fg), back), back), 2)
    return result


def _colours(panel) -> dict:
    return {
        "text": effective_colours(panel),
        "lane_name": effective_colours(panel.locator(".pb-lane-name-text").first),
        "overall_count": effective_colours(panel.locator(".pb-ov-count")),
        "failure_error": effective_colours(panel.locator(".pb-failure-error").first),
        "traceback": effective_colours(panel.locator(".pb-traceback").first),
        "muted": effective_colours(panel.locator(".pb-ov-elapsed")),
        "status_badge": effective_colours(panel.locator(".pb-status")),
        "kind_badge": effective_colours(panel.locator(".pb-kind").first),
        "track": panel.locator(".pb-lane .pb-bar").first.evaluate(
            "(e) => getComputedStyle(e).backgroundColor"),
        "border": panel.evaluate("(e) => getComputedStyle(e).borderTopColor"),
    }


def test_dark_theme_colours_follow_and_stay_legible(open_lab, lab_server, artifacts):
    nbp = open_lab("theme.ipynb")
    page = nbp.page
    nbp.run_all()
    nbp.wait_all_done(timeout=120)
    nbp.wait_status(POOL_CELL, "failed")
    panel = nbp.panel(POOL_CELL)
    panel.locator(".pb-failure summary").first.click()  # show a traceback in both themes
    panel.locator(".pb-traceback").first.wait_for(state="visible")
    light = _colours(panel)
    light_badges = _badge_contrasts(panel)
    panel.screenshot(path=str(artifacts / "lab-theme-light.png"))
    try:
        _set_theme(page, "JupyterLab Dark", light=False)
        # the theme's CSS is in once the panel's own colours have moved
        page.wait_for_function(
            "([el, before]) => getComputedStyle(el).color !== before",
            arg=[panel.element_handle(), light["text"]["color"]], timeout=30_000)
        dark = _colours(panel)
        dark_badges = _badge_contrasts(panel)
        panel.screenshot(path=str(artifacts / "lab-theme-dark.png"))
        page.screenshot(path=str(artifacts / "lab-theme-dark-page.png"))
        state = read_panel(panel)
    finally:
        # never leave the server's settings dark for the tests that follow: set it back
        # through the UI (so no late save of "dark" lands after us), then on disk
        try:
            _set_theme(page, "JupyterLab Light", light=True)
        finally:
            lab_server.write_setting(THEMES, {"theme": "JupyterLab Light"})
        saved = lab_server.api("GET", "/lab/api/settings/@jupyterlab/apputils-extension:themes")
        assert saved["settings"].get("theme") == "JupyterLab Light", saved["raw"]
    record_metrics("contrast", {
        "light": {k: v["contrast"] for k, v in light.items() if isinstance(v, dict)},
        "dark": {k: v["contrast"] for k, v in dark.items() if isinstance(v, dict)},
        "status_badges_white_text": {"light": light_badges, "dark": dark_badges}})

    assert state["status"] == "failed" and state["percent"] == "100%", state
    # colours follow the theme
    assert dark["text"]["fg"] != light["text"]["fg"], (light["text"], dark["text"])
    assert dark["text"]["bg"] != light["text"]["bg"], (light["text"], dark["text"])
    assert dark["track"] != light["track"], (light["track"], dark["track"])
    assert dark["border"] != light["border"], (light["border"], dark["border"])
    assert sum(dark["text"]["bg"]) < sum(light["text"]["bg"]), "dark background is not darker"
    # and stay legible: WCAG AA for normal text
    for theme, colours in (("light", light), ("dark", dark)):
        for part in ("text", "lane_name", "overall_count", "failure_error", "traceback"):
            assert colours[part]["contrast"] >= 4.5, (theme, part, colours[part])
    assert not nbp.page_errors, nbp.page_errors
