"""``tripcast models card VERSION``: write a version's model card (Markdown + HTML) and store it with the version.

cli/app.py adds this module's commands to the ``models`` group of :mod:`tripcast.cli.models`.
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer

from tripcast.cli.console import console, print_json, step, user_errors
from tripcast.cli.data import ensure_month_processed
from tripcast.cli.options import SourceOption, context
from tripcast.core.domain.model_card import CARD_HTML, CARD_MARKDOWN

app = typer.Typer()


@app.command("card")
@user_errors
def card(
    version: Annotated[str, typer.Argument(help="Version number (3 or v3) or alias (champion, challenger).")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder for the card files. Default: <data_dir>/reports/model_cards.")
    ] = None,
    source: SourceOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary instead of text.")] = False,
) -> None:
    """Write the model card of VERSION (Markdown + HTML with plots) and store both as registry artifacts."""
    ctx = context(source)
    name = ctx.settings.model_name
    found = ctx.registry.get(name, version)  # an unknown version fails here, in one line, before any work
    ensure_month_processed(ctx, ctx.cards.evaluation_month(found))
    with step(f"writing the model card of {name} v{found.version}"):
        written = ctx.cards.write(name, found.version, actor=getpass.getuser())
    folder = out if out is not None else ctx.settings.reports_path / "model_cards"
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{name}-v{found.version}"
    files = {CARD_MARKDOWN: folder / f"{stem}.md", CARD_HTML: folder / f"{stem}.html"}
    files[CARD_MARKDOWN].write_text(written.markdown, encoding="utf-8")
    files[CARD_HTML].write_text(written.html, encoding="utf-8")
    summary = {
        "model": name,
        "version": found.version,
        "evaluation_month": written.card.evaluation_month,
        "rows": written.card.overall.n,
        "metrics": written.card.overall.metrics,
        "previous_champion": written.card.previous_champion.version if written.card.previous_champion else None,
        "files": {key: str(path) for key, path in files.items()},
        "artifacts": written.artifacts,
    }
    if as_json:
        print_json(summary)
        return
    console.print(f"[green]✓[/] model card of {name} v{found.version} on {written.card.evaluation_month}")
    for key, path in files.items():
        console.print(f"  {path}  (registry: {written.artifacts[key]})")
