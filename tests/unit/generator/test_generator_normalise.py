"""normalise_python: the renamed Python re-sorted and re-formatted by ruff; E501's limit widened only as far as
the lines format cannot wrap."""

from __future__ import annotations

from tripcast.generator import normalise
from tripcast.generator.normalise import e501_length, normalise_python, widen_line_limit

PYPROJECT = (
    '[tool.ruff]\nline-length = 40\n\n[tool.ruff.lint]\nselect = ["E", "I", "RUF"]\n\n[tool.mypy]\nstrict = true\n'
)


def test_imports_and_all_are_sorted_and_code_formatted_under_the_projects_config(tmp_path):
    files = {
        "pyproject.toml": PYPROJECT.encode(),
        "src/zeta/__init__.py": b"",
        "src/zeta/m.py": b'import sys\nimport os\n__all__ = ["b", "A"]\nx = {"a":1, "b": 2, "c": 3, "d": 4, "e": 5}\n',
        "README.md": b"untouched",
    }
    out = normalise_python(files, tmp_path)
    code = out["src/zeta/m.py"].decode()
    assert code.index("import os") < code.index("import sys")
    assert '__all__ = ["A", "b"]' in code
    assert 'x = {\n    "a": 1,' in code  # wrapped at the project's 40, not ruff's default 88
    assert out["README.md"] == b"untouched"


def test_a_long_comment_raises_only_e501s_limit(tmp_path):
    long_comment = "# " + "word " * 12 + "end\n"  # 64 characters: format cannot wrap it
    files = {"pyproject.toml": PYPROJECT.encode(), "a.py": long_comment.encode()}
    pyproject = normalise_python(files, tmp_path)["pyproject.toml"].decode()
    assert "line-length = 40\n" in pyproject  # the formatter's target is unchanged
    table = pyproject.split("[tool.ruff.lint.pycodestyle]\n", 1)[1]
    assert f"max-line-length = {len(long_comment) - 1}\n" in table
    assert pyproject.index("[tool.ruff.lint]") < pyproject.index("pycodestyle") < pyproject.index("[tool.mypy]")


def test_the_limit_stays_when_every_line_fits_or_only_pragmas_and_words_are_long():
    assert widen_line_limit(PYPROJECT, [b"x = 1\n"]) == PYPROJECT
    pragma = b"x = 1" + b" " * 30 + b"  # type: ignore[attr-defined]\n"
    url = b"# https://example.com/" + b"a" * 60 + b"\n"
    assert widen_line_limit(PYPROJECT, [pragma, url]) == PYPROJECT
    assert e501_length("y = 2  # noqa: E501") == len("y = 2")


def test_without_ruff_the_files_are_unchanged_with_one_warning(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(normalise, "find_ruff", lambda source: None)
    files = {"pyproject.toml": PYPROJECT.encode(), "a.py": b"import sys\nimport os\n"}
    assert normalise_python(files, tmp_path) == files
    assert capsys.readouterr().err.strip() == (
        "warning: ruff not found; the generated Python is not import-sorted nor formatted"
    )


def test_ruff_is_found_in_the_source_trees_venv_last(tmp_path, monkeypatch):
    monkeypatch.setattr(normalise.sys, "prefix", str(tmp_path / "nowhere"))
    monkeypatch.setattr(normalise.shutil, "which", lambda name: None)
    assert normalise.find_ruff(tmp_path) is None
    venv_ruff = tmp_path / ".venv" / "bin" / "ruff"
    venv_ruff.parent.mkdir(parents=True)
    venv_ruff.write_text("")
    assert normalise.find_ruff(tmp_path) == str(venv_ruff)
