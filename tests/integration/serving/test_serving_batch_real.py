"""Batch scoring of a real TLC month, chunked, with every row either scored or quarantined with reasons."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from serving_champion import MODEL_NAME, Champion

from tripcast.core.domain.errors import NotFoundError
from tripcast.core.services.batch_scoring import ScoreReport
from tripcast.data_engineering.features.trip_features import TripFeatureBuilder
from tripcast.data_engineering.tlc.schema import TLC_TO_CANONICAL
from tripcast.mlops.serving.batch import score_file as score_with_features

FEATURES = TripFeatureBuilder()


def score_file(*args, **kwargs) -> ScoreReport:  # type: ignore[no-untyped-def]
    """``score_file`` with the spine features the champion was trained on."""
    return score_with_features(*args, features=FEATURES, **kwargs)


@pytest.fixture(scope="module")
def predictor(champion: Champion):  # type: ignore[no-untyped-def]
    return champion.registry.load_predictor(MODEL_NAME, "champion")


def test_scores_a_raw_tlc_month_in_chunks(shared_data_dir: Path, tmp_path: Path, predictor) -> None:  # type: ignore[no-untyped-def]
    source = shared_data_dir / "green_tripdata_2021-02.parquet"
    output = tmp_path / "scored.parquet"
    report = score_file(source, output, predictor, column_aliases=TLC_TO_CANONICAL, chunk_rows=20_000)
    total = pq.ParquetFile(source).metadata.num_rows
    assert report.input_rows == total == report.scored_rows + report.quarantined_rows
    scored = pq.read_table(output)
    quarantined = pq.read_table(report.quarantine)
    assert scored.num_rows == report.scored_rows and quarantined.num_rows == report.quarantined_rows
    # Every source row appears exactly once across the two outputs.
    rows = scored.column("source_row").to_pylist() + quarantined.column("source_row").to_pylist()
    assert sorted(rows) == list(range(total))
    assert set(scored.column("model_version").to_pylist()) == {predictor.model_version}
    minutes = scored.column("predicted_minutes").to_numpy()
    assert 5 < minutes.mean() < 40
    # Real February has trips with no pickup zone or distance data problems: they carry reasons.
    assert report.quarantined_rows > 0 and all(quarantined.column("quarantine_reason").to_pylist())


def test_csv_with_bad_rows_quarantines_them_with_reasons(tmp_path: Path, predictor) -> None:  # type: ignore[no-untyped-def]
    source = tmp_path / "trips.csv"
    pacsv.write_csv(
        pa.table(
            {
                "pickup_datetime": ["2021-02-01 08:00:00", "2021-02-01 09:00:00", "2021-02-01 10:00:00", None],
                "pickup_zone": [74, 999, 74, 74],
                "dropoff_zone": [75, 75, 75, 75],
                "trip_distance": [1.5, 2.0, -3.0, 1.0],
            }
        ),
        source,
    )
    report = score_file(source, tmp_path / "out.parquet", predictor, chunk_rows=2)
    assert (report.input_rows, report.scored_rows, report.quarantined_rows) == (4, 1, 3)
    reasons = pq.read_table(report.quarantine).to_pydict()
    assert reasons["source_row"] == [1, 2, 3]
    assert "pickup_zone" in reasons["quarantine_reason"][0]
    assert "trip_distance" in reasons["quarantine_reason"][1]
    assert "pickup_datetime" in reasons["quarantine_reason"][2]
    assert report.reasons == {"pickup_zone": 1, "trip_distance": 1, "pickup_datetime": 1}


def test_directory_input_and_missing_input(tmp_path: Path, predictor) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(2):
        pq.write_table(
            pa.table(
                {
                    "pickup_datetime": pa.array([None], pa.timestamp("us")),
                    "pickup_zone": [1],
                    "dropoff_zone": [2],
                    "trip_distance": [1.0],
                }
            ),
            folder / f"part{i}.parquet",
        )
    report = score_file(folder, tmp_path / "o.parquet", predictor)
    assert report.input_rows == 2 and report.quarantined_rows == 2
    assert set(pq.read_table(report.quarantine).column("source_file").to_pylist()) == {"part0.parquet", "part1.parquet"}
    with pytest.raises(NotFoundError):
        score_file(tmp_path / "nope", tmp_path / "x.parquet", predictor)


def _digest(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_output_that_is_the_input_is_refused_and_the_input_kept(
    shared_data_dir: Path, tmp_path: Path, predictor
) -> None:  # type: ignore[no-untyped-def]
    from tripcast.core.domain.errors import InvalidInputError

    source = tmp_path / "trips.parquet"
    pq.write_table(pq.read_table(shared_data_dir / "green_tripdata_2021-02.parquet").slice(0, 500), source)
    before = _digest(source)
    (tmp_path / "link.parquet").symlink_to(source)
    for output, quarantine in [
        (source, None),  # the same path
        (tmp_path / "sub" / ".." / "trips.parquet", None),  # the same file by another spelling
        (tmp_path / "link.parquet", None),  # through a symlink
        (tmp_path / "out.parquet", source),  # the quarantine onto the input
    ]:
        with pytest.raises(InvalidInputError, match="is an input file"):
            score_file(source, output, predictor, quarantine=quarantine)
    assert _digest(source) == before
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.parquet").write_bytes(source.read_bytes())
    with pytest.raises(InvalidInputError, match="inside the input folder"):
        score_file(folder, folder / "scored.parquet", predictor)
    assert sorted(p.name for p in folder.iterdir()) == ["a.parquet"]


def test_a_failed_run_leaves_the_previous_outputs_and_no_partial_file(
    shared_data_dir: Path, tmp_path: Path, predictor
) -> None:  # type: ignore[no-untyped-def]
    source = shared_data_dir / "green_tripdata_2021-02.parquet"
    output = tmp_path / "scored.parquet"
    first = score_file(source, output, predictor, column_aliases=TLC_TO_CANONICAL)
    before = {path.name: _digest(path) for path in (output, first.quarantine)}

    class FailsOnTheThirdChunk:
        model_name, model_version, calls = predictor.model_name, "broken", 0

        def predict_features(self, features):  # type: ignore[no-untyped-def]
            self.calls += 1
            if self.calls == 3:
                raise RuntimeError("model crashed mid-run")
            return predictor.predict_features(features)

    with pytest.raises(RuntimeError, match="mid-run"):
        score_file(
            source, output, FailsOnTheThirdChunk(), column_aliases=TLC_TO_CANONICAL, chunk_rows=5_000
        )  # fmt: skip
    assert {path.name: _digest(path) for path in (output, first.quarantine)} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(before)


def test_a_truncated_parquet_is_one_error_naming_the_file(shared_data_dir: Path, tmp_path: Path, predictor) -> None:  # type: ignore[no-untyped-def]
    from tripcast.mlops.serving.batch import UnreadableInputError

    data = (shared_data_dir / "green_tripdata_2021-02.parquet").read_bytes()
    truncated = tmp_path / "cut.parquet"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(UnreadableInputError, match=r"cut.parquet: not a readable parquet file \(truncated or corrupt"):
        score_file(truncated, tmp_path / "o.parquet", predictor)
    assert not (tmp_path / "o.parquet").exists()
