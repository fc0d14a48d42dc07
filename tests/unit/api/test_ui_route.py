"""``/ui``: the console's build served from the project home, or a page saying how to build it."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tripcast.api.routes.ui import BUILD_DIR, add_ui_routes


def test_without_a_build_ui_says_how_to_make_one(tmp_path: Path) -> None:
    app = FastAPI()
    add_ui_routes(app, tmp_path)
    answer = TestClient(app).get("/ui")
    assert answer.status_code == 503
    assert "npm ci &amp;&amp; npm run build" in answer.text and str(tmp_path / BUILD_DIR) in answer.text


def test_the_build_is_served_once_it_exists_without_a_restart(tmp_path: Path) -> None:
    app = FastAPI()
    add_ui_routes(app, tmp_path)
    api = TestClient(app)
    assert api.get("/ui/").status_code == 503
    build = tmp_path / BUILD_DIR
    (build / "assets").mkdir(parents=True)
    (build / "index.html").write_text("<html><div id=root></div></html>")
    (build / "assets" / "app.js").write_text("console.log(1)")
    index = api.get("/ui/")
    assert index.status_code == 200 and "id=root" in index.text
    assert api.get("/ui/assets/app.js").text == "console.log(1)"
    assert api.get("/ui/assets/missing.js").status_code == 404
