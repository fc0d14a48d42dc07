"""DriftMonitoring against in-memory fakes of its ports: results and the audit events written."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from tripcast.core.domain.audit import AuditEvent
from tripcast.core.domain.errors import InvalidInputError, NotFoundError
from tripcast.core.domain.evaluation import ModelVersion
from tripcast.core.domain.model_spec import FeatureKind, FeatureSpec, ModelSpec
from tripcast.core.domain.month import Month
from tripcast.core.ports.audit import AuditLog
from tripcast.core.ports.clock import Clock
from tripcast.core.ports.drift import (
    DecayEvaluator,
    DriftDetection,
    DriftProfile,
    DriftReportWriter,
    DriftSettings,
    DriftVerdict,
    FeatureSample,
    FeatureSource,
    PredictionSource,
    ReferenceProfileStore,
)
from tripcast.core.services.drift import (
    CheckRequest,
    DecayRequest,
    DriftMonitoring,
    InsufficientRowsError,
    ProfileRequest,
)

SPEC = ModelSpec("toy", (FeatureSpec("x", FeatureKind.NUMERIC, "x"),), target="y")
NOW = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)


@dataclass
class FakeProfile:
    n_rows: int
    prediction: Any = None

    def to_json(self) -> str:
        return f'{{"n_rows": {self.n_rows}}}'


@dataclass
class FakeVerdict:
    dataset_drift: bool
    n_current: int
    drifted_columns: list[str] = field(default_factory=list)
    inconclusive_columns: list[str] = field(default_factory=list)
    settings: DriftSettings | None = None
    predictions: Any = None
    metadata: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"dataset_drift": self.dataset_drift}


class FakeFeatures(FeatureSource):
    spec = SPEC

    def __init__(self, files: dict[str, FeatureSample]) -> None:
        self.files = files
        self.months: list[Month | None] = []

    def resolve(self, current: str) -> str:
        if current not in self.files:
            raise NotFoundError(f"no {current}")
        return current

    def load(self, location: str, month: Month | None = None) -> FeatureSample:
        self.months.append(month)
        return self.files[location]


class FakeProfiles(ReferenceProfileStore):
    def __init__(self) -> None:
        self.by_ref: dict[str, DriftProfile] = {}
        self.saved: dict[str, DriftProfile] = {}

    def load(self, model_name: str, ref: str) -> DriftProfile:
        if ref not in self.by_ref:
            raise NotFoundError(f"model {model_name!r} has no version or alias {ref!r}")
        return self.by_ref[ref]

    def load_file(self, path: str) -> DriftProfile:
        return FakeProfile(n_rows=7)

    def save(self, run_id: str, profile: DriftProfile) -> str:
        self.saved[run_id] = profile
        return f"runs:/{run_id}/reference_profile.json"

    def run_of(self, model_name: str, ref: str) -> tuple[str, str]:
        return "3", "run-3"


class FakeDetection(DriftDetection):
    def profile(self, spec: ModelSpec, features: Any, predictions: Any, metadata: dict[str, str]) -> DriftProfile:
        return FakeProfile(n_rows=len(features), prediction=predictions)

    def check(
        self,
        spec: ModelSpec,
        profile: DriftProfile,
        features: Any,
        predictions: Any,
        settings: DriftSettings,
        metadata: dict[str, str],
    ) -> DriftVerdict:
        drifted = [c for c in spec.feature_names if max(features) > 100]
        return FakeVerdict(
            bool(drifted), len(features), drifted, settings=settings, predictions=predictions, metadata=metadata
        )


class FakeReports(DriftReportWriter):
    def __init__(self) -> None:
        self.written: dict[str, Any] = {}

    def write(self, report: DriftVerdict, profile: DriftProfile, stem: str, directory: str | None = None) -> list[str]:
        folder = directory or "reports"
        self.written[f"{folder}/{stem}.json"] = report
        return [f"{folder}/{stem}.json"]

    def write_text(self, text: str, path: str) -> str:
        self.written[path] = text
        return path


class FakePredictions(PredictionSource):
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.calls: list[str] = []

    def predict(self, model_name: str, ref: str, features: Any) -> Any:
        self.calls.append(ref)
        if self.fail:
            raise RuntimeError("model artifact missing")
        return [2.0 * value for value in features]


@dataclass
class FakeDecayVerdict:
    decayed: bool
    n_joined: int
    latest: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"decayed": self.decayed}


class FakeDecay(DecayEvaluator):
    def __init__(self) -> None:
        self.tables = {"p.parquet": [(1, 10.0), (2, 20.0)], "a.parquet": [(1, 12.0), (2, 26.0)]}
        self.rmse_used: float | None = None

    def read(self, location: str) -> Any:
        return self.tables[location]

    def evaluate(
        self, predictions: Any, actuals: Any, *, validation_rmse: float, key: str, tolerance: float, window_rows: int
    ) -> Any:
        self.rmse_used = validation_rmse
        actual = dict(actuals)
        errors = [(p - actual[k]) ** 2 for k, p in predictions if k in actual]
        rmse = (sum(errors) / len(errors)) ** 0.5
        return FakeDecayVerdict(rmse > validation_rmse * (1 + tolerance), len(errors), {"rmse": rmse})


class FakeRegistry:
    def get(self, name: str, ref: str) -> ModelVersion:
        if ref != "champion":
            raise NotFoundError(f"no {ref}")
        return ModelVersion(name=name, version="3", metrics={"val_rmse": 4.0})


class InMemoryAudit(AuditLog):
    def __init__(self) -> None:
        self.recorded: list[AuditEvent] = []

    def record(self, event: AuditEvent) -> None:
        self.recorded.append(event)

    def events(self, subject_prefix: str = "", limit: int = 100, actions: Any = None) -> list[AuditEvent]:
        return [e for e in self.recorded if e.subject.startswith(subject_prefix)][:limit]


class FixedClock(Clock):
    def now(self) -> datetime:
        return NOW


def sample(
    values: list[float], quarantined: dict[str, int] | None = None, source: str = "march.parquet"
) -> FeatureSample:
    return FeatureSample(features=values, source=source, n_input=len(values) + sum((quarantined or {}).values()),
                         quarantined=quarantined or {})  # fmt: skip


@pytest.fixture
def parts() -> dict[str, Any]:
    features = FakeFeatures(
        {
            "jan": sample([1.0] * 150, source="jan.parquet"),
            "march": sample([2.0] * 120, {"duration_out_of_range": 5}),
            "drifted": sample([500.0] * 200, source="drifted.parquet"),
            "tiny": sample([1.0] * 3, {"pickup_outside_month": 40, "negative_distance": 2}, source="tiny.parquet"),
        }
    )
    profiles = FakeProfiles()
    profiles.by_ref["champion"] = FakeProfile(n_rows=150, prediction=[1.0])
    return {
        "features": features,
        "profiles": profiles,
        "reports": FakeReports(),
        "predictions": FakePredictions(),
        "decay": FakeDecay(),
        "audit": InMemoryAudit(),
    }


def service(parts: dict[str, Any], **overrides: Any) -> DriftMonitoring:
    merged = {"registry": FakeRegistry(), **parts, **overrides}
    return DriftMonitoring(model_name="trip-duration", detection=FakeDetection(), clock=FixedClock(), **merged)


def test_profile_reference_saves_to_the_version_run_and_records_the_audit_event(parts: dict[str, Any]) -> None:
    result = service(parts).profile_reference(ProfileRequest(train="jan", model_ref="champion"))
    assert result.run_uri == "runs:/run-3/reference_profile.json"
    assert parts["profiles"].saved["run-3"] is result.profile and result.profile.n_rows == 150
    assert result.profile.prediction == [2.0] * 150  # the version's predictions were profiled too
    (event,) = parts["audit"].recorded
    assert event.action == "drift.reference_profiled" and event.at == NOW
    assert event.subject == "model:trip-duration/3"  # the version the alias pointed at, as promotions name it
    assert event.details == {"source": "jan.parquet", "rows": "150", "run": result.run_uri, "output": ""}


def test_profile_to_a_file_only_writes_the_json_and_still_audits(parts: dict[str, Any]) -> None:
    result = service(parts).profile_reference(ProfileRequest(train="jan", output="/tmp/p.json"))
    assert parts["reports"].written["/tmp/p.json"] == '{"n_rows": 150}'
    assert result.run_uri is None and parts["profiles"].saved == {} and parts["predictions"].calls == []
    assert [(e.subject, e.details["output"]) for e in parts["audit"].recorded] == [("file:/tmp/p.json", "/tmp/p.json")]


def test_profile_with_nowhere_to_keep_it_is_refused_before_any_work(parts: dict[str, Any]) -> None:
    with pytest.raises(InvalidInputError, match="run_id"):
        service(parts).profile_reference(ProfileRequest(train="jan"))
    assert parts["features"].months == [] and parts["audit"].recorded == []


def test_check_reports_drift_writes_the_report_and_checks_predictions(parts: dict[str, Any]) -> None:
    settings = DriftSettings(drift_share=0.3, thresholds={"x": 0.2}, min_rows=100)
    result = service(parts).check(CheckRequest(current="drifted", settings=settings, out_dir="/out"))
    report = result.report
    assert report.dataset_drift and report.drifted_columns == ["x"] and report.n_current == 200
    assert report.settings == settings  # type: ignore[attr-defined]
    assert report.predictions == [1000.0] * 200  # type: ignore[attr-defined]
    assert result.locations == ["/out/drift_toy_drifted_20261207T040000Z.json"]
    assert parts["reports"].written[result.locations[0]] is report
    assert parts["audit"].recorded == []  # a check changes no data and no model


def test_check_carries_quarantine_counts_and_the_reference_label(parts: dict[str, Any]) -> None:
    result = service(parts).check(CheckRequest(current="march", month=Month(2021, 3)))
    assert not result.report.dataset_drift
    assert result.report.metadata == {"reference": "champion", "current": "march.parquet", "quarantined": "5"}  # type: ignore[attr-defined]
    assert parts["features"].months == [Month(2021, 3)]


def test_check_without_the_model_warns_and_judges_the_data(parts: dict[str, Any]) -> None:
    result = service(parts, predictions=FakePredictions(fail=True)).check(CheckRequest(current="march"))
    assert result.report.predictions is None  # type: ignore[attr-defined]
    assert result.warnings == ["no prediction drift: cannot load trip-duration@champion: model artifact missing"]


def test_check_against_a_profile_file_never_loads_the_model(parts: dict[str, Any]) -> None:
    result = service(parts).check(CheckRequest(current="march", profile_file="/profiles/jan.json"))
    assert parts["predictions"].calls == []
    assert result.report.metadata["reference"] == "jan.json"  # type: ignore[attr-defined]


def test_check_on_too_few_valid_rows_fails_naming_the_reasons(parts: dict[str, Any]) -> None:
    with pytest.raises(InsufficientRowsError) as caught:
        service(parts).check(CheckRequest(current="tiny"))
    assert str(caught.value) == (
        "tiny.parquet: 3 valid rows, a drift check needs at least 100; "
        "quarantined rows by reason: pickup_outside_month 40, negative_distance 2"
    )
    assert parts["reports"].written == {}


def test_check_of_an_unknown_model_reference_is_not_found(parts: dict[str, Any]) -> None:
    with pytest.raises(NotFoundError, match="challenger"):
        service(parts).check(CheckRequest(current="march", reference="challenger"))


def test_check_decay_uses_the_versions_validation_rmse(parts: dict[str, Any]) -> None:
    verdict = service(parts).check_decay(DecayRequest(predictions="p.parquet", actuals="a.parquet"))
    assert parts["decay"].rmse_used == 4.0
    assert verdict.n_joined == 2 and verdict.latest["rmse"] == pytest.approx((20.0) ** 0.5)
    assert not verdict.decayed  # 4.47 <= 4.0 * 1.2


def test_check_decay_with_in_memory_tables_and_a_given_rmse_flags_decay(parts: dict[str, Any]) -> None:
    verdict = service(parts).check_decay(
        DecayRequest(predictions=[(1, 10.0)], actuals=[(1, 20.0)], validation_rmse=5.0, tolerance=0.1)
    )
    assert verdict.decayed and parts["decay"].rmse_used == 5.0


def test_check_decay_without_a_registry_needs_the_rmse(parts: dict[str, Any]) -> None:
    with pytest.raises(InvalidInputError, match="validation_rmse"):
        service(parts, registry=None).check_decay(DecayRequest(predictions="p.parquet", actuals="a.parquet"))


def test_profile_attached_to_a_given_run_names_that_run(parts: dict[str, Any]) -> None:
    result = service(parts).profile_reference(ProfileRequest(train="jan", run_id="abc"))
    assert result.run_uri == "runs:/abc/reference_profile.json" and parts["predictions"].calls == []
    assert [e.subject for e in parts["audit"].recorded] == ["run:abc"]
