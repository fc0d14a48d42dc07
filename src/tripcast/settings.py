"""Settings for every adapter, from ``TRIPCAST_*`` environment variables and ``.env`` files.

Defaults are embedded and local (files under ``data/``, SQLite for MLflow, an
in-process cache), so nothing needs a server. Real services are a setting away:
``TRIPCAST_MLFLOW_TRACKING_URI=postgresql+psycopg://...``,
``TRIPCAST_CACHE_URL=redis://127.0.0.1:6379/0``. Outside ``local`` and
``development`` the settings refuse to start without an API token and an API-key hashing secret.
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Environment(StrEnum):
    """Deployment environments, from laptop to production."""

    LOCAL = "local"
    DEVELOPMENT = "development"
    STAGING = "staging"
    PRODUCTION = "production"


#: Environments where unset secrets are accepted (mutating endpoints still need an API key there).
RELAXED_ENVIRONMENTS = frozenset({Environment.LOCAL, Environment.DEVELOPMENT})
#: The audit trail's HMAC key on a laptop; refused outside RELAXED_ENVIRONMENTS, where it would be no secret.
DEVELOPMENT_AUDIT_KEY = "tripcast-development-audit-key"
#: Hashing key for API keys when none is set (local/development only; refused elsewhere): not a secret.
LOCAL_API_KEY_SECRET = "tripcast-local-api-key-secret"
DEFAULT_TLC_BASE_URL = "https://d37ci6vzurychx.cloudfront.net/trip-data"


class Settings(BaseSettings):
    """All of Tripcast's configuration; see ``environments/`` for per-environment files."""

    model_config = SettingsConfigDict(
        env_prefix="TRIPCAST_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        validate_default=True,
    )

    env: Environment = Environment.LOCAL

    # Where relative paths point: TRIPCAST_HOME when set (its .env is read too), else the directory current
    # when the settings load. Resolved once, here; no other code reads a path against the current directory.
    home: Path | None = Field(default=None, description="base of every relative path and of .env")

    # Data locations
    data_dir: Path = Path("data")
    raw_dir: Path | None = Field(default=None, description="TLC files; defaults to <data_dir>/raw")
    service: str = Field(default="green", pattern="^(green|yellow)$")
    tlc_base_url: str = DEFAULT_TLC_BASE_URL
    download_retries: int = Field(default=3, ge=0, le=10)
    download_timeout_seconds: float = Field(default=60.0, gt=0)

    # Tracking and registry
    mlflow_tracking_uri: str | None = Field(default=None, description="defaults to sqlite:///<data_dir>/mlflow.db")
    mlflow_artifact_location: str | None = Field(default=None, description="defaults to <data_dir>/mlartifacts")
    experiment_name: str = "trip-duration"
    model_name: str = "trip-duration"
    train_month: str = Field(default="2021-01", pattern=r"^\d{4}-\d{2}$")

    # Audit trail of model and data changes
    audit_url: str | None = Field(default=None, description="SQLAlchemy URL; defaults to sqlite:///<data_dir>/audit.db")
    # HMAC-SHA256 key of the audit hash chain: whoever can write the database but lacks it cannot re-hash the trail
    audit_key: SecretStr = SecretStr(DEVELOPMENT_AUDIT_KEY)

    # Compile each registered LightGBM version to native code (tl2cgen) for the server: ~1 min per version,
    # and servers pick the faster of it and LightGBM's single-row API, which often wins; so off by default
    # (`tripcast optimize` compiles on demand).
    compile_on_register: bool = False

    # Serving
    # An admin credential from the environment (bootstraps a fresh deployment before any API key exists).
    api_token: SecretStr | None = None

    # API keys with roles (`tripcast tokens create`); README "Security"
    auth_url: str | None = Field(default=None, description="SQLAlchemy URL; defaults to sqlite:///<data_dir>/auth.db")
    api_key_secret: SecretStr | None = Field(
        default=None, description="HMAC key for stored API-key hashes; required outside local/development"
    )
    # How long a key lookup is remembered: a revoked key keeps working at most this long on each worker.
    api_key_cache_seconds: float = Field(default=5.0, ge=0, le=300)
    # POST /v1/predictions without a key; unset: allowed in local/development only.
    allow_anonymous_predictions: bool | None = None
    cache_url: str | None = Field(default=None, description="redis://... for a shared cache; in-process LRU when unset")
    cache_size: int = Field(default=100_000, ge=0)
    max_batch_size: int = Field(default=1000, ge=1)
    # Little's law: ~0.5 ms of loop CPU per prediction (x2 under overload, when refusals share the loop),
    # so 8 waiting cost an admitted request ~4-8 ms; 16 doubled the overload p50 (9.4 vs 4.9 ms) for no
    # more accepted requests (performance/README.md "Overload")
    max_in_flight: int = Field(default=8, ge=1)
    # Requests of at most this many trips are answered on the event loop when the model is compiled and
    # nothing on the path does I/O (see Prediction.answers_inline); 0 sends every one to a thread.
    inline_max_trips: int = Field(default=8, ge=0)
    request_timeout_seconds: float = Field(default=5.0, gt=0)
    # A rollback must reach running servers within 2 s (issue #13): one alias lookup a second costs ~3 ms of
    # CPU on SQLite and PostgreSQL (0.3% of a core; DOCS/lifecycle.md "Rollback visibility")
    registry_poll_seconds: float = Field(default=1.0, gt=0)

    # Data pipeline (engine, sinks, lineage, quality metrics)
    pipeline_engine: str = Field(default="duckdb", pattern="^(duckdb|spark)$")
    export_postgres_url: str | None = Field(default=None, description="SQLAlchemy URL; features are upserted there")
    export_http_url: str | None = Field(default=None, description="features are POSTed there as JSON batches")
    lineage_url: str | None = Field(default=None, description="OpenLineage HTTP endpoint; JSONL under data/lineage")
    pushgateway_url: str | None = Field(default=None, description="Prometheus Pushgateway; else a .prom textfile")

    # Feature store (zone aggregates, Feast): off by default so models without store features keep working
    feature_store_enabled: bool = Field(default=False, description="train and serve with the zone-store features")
    feature_store_dir: Path | None = Field(default=None, description="defaults to <data_dir>/feature_store")
    feature_store_online_url: str | None = Field(default=None, description="redis://... ; SQLite file when unset")

    # Online drift monitoring in the API
    drift_monitoring_enabled: bool = True
    drift_evaluation_seconds: float = Field(default=60.0, gt=0)
    drift_window_size: int = Field(default=10_000, ge=100)

    # Load shedding (performance/README.md "Overload"): refuse /v1/ requests at once while the event loop
    # runs more than this late (0 turns the check off); uvicorn's accept backlog for `tripcast serve`
    max_loop_lag_ms: float = Field(default=10.0, ge=0)
    # Refuse while the event loop's thread was on the CPU more than this share of the last 100 ms: the
    # headroom that drains requests waiting in socket buffers (performance/README.md "Overload"); 0: off.
    max_loop_busy: float = Field(default=0.95, ge=0, le=1)
    # Beyond max_in_flight, a burst of requests may be admitted up to this many while the event loop is
    # not under pressure (busy <= 85%, no standing lag): at moderate load a burst read in one loop
    # iteration drains in milliseconds (performance/README.md "Overload"). 0: max_in_flight is strict.
    max_burst_in_flight: int = Field(default=64, ge=0)
    serve_backlog: int = Field(default=2048, ge=1)

    # Outbound HTTP (REST ingestion, HTTP export; tripcast.egress): private, loopback and link-local
    # targets are refused unless listed here (host names, addresses or networks, comma-separated), or all
    # allowed (a laptop). environments/local and development list the loopback names.
    egress_allow_private: bool = False
    egress_allowed_hosts: str = Field(default="", description="e.g. localhost,127.0.0.1,10.0.0.0/8")
    # A REST API's Retry-After is honoured up to this many seconds, never longer
    rest_max_retry_after_seconds: float = Field(default=60.0, ge=0)

    # Ingestion sources (`tripcast ingest --from file|postgres|rest|nats|redis`; area: ingest). CLI options
    # override these; trips land in raw_path as TLC-named parquet files, rejected records under
    # <quarantine>/ingest.
    ingest_batch_size: int = Field(default=5_000, ge=1, le=1_000_000, description="rows per read from a source")
    ingest_retries: int = Field(default=4, ge=0, le=10, description="REST ingestion: retries per page")
    ingest_postgres_url: str | None = Field(default=None, description="SQLAlchemy URL of the trips database")
    ingest_postgres_table: str | None = Field(default=None, description="table (or schema.table) of trips")
    ingest_postgres_query: str | None = Field(default=None, description="a SELECT instead of a table")
    ingest_postgres_timestamp_column: str | None = Field(
        default=None, description="column that picks a month; default lpep_/tpep_pickup_datetime by service"
    )
    ingest_postgres_watermark_column: str | None = Field(
        default=None, description="pull only rows after the last one pulled, ordered by this column"
    )
    ingest_postgres_key_column: str | None = Field(default=None, description="unique column paging ties")
    ingest_rest_url: str | None = Field(default=None, description="paginated JSON API of trips")
    ingest_rest_page_size: int = Field(default=1_000, ge=1, le=100_000)
    ingest_rest_requests_per_second: float = Field(default=10.0, gt=0)
    ingest_nats_url: str = "nats://127.0.0.1:4222"
    # trip records to land; not the trip requests `tripcast stream` scores (tripcast:trips)
    ingest_nats_stream: str = "TRIPCAST_INGEST"
    ingest_nats_subject: str = "tripcast.ingest.trips"
    ingest_nats_durable: str = "tripcast-ingest"
    ingest_redis_url: str = "redis://127.0.0.1:6379/0"
    ingest_redis_stream: str = "tripcast:ingest:trips"
    ingest_redis_group: str = "tripcast-ingest"

    # --- data area (validation, pipeline, catalog) ---
    # Rows per validation batch: memory holds one batch (about 200 MB per million canonical trips).
    validation_batch_rows: int = Field(default=1_000_000, ge=1_000)
    # Where `tripcast pipeline catalog` writes the JSON Schemas and data dictionary (relative: under the
    # directory settings resolve against; the repository keeps its copy in data_engineering/catalog).
    catalog_dir: Path = Path("data_engineering/catalog")

    # --- observability area (logs, SLOs) ---
    # Log lines: "json" (one JSON object per line), "console" (human-readable), or "auto": console in local and
    # development, JSON elsewhere. Always on stderr.
    log_format: str = Field(default="auto", pattern="^(auto|json|console)$")
    log_level: str = Field(default="INFO", pattern="^(DEBUG|INFO|WARNING|ERROR|CRITICAL)$")
    # Prometheus's HTTP API: `tripcast slo report` reads the recorded error ratios and firing alerts there.
    prometheus_url: str = Field(default="http://127.0.0.1:9090", description="Prometheus base URL")
    # Alertmanager's HTTP API: `tripcast alerts` lists, silences, acknowledges and raises alerts there.
    alertmanager_url: str = Field(default="http://127.0.0.1:9093", description="Alertmanager base URL")
    # The SLO spec (sloth's prometheus/v1 format; relative: under the settings' home).
    slo_spec_file: Path = Field(default=Path("observability/sli_slo/slos.yaml"), description="SLO spec YAML")

    # --- approvals area (issue 13: approval workflow) ---
    # The environment's approval policy (YAML; relative: under the settings' home). Unset: the repository's
    # environments/<env>/approval_policy.yaml when present, else the built-in policy of the environment.
    approval_policy_file: Path | None = Field(default=None, description="YAML approval policy of this environment")
    # --- retraining area (issue #13 item 5: automated retraining) ---
    # The environment's retraining policy (YAML; relative: under the settings' home). Unset: the repository's
    # environments/<env>/retraining_policy.yaml when present, else the built-in policy of the environment.
    retraining_policy_file: Path | None = Field(default=None, description="YAML retraining policy of this environment")
    # Seconds between two checks of `tripcast retrain watch`.
    retraining_watch_seconds: float = Field(default=3600.0, ge=1.0, le=31 * 86_400.0)
    # --- feedback area (issue #13: ground truth, live error) ---
    # Log every served prediction (request id, version, features digest, segment) for ground-truth joins.
    prediction_log_enabled: bool = True
    # SQLAlchemy URL of the prediction log; default sqlite under data_dir (see prediction_log_database_url).
    prediction_log_url: str | None = None
    # Seconds between the serving process's background log flushes.
    prediction_log_flush_seconds: float = Field(default=0.5, gt=0)
    # Live RMSE above validation RMSE by more than this fraction = concept drift.
    feedback_decay_tolerance: float = Field(default=0.2, gt=0)
    # --- experiments area (issue #14: A/B, shadow, canary) ---
    experiments_url: str | None = Field(
        default=None, description="SQLAlchemy URL of experiments and exposures; default sqlite under data_dir"
    )
    experiments_poll_seconds: float = Field(
        default=1.0, gt=0, le=60, description="Seconds between a serving process's looks for started experiments"
    )
    exposure_flush_seconds: float = Field(
        default=0.5, gt=0, le=60, description="Seconds between the serving process's background exposure writes"
    )
    experiments_serving: bool = Field(
        default=True, description="Whether the API follows running experiments (off: the champion answers all)"
    )

    def __init__(self, **values: Any) -> None:
        # TRIPCAST_HOME moves .env with it, so a command run from any directory reads the project's file.
        home = os.environ.get("TRIPCAST_HOME")
        if home and "_env_file" not in values:
            values["_env_file"] = Path(home).expanduser() / ".env"
        super().__init__(**values)

    @property
    def json_logs(self) -> bool:
        """Whether log lines are JSON (``log_format``; ``auto``: outside local and development)."""
        if self.log_format == "auto":
            return self.env not in RELAXED_ENVIRONMENTS
        return self.log_format == "json"

    @model_validator(mode="after")
    def _refuse_missing_secrets(self) -> Settings:
        if self.env not in RELAXED_ENVIRONMENTS:
            token = self.api_token.get_secret_value() if self.api_token else ""
            if len(token) < 16 or token in {"changeme", "changethis", "secret"}:
                raise ValueError(
                    f"TRIPCAST_API_TOKEN must be set to a secret of 16+ characters when TRIPCAST_ENV={self.env.value}"
                )
            audit_key = self.audit_key.get_secret_value()
            if len(audit_key) < 16 or audit_key == DEVELOPMENT_AUDIT_KEY:
                raise ValueError(
                    f"TRIPCAST_AUDIT_KEY must be set to a secret of 16+ characters when TRIPCAST_ENV={self.env.value}"
                )
        return self

    @model_validator(mode="after")
    def _resolve_paths(self) -> Settings:
        """Make every configured location absolute once, at load time.

        Relative values (``TRIPCAST_DATA_DIR=data``, ``sqlite:///data/mlflow.db``) are read against
        ``TRIPCAST_HOME`` when set, else the directory current at load; nothing downstream (Feast, MLflow,
        DuckDB) may re-read them against a directory of its own, which is how ``data/feature_store/repo`` once became
        ``data/feature_store/repo/data/feature_store/repo``.
        """
        self.home = _absolute(self.home or Path(os.curdir), Path.cwd())
        base = self.home
        self.data_dir = _absolute(self.data_dir, base)
        self.catalog_dir = _absolute(self.catalog_dir, base)
        self.slo_spec_file = _absolute(self.slo_spec_file, base)
        if self.raw_dir is not None:
            self.raw_dir = _absolute(self.raw_dir, base)
        if self.feature_store_dir is not None:
            self.feature_store_dir = _absolute(self.feature_store_dir, base)
        if self.mlflow_tracking_uri:
            self.mlflow_tracking_uri = _absolute_sqlite_url(self.mlflow_tracking_uri, base)
        if self.audit_url:
            self.audit_url = _absolute_sqlite_url(self.audit_url, base)
        if self.auth_url:
            self.auth_url = _absolute_sqlite_url(self.auth_url, base)
        if self.mlflow_artifact_location and "://" not in self.mlflow_artifact_location:
            self.mlflow_artifact_location = str(_absolute(Path(self.mlflow_artifact_location), base))
        return self

    @model_validator(mode="after")
    def _refuse_weak_api_key_secret(self) -> Settings:
        if self.env not in RELAXED_ENVIRONMENTS:
            secret = self.api_key_secret.get_secret_value() if self.api_key_secret else ""
            if len(secret) < 16 or secret in {LOCAL_API_KEY_SECRET, "changeme", "changethis", "secret"}:
                raise ValueError(
                    "TRIPCAST_API_KEY_SECRET must be set to a secret of 16+ characters "
                    f"when TRIPCAST_ENV={self.env.value}"
                )
        return self

    @property
    def anonymous_predictions(self) -> bool:
        """Whether ``POST /v1/predictions`` answers without an API key."""
        if self.allow_anonymous_predictions is not None:
            return self.allow_anonymous_predictions
        return self.env in RELAXED_ENVIRONMENTS

    @property
    def auth_database_url(self) -> str:
        if self.auth_url:
            return self.auth_url
        return f"sqlite:///{(self.data_dir / 'auth.db').resolve()}"

    @property
    def api_key_hash_secret(self) -> bytes:
        """The HMAC key of API-key hashes (a fixed, public one in local/development when unset)."""
        if self.api_key_secret is not None and self.api_key_secret.get_secret_value():
            return self.api_key_secret.get_secret_value().encode()
        return LOCAL_API_KEY_SECRET.encode()

    @property
    def raw_path(self) -> Path:
        return self.raw_dir if self.raw_dir is not None else self.data_dir / "raw"

    @property
    def processed_path(self) -> Path:
        return self.data_dir / "processed"

    @property
    def quarantine_path(self) -> Path:
        return self.data_dir / "quarantine"

    @property
    def reports_path(self) -> Path:
        return self.data_dir / "reports"

    @property
    def feature_store_path(self) -> Path:
        return self.feature_store_dir if self.feature_store_dir is not None else self.data_dir / "feature_store"

    @property
    def tracking_uri(self) -> str:
        if self.mlflow_tracking_uri:
            return self.mlflow_tracking_uri
        return f"sqlite:///{self.data_dir / 'mlflow.db'}"

    @property
    def audit_database_url(self) -> str:
        if self.audit_url:
            return self.audit_url
        return f"sqlite:///{self.data_dir / 'audit.db'}"

    @property
    def prediction_log_database_url(self) -> str:
        """The prediction log's URL: ``prediction_log_url`` (a relative SQLite path made absolute), else data_dir."""
        if self.prediction_log_url:
            return _absolute_sqlite_url(self.prediction_log_url, self.home or Path(self.data_dir).parent)
        return f"sqlite:///{self.data_dir / 'predictions.db'}"

    @property
    def experiments_database_url(self) -> str:
        """The experiments' URL: ``experiments_url`` (a relative SQLite path made absolute), else data_dir."""
        if self.experiments_url:
            return _absolute_sqlite_url(self.experiments_url, self.home or Path(self.data_dir).parent)
        return f"sqlite:///{self.data_dir / 'experiments.db'}"

    @property
    def artifact_location(self) -> str:
        if self.mlflow_artifact_location:
            return self.mlflow_artifact_location
        return (self.data_dir / "mlartifacts").as_uri()


def _absolute(path: Path, base: Path) -> Path:
    """``path`` with ``~`` expanded, made absolute against ``base`` (an absolute path stays) and normalised."""
    return (base / path.expanduser()).resolve()


def _absolute_sqlite_url(url: str, base: Path) -> str:
    """A SQLite URL whose file path is relative (``sqlite:///data/x.db``) made absolute; other URLs as given."""
    prefix, _, rest = url.partition(":///")
    if not prefix.startswith("sqlite") or not rest or rest.startswith("/") or rest.startswith(":memory:"):
        return url
    database, separator, query = rest.partition("?")
    return f"{prefix}:///{_absolute(Path(database), base)}{separator}{query}"


def load_settings() -> Settings:
    """Settings from the environment and ``.env``; a bad or missing value is one :class:`InvalidInputError`
    naming its ``TRIPCAST_*`` variable, so every entry point reports it in one line, not a pydantic traceback."""
    from pydantic import ValidationError

    from tripcast.core.domain.errors import FieldProblem, InvalidInputError

    try:
        return Settings()
    except ValidationError as exc:
        problems = [
            FieldProblem(
                "TRIPCAST_" + "_".join(str(part) for part in error["loc"]).upper() if error["loc"] else "settings",
                str(error["msg"]).removeprefix("Value error, "),
            )
            for error in exc.errors()
        ]
        raise InvalidInputError(problems) from None
