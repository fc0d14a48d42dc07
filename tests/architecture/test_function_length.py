"""Small pieces: no function in ``src/`` is longer than 60 lines (``def`` line to its last line).

Declarative schemas (a table of fields, not logic) may be longer: they are listed by name in EXCEPTIONS
with the reason. TEMPORARY lists today's offenders while they are being split; an entry that no longer
exceeds the limit (or no longer exists) fails the test, so the list only shrinks.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
MAX_LINES = 60

#: "path/under/src.py::Class.function" -> why this declarative schema may be longer.
EXCEPTIONS: dict[str, str] = {}

#: Today's offenders -> their length; each helper splitting one removes its line.
TEMPORARY: dict[str, int] = {}


def _functions(node: ast.AST, prefix: str) -> Iterator[tuple[str, int]]:
    """(qualified name, length in lines) of every function under ``node``, nested ones included."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
            assert child.end_lineno is not None
            yield f"{prefix}{child.name}", child.end_lineno - child.lineno + 1
            yield from _functions(child, f"{prefix}{child.name}.")
        elif isinstance(child, ast.ClassDef):
            yield from _functions(child, f"{prefix}{child.name}.")
        else:
            yield from _functions(child, prefix)


def function_lengths(src: Path = SRC) -> dict[str, int]:
    """Every function in ``src`` as ``path::qualified.name`` -> its length in lines."""
    lengths: dict[str, int] = {}
    for path in sorted(src.rglob("*.py")):
        module = path.relative_to(src).as_posix()
        for name, length in _functions(ast.parse(path.read_text(encoding="utf-8")), ""):
            lengths[f"{module}::{name}"] = length
    return lengths


def test_the_measure_counts_from_def_to_the_last_line(tmp_path):
    (tmp_path / "m.py").write_text(
        "@decorator\ndef f():\n    x = 1\n\n    return x\n\n\nclass C:\n    def g(self):\n        pass\n"
    )
    assert function_lengths(tmp_path) == {"m.py::f": 4, "m.py::C.g": 2}


def test_no_function_in_src_is_longer_than_the_limit():
    too_long = {
        name: length
        for name, length in function_lengths().items()
        if length > MAX_LINES and name not in EXCEPTIONS and name not in TEMPORARY
    }
    assert not too_long, f"split these functions into pieces of at most {MAX_LINES} lines: {too_long}"


def test_the_temporary_list_only_shrinks():
    lengths = function_lengths()
    gone = sorted(name for name in TEMPORARY if name not in lengths)
    fixed = sorted(name for name in TEMPORARY if name in lengths and lengths[name] <= MAX_LINES)
    grown = {name: lengths[name] for name in TEMPORARY if lengths.get(name, 0) > TEMPORARY[name]}
    assert not gone, f"remove from TEMPORARY (function no longer exists): {gone}"
    assert not fixed, f"remove from TEMPORARY (now within {MAX_LINES} lines): {fixed}"
    assert not grown, f"these temporary offenders grew; split them instead: {grown}"


def test_exceptions_name_existing_functions_over_the_limit():
    lengths = function_lengths()
    stale = sorted(name for name in EXCEPTIONS if lengths.get(name, 0) <= MAX_LINES)
    assert not stale, f"remove from EXCEPTIONS (gone or within the limit): {stale}"
