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

sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

from tripcast.generator.command import main

if __name__ == "__main__":
    sys.exit(main())
