"""An import-linter contract type: a lower learning level never imports a higher one (``tripcast.levels``).

Registered in pyproject's ``[tool.importlinter] contract_types`` as ``levels``. A module without a level
breaks the contract too, so a new package cannot slip in untagged. The composition root
(``tripcast.levels.ASSEMBLERS``) may import a higher level inside a function only: those lines are indented.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
from typing import Any

from grimp import ImportGraph
from importlinter.application import contract_utils, output
from importlinter.application.contract_utils import AlertLevel
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck

from tripcast.levels import Level, is_assembler, level_of


@functools.cache
def _source_lines(module: str) -> list[str]:
    """The source of ``module``, found without importing it (its root package's folder plus its dotted path)."""
    root, _, rest = module.partition(".")
    spec = importlib.util.find_spec(root)
    assert spec is not None and spec.origin is not None, f"{root} is not importable"
    base = Path(spec.origin).parent.joinpath(*rest.split(".")) if rest else Path(spec.origin).parent
    path = base / "__init__.py" if base.is_dir() else base.with_suffix(".py")
    return path.read_text(encoding="utf-8").splitlines()


def _is_lazy(graph: ImportGraph, importer: str, imported: str) -> bool:
    """Whether every line importing ``imported`` in ``importer`` is indented: inside a function or a
    ``TYPE_CHECKING`` block, so importing ``importer`` does not import ``imported``."""
    details = graph.get_import_details(importer=importer, imported=imported)
    lines = _source_lines(importer)
    return bool(details) and all(lines[int(detail["line_number"]) - 1][:1].isspace() for detail in details)


def _raw_lines(graph: ImportGraph, importer: str, imported: str) -> list[str]:
    return [
        str(detail["line_contents"]).strip()
        for detail in graph.get_import_details(importer=importer, imported=imported)
    ]


class LevelsContract(Contract):
    """Checks every import inside ``root_package`` against ``tripcast.levels``.

    Options: ``root_package`` (the package to check) and ``ignore_imports`` (temporary exceptions, as in
    import-linter's own contracts; an expression matching no import is an error, so the list only shrinks).
    """

    type_name = "levels"

    root_package = fields.StringField()
    ignore_imports = fields.SetField(subfield=fields.ImportExpressionField(), required=False)

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        removal = contract_utils.remove_ignored_imports_and_report(
            graph=graph,
            ignore_imports=self.ignore_imports,  # type: ignore[arg-type]
            unmatched_alerting=AlertLevel.ERROR,
        )
        root = str(self.root_package)
        modules = sorted(m for m in graph.modules if m == root or m.startswith(root + "."))
        untagged = [m for m in modules if level_of(m) is None]
        upward: list[dict[str, Any]] = []
        for importer in modules:
            importer_level = level_of(importer)
            if importer_level is None:
                continue
            for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                imported_level = level_of(imported) if imported.startswith(root + ".") else None
                if imported_level is None or imported_level <= importer_level:
                    continue
                if is_assembler(importer) and _is_lazy(graph, importer, imported):
                    continue
                upward.append(
                    {
                        "importer": importer,
                        "importer_level": Level(importer_level).name.lower(),
                        "imported": imported,
                        "imported_level": Level(imported_level).name.lower(),
                        "lines": _raw_lines(graph, importer, imported),
                    }
                )
        return ContractCheck(
            kept=not untagged and not upward,
            metadata={"untagged": untagged, "upward": upward},
            warnings=list(removal.warnings),
            ignored_import_count=removal.ignored_import_count,
        )

    def render_broken_contract(self, check: ContractCheck) -> None:
        for module in check.metadata["untagged"]:
            output.print_error(f"{module} has no level: tag it (or a parent package) in tripcast.levels.PACKAGE_LEVELS")
            output.new_line()
        for item in check.metadata["upward"]:
            output.print_error(
                f"{item['importer']} ({item['importer_level']}) imports "
                f"{item['imported']} ({item['imported_level']}): {'; '.join(item['lines'])}"
            )
            output.new_line()
