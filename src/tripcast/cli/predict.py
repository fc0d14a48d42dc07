"""``tripcast predict``: one trip as JSON, or a file of trips."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tripcast.cli import scoring
from tripcast.cli.console import err_console, fail, print_json, user_errors
from tripcast.cli.options import ModelOption, context
from tripcast.core.domain.errors import FieldProblem, InvalidInputError
from tripcast.core.services.promotion import CHAMPION

if TYPE_CHECKING:
    from tripcast.core.services.prediction import Prediction

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
    prediction = ctx.serving.prediction(model, logged=True)
    served = prediction.predict([request])
    answer: dict[str, object] = {
        "minutes": round(served.minutes[0], 3),
        "model_name": served.model.name,
        "model_version": served.model.number,
    }
    if served.request_ids and _logged(prediction):
        answer["request_id"] = served.request_ids[0]  # `tripcast feedback ingest` joins the actual on it
    print_json(answer)


def _logged(prediction: Prediction) -> bool:
    """Write the queued prediction now (the command exits next); False, with a warning, when it failed."""
    if prediction.log is None:
        return False
    try:
        prediction.log.close()
    except Exception as exc:  # noqa: BLE001 - the prediction stands; only its feedback join is lost
        err_console.print(f"[yellow]warning:[/] prediction not logged (no request id): {type(exc).__name__}: {exc}")
        return False
    return True
