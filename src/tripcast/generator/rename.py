"""Rename the source package to the project's: code, imports, settings prefix, paths, prose.

Three spellings of the source name are replaced wherever they stand as a word (letters and digits around
them end a word; ``_`` and ``-`` do not, so ``tripcast_monthly`` and ``TRIPCAST_HOME`` are renamed too):
``tripcast`` -> the import name, ``TRIPCAST`` -> its upper case (so ``TRIPCAST_`` -> the env prefix), and
``Tripcast`` -> the project's title (``My Ml Project`` in prose, ``MyMlProject`` in code and in compounds
like ``TripcastError``). A line that says where the project came from ("Generated from
Tripcast") keeps the word.

The CLI: every ``tripcast <command>`` in code, Makefile and docs becomes ``<import_name> <command>``, so the
import name is a console script (README commands run as written); a hyphenated project name
(``my-ml-project``) is registered as a second console script for the same app, the name a user expects.
"""

from __future__ import annotations

import re

from tripcast.generator.options import ProjectOptions

#: The attribution a generated project may carry ("Generated from Tripcast"; not "generated from Tripcast's X").
ATTRIBUTION = re.compile(r"generated from tripcast(?![\w'])", re.IGNORECASE)


#: The ``[project]`` table's ``name`` (the first top-level ``name =`` key of a pyproject).
DISTRIBUTION_NAME = re.compile(r'(?m)^name = "([^"]+)"$')


def title_of(name: str) -> str:
    """The prose form of a project name: ``my-ml-project`` -> ``My Ml Project``, ``tripcast`` -> ``Tripcast``."""
    return " ".join(word.capitalize() for word in re.split(r"[-_]", name))


def camel_of(name: str) -> str:
    """The identifier form of a project name: ``my-ml-project`` -> ``MyMlProject`` (class and alert names)."""
    return title_of(name).replace(" ", "")


#: Files where a lone ``Tripcast`` is prose (the title); elsewhere it is an identifier (``class Tripcast``).
PROSE_SUFFIXES = (".md", ".txt")


class Renamer:
    """Replaces the source package's names with a project's."""

    def __init__(self, source_package: str, options: ProjectOptions) -> None:
        self.options = options
        self.source_package = source_package
        title, camel = title_of(source_package), camel_of(source_package)  # equal for one-word names
        edge = r"(?:(?<![A-Za-z0-9])|(?<=\\b))"  # a word start, or a regex's \b
        self._words = {
            source_package: options.import_name,
            source_package.upper(): options.import_name.upper(),
        }
        self._pattern = re.compile(edge + "(" + "|".join(re.escape(word) for word in self._words) + r")(?![A-Za-z0-9])")
        self._compound = re.compile(edge + re.escape(camel) + r"(?=[A-Z])")  # TripcastError
        self._title = re.compile(edge + f"(?:{re.escape(title)}|{re.escape(camel)})" + r"(?![A-Za-z0-9])")
        self._needles = {source_package.lower(), title.lower(), camel.lower()}
        self._camel = camel_of(options.project_name)
        self._prose = title_of(options.project_name)

    def text(self, text: str, *, prose: bool = False) -> str:
        """``text`` with every source spelling replaced (attribution lines kept); a lone title becomes the
        project's title in ``prose``, its identifier form elsewhere."""
        lone = self._prose if prose else self._camel
        if not self._mentions(text):
            return text
        out = []
        for line in text.splitlines(keepends=True):
            if self._mentions(line) and not ATTRIBUTION.search(line):
                line = self._pattern.sub(lambda m: self._words[m.group(1)], line)
                line = self._title.sub(lone, self._compound.sub(self._camel, line))
            out.append(line)
        return "".join(out)

    def _mentions(self, text: str) -> bool:
        lowered = text.lower()
        return any(needle in lowered for needle in self._needles)

    def path(self, path: str) -> str:
        """A relative path with the package folder and file names renamed."""
        return self._pattern.sub(lambda m: self._words[m.group(1)], path)

    def content(self, path: str, content: bytes) -> bytes:
        """A file's bytes renamed (binary files unchanged); ``pyproject.toml`` also gets the project's
        distribution name and its hyphenated console script."""
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            return content
        renamed = self.text(text, prose=path.endswith(PROSE_SUFFIXES))
        if path == "pyproject.toml":
            renamed = self._pyproject(renamed)
        return renamed.encode("utf-8")

    def _pyproject(self, text: str) -> str:
        """The distribution name and the hyphenated console script become the project's. A source that is
        itself a generated project (``name = "my-ml-project"``, which the package rename does not reach) has
        its own hyphenated script, replaced rather than kept beside the new one."""
        name, module = self.options.project_name, self.options.import_name
        current = DISTRIBUTION_NAME.search(text)
        if current is None:
            return text
        text = text[: current.start(1)] + name + text[current.end(1) :]
        if current.group(1) != module:  # the source's own hyphenated script: dropped, the new one is added
            text = re.sub(rf'(?m)^{re.escape(current.group(1))} = "{module}\.[\w.]+:\w+"\n', "", text)
        if name != module:
            script = re.compile(rf'(?m)^{module} = "({module}\.[\w.]+:\w+)"$')
            text = script.sub(lambda m: f'{m.group(0)}\n{name} = "{m.group(1)}"', text, count=1)
        return text
