"""render_project on a tiny source tree: selection by level and type, markers, rename, what is never copied."""

from __future__ import annotations

from pathlib import Path

import pytest

import tripcast.levels
from tripcast.generator.options import ProjectOptions
from tripcast.generator.render import render_project
from tripcast.generator.selection import SourceError
from tripcast.levels import Level

FILES = {
    "README.md": "# Fakepkg\nrun `fakepkg demo`\n<!-- level>=intermediate -->\nserve it\n<!-- level-end -->\n",
    "Makefile": "test:\n\tpytest\nfront:  # folder: frontend\nbench:  # level: advanced\n",
    "pyproject.toml": '[project]\nname = "fakepkg"\n[project.scripts]\nfakepkg = "fakepkg.cli.app:main"\n',
    "uv.lock": "lock of the source: never copied\n",
    ".ci/run": "#!/usr/bin/env bash\nmake test\n",
    "src/fakepkg/__init__.py": "",
    "src/fakepkg/core/__init__.py": "",
    "src/fakepkg/core/model.py": (
        "from fakepkg.core import x\n\n\ndef basic():\n    return 1\n\n\n"
        "def drift():  # level: intermediate\n    return FAKEPKG_FLAG\n"
    ),
    "src/fakepkg/api/__init__.py": "",
    "src/fakepkg/api/app.py": "import fakepkg.core\n",
    "src/fakepkg/mlops/__init__.py": "",
    "src/fakepkg/mlops/training/__init__.py": "",
    "src/fakepkg/mlops/drift_detection/__init__.py": "",
    "src/fakepkg/data_engineering/__init__.py": "",
    "src/fakepkg/data_engineering/tlc/zones.csv": "zone\n1\n",
    "src/fakepkg/data_engineering/pipeline.py": "",
    "frontend/app.ts": "export {}\n",
    "observability/prom.yml": "scrape: []\n",
    "DOCS/guide.md": "Fakepkg guide\n",
    "tests/unit/test_core.py": "from fakepkg.core.model import basic\n",
    "tests/unit/test_api.py": "import fakepkg.api.app\n",
    "tests/unit/test_prose.py": '"""The frontend/ folder is described here only in prose."""\n',
    "tests/support/front.py": 'from pathlib import Path\nFRONT = Path("frontend") / "web"\n',
    "tests/unit/test_ui.py": "from support.front import FRONT\n",
    "tests/e2e/frontend/conftest.py": 'ROOT = "frontend/dist"\n',
    "tests/e2e/frontend/test_browser.py": "def test_x():\n    pass\n",
    "tests/integration/monitoring/rules.test.yml": "rule_files:\n  - ../../../observability/prom.yml\n",
    ".venv/lib/site.py": "never copied\n",
    "data/raw/trips.csv": "never copied\n",
    "node_modules/x/index.js": "never copied\n",
    "frontend/web/dist/index.js": "build output: never copied\n",
    "src/fakepkg/core/__pycache__/model.cpython-311.pyc": "never copied\n",
    "tests/unit/data/test_rows.py": "from fakepkg.core.model import basic\n",
}


def make_source(root: Path) -> Path:
    levels = Path(tripcast.levels.__file__).read_text(encoding="utf-8").replace("tripcast", "fakepkg")
    for relative, text in {**FILES, "src/fakepkg/levels.py": levels}.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_source(tmp_path_factory.mktemp("fake-source"))


def render(source: Path, level: Level, project_type: str = "enterprise") -> dict[str, bytes]:
    return render_project(source, ProjectOptions("my-proj", level, project_type))


def test_beginner_keeps_beginner_packages_with_their_parent_inits_and_renames_them(source):
    files = render(source, Level.BEGINNER)
    assert "src/my_proj/mlops/__init__.py" in files  # parent of the beginner mlops.training
    assert "src/my_proj/mlops/training/__init__.py" in files
    assert "src/my_proj/mlops/drift_detection/__init__.py" not in files
    assert "src/my_proj/data_engineering/tlc/zones.csv" in files  # package data of a beginner package
    assert "src/my_proj/data_engineering/pipeline.py" not in files
    assert not any(path.startswith(("src/my_proj/api/", "frontend/", "observability/")) for path in files)
    assert "src/my_proj/levels.py" in files


def test_beginner_cuts_marked_code_and_text(source):
    files = render(source, Level.BEGINNER)
    model = files["src/my_proj/core/model.py"].decode()
    assert "from my_proj.core import x" in model and "def basic" in model and "drift" not in model
    assert files["README.md"].decode() == "# My Proj\nrun `my_proj demo`\n"
    assert files["Makefile"].decode() == "test:\n\tpytest\n"


def test_higher_levels_keep_what_they_add(source):
    files = render(source, Level.ADVANCED)
    assert "return MY_PROJ_FLAG" in files["src/my_proj/core/model.py"].decode()
    assert files["Makefile"].decode() == "test:\n\tpytest\nfront:  # folder: frontend\nbench:  # level: advanced\n"
    assert {"frontend/app.ts", "observability/prom.yml", "src/my_proj/api/app.py"} <= set(files)


def test_tests_follow_the_level_of_what_they_import(source):
    assert "tests/unit/test_core.py" in render(source, Level.BEGINNER)
    assert "tests/unit/test_api.py" not in render(source, Level.BEGINNER)
    assert "tests/unit/test_api.py" in render(source, Level.INTERMEDIATE)


def test_an_edited_test_is_levelled_again(tmp_path):
    tree = make_source(tmp_path)
    assert "tests/unit/test_api.py" not in render(tree, Level.BEGINNER)
    (tree / "tests/unit/test_api.py").write_text("import fakepkg.core.model  # no API any more\n")
    assert "tests/unit/test_api.py" in render(tree, Level.BEGINNER)


def test_a_type_drops_the_tests_needing_its_dropped_folders(source):
    files = render(source, Level.EXPERT, "academic")
    assert not any(path.startswith(("frontend/", "observability/")) for path in files)
    for needing in (
        "tests/support/front.py",  # names frontend/
        "tests/unit/test_ui.py",  # imports it
        "tests/e2e/frontend/conftest.py",  # names it...
        "tests/e2e/frontend/test_browser.py",  # ...so its folder's tests go too
        "tests/integration/monitoring/rules.test.yml",  # a non-Python file naming observability/
    ):
        assert needing not in files
    assert {"tests/unit/test_prose.py", "tests/unit/test_core.py", "tests/unit/test_api.py"} <= set(files)
    assert "tests/unit/test_ui.py" in render(source, Level.EXPERT, "webapp")


def test_never_copied_lock_caches_and_data_but_always_the_ci_entry_point(source):
    files = render(source, Level.BEGINNER, "academic")
    assert "uv.lock" not in files
    assert not any(path.startswith((".venv/", "data/", "node_modules/")) for path in files)
    assert not any("/dist/" in path or "__pycache__" in path for path in render(source, Level.EXPERT))
    assert "tests/unit/data/test_rows.py" in files  # a folder named data below the root is code
    assert files[".ci/run"].startswith(b"#!")
    assert 'name = "my-proj"' in files["pyproject.toml"].decode()


def test_rendering_is_deterministic(source):
    assert render(source, Level.INTERMEDIATE, "webapp") == render(source, Level.INTERMEDIATE, "webapp")


def test_a_tree_without_a_levels_module_is_refused(tmp_path):
    with pytest.raises(SourceError, match=r"src/<package>/levels\.py"):
        render(tmp_path, Level.BEGINNER)
