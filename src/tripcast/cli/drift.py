"""``tripcast drift profile|check|decay``: data, prediction and concept drift of the registered model.

Each command bootstraps, then calls :class:`~tripcast.core.services.drift.DriftMonitoring`; the
root picks the feature builder (zone-store features when ``feature_store_enabled``), the profile
store and the registry.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tripcast.cli.console import console, err_console, fail, step, user_errors
from tripcast.core.domain.errors import FieldProblem, InvalidInputError
from tripcast.core.domain.month import Month

if TYPE_CHECKING:
    from tripcast.core.services.drift import DriftMonitoring

app = typer.Typer(help="Data and prediction drift against the model's reference profile.", no_args_is_help=True)

#: Fewest valid current rows a drift verdict may rest on (below it the check fails, never passes).
DEFAULT_MIN_ROWS = 100
MonthOption = Annotated[
    str | None,
    typer.Option(
        "--month", help="Check pickup dates against this month (YYYY-MM); default: the month the file name states."
    ),
]
MinRowsOption = Annotated[
    int, typer.Option("--min-rows", min=1, help="Fewest valid rows to judge; fewer is an error, never a pass.")
]


def _service() -> DriftMonitoring:
    from tripcast.bootstrap import bootstrap

    return bootstrap().drift


def _month(text: str | None) -> Month | None:
    return Month.parse(text, "month") if text else None


def _parse_thresholds(items: list[str] | None) -> dict[str, float]:
    thresholds: dict[str, float] = {}
    for item in items or []:
        name, _, value = item.partition("=")
        try:
            thresholds[name.strip()] = float(value)
        except ValueError:
            raise InvalidInputError([FieldProblem("threshold", f"{item!r} is not COLUMN=NUMBER")]) from None
    return thresholds


def _warn(warnings: list[str]) -> None:
    for warning in warnings:
        err_console.print(f"[yellow]warning:[/] {warning}")


@app.command("profile")
@user_errors
def drift_profile(
    train: Annotated[str, typer.Option("--train", help="Training data: TLC file path or month YYYY-MM.")],
    run_id: Annotated[str | None, typer.Option("--run-id", help="MLflow run to attach the profile to.")] = None,
    model_ref: Annotated[
        str | None,
        typer.Option("--model", help="Attach to this model version/alias's run (and profile its predictions)."),
    ] = None,
    output: Annotated[Path | None, typer.Option("--output", help="Also write the profile JSON here.")] = None,
    month: MonthOption = None,
    min_rows: MinRowsOption = DEFAULT_MIN_ROWS,
) -> None:
    """Build the reference profile from training data and store it with the model version in MLflow."""
    from tripcast.core.services.drift import ProfileRequest

    request = ProfileRequest(
        train=train,
        model_ref=model_ref,
        run_id=run_id,
        output=str(output.resolve()) if output is not None else None,
        month=_month(month),
        min_rows=min_rows,
    )
    with step(f"Profiling {train}"):
        result = _service().profile_reference(request)
    _warn(result.warnings)
    if result.output:
        console.print(f"profile written to {result.output}")
    if result.run_uri:
        console.print(f"profile of {result.profile.n_rows:,} rows logged to [bold]{result.run_uri}[/]")


@app.command("check")
@user_errors
def drift_check(
    current: Annotated[str, typer.Option("--current", help="Current data: TLC file path or month YYYY-MM.")],
    reference: Annotated[
        str, typer.Option("--reference", help="Model version or alias whose reference profile to use.")
    ] = "champion",
    profile_file: Annotated[
        Path | None, typer.Option("--profile", help="A profile JSON file instead of the registry's.")
    ] = None,
    threshold: Annotated[
        list[str] | None, typer.Option("--threshold", help="Per-feature threshold override COLUMN=VALUE; repeatable.")
    ] = None,
    drift_share: Annotated[
        float, typer.Option("--drift-share", help="Share of drifted features for dataset drift.")
    ] = 0.5,
    out_dir: Annotated[Path | None, typer.Option("--out-dir", help="Report folder (default data/reports).")] = None,
    predictions: Annotated[bool, typer.Option(help="Also check prediction drift (loads the model).")] = True,
    month: MonthOption = None,
    min_rows: MinRowsOption = DEFAULT_MIN_ROWS,
) -> None:
    """Check current data for drift against the reference; print a table, write JSON and HTML reports.

    Fails (exit 1) rather than pass when there is nothing to judge: fewer than ``--min-rows`` valid
    rows (the quarantine reasons are listed), or a feature whose test gives no score.
    """
    from tripcast.core.ports.drift import DriftSettings
    from tripcast.core.services.drift import CheckRequest

    if profile_file is not None and not profile_file.is_file():
        raise InvalidInputError([FieldProblem("profile", f"{profile_file}: no such file")])
    request = CheckRequest(
        current=current,
        reference=reference,
        profile_file=str(profile_file) if profile_file is not None else None,
        settings=DriftSettings(drift_share=drift_share, thresholds=_parse_thresholds(threshold), min_rows=min_rows),
        out_dir=str(out_dir.resolve()) if out_dir is not None else None,
        predictions=predictions,
        month=_month(month),
    )
    with step(f"Checking drift of {current} against {profile_file or reference}"):
        result = _service().check(request)
    _warn(result.warnings)
    print_drift_table(result.report)
    console.print(f"reports: {'  '.join(result.locations)}")
    if result.report.inconclusive_columns:
        raise fail(
            f"no drift score for {', '.join(result.report.inconclusive_columns)} "
            "(no comparable current values, e.g. all null): counted as drifted, the check does not pass"
        )


@app.command("decay")
@user_errors
def drift_decay(
    predictions: Annotated[Path, typer.Option("--predictions", help="Logged predictions (parquet/CSV).")],
    actuals: Annotated[Path, typer.Option("--actuals", help="Actual outcomes (parquet/CSV), column `actual`.")],
    reference: Annotated[
        str, typer.Option("--reference", help="Model version or alias whose val_rmse to compare with.")
    ] = "champion",
    validation_rmse: Annotated[
        float | None, typer.Option("--validation-rmse", help="Validation RMSE (default: the version's val_rmse).")
    ] = None,
    key: Annotated[str, typer.Option("--key", help="Column joining predictions to outcomes.")] = "request_id",
    tolerance: Annotated[float, typer.Option("--tolerance", help="Decayed above (1 + tolerance) x val RMSE.")] = 0.2,
    window_rows: Annotated[int, typer.Option("--window-rows", min=1, help="Rows per error window.")] = 1000,
) -> None:
    """Model decay (concept drift): live error of logged predictions once the outcomes are known.

    Exits 1 when the latest window's RMSE exceeds the validation RMSE by more than the tolerance.
    """
    from tripcast.core.services.drift import DecayRequest

    request = DecayRequest(
        predictions=str(predictions),
        actuals=str(actuals),
        reference=reference,
        validation_rmse=validation_rmse,
        key=key,
        tolerance=tolerance,
        window_rows=window_rows,
    )
    verdict = _service().check_decay(request)
    latest = verdict.latest
    console.print(f"{verdict.n_joined:,} predictions joined to outcomes; latest window: {latest or 'none complete'}")
    if verdict.decayed:
        raise fail(f"model decayed: latest window RMSE ratio {latest.get('rmse_ratio', float('nan')):.3f}")
    console.print("[green]no decay[/]")


def print_drift_table(report: Any) -> None:
    """Per-feature verdicts as a Rich table, and the dataset verdict."""
    from rich.table import Table

    table = Table(
        title=f"Drift of {report.spec_name}: {report.n_current:,} current vs {report.n_reference:,} reference rows"
    )
    table.add_column("feature", no_wrap=True, min_width=20)
    table.add_column("method", no_wrap=True, min_width=13)
    for name in ("score", "threshold"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("drift", justify="center", no_wrap=True)
    table.add_column("nulls", justify="right", no_wrap=True)
    rows = list(report.columns) + ([report.prediction] if report.prediction else [])
    for c in rows:
        verdict = "[bold red]NO SCORE[/]" if c.inconclusive else "[bold red]DRIFT[/]" if c.drifted else "[green]ok[/]"
        table.add_row(
            c.column, c.method.value, "n/a" if c.inconclusive else f"{c.score:.4g}", f"{c.threshold:.4g}",
            verdict, f"{c.current_null_rate:.1%}",
        )  # fmt: skip
    console.print(table)
    verdict = "[bold red]DATASET DRIFT[/]" if report.dataset_drift else "[green]no dataset drift[/]"
    console.print(
        f"{verdict}: {report.n_drifted}/{len(report.columns)} features drifted "
        f"(share {report.share_drifted:.2f}, threshold {report.drift_share:.2f})"
    )
