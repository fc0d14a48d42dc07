"""``tripcast optimize``: compile a registered model to native code."""

from __future__ import annotations

from typing import Annotated

import typer

from tripcast.cli.console import console, user_errors

app = typer.Typer()


@app.command()
@user_errors
def optimize(
    version: Annotated[str, typer.Option(help="Version number or alias to compile")] = "champion",
    level: Annotated[
        str, typer.Option(help="gcc optimisation: Os (fastest predictions), O1 (~3x faster build), O0, O2")
    ] = "Os",
) -> None:
    """Compile a registered LightGBM version to native code; the server then uses it automatically."""
    import getpass

    from tripcast.bootstrap import bootstrap

    ctx = bootstrap()
    with console.status(f"compiling {ctx.settings.model_name} {version} (treelite + tl2cgen)"):
        result = ctx.ml.optimization.compile(ctx.settings.model_name, version, actor=getpass.getuser(), level=level)
    console.print(
        f"[green]compiled[/] {result.name} v{result.version} in {result.compile_seconds:.1f}s "
        f"-> {result.artifact_path} "
        f"(max |compiled - native| = {result.max_abs_diff:.2e} on {result.check_rows} rows)"
    )
