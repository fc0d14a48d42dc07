"""Normalise a rendered project's Python so it passes its own ``make lint`` (issue 17).

The rename changes word lengths (``tripcast`` -> ``my_ml_project``), which reorders imports (ruff I001) and
pushes lines past the line length. One ``ruff check --fix --select I`` and one ``ruff format`` over the
project's ``.py`` files, with the project's own ``pyproject.toml``, put them back in the project's style; the
few files left with a line the formatter cannot wrap (a long comment or string) are exempted from E501 by name
(:func:`exempt_long_lines`). The line length itself stays: rules such as SIM108 judge whether a rewrite fits
by it, so a raised limit would make them ask for rewrites the source never needed.

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
from pathlib import Path

#: The pyproject keys ruff reads: the line length, the lint table and its per-file exemptions.
LINE_LENGTH = re.compile(r"(?m)^line-length = (\d+)$")
LINT_TABLE = "[tool.ruff.lint]"
PER_FILE_TABLE = "[tool.ruff.lint.per-file-ignores]"
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
    ``pyproject.toml`` exempting from E501 the files still too long. Unchanged (and a warning) without ruff."""
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
    pyproject = exempt_long_lines(files["pyproject.toml"].decode("utf-8"), normalised)
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


def exempt_long_lines(pyproject: str, python: dict[str, bytes]) -> str:
    """``pyproject`` with ``[tool.ruff.lint.per-file-ignores]`` exempting from E501 each of the ``python``
    sources (path -> bytes) with a line longer than ``line-length`` as E501 measures it (:func:`e501_length`):
    comments and strings the rename lengthened, which format cannot wrap. Unchanged when every line fits."""
    limit = LINE_LENGTH.search(pyproject)
    if limit is None or LINT_TABLE not in pyproject:
        return pyproject
    too_long = sorted(
        path
        for path, content in python.items()
        if max((e501_length(line) for line in content.decode("utf-8").splitlines()), default=0) > int(limit.group(1))
    )
    if PER_FILE_TABLE in pyproject:  # the source's own table (a generated project cut again): add what is new
        too_long = [path for path in too_long if f'\n"{path}" = ' not in pyproject]
    if not too_long:
        return pyproject
    entries = "".join(f'"{path}" = ["E501"]\n' for path in too_long)
    if PER_FILE_TABLE in pyproject:
        header = pyproject.index(PER_FILE_TABLE) + len(PER_FILE_TABLE) + 1
        return pyproject[:header] + entries + pyproject[header:]
    start = pyproject.index(LINT_TABLE)
    following = pyproject.find("\n[", start + len(LINT_TABLE))
    end = len(pyproject) if following == -1 else following + 1
    before = pyproject[:end].rstrip("\n") + "\n"
    table = f"\n{PER_FILE_TABLE}\n# The rename lengthened comments or strings format cannot wrap.\n{entries}"
    return before + table + ("\n" + pyproject[end:] if end < len(pyproject) else "")
