"""What a user asks the generator for: a project name, a learning level and a project type."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tripcast.levels import Level

#: The guide's project types ("Project Type Recommendations").
PROJECT_TYPES: tuple[str, ...] = ("academic", "webapp", "service", "enterprise", "genai")

_NAME = re.compile(r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$")


class ProjectOptionsError(ValueError):
    """A project option is invalid; the message names the option and the problem."""


@dataclass(frozen=True)
class ProjectOptions:
    """One generated project: ``project_name`` is its distribution and CLI name (``my-ml-project``)."""

    project_name: str
    level: Level
    project_type: str = "enterprise"

    def __post_init__(self) -> None:
        if not _NAME.match(self.project_name):
            raise ProjectOptionsError(
                f"--project-name {self.project_name!r}: use lower-case letters, digits and single '-' or '_' "
                "between them, starting with a letter (e.g. my-ml-project)"
            )
        if self.project_type not in PROJECT_TYPES:
            raise ProjectOptionsError(f"--type {self.project_type!r}: expected one of {', '.join(PROJECT_TYPES)}")

    @property
    def import_name(self) -> str:
        """The Python package name: ``my-ml-project`` -> ``my_ml_project``."""
        return self.project_name.replace("-", "_")

    @property
    def env_prefix(self) -> str:
        """The settings' environment prefix: ``MY_ML_PROJECT_`` (Tripcast's own is ``TRIPCAST_``)."""
        return self.import_name.upper() + "_"
