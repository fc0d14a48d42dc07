"""Resolve the level markers of the source tree (the generator contract, DOCS/generator.md).

A marker names the minimum level that keeps the marked thing; cutting below it removes it:

- Python: a trailing ``# level: expert`` on a statement's header (its first line, the line that ends its
  header, or a decorator's) removes the whole statement (decorators and body), at any depth. The header's
  last line counts because a formatter that wraps a statement moves its trailing comment there (the rename
  lengthens lines); a marker that marks no statement is an error.
- Text files: a block from ``# level>=advanced`` (``<!-- level>=advanced -->``) to ``# level-end``
  (``<!-- level-end -->``), or one line ending in ``# level: intermediate`` (``<!-- level: intermediate -->``).

What a cut keeps keeps its markers, in Python and text alike: a generated project is itself a source tree its
own generator cuts again (a cut of a cut at the same or a lower level equals the cut of the source).

Project types drop root folders, so a line or block may also name a root folder it needs:
``# folder: frontend`` (line) and ``# folder=frontend`` ... ``# level-end`` (block) are kept only when the
project has that folder. Python statements take ``# folder: frontend`` the same way.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Iterable
from dataclasses import dataclass

from tripcast.levels import Level

#: Text files whose markers are resolved (by suffix, or by exact name for files without one).
TEXT_SUFFIXES = (".md", ".yml", ".yaml", ".toml", ".cfg", ".ini", ".sh", ".txt")
TEXT_NAMES = ("Makefile", "run", ".gitignore")

_CONDITION = r"(?:level\s*(?P<lsep>:|>=)\s*(?P<level>[A-Za-z]+)|folder\s*(?P<fsep>:|=)\s*(?P<folder>[\w.-]+))"
_LINE_MARKER = re.compile(r"\s*(?:#\s*|<!--\s*)" + _CONDITION + r"\s*(?:-->)?\s*$")
_BLOCK_END = re.compile(r"^\s*(?:#|<!--)\s*level-end\s*(?:-->)?\s*$")
_PY_MARKER = re.compile(r"^#\s*" + _CONDITION + r"\s*$")


#: The pseudo-level of what only the source tree keeps, never a project cut from it (``# level: source``):
#: the generator's own harness, which cuts every level from the full tree.
SOURCE_ONLY = "SOURCE"


class MarkerError(ValueError):
    """A marker is malformed (unknown level, unclosed block); the message names the file and line."""


@dataclass(frozen=True)
class Cut:
    """What a rendering keeps: its level and its root folders (the project type's choice)."""

    level: Level
    folders: frozenset[str]

    def keeps(self, match: re.Match[str], where: str) -> bool:
        """Whether the thing a marker condition names survives this cut."""
        if match.group("folder"):
            return match.group("folder") in self.folders
        name = match.group("level").upper()
        if name == SOURCE_ONLY:
            return False
        if name not in Level.__members__:
            raise MarkerError(f"{where}: unknown level {match.group('level')!r} in a level marker")
        return Level[name] <= self.level


def is_text_file(path: str) -> bool:
    """Whether ``path`` (relative POSIX) is a text file whose markers are resolved."""
    name = path.rsplit("/", 1)[-1]
    return name.endswith(TEXT_SUFFIXES) or name in TEXT_NAMES


def resolve_text(text: str, cut: Cut, path: str) -> str:
    """Drop the blocks and lines ``cut`` does not keep; what it keeps keeps its markers."""
    out: list[str] = []
    block: tuple[int, bool] | None = None  # (start line, kept)
    for number, line in enumerate(text.splitlines(keepends=True), start=1):
        where = f"{path}:{number}"
        marker = _LINE_MARKER.search(line)
        if marker and marker.start() == 0 and (marker.group("lsep") == ">=" or marker.group("fsep") == "="):
            if block is not None:
                raise MarkerError(f"{where}: a block starts inside the block opened at line {block[0]}")
            block = (number, cut.keeps(marker, where))
            if block[1]:
                out.append(line)
        elif _BLOCK_END.match(line):
            if block is None:
                raise MarkerError(f"{where}: level-end without a block")
            if block[1]:
                out.append(line)
            block = None
        elif block is not None and not block[1]:
            continue
        elif marker and (marker.group("lsep") == ":" or marker.group("fsep") == ":"):
            if cut.keeps(marker, where):
                out.append(line)
        else:
            out.append(line)
    if block is not None:
        raise MarkerError(f"{path}:{block[0]}: block not closed by level-end")
    return "".join(out)


def _comment_markers(source: str) -> dict[int, re.Match[str]]:
    """Line number -> the level/folder marker comment on that line."""
    found: dict[int, re.Match[str]] = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            match = _PY_MARKER.match(token.string)
            if match:
                found[token.start[0]] = match
    return found


def _bodies(node: ast.AST) -> Iterable[list[ast.stmt]]:
    for name in ("body", "orelse", "finalbody"):
        value = getattr(node, name, None)
        if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
            yield value
    for handler in getattr(node, "handlers", []):
        yield handler.body
    for case in getattr(node, "cases", []):
        yield case.body


def _first_line(node: ast.stmt) -> int:
    decorators = getattr(node, "decorator_list", [])
    return min([node.lineno, *(d.lineno for d in decorators)])


def _header_end(node: ast.stmt) -> int:
    """The line that ends ``node``'s header: a simple statement's last line, a compound one's ``:`` line."""
    body = getattr(node, "body", None)
    if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
        return max(node.lineno, _first_line(body[0]) - 1)
    cases = getattr(node, "cases", None)
    if cases:
        return max(node.lineno, cases[0].pattern.lineno - 1)
    return node.end_lineno or node.lineno


def _marker_lines(node: ast.stmt) -> set[int]:
    """The lines whose trailing marker marks ``node``: the first and the last line of its header and of each
    decorator (a formatter wrapping a statement moves its trailing comment to the last)."""
    lines = {node.lineno, _header_end(node)}
    for decorator in getattr(node, "decorator_list", []):
        lines |= {decorator.lineno, decorator.end_lineno or decorator.lineno}
    return lines


def _dropped(node: ast.stmt, markers: dict[int, re.Match[str]], cut: Cut, path: str) -> bool:
    return any(not cut.keeps(markers[n], f"{path}:{n}") for n in sorted(_marker_lines(node)) if n in markers)


def _check_every_marker_marks_a_statement(tree: ast.AST, markers: dict[int, re.Match[str]], path: str) -> None:
    marked: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.stmt):
            marked |= _marker_lines(node)
    stray = sorted(set(markers) - marked)
    if stray:
        raise MarkerError(
            f"{path}:{stray[0]}: this marker marks no statement: end a statement's first line with it "
            "(or a decorator's)"
        )


def _removals(tree: ast.AST, markers: dict[int, re.Match[str]], cut: Cut, path: str, lines: list[str]):
    """(first line, last line, replacement) of every statement to remove, outermost first."""
    removals: list[tuple[int, int, str]] = []
    for body in _bodies(tree):
        dropped = [node for node in body if _dropped(node, markers, cut, path)]
        for node in dropped:
            removals.append((_first_line(node), node.end_lineno or node.lineno, ""))
        if dropped and len(dropped) == len(body) and not lines[body[0].lineno - 1].lstrip().startswith("elif"):
            first = removals[-len(dropped)]
            removals[-len(dropped)] = (first[0], first[1], " " * body[0].col_offset + "pass\n")
        for node in body:
            if node not in dropped:
                removals.extend(_removals(node, markers, cut, path, lines))
    return removals


def resolve_python(source: str, cut: Cut, path: str) -> str:
    """Remove every statement whose marker ``cut`` does not keep (an emptied body becomes ``pass``)."""
    if "level:" not in source and "folder:" not in source:
        return source
    markers = _comment_markers(source)
    if not markers:
        return source
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        raise MarkerError(f"{path}:{error.lineno}: cannot parse: {error.msg}") from None
    _check_every_marker_marks_a_statement(tree, markers, path)
    lines = source.splitlines(keepends=True)
    for first, last, replacement in sorted(_removals(tree, markers, cut, path, lines), reverse=True):
        lines[first - 1 : last] = [replacement] if replacement else []
    return "".join(lines)


def resolve(path: str, content: bytes, cut: Cut) -> bytes:
    """The file's bytes with its markers resolved (files of other kinds, and binary files, unchanged)."""
    if not (path.endswith(".py") or is_text_file(path)):
        return content
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return content
    if path.endswith(".py"):
        return resolve_python(text, cut, path).encode("utf-8")
    return resolve_text(text, cut, path).encode("utf-8")
