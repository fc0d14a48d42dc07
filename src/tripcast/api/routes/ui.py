"""``/ui``: the web console's production build (``frontend/web/dist``), same origin as the API.

The build is not committed: ``cd frontend && npm ci && npm run build`` makes it (``DOCS/frontend.md``).
Without it, ``/ui`` answers a page saying how to build it. The console routes by URL fragment
(``/ui/#/models``), so the static files need no fallback route.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

#: Where the build lands, under the project home (``TRIPCAST_HOME``).
BUILD_DIR = Path("frontend") / "web" / "dist"

NOT_BUILT = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Tripcast console</title></head>
<body><main><h1>The web console is not built</h1>
<p>Build it once, then reload this page (no server restart needed):</p>
<pre>cd frontend &amp;&amp; npm ci &amp;&amp; npm run build</pre>
<p>Looked for <code>{path}</code>.</p></main></body></html>"""


class _LateStaticFiles(StaticFiles):
    """Static files whose directory may appear after start-up (built while the server runs)."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory=directory, html=True, check_dir=False)
        self.build = directory


def add_ui_routes(app: FastAPI, home: Path) -> None:
    """Serve the console under ``/ui`` from ``home``'s build, or a how-to-build page while there is none."""
    build = home / BUILD_DIR
    static = _LateStaticFiles(build)

    @app.get("/ui", include_in_schema=False)
    async def ui_root() -> RedirectResponse:
        return RedirectResponse("/ui/")

    @app.get("/ui/", include_in_schema=False, response_model=None)
    async def ui_index() -> HTMLResponse | RedirectResponse:
        index = build / "index.html"
        if not index.is_file():
            return HTMLResponse(NOT_BUILT.format(path=build), status_code=503)
        return HTMLResponse(index.read_text(encoding="utf-8"), headers={"Cache-Control": "no-cache"})

    app.mount("/ui", static, name="ui")


__all__ = ["BUILD_DIR", "add_ui_routes"]
