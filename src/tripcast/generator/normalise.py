"""Normalise a rendered project's Python so it passes its own ``make lint`` (issue 17).

The rename changes word lengths (``tripcast`` -> ``my_ml_project``), which reorders imports (ruff I001) and
pushes lines past the line length. One ``ruff check --fix --select I`` and one ``ruff format`` over the
project's ``.py`` files, with the project's own ``pyproject.toml``, put them back in the project's style; what
the formatter cannot wrap (a long comment or string) raises the project's E501 limit to its longest line
(:func:`widen_line_limit`), while the formatter keeps targeting ``line-length``.

Runs inside ``render_project``, so an upgrade's base and new renderings are normalised alike and stay
comparable. Without ruff (none next to the interpreter, on the PATH or in the source tree's ``.venv``) the
files are left as renamed, with one warning on stderr.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

#: The pyproject keys ruff reads; the formatter's target stays this, only E501's limit grows.
LINE_LENGTH = re.compile(r"(?m)^line-length = (\d+)$")
LINT_TABLE = "[tool.ruff.lint]"
PYCODESTYLE_TABLE = "[tool.ruff.lint.pycodestyle]"
#: A trailing pragma E501 does not count (ruff measures the line before it).
PRAGMA = re.compile(r"\s*#\s*(?:type:\s*ignore|noqa|pyright:\s*ignore)\b.*$")
#: Rules whose order the rename changes: imports, ``__all__``, ``__slots__``.
SORTING_RULES = "I,RUF022,RUF023"


def find_ruff(source: Path) -> str | None:
    """The ruff to run: the running interpreter's environment's, the PATH's, then the source tree's ``.venv``."""
    candidates = [Path(sys.prefix) / "bin" / "ruff"]
    on_path = shutil.which("ruff")
    if on_path:
        candidates.append(Path(on_path))
    candidates.append(source / ".venv" / "bin" / "ruff")
    return next((str(path) for path in candidates if path.is_file()), None)


def normalise_python(files: dict[str, bytes], source: Path) -> dict[str, bytes]:
    """``files`` with its ``.py`` files import-sorted and formatted by ruff under the project's config, and
    ``pyproject.toml``'s E501 limit widened to the longest line left. Unchanged (and a warning) without ruff."""
    python = {path: content for path, content in files.items() if path.endswith(".py")}
    if not python or "pyproject.toml" not in files:
        return files
    ruff = find_ruff(source)
    if ruff is None:
        print("warning: ruff not found; the generated Python is not import-sorted nor formatted", file=sys.stderr)
        return files
    with tempfile.TemporaryDirectory(prefix="mlops-normalise-") as folder:
        root = Path(folder)
        for path, content in {**python, "pyproject.toml": files["pyproject.toml"]}.items():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_bytes(content)
        _ruff(ruff, root, ["check", "--fix", "--select", SORTING_RULES, "--quiet", "--exit-zero", "."])
        _ruff(ruff, root, ["format", "--quiet", "."])
        normalised = {path: (root / path).read_bytes() for path in python}
    pyproject = widen_line_limit(files["pyproject.toml"].decode("utf-8"), normalised.values())
    return {**files, **normalised, "pyproject.toml": pyproject.encode("utf-8")}


def _ruff(ruff: str, root: Path, arguments: list[str]) -> None:
    # --no-cache: nothing written beside the files; the config is the project's own pyproject.toml.
    done = subprocess.run(
        [ruff, *arguments[:1], "--no-cache", *arguments[1:]],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if done.returncode != 0:  # a syntax error the cut made: the generator's own tests must catch it
        raise ValueError(f"ruff {arguments[0]} failed on the generated project: {done.stderr.strip()[-500:]}")


def e501_length(line: str) -> int:
    """The length E501 judges ``line`` by: without a trailing pragma; 0 for a single word (a URL), which E501
    lets be long."""
    line = PRAGMA.sub("", line)
    return 0 if len(line.strip().lstrip("#").split()) <= 1 else len(line)


def widen_line_limit(pyproject: str, python: Iterable[bytes]) -> str:
    """``pyproject`` with ``[tool.ruff.lint.pycodestyle] max-line-length`` set to the longest line of the
    ``python`` sources (bytes, as E501 measures them: :func:`e501_length`) when that exceeds ``line-length``:
    the lines format leaves long are comments and strings the rename lengthened. Unchanged when every line
    fits or the table is already there."""
    limit = LINE_LENGTH.search(pyproject)
    if limit is None or PYCODESTYLE_TABLE in pyproject or LINT_TABLE not in pyproject:
        return pyproject
    longest = max((e501_length(line) for content in python for line in content.decode("utf-8").splitlines()), default=0)
    if longest <= int(limit.group(1)):
        return pyproject
    start = pyproject.index(LINT_TABLE)
    following = pyproject.find("\n[", start + len(LINT_TABLE))
    end = len(pyproject) if following == -1 else following + 1
    before = pyproject[:end].rstrip("\n") + "\n"
    table = f"\n{PYCODESTYLE_TABLE}\n# The rename lengthened comments or strings format cannot wrap.\n"
    table += f"max-line-length = {longest}\n"
    return before + table + ("\n" + pyproject[end:] if end < len(pyproject) else "")
