#!/usr/bin/env python3
"""Create a working MLOps project at your level, cut from this repository (DOCS/generator.md).

    python create_mlops_structure.py --project-name my-ml-project --level beginner [--type academic]
    python create_mlops_structure.py --list
    python create_mlops_structure.py upgrade --level intermediate      # inside a generated project

Standard library only: it runs before anything is installed.
"""

from __future__ import annotations

import sys
from pathlib import Path

HOME = Path(__file__).resolve().parent  # the source tree a project is cut from


def _main() -> int:
    sys.path.insert(0, str(HOME / "src"))  # runs from a checkout, before anything is installed
    from tripcast.generator.command import main

    return main(HOME)


if __name__ == "__main__":
    sys.exit(_main())
