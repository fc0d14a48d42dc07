"""Write a rendered project to disk: into a temporary folder first, then moved into place, so a failure
leaves nothing behind; with its manifest, its lock file (``uv lock``) and a first git commit."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tripcast.generator.manifest import Manifest, digest, write_manifest
from tripcast.generator.options import ProjectOptions


class WriteError(ValueError):
    """The project cannot be written (target not empty, lock failed); the message says which and why."""


def source_version(source: Path) -> str:
    """The git commit of the source tree, or ``unversioned`` when it is not a git checkout."""
    if (source / ".git").exists() and shutil.which("git"):
        found = subprocess.run(
            ["git", "-C", str(source), "rev-parse", "HEAD"], capture_output=True, text=True, check=False, timeout=30
        )
        if found.returncode == 0:
            return found.stdout.strip()
    return "unversioned"


def check_target(target: Path) -> None:
    """Refuse a target that exists and is not an empty directory."""
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise WriteError(f"--output: {target} already exists and is not empty; pick another --output or name")


def write_files(folder: Path, files: dict[str, bytes]) -> None:
    """Write ``files`` under ``folder``; a file starting with ``#!`` is made executable."""
    for relative, content in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        if content.startswith(b"#!"):
            path.chmod(0o755)


def uv_command() -> list[str]:
    """How to run uv: ``uv`` on the PATH, ``$UV``, this interpreter's ``-m uv``, then ``python3 -m uv`` (the
    first that answers ``--version``; a machine may have uv only as a module of another Python)."""
    candidates = [[shutil.which("uv") or ""], [os.environ.get("UV", "")], [sys.executable, "-m", "uv"]]
    candidates.append([shutil.which("python3") or "", "-m", "uv"])
    for command in candidates:
        if command[0] and _answers(command):
            return command
    raise WriteError("uv not found (tried uv on the PATH, $UV, python -m uv); install uv or pass --no-lock")


def _answers(command: list[str]) -> bool:
    try:
        done = subprocess.run([*command, "--version"], capture_output=True, check=False, timeout=60)
    except OSError:
        return False
    return done.returncode == 0


def lock(folder: Path) -> bytes:
    """Run ``uv lock`` in ``folder`` and return the lock file it wrote."""
    done = subprocess.run(
        [*uv_command(), "lock", "--quiet"], cwd=folder, capture_output=True, text=True, check=False, timeout=600
    )
    if done.returncode != 0:
        raise WriteError(f"uv lock failed in the generated project: {done.stderr.strip()[-500:]}")
    return (folder / "uv.lock").read_bytes()


def git_commit(folder: Path) -> None:
    """``git init`` and a first commit (skipped when git is not installed). The identity and signing are set
    for this commit only: a user's global ``commit.gpgsign`` must not fail the generation."""
    if not shutil.which("git"):
        return
    settings = ["-c", "user.name=create_mlops_structure", "-c", "user.email=generator@localhost"]
    settings += ["-c", "commit.gpgsign=false", "-c", "core.hooksPath=/dev/null"]
    for command in (["init", "--quiet"], ["add", "--all"], ["commit", "--quiet", "-m", "Generated project"]):
        done = subprocess.run(["git", *settings, *command], cwd=folder, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise WriteError(f"git {command[0]} failed in the generated project: {done.stderr.strip()[-300:]}")


def write_project(
    files: dict[str, bytes],
    options: ProjectOptions,
    output: Path,
    source: Path,
    *,
    lock_dependencies: bool = True,
    git: bool = True,
) -> Path:
    """Write ``files`` (a rendering) to ``output/<project-name>`` and return that folder.

    The project is assembled in a temporary folder next to the target and renamed into place at the end, so
    a failure (``uv lock``, a full disk) writes nothing. The manifest records every file as generated,
    the lock file included.
    """
    target = output / options.project_name
    check_target(target)
    output.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{options.project_name}-", dir=output))
    umask = os.umask(0)
    os.umask(umask)
    staging.chmod(0o777 & ~umask)  # mkdtemp makes it private; the project is an ordinary folder
    try:
        write_files(staging, files)
        hashes = {path: digest(content) for path, content in files.items()}
        if lock_dependencies:
            hashes["uv.lock"] = digest(lock(staging))
        write_manifest(staging, _manifest(options, source, hashes))
        if git:
            git_commit(staging)
        if target.exists():
            target.rmdir()
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def _manifest(options: ProjectOptions, source: Path, hashes: dict[str, str]) -> Manifest:
    return Manifest(
        source_version=source_version(source),
        source_path=str(source.resolve()),
        project_name=options.project_name,
        import_name=options.import_name,
        level=options.level,
        project_type=options.project_type,
        files=hashes,
    )
