"""Slicing by bands and categories, and the rendered card: every section, in both documents."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tripcast.core.domain.evaluation import Evaluation, ModelVersion
from tripcast.core.domain.model_card import (
    AliasChange,
    ApprovalRecord,
    ComparedVersion,
    DatasetRecord,
    ModelCard,
    SliceDimension,
    SliceMetrics,
    TrainingRecord,
)
from tripcast.core.domain.trip import TripRequest
from tripcast.core.domain.trip_duration import TRIP_DURATION_SPEC
from tripcast.core.ports.learning import Predictor, TrainingSet
from tripcast.core.ports.model_card import SlicedPredictions
from tripcast.data_engineering.features.card_facts import DISTANCE_BANDS, HOUR_BANDS, trip_slice_dimensions
from tripcast.mlops.model_cards.render import MarkdownHtmlCardRenderer
from tripcast.mlops.model_cards.slicing import ColumnSlicer

AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


class CountingPredictor(Predictor):
    """Predicts the row number; counts its calls."""

    model_name, model_version = "m", "4"

    def __init__(self) -> None:
        self.calls = 0

    def predict_features(self, features: Any) -> Any:
        self.calls += 1
        return np.arange(len(features), dtype=np.float64)

    def predict_trips(self, requests: Sequence[TripRequest]) -> list[float]:
        raise AssertionError("not used")


def _split(dimensions: tuple[SliceDimension, ...], frame: pd.DataFrame) -> tuple[SlicedPredictions, CountingPredictor]:
    predictor = CountingPredictor()
    data = TrainingSet(frame, np.arange(float(len(frame))), "m", "d")
    return ColumnSlicer(dimensions, list(frame.columns)).predict_and_split(data, predictor), predictor


def test_bands_put_an_edge_value_in_the_upper_band_and_cover_every_row_from_one_prediction_pass() -> None:
    frame = pd.DataFrame({"trip_distance": [0.5, 1.0, 1.99, 2.0, 10.0, 30.0], "pickup_hour": [0, 5, 6, 9, 10, 23]})

    sliced, predictor = _split((DISTANCE_BANDS, HOUR_BANDS), frame)

    distance = {s.label: list(s.rows.target) for s in sliced.slices if s.dimension == "distance band"}
    assert distance == {"<1 mi": [0.0], "1-2 mi": [1.0, 2.0], "2-5 mi": [3.0], "10+ mi": [4.0, 5.0]}
    hours = [(s.label, len(s.rows)) for s in sliced.slices if s.dimension == "hour band"]
    assert hours == [("night 0-5", 2), ("morning 6-9", 2), ("midday 10-15", 1), ("late 20-23", 1)]
    # each slice replays its own rows' predictions (here: the row numbers), under the model's version
    for piece in sliced.slices:
        assert list(piece.predictions.predict_features(piece.rows.features)) == list(piece.rows.target)
        assert (piece.predictions.model_name, piece.predictions.model_version) == ("m", "4")
    assert list(sliced.overall.predict_features(frame)) == list(range(6))
    assert predictor.calls == 1


def test_categories_are_named_ordered_by_rows_and_unknown_codes_keep_their_code() -> None:
    borough = trip_slice_dimensions()[0]
    manhattan = next(code for code, name in borough.categories.items() if name == "Manhattan")

    sliced, _ = _split((borough,), pd.DataFrame({"pickup_borough": [manhattan, 99, manhattan]}))

    assert [(s.label, len(s.rows)) for s in sliced.slices] == [("Manhattan", 2), ("99", 1)]


def test_a_missing_column_or_inconsistent_bands_are_refused() -> None:
    with pytest.raises(ValueError, match="column 'trip_distance' not in 'm'"):
        _split((DISTANCE_BANDS,), pd.DataFrame({"x": [1]}))
    with pytest.raises(ValueError, match="2 edges need 3 labels"):
        SliceDimension("bad", "x", edges=(1.0, 2.0), labels=("a", "b"))


def _card(previous: ComparedVersion | None, approvals: tuple[ApprovalRecord, ...] = ()) -> ModelCard:
    overall = Evaluation({"rmse": 5.0, "mae": 3.0, "r2": 0.7}, 30, "2021-02", "dv")
    slices = (
        SliceMetrics("hour band", "night 0-5", 10, {"rmse": 4.0}),
        SliceMetrics("hour band", "late 20-23", 20, {"rmse": 6.0}),
    )
    return ModelCard(
        version=ModelVersion("trip-duration", "2", ("champion",), created_at=AT, run_id="r2"),
        spec=TRIP_DURATION_SPEC,
        written_at=AT,
        intended_use="Estimate trip minutes.",
        limitations=("Only green taxis.", "Pipes | in text are kept."),
        training=TrainingRecord(
            "r2",
            "lightgbm-2021-01",
            "1",
            {"train_month": "2021-01"},
            (DatasetRecord("2021-01", "dt", "training", 100),),
        ),
        evaluation_month="2021-02",
        overall=overall,
        slices=slices,
        dimensions=(HOUR_BANDS,),
        previous_champion=previous,
        alias_history=(AliasChange(AT, "ann", "model.promoted", "champion", "2", "1", "fresh data"),),
        approvals=approvals,
    )


def test_markdown_and_html_carry_every_section_and_the_comparison() -> None:
    previous = ComparedVersion(
        "1",
        "current champion",
        Evaluation({"rmse": 6.0, "mae": 4.0, "r2": 0.6}, 30, "2021-02", "dv"),
        (SliceMetrics("hour band", "night 0-5", 10, {"rmse": 4.5}),),
    )
    card = _card(previous)
    renderer = MarkdownHtmlCardRenderer()

    markdown, html = renderer.markdown(card), renderer.html(card)

    for title in (
        "Intended use",
        "Training data",
        "Features",
        "Metrics",
        "Comparison with the previous champion",
        "Known limitations",
        "Lineage",
        "Approvals",
    ):
        assert f"\n## {title}\n" in markdown and f"<h2>{title}</h2>" in html
    assert "| night 0-5 | 10 | 4 | - | - | 4.5 |" in markdown  # previous champion's slice rmse beside this one's
    assert "| late 20-23 | 20 | 6 | - | - | - |" in markdown
    assert "on the same rows: better on rmse" in markdown
    assert "| 2026-01-02 03:04:05 | champion | 1 | 2 | model.promoted | ann | fresh data |" in markdown
    assert "- Pipes | in text are kept." in markdown and "<li>Pipes | in text are kept.</li>" in html
    assert "2021-01 (dt) -> run `r2` -> trip-duration v2" in markdown
    assert "## Approvals\n\nNone recorded." in markdown
    assert html.count("<svg") == 1 and "previous champion v1" in html and "<b>trip-duration</b>" in html


def test_approvals_are_listed_when_recorded() -> None:
    step = ApprovalRecord(AT, "carol", "model.approved", {"request_id": "r1"})

    markdown = MarkdownHtmlCardRenderer().markdown(_card(None, (step,)))

    assert "| 2026-01-02 03:04:05 | model.approved | carol | request_id=r1 |" in markdown
    assert "No previous champion: nothing to compare with." in markdown
