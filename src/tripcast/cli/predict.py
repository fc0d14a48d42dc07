"""``tripcast predict``: one trip as JSON, or a file of trips."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from tripcast.cli import scoring
from tripcast.cli.console import fail, print_json, user_errors
from tripcast.cli.options import ModelOption, context
from tripcast.core.domain.errors import FieldProblem, InvalidInputError
from tripcast.core.domain.trip import TripRequest
from tripcast.core.services.prediction import predict_trips
from tripcast.core.services.promotion import CHAMPION

app = typer.Typer()


def _parse_trip(text: str) -> TripRequest:
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInputError([FieldProblem("--trip", f"not valid JSON: {exc.msg} at char {exc.pos}")]) from None
    except ValueError:  # an integer beyond Python's 4,300-digit conversion limit
        raise InvalidInputError([FieldProblem("--trip", "a number in it is too long")]) from None
    if not isinstance(payload, dict):
        raise InvalidInputError([FieldProblem("--trip", "must be a JSON object")])
    allowed = {"pickup_datetime", "pickup_zone", "dropoff_zone", "trip_distance", "vendor_id", "passenger_count"}
    unknown = sorted(set(payload) - allowed)
    missing = sorted({"pickup_datetime", "pickup_zone", "dropoff_zone", "trip_distance"} - set(payload))
    problems = [FieldProblem(f, "unknown field") for f in unknown] + [FieldProblem(f, "required") for f in missing]
    if problems:
        raise InvalidInputError(problems)
    when = payload["pickup_datetime"]
    try:
        pickup = datetime.fromisoformat(when) if isinstance(when, str) else when
    except ValueError:
        raise InvalidInputError([FieldProblem("pickup_datetime", f"{when!r} is not an ISO 8601 datetime")]) from None
    return TripRequest.create(
        pickup_datetime=pickup,
        pickup_zone=payload["pickup_zone"],
        dropoff_zone=payload["dropoff_zone"],
        trip_distance=payload["trip_distance"],
        vendor_id=payload.get("vendor_id"),
        passenger_count=payload.get("passenger_count"),
    )


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
    request = _parse_trip(trip)
    predictor = ctx.registry.load_predictor(ctx.settings.model_name, model)
    [prediction] = predict_trips(predictor, [request])
    print_json(
        {
            "minutes": round(prediction.minutes, 3),
            "model_name": prediction.model_name,
            "model_version": prediction.model_version,
        }
    )
