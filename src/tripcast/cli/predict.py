"""``tripcast predict``: one trip as JSON, or a file of trips."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tripcast.cli import scoring
from tripcast.cli.console import fail, print_json, user_errors
from tripcast.cli.options import ModelOption, context
from tripcast.core.domain.errors import FieldProblem, InvalidInputError
from tripcast.core.services.promotion import CHAMPION

app = typer.Typer()


@app.command()
@user_errors
def predict(
    trip: Annotated[
        str | None,
        typer.Option(
            help="One trip as JSON, e.g. "
            '\'{"pickup_datetime": "2021-02-01T08:30", "pickup_zone": 74, "dropoff_zone": 75, "trip_distance": 1.2}\''
        ),
    ] = None,
    input_path: Annotated[Path | None, typer.Option("--input", help="Parquet/CSV of trips to score.")] = None,
    output_path: Annotated[Path | None, typer.Option("--output", help="Where to write predictions (parquet).")] = None,
    model: ModelOption = CHAMPION,
) -> None:
    """Predict the duration of one trip (JSON) or of a file of trips."""
    ctx = context(None)
    if (trip is None) == (input_path is None):
        raise fail("give exactly one of --trip or --input")
    if input_path is not None:
        if output_path is None:
            raise InvalidInputError([FieldProblem("--output", "required with --input (a parquet file to write)")])
        scoring.score(input_path=input_path, output=output_path, quarantine=None, ref=model, chunk_rows=50_000)
        return
    assert trip is not None
    from tripcast.bootstrap.serving import parse_trip_json  # pydantic: loaded by this command only

    request = parse_trip_json(trip, whole="--trip")
    prediction = ctx.serving.prediction(model).predict_one(request)
    print_json(
        {
            "minutes": round(prediction.minutes, 3),
            "model_name": prediction.model_name,
            "model_version": prediction.model_version,
        }
    )
