"""normalise_python: the renamed Python re-sorted and re-formatted by ruff; only the files with a line format
cannot wrap are exempted from E501, and the line length other rules judge by stays."""

from __future__ import annotations

import subprocess
import tomllib

from tripcast.generator import normalise
from tripcast.generator.normalise import exempt_long_lines, normalise_python

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


def test_a_long_comment_exempts_only_its_file_from_e501(tmp_path):
    long_comment = "# " + "word " * 12 + "end\n"  # 64 characters: format cannot wrap it
    files = {"pyproject.toml": PYPROJECT.encode(), "a.py": long_comment.encode(), "b.py": b"x = 1\n"}
    pyproject = normalise_python(files, tmp_path)["pyproject.toml"].decode()
    assert "line-length = 40\n" in pyproject and "max-line-length" not in pyproject  # what SIM108 judges by
    table = pyproject.split("[tool.ruff.lint.per-file-ignores]\n", 1)[1]
    assert '"a.py" = ["E501"]\n' in table and "b.py" not in pyproject
    assert pyproject.index("[tool.ruff.lint]") < pyproject.index("per-file-ignores") < pyproject.index("[tool.mypy]")


def test_the_exemptions_join_a_per_file_table_the_source_has():
    source = PYPROJECT.replace("[tool.mypy]", '[tool.ruff.lint.per-file-ignores]\n"tests/*" = ["S101"]\n\n[tool.mypy]')
    pyproject = exempt_long_lines(source, {"a.py": b"# " + b"word " * 12 + b"\n"})
    assert pyproject.count("[tool.ruff.lint.per-file-ignores]") == 1
    assert '[tool.ruff.lint.per-file-ignores]\n"a.py" = ["E501"]\n"tests/*" = ["S101"]\n' in pyproject


def test_a_project_cut_again_lists_each_file_once():
    """A generated project is itself a source (its own generator tests cut it): no key twice, or TOML breaks."""
    long_line = b"# " + b"word " * 12 + b"\n"
    once = exempt_long_lines(PYPROJECT, {"a.py": long_line})
    twice = exempt_long_lines(once, {"a.py": long_line, "b.py": long_line})
    assert twice.count('"a.py" = ["E501"]') == 1 and twice.count('"b.py" = ["E501"]') == 1
    tomllib.loads(twice)


def test_the_exempted_project_lints_clean_where_a_raised_limit_would_ask_for_a_ternary(tmp_path):
    """A long string (no wrap) beside an if/else whose ternary fits only past the line length: SIM108 must
    stay quiet, as it is in the source."""
    config = '[tool.ruff]\nline-length = 60\n\n[tool.ruff.lint]\nselect = ["E501", "SIM108"]\n'
    code = (
        'MESSAGE = "' + "x" * 70 + '"\n\n\n'
        "def pick(flag: bool) -> str:\n"
        "    if flag:\n        value = 'a long enough first branch'\n"
        "    else:\n        value = 'the second branch'\n    return value\n"
    )
    out = normalise_python({"pyproject.toml": config.encode(), "m.py": code.encode()}, tmp_path)
    for path, content in out.items():
        (tmp_path / path).write_bytes(content)
    ruff = normalise.find_ruff(tmp_path)
    assert ruff is not None
    done = subprocess.run([ruff, "check", "--no-cache", "."], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout


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
