"""Render a project: the files a project cut at a level and type holds, with the package renamed."""

from __future__ import annotations

from pathlib import Path

from tripcast.generator.options import ProjectOptions


def render_project(source: Path, options: ProjectOptions) -> dict[str, bytes]:
    """Every file of the project ``options`` describes, cut from the source tree at ``source``.

    Pure: reads ``source``, writes nothing. Keys are relative POSIX paths; values the exact bytes to write
    (package renamed, level markers resolved). Deterministic: the same source and options give the same result,
    which is what makes a three-way merge on upgrade possible (base = the old level's rendering).
    """
    raise NotImplementedError("issue 17: the cut is being built")
