"""``tripcast optimize``: compile a registered model to native code."""

from __future__ import annotations

from typing import Annotated

import typer

from tripcast.cli.console import console, fail, user_errors

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
    from tripcast.bootstrap import bootstrap
    from tripcast.mlops.serving.optimization import optimize_model_version

    if level not in {"Os", "O0", "O1", "O2", "O3"}:
        raise fail(f"--level must be one of Os, O0, O1, O2, O3; got {level!r}")
    ctx = bootstrap()
    number = ctx.registry.get(ctx.settings.model_name, version).version
    with console.status(f"compiling {ctx.settings.model_name} v{number} (treelite + tl2cgen)"):
        result = optimize_model_version(
            ctx.settings.tracking_uri, ctx.settings.model_name, number, compiler_options=(f"-{level}",)
        )
    console.print(
        f"[green]compiled[/] {result.name} v{result.version} in {result.compile_seconds:.1f}s "
        f"-> {result.artifact_path} "
        f"(max |compiled - native| = {result.max_abs_diff:.2e} on {result.check_rows} rows)"
    )
