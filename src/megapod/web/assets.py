"""The web face's files: the vendored plotly.js, the shared chart script and style sheet.

plotly.js is not copied into this repository: it is the bundle that ships inside the ``plotly``
package installed from the package registry (a pinned dependency), read from there once and
inlined into static pages or served by the dashboard. Nothing is fetched from a network.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

#: Files under ``megapod/web/static`` the dashboard may serve, with their media types.
STATIC_FILES: dict[str, str] = {
    "megapod.css": "text/css",
    "charts.js": "text/javascript",
    "dashboard.css": "text/css",
    "dashboard.js": "text/javascript",
    "dashboard-map.js": "text/javascript",
    "dashboard-panels.js": "text/javascript",
}

#: The dashboard's scripts in the order the page runs them: the chart script, the dashboard's core
#: (which makes the ``window.megapod`` object the others share), the site map, the other panels.
DASHBOARD_SCRIPTS: tuple[str, ...] = ("charts.js", "dashboard.js", "dashboard-map.js", "dashboard-panels.js")


@cache
def plotly_js() -> str:
    """The minified plotly.js bundle of the installed ``plotly`` package."""
    path = resources.files("plotly").joinpath("package_data", "plotly.min.js")
    return path.read_text("utf-8")


@cache
def _static_text(name: str) -> str:
    return resources.files("megapod.web").joinpath("static", name).read_text("utf-8")


def static_text(name: str) -> str:
    """The text of one of :data:`STATIC_FILES`; ``KeyError`` for any other name."""
    if name not in STATIC_FILES:
        raise KeyError(name)
    return _static_text(name)


def static_file(name: str) -> tuple[str, str]:
    """Body and media type of a static file, or an HTTP 404 for a name not in :data:`STATIC_FILES`."""
    if name not in STATIC_FILES:
        from fastapi import HTTPException

        raise HTTPException(status_code=404, detail=f"no file {name!r} here")
    return _static_text(name), STATIC_FILES[name]


@cache
def template_text(name: str) -> str:
    """The text of a page template under ``megapod/web/templates``."""
    return resources.files("megapod.web").joinpath("templates", name).read_text("utf-8")


def dashboard_html(static_prefix: str, signed_in: bool = False) -> str:
    """The dashboard page with its style and scripts inlined (one request before the first
    render; plotly.js is loaded from ``static_prefix`` afterwards); ``signed_in`` says whether
    the request carried a session cookie worth checking."""
    css = static_text("megapod.css") + static_text("dashboard.css")
    scripts = "\n".join(static_text(name) for name in DASHBOARD_SCRIPTS)
    page = template_text("dashboard.html")
    for key, value in (
        ("{{STATIC}}", static_prefix),
        ("{{SESSION}}", "cookie" if signed_in else "none"),
        ("{{CSS}}", css.replace("</", "<\\/")),
        ("{{SCRIPTS}}", scripts.replace("</script", "<\\/script")),
    ):
        page = page.replace(key, value)
    return page
