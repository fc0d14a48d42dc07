"""A fake source tree and renderer for the generator's upgrade tests (no real cut needed).

The fake source: a top folder's level comes from FOLDERS (api: intermediate, pipelines: advanced), a text line
ending in ``#>=LEVEL`` is kept from that level on, and a ``.bin`` file gets the level's byte appended, so each
level's rendering differs from the one below the way the real cut's does.
"""

from __future__ import annotations

import re
from pathlib import Path

from tripcast.generator.manifest import Manifest, digest, write_manifest
from tripcast.generator.options import ProjectOptions
from tripcast.generator.write import source_version
from tripcast.levels import Level

B, I, A = Level.BEGINNER, Level.INTERMEDIATE, Level.ADVANCED  # noqa: E741 (the levels' initials)
FOLDERS = {"api": I, "pipelines": A}
LINE_LEVEL = re.compile(r" *#>=(\w+)$")
# Built, not written: a line starting with a real marker would itself trip the scan in a generated project.
OPEN, SPLIT, CLOSE = "<" * 7, "=" * 7, ">" * 7

SOURCE = {
    "core/service.py": "a = 1\nb = 2\nc = 3\nd = 4\ne = 5\nf = 6\ng = 7  #>=intermediate\n",
    "core/old.py": "old = 1\nnewer = 2  #>=intermediate\n",
    "config.txt": "x\ny\nnew  #>=intermediate\nz\n",
    "README.md": "# NAME\n\nintro\n\nmore  #>=advanced\n",
    "docs/notes.md": "notes\n",
    "api/routes.py": "route = 1\n",
    "pipelines/run.py": "run = 1\n",
    "run.sh": "#!/bin/sh\necho hi\n",
    "pyproject.toml": '[project]\nname = "NAME"\ndependencies = [\n  "fastapi",  #>=intermediate\n]\n',
}


def fake_render(source: Path, options: ProjectOptions) -> dict[str, bytes]:
    """The fake cut: folders by FOLDERS, lines by their ``#>=level`` suffix, NAME -> the project name."""
    files: dict[str, bytes] = {}
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source).as_posix()
        top = relative.split("/")[0]
        if not path.is_file() or top == ".git" or FOLDERS.get(top, B) > options.level:
            continue
        if relative.endswith(".bin"):
            files[relative] = path.read_bytes() + bytes([int(options.level)])
            continue
        lines = []
        for line in path.read_text().splitlines(keepends=True):
            found = LINE_LEVEL.search(line.rstrip("\n"))
            if found and Level[found.group(1).upper()] > options.level:
                continue
            lines.append(line[: found.start()] + "\n" if found else line)
        files[relative] = "".join(lines).replace("NAME", options.project_name).encode()
    return files


def write_source(root: Path, files: dict[str, str] | None = None) -> Path:
    for relative, text in (SOURCE if files is None else files).items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    (root / "assets").mkdir(exist_ok=True)
    (root / "assets" / "logo.bin").write_bytes(b"\x89PNG\0logo")
    (root / "assets" / "icon.bin").write_bytes(b"\x89PNG\0icon")
    return root


def generate(source: Path, project: Path, level: Level = B) -> Path:
    """What the generator writes: the rendering and its manifest."""
    options = ProjectOptions("demo-app", level)
    files = fake_render(source, options)
    for relative, content in files.items():
        (project / relative).parent.mkdir(parents=True, exist_ok=True)
        (project / relative).write_bytes(content)
    manifest = Manifest(
        source_version=source_version(source),
        source_path=str(source),
        project_name=options.project_name,
        import_name=options.import_name,
        level=level,
        project_type=options.project_type,
        files={relative: digest(content) for relative, content in files.items()},
    )
    write_manifest(project, manifest)
    return project
