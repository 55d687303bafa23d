"""The live dashboard of ``megapod serve``: one page at ``/`` and its static assets.

:func:`mount` adds the routes to the control plane's FastAPI app. The page is plain HTML, CSS
and JavaScript shipped in the package; it reads the site through the app's own ``/api/v1``
endpoints and follows it live by Server-Sent Events. Nothing here holds state or computes
physics: the page only draws what the API returns.
"""

from __future__ import annotations

from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse

from megapod.web import assets

#: URL prefix of the dashboard's static files.
STATIC_PREFIX = "/ui"
#: Name of the control plane's session cookie (set by ``POST /api/v1/session``).
SESSION_COOKIE = "megapod_token"


def mount(app: FastAPI) -> None:
    """Serve the dashboard page at ``/`` and its scripts and styles under ``/ui/`` on ``app``.

    The routes are left out of the OpenAPI document (they are a face, not the API).
    """
    cache = {"Cache-Control": "public, max-age=3600"}

    @app.get("/", include_in_schema=False)
    def dashboard_page(request: Request) -> HTMLResponse:
        # The session cookie is HttpOnly, so the page cannot see it: tell it whether one was sent,
        # so that a first visit goes straight to the sign-in form instead of asking the API.
        signed_in = SESSION_COOKIE in request.cookies
        page = assets.dashboard_html(STATIC_PREFIX, signed_in)
        return HTMLResponse(page, headers={"Cache-Control": "no-store"})

    @app.get(f"{STATIC_PREFIX}/plotly.min.js", include_in_schema=False)
    def plotly_js() -> Response:
        return Response(assets.plotly_js(), media_type="text/javascript", headers=cache)

    @app.get(STATIC_PREFIX + "/{name}", include_in_schema=False)
    def static_file(name: str) -> Response:
        body, media_type = assets.static_file(name)
        return Response(body, media_type=media_type, headers={"Cache-Control": "no-cache"})
