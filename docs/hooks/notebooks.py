"""The example notebooks as pages of the site, their panels drawn from the saved widget state.

For each notebooks/NAME.ipynb this hook adds, as generated files (nothing is committed):
- notebooks/NAME.md: the notebook's first markdown cell (its title and intro, so the page
  has a heading and is searchable), then an iframe sized to its content;
- notebooks/html/NAME.html and NAME.dark.html: the rest of the notebook exported by
  nbconvert (lab template, JupyterLab's light and dark theme, shown as the site's colour
  scheme is), with the saved widget state, which the html-manager renders without a kernel;
- notebooks/html/{require,embed-amd,anywidget}.js: the widget JS, vendored from
  node_modules, so the panels render offline (no CDN), also from file://;
- notebooks/NAME.ipynb: the notebook itself, to download.

Why an iframe: the export keeps JupyterLab's own look and CSS, and its require.js (an AMD
loader) stays out of the material page; inline, material's typography would restyle the
panel's details, buttons and progress bars.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import nbformat
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

# name in the site (beside the exported pages: require.js resolves "anywidget" there) -> npm path
VENDORED = {
    "require.js": "requirejs/require.js",
    "embed-amd.js": "@jupyter-widgets/html-manager/dist/embed-amd.js",
    "anywidget.js": "anywidget/dist/index.js",
}

# Posts the exported page's height to the page that frames it (file:// frames are
# cross-origin to each other, so the parent cannot measure it itself); the frame, not
# the export, adds the margins and the background (a frame whose color-scheme differs from
# the page's gets an opaque backdrop).
REPORT_HEIGHT = """<style>
:root { color-scheme: THEME; }
body.jp-Notebook { padding: 0; margin: 0; overflow-y: hidden; background: transparent; }
</style>
<script>
(function () {
  function post() {
    parent.postMessage({poolbarsNotebookHeight: document.documentElement.scrollHeight}, "*");
  }
  new ResizeObserver(post).observe(document.body);
  addEventListener("load", post);
}());
</script>
"""

# Sizes each notebook frame to the height its page reports, and shows the export of the
# site's colour scheme (material's palette toggle sets data-md-color-scheme on <body>).
FIT_FRAME = """<script>
(function () {
  var frames = document.querySelectorAll("iframe.pb-notebook");
  addEventListener("message", function (event) {
    var height = event.data && event.data.poolbarsNotebookHeight;
    frames.forEach(function (frame) {
      if (frame.contentWindow === event.source && typeof height === "number") {
        frame.style.height = Math.ceil(height) + 2 + "px";
      }
    });
  });
  function follow() {
    var dark = document.body.getAttribute("data-md-color-scheme") === "slate";
    frames.forEach(function (frame) {
      var src = frame.getAttribute(dark ? "data-dark" : "data-light");
      if (frame.getAttribute("src") !== src) frame.setAttribute("src", src);
    });
  }
  follow();
  new MutationObserver(follow).observe(document.body, {attributeFilter: ["data-md-color-scheme"]});
}());
</script>
"""


def _root(config: MkDocsConfig) -> Path:
    return Path(config.config_file_path).resolve().parent


def _node_modules(root: Path) -> Path:
    """node_modules with the vendored JS, its anywidget matching the Python one."""
    import anywidget

    modules = root / "node_modules"
    missing = [path for path in VENDORED.values() if not (modules / path).is_file()]
    if missing:
        raise PluginError(
            f"the notebook pages need the widget JS from node_modules, missing: "
            f"{', '.join(missing)}. Run `npm ci` in {root} first.")
    version = json.loads((modules / "anywidget/package.json").read_text())["version"]
    if version.split(".")[:2] != anywidget.__version__.split(".")[:2]:
        raise PluginError(
            f"npm anywidget {version} does not match the Python anywidget "
            f"{anywidget.__version__}: update the devDependency in package.json, then `npm ci`.")
    return modules


def _export(nb: Any, title: str, theme: str) -> str:
    """The notebook as a standalone page (JupyterLab's `theme`: light or dark) loading
    the widget JS from its own folder."""
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    config = Config()
    config.HTMLExporter.require_js_url = "require.js"
    config.HTMLExporter.widget_renderer_url = "embed-amd.js"
    config.HTMLExporter.mathjax_url = ""
    config.HTMLExporter.exclude_input_prompt = True
    config.HTMLExporter.exclude_output_prompt = True
    config.HTMLExporter.theme = theme
    body, _ = HTMLExporter(config=config).from_notebook_node(
        nb, resources={"metadata": {"name": title}})
    return body.replace("</body>", REPORT_HEIGHT.replace("THEME", theme) + "</body>", 1)


def _page(name: str, intro: str, title: str) -> str:
    """The markdown page that frames the export."""
    return (f"{intro}\n\n"
            f"The panels below are drawn from the widget state saved when "
            f"[`notebooks/{name}.ipynb`]({name}.ipynb) was last executed: no kernel, no "
            f"network.\n\n"
            f'<iframe class="pb-notebook" src="html/{name}.html" title="{html.escape(title)}" '
            f'data-light="html/{name}.html" data-dark="html/{name}.dark.html" '
            f'style="width: 100%; height: 80vh; border: 0;"></iframe>\n\n'
            f"{FIT_FRAME}")


def _notebook_files(path: Path, config: MkDocsConfig) -> list[File]:
    nb = nbformat.read(path, as_version=4)
    intro = ""
    if nb.cells and nb.cells[0].cell_type == "markdown":
        intro = nb.cells.pop(0).source  # the title and intro become the page's own text
    title = next((line[2:].strip() for line in intro.splitlines() if line.startswith("# ")),
                 path.stem)
    return [
        File.generated(config, f"notebooks/{path.stem}.md", content=_page(path.stem, intro, title)),
        File.generated(config, f"notebooks/html/{path.stem}.html",
                       content=_export(nb, title, "light")),
        File.generated(config, f"notebooks/html/{path.stem}.dark.html",
                       content=_export(nb, title, "dark")),
        File.generated(config, f"notebooks/{path.name}", abs_src_path=str(path)),
    ]


def on_files(files: Files, config: MkDocsConfig) -> Files:
    root = _root(config)
    modules = _node_modules(root)
    for name, source in VENDORED.items():
        files.append(File.generated(config, f"notebooks/html/{name}",
                                    abs_src_path=str(modules / source)))
    for path in sorted((root / "notebooks").glob("*.ipynb")):
        for file in _notebook_files(path, config):
            files.append(file)
    return files


def on_serve(server: Any, config: MkDocsConfig, builder: Any) -> Any:
    """`mkdocs serve` rebuilds when a notebook changes."""
    server.watch(str(_root(config) / "notebooks"))
    return server
