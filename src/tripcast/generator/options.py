"""What a user asks the generator for: a project name, a learning level and a project type."""

from __future__ import annotations

import keyword
import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from tripcast.levels import Level

#: The guide's project types ("Project Type Recommendations").
PROJECT_TYPES: tuple[str, ...] = ("academic", "webapp", "service", "enterprise", "genai")

#: The root folders each project type keeps (repository names; the guide's ``your_ml_core/`` is ``src``, its
#: ``educational_resources/`` is ``DOCS``), intersected with the level's folders: a type never adds code above
#: the level. ``None`` keeps every folder. The guide lists what each type adds; a production service also
#: deploys and publishes its API, so it builds on the web application's deployment and API contracts, not on
#: its frontend. Folders that do not exist yet (infrastructure, integrations...) join when a later issue adds them.
_ACADEMIC = ("src", "tests", "DOCS", "data")
PROJECT_TYPE_FOLDERS: dict[str, tuple[str, ...] | None] = {
    "academic": _ACADEMIC,
    "webapp": (*_ACADEMIC, "frontend", "api_contracts", "deployment"),
    "service": (*_ACADEMIC, "api_contracts", "deployment", "infrastructure", "observability", "environments"),
    "enterprise": None,
    "genai": (*_ACADEMIC, "integrations", "security", "performance"),
}

#: Paths inside a root folder that every project keeps whatever its level and type: the CI entry point runs
#: ``make test``, which every generated project has.
ALWAYS_KEPT: tuple[str, ...] = (".ci/run",)

#: Why a root folder is in a project: the guide's "When to Use" (``--dry-run`` prints it per folder).
FOLDER_PURPOSES: dict[str, str] = {
    "src": "the core ML application (hexagonal architecture): always",
    "tests": "comprehensive testing strategy: always",
    "data": "data storage and management: always (raw, processed and model files live here, untracked)",
    "DOCS": "educational resources and project documentation: always",
    "deployment": "deployment and DevOps (basic Docker, the proxy): when you ship the model to users",
    ".ci": "CI/CD automation: the job that runs `make test`",
    "frontend": "when you want professional, modern UIs instead of Streamlit prototypes",
    "infrastructure": "when deploying to cloud platforms (AWS, GCP, Azure)",
    "environments": "always! essential for professional development (dev -> staging -> production)",
    "api_contracts": "for any API-driven application (essential for team collaboration)",
    "data_engineering": "for applications with complex data sources, real-time data, or large-scale processing",
    "observability": "for production systems that need comprehensive monitoring, alerting, and troubleshooting",
    "performance": "when your ML system needs to handle high traffic, large datasets, or strict latency",
    "security": "for enterprise applications, healthcare, finance, or any production system",
    "integrations": "when connecting to external APIs, services, or platforms",
    "backup": "for any production system (essential for business continuity)",
}


def type_folders(project_type: str, level_folders: list[str]) -> frozenset[str]:
    """The root folders a project of ``project_type`` keeps among ``level_folders`` (its level's)."""
    wanted = PROJECT_TYPE_FOLDERS[project_type]
    return frozenset(folder for folder in level_folders if wanted is None or folder in wanted)


_NAME = re.compile(r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$")


class ProjectOptionsError(ValueError):
    """A project option is invalid; the message names the option and the problem."""


_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def check_name_is_free(options: ProjectOptions, source: Path) -> None:
    """Refuse an import name the source tree already uses for something else: a root folder (``tests``,
    ``data``) or a dependency (``mlflow``, ``pandas``): the project's package would shadow it."""
    name = options.import_name
    if (source / name).is_dir():
        raise ProjectOptionsError(f"--project-name {options.project_name!r}: {name!r} is a root folder of the project")
    with (source / "pyproject.toml").open("rb") as handle:
        project = tomllib.load(handle)
    groups = [project.get("project", {}).get("dependencies", [])]
    groups += project.get("project", {}).get("optional-dependencies", {}).values()
    groups += project.get("dependency-groups", {}).values()
    for requirement in (r for group in groups for r in group if isinstance(r, str)):
        match = _REQUIREMENT.match(requirement)
        if match and re.sub(r"[-.]", "_", match.group(1).lower()) == name:
            raise ProjectOptionsError(
                f"--project-name {options.project_name!r}: {name!r} is a dependency's name; the package would shadow it"
            )


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
        import_name = self.project_name.replace("-", "_")
        if keyword.iskeyword(import_name) or import_name in sys.stdlib_module_names:
            raise ProjectOptionsError(
                f"--project-name {self.project_name!r}: {import_name!r} is a Python keyword or standard library "
                "module; the package would shadow it (pick another name)"
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
