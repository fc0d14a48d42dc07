"""The guide's four learning levels as layers: one declared map from code and folders to a level.

The MLOps structure guide teaches a project in four levels; each adds folders to the one below:

- **beginner**: the hexagonal core, tests, data, deployment, educational resources (train, register,
  predict from the CLI, batch scoring);
- **intermediate**: + frontend, infrastructure, environments, MLOps feature store and drift, API contracts
  (the HTTP API, the dashboard);
- **advanced**: + data engineering, observability, performance, security, integrations;
- **expert**: everything, including lifecycle automation, experiments and backup.

A module's level is the level of the longest prefix in :data:`PACKAGE_LEVELS` that names it or one of its
parents, so a new submodule inherits its package's tag; a more specific entry overrides its parent (the
beginner ``tripcast.mlops.training`` inside the intermediate ``tripcast.mlops``). The import-linter contract
``tests/architecture/levels_contract.py`` reads this map and fails when a lower level imports a higher one
or when a module has no tag.

The composition root (:data:`ASSEMBLERS`) is the one exception: it names every level's wiring, and may import
a higher level only inside a function (lazily), so that a project cut at a lower level (the generator,
a later issue) keeps running once the cut levels' wiring modules and the properties that name them are gone.

This module is plain data and the standard library, so the generator can read it without Tripcast's
dependencies installed.
"""

from __future__ import annotations

from enum import IntEnum


class Level(IntEnum):
    """A learning level; a higher value includes everything below it."""

    BEGINNER = 1
    INTERMEDIATE = 2
    ADVANCED = 3
    EXPERT = 4


#: The root package: its ``__init__`` is at every level, but it tags none of its subpackages, so a new
#: subpackage without its own entry in PACKAGE_LEVELS breaks the levels contract.
ROOT_PACKAGE = "tripcast"

#: Every tripcast package or module prefix -> its level (longest matching prefix wins).
PACKAGE_LEVELS: dict[str, Level] = {
    # The core hexagon, settings and the composition root run at every level.
    "tripcast.core": Level.BEGINNER,
    "tripcast.settings": Level.BEGINNER,
    "tripcast.levels": Level.BEGINNER,
    "tripcast.durable_files": Level.BEGINNER,
    "tripcast.sql_schema": Level.BEGINNER,
    "tripcast.background_batches": Level.BEGINNER,
    "tripcast.bootstrap": Level.BEGINNER,
    # The root's wiring modules take their area's level, so a cut project keeps only the wiring it runs.
    "tripcast.bootstrap.access": Level.INTERMEDIATE,  # API keys: the HTTP API's
    "tripcast.bootstrap.monitoring": Level.INTERMEDIATE,  # drift and the feature store (alerting: marked advanced)
    "tripcast.bootstrap.feedback": Level.EXPERT,  # ground-truth feedback (lifecycle automation)
    # The project generator (issue 17) ships at every level: a generated project upgrades itself.
    "tripcast.generator": Level.BEGINNER,
    # Driving adapters: the CLI is the beginner's entry point; HTTP API and dashboard come with
    # "api contracts" and "frontend" at the intermediate level.
    "tripcast.cli": Level.BEGINNER,
    "tripcast.cli.monitoring": Level.INTERMEDIATE,
    "tripcast.cli.drift": Level.INTERMEDIATE,
    "tripcast.cli.features": Level.INTERMEDIATE,
    "tripcast.cli.alerts": Level.ADVANCED,
    "tripcast.cli.pipeline_tasks": Level.ADVANCED,
    "tripcast.cli.serving": Level.INTERMEDIATE,
    "tripcast.cli.tokens": Level.INTERMEDIATE,
    "tripcast.cli.pipeline": Level.ADVANCED,
    "tripcast.cli.optimize": Level.ADVANCED,
    "tripcast.api": Level.INTERMEDIATE,
    "tripcast.dashboard": Level.INTERMEDIATE,
    # "data": reading, validating and storing TLC files and the trip features a first model trains on.
    "tripcast.data_engineering": Level.ADVANCED,
    "tripcast.data_engineering.tlc": Level.BEGINNER,
    "tripcast.data_engineering.features": Level.BEGINNER,
    "tripcast.data_engineering.features.store_features": Level.INTERMEDIATE,
    # The one retry policy: the TLC download (beginner) uses it as much as REST ingestion and HTTP export.
    "tripcast.data_engineering.ingestion.retry": Level.BEGINNER,
    # `tripcast ingest` of TLC month files (the demo's first step) lands them through these two.
    "tripcast.data_engineering.ingestion.landing": Level.BEGINNER,
    "tripcast.data_engineering.ingestion.month_files": Level.BEGINNER,
    # The zone aggregates the feature store materialises are computed by the pipeline's transform.
    "tripcast.data_engineering.transformation": Level.INTERMEDIATE,
    # MLOps: training, tracking, registry and serving are the ML basics a beginner project runs; the guide's
    # intermediate "mlops/" adds the feature store and drift detection.
    "tripcast.mlops": Level.INTERMEDIATE,
    "tripcast.mlops.training": Level.BEGINNER,
    "tripcast.mlops.tracking": Level.BEGINNER,
    "tripcast.mlops.model_registry": Level.BEGINNER,
    "tripcast.mlops.serving": Level.BEGINNER,
    "tripcast.mlops.feature_store": Level.INTERMEDIATE,
    "tripcast.mlops.drift_detection": Level.INTERMEDIATE,
    "tripcast.observability": Level.ADVANCED,
    # Structured logs run at every level: the beginner's CLI logs through them too.
    "tripcast.observability.logs": Level.BEGINNER,
    # SLOs (issue 15): objectives, their report and wiring sit with observability.
    "tripcast.core.ports.slo": Level.ADVANCED,
    "tripcast.core.ports.alerting": Level.ADVANCED,
    # Batch job outcomes pushed to a Pushgateway (pipeline runs, retraining): observability, advanced.
    "tripcast.core.ports.job_metrics": Level.ADVANCED,
    "tripcast.core.services.batch_jobs": Level.ADVANCED,
    "tripcast.core.services.alerting": Level.ADVANCED,
    "tripcast.core.services.slo": Level.ADVANCED,
    "tripcast.bootstrap.observability": Level.ADVANCED,
    "tripcast.cli.slo": Level.ADVANCED,
    # Security (compliance) is advanced, except what lower levels cannot run without: the audit trail every
    # use case writes and the locks around registry writes (beginner), and the API's keys and roles (with the API).
    "tripcast.security": Level.ADVANCED,
    "tripcast.security.audit_log": Level.BEGINNER,
    "tripcast.security.locks": Level.BEGINNER,
    "tripcast.security.urls": Level.BEGINNER,
    "tripcast.security.api_keys": Level.INTERMEDIATE,
    "tripcast.security.roles": Level.INTERMEDIATE,
    # Ground-truth feedback (issue #13, lifecycle automation): the guide's expert level.
    "tripcast.mlops.feedback": Level.EXPERT,
    "tripcast.cli.feedback": Level.EXPERT,
    # Outbound HTTP guard of integrations (REST ingestion, HTTP export).
    "tripcast.egress": Level.ADVANCED,
    # Model cards (issue 13, lifecycle automation: expert).
    "tripcast.core.domain.model_card": Level.EXPERT,
    "tripcast.core.ports.model_card": Level.EXPERT,
    "tripcast.core.services.model_card": Level.EXPERT,
    "tripcast.bootstrap.cards": Level.EXPERT,
    "tripcast.mlops.model_cards": Level.EXPERT,
    "tripcast.data_engineering.features.card_facts": Level.EXPERT,
    "tripcast.cli.cards": Level.EXPERT,
    # Lifecycle automation (issue 13): the approval workflow's adapters, wiring and commands.
    "tripcast.mlops.governance": Level.EXPERT,
    "tripcast.mlops.policy_files": Level.EXPERT,
    "tripcast.bootstrap.approvals": Level.EXPERT,
    "tripcast.cli.approvals": Level.EXPERT,
    # Model lifecycle (issue 13, ledger): the promotion ledger and one-command rollback.
    "tripcast.mlops.model_registry.ledger": Level.EXPERT,
    "tripcast.core.services.rollback": Level.EXPERT,
    "tripcast.cli.ledger": Level.EXPERT,
    # Automated retraining (issue 13 item 5): triggers, run state, guardrail; wiring, commands, Airflow tasks.
    "tripcast.core.domain.retraining": Level.EXPERT,
    "tripcast.core.ports.retraining": Level.EXPERT,
    "tripcast.core.services.retraining": Level.EXPERT,
    "tripcast.mlops.retraining": Level.EXPERT,
    "tripcast.observability.alerting.retraining": Level.EXPERT,
    "tripcast.bootstrap.retraining": Level.EXPERT,
    "tripcast.cli.retrain": Level.EXPERT,
    "tripcast.cli.retrain_tasks": Level.EXPERT,
    # The read-only history route is plain FastAPI over a core port: it sits with the API (intermediate) and
    # is registered only when the root hands the API a ledger reader (wired at expert, lazily).
    "tripcast.api.routes.history": Level.INTERMEDIATE,
    # The rollback route likewise: plain FastAPI over a callable the root hands in (the expert use case).
    "tripcast.api.routes.rollback": Level.INTERMEDIATE,
    # Experiments (issue 14: A/B, shadow, canary and their statistics): the guide's expert mlops/ab_testing.
    "tripcast.core.domain.experiment": Level.EXPERT,
    "tripcast.core.ports.experiment_analysis": Level.EXPERT,
    "tripcast.mlops.ab_testing": Level.EXPERT,
    "tripcast.core.ports.experiments": Level.EXPERT,
    "tripcast.core.services.experiments": Level.EXPERT,
    "tripcast.bootstrap.experiments": Level.EXPERT,
    "tripcast.cli.experiments": Level.EXPERT,
    # The experiment replay (issue #14 item 4): generic use case, the taxi month adapter, wiring and command.
    "tripcast.core.ports.replay": Level.EXPERT,
    "tripcast.core.services.experiment_replay": Level.EXPERT,
    "tripcast.data_engineering.features.replay_trips": Level.EXPERT,
    "tripcast.bootstrap.experiment_replay": Level.EXPERT,
    "tripcast.cli.experiment_replay": Level.EXPERT,
    # The lifecycle link (issue #14 item 5): retraining opens experiments, approvals ask for a shipped one.
    "tripcast.core.services.experiment_lifecycle": Level.EXPERT,
    # Plain FastAPI over a facade of plain data, like the history route; registered only when the root hands
    # the API an experiments facade (wired at expert, lazily).
    "tripcast.api.routes.experiments": Level.INTERMEDIATE,
    # The web console's read-only JSON and its static build (issue 16): "frontend" is intermediate.
    "tripcast.api.routes.console": Level.INTERMEDIATE,
    "tripcast.api.routes.ui": Level.INTERMEDIATE,
}

#: Every folder at the repository root -> its level (hidden tool caches and generated output excluded).
FOLDER_LEVELS: dict[str, Level] = {
    "src": Level.BEGINNER,
    "tests": Level.BEGINNER,
    "data": Level.BEGINNER,
    "deployment": Level.BEGINNER,
    "DOCS": Level.BEGINNER,  # the guide's educational resources
    "environments": Level.INTERMEDIATE,
    ".ci": Level.BEGINNER,  # the CI job definition: every generated project runs its own `.ci/run`
    "frontend": Level.INTERMEDIATE,  # the web console (React): the guide's "React basics"
    "data_engineering": Level.ADVANCED,
    "observability": Level.ADVANCED,
    "performance": Level.ADVANCED,
    # Deeper artifacts of a higher level than their folder (longest path prefix wins, as for packages).
    "DOCS/frontend.md": Level.INTERMEDIATE,
    "DOCS/img/frontend": Level.INTERMEDIATE,
    "DOCS/observability.md": Level.ADVANCED,
    "DOCS/observability-alerting.md": Level.ADVANCED,
    "DOCS/observability-dashboards.md": Level.ADVANCED,
    "DOCS/observability-logs.md": Level.ADVANCED,
    "DOCS/observability-slo.md": Level.ADVANCED,
    "DOCS/experiments.md": Level.EXPERT,
    "DOCS/experiments-statistics.md": Level.EXPERT,
    "DOCS/lifecycle.md": Level.EXPERT,
    "DOCS/lifecycle-approvals.md": Level.EXPERT,
    "DOCS/lifecycle-feedback.md": Level.EXPERT,
    "DOCS/lifecycle-ledger.md": Level.EXPERT,
    "DOCS/lifecycle-model-cards.md": Level.EXPERT,
    "DOCS/lifecycle-retraining.md": Level.EXPERT,
    "deployment/proxy": Level.INTERMEDIATE,  # HAProxy in front of the HTTP API's workers
    "environments/local/experiments": Level.EXPERT,
    "environments/local/approval_policy.yaml": Level.EXPERT,
    "environments/local/retraining_policy.yaml": Level.EXPERT,
    "environments/development/approval_policy.yaml": Level.EXPERT,
    "environments/development/retraining_policy.yaml": Level.EXPERT,
    "environments/staging/approval_policy.yaml": Level.EXPERT,
    "environments/staging/retraining_policy.yaml": Level.EXPERT,
    "environments/production/approval_policy.yaml": Level.EXPERT,
    "environments/production/retraining_policy.yaml": Level.EXPERT,
    "performance/experiments": Level.EXPERT,
    "performance/retraining": Level.EXPERT,
    "performance/benchmarks/feedback": Level.EXPERT,
    "performance/benchmarks/ledger": Level.EXPERT,
}

#: Test paths (prefixes under tests/) -> the lowest level that runs them, for tests that drive a higher level
#: by subprocess, CLI runner or HTTP without importing its modules. A test's level is the highest of this,
#: the levels of what it imports and of its conftest files (``tripcast.generator.test_levels``).
TEST_LEVELS: dict[str, Level] = {
    "tests/generator": Level.EXPERT,  # cuts every level from the full source tree (make test-generator)
    "tests/architecture/test_cut_levels.py": Level.EXPERT,  # cuts the full source at every level
    "tests/e2e/readme": Level.EXPERT,  # runs every command of the full README
    "tests/e2e/lifecycle": Level.EXPERT,
    "tests/e2e/frontend": Level.INTERMEDIATE,
    "tests/e2e/serving": Level.INTERMEDIATE,
    "tests/e2e/serving/test_experiment_replay_e2e.py": Level.EXPERT,
    "tests/e2e/serving/test_experiments_http_e2e.py": Level.EXPERT,
    # The console's pages call the ledger and experiment routes, which the API has at expert.
    "tests/e2e/frontend/test_console_browser.py": Level.EXPERT,
    "tests/integration/ml/test_approvals_cli.py": Level.EXPERT,
    "tests/integration/frontend": Level.INTERMEDIATE,
    # The committed TypeScript types are the full API's: approvals, ledger and experiment routes included.
    "tests/integration/frontend/test_api_types_drift.py": Level.EXPERT,
    "tests/integration/monitoring": Level.ADVANCED,  # Prometheus, Alertmanager, Pushgateway, promtool
    "tests/integration/experiments": Level.EXPERT,
    "tests/integration/retraining": Level.EXPERT,
    "tests/integration/feedback": Level.EXPERT,
    "tests/load": Level.INTERMEDIATE,  # the HTTP server under load
    "tests/unit/generator": Level.EXPERT,  # the generator's own tests read the full source tree
    "tests/support/serve_process.py": Level.INTERMEDIATE,  # runs `tripcast serve`
    "tests/support/uvicorn_thread.py": Level.INTERMEDIATE,  # uvicorn: the HTTP API's server
    "tests/support/pipeline_runs.py": Level.ADVANCED,
    "tests/faults/test_faults_http_body.py": Level.INTERMEDIATE,
    "tests/faults/test_faults_serving.py": Level.ADVANCED,  # the server, and models compiled with tl2cgen
    "tests/faults/test_faults_pipeline.py": Level.ADVANCED,
    "tests/faults/test_faults_retraining.py": Level.EXPERT,
    "tests/integration/serving/test_serving_cli.py": Level.INTERMEDIATE,  # serve, stream (optimize: marked)
    "tests/integration/serving/test_serving_proxy.py": Level.INTERMEDIATE,  # HAProxy before the API's workers
    "tests/integration/serving/test_serving_tracing.py": Level.ADVANCED,  # OpenTelemetry's SDK, OTLP
    "tests/integration/serving/test_serving_compile_hook_real.py": Level.ADVANCED,  # tl2cgen (the optimize extra)
    "tests/integration/serving/test_serving_optimization_real.py": Level.ADVANCED,
    "tests/unit/serving/test_serving_compiled.py": Level.ADVANCED,
    "tests/unit/monitoring/test_monitoring_cli_imports.py": Level.INTERMEDIATE,  # drift and features commands
    "tests/unit/monitoring/test_drift_evidently_agreement.py": Level.ADVANCED,  # Evidently: the monitoring extra
}

#: Paths only this source tree holds, never a project cut from it (with ``# level: source`` markers in text
#: files): the generator's own harness, which cuts a project at every level from the full source tree.
SOURCE_ONLY_PATHS: tuple[str, ...] = ("tests/generator/",)

#: Modules that wire every level together: they may import a higher level, but only inside a function.
ASSEMBLERS: tuple[str, ...] = ("tripcast.bootstrap", "tripcast.cli.app")


def _covers(prefix: str, module: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def level_of(module: str) -> Level | None:
    """The level of ``module`` (a dotted name): its longest tagged prefix's, or None when untagged."""
    if module == ROOT_PACKAGE:
        return Level.BEGINNER
    matches = [prefix for prefix in PACKAGE_LEVELS if _covers(prefix, module)]
    if not matches:
        return None
    return PACKAGE_LEVELS[max(matches, key=len)]


def is_assembler(module: str) -> bool:
    """Whether ``module`` belongs to the composition root (allowed to import higher levels lazily)."""
    return any(_covers(prefix, module) for prefix in ASSEMBLERS)


def packages_at(level: Level) -> list[str]:
    """The tagged package prefixes a project cut at ``level`` keeps (its own and every lower level's).

    A kept prefix keeps its parent packages' ``__init__`` modules too (``tripcast.mlops.training`` at
    beginner needs ``tripcast.mlops/__init__.py``), not their other submodules.
    """
    return sorted(prefix for prefix, tagged in PACKAGE_LEVELS.items() if tagged <= level)


def folders_at(level: Level) -> list[str]:
    """The root folders a project cut at ``level`` keeps (its own and every lower level's)."""
    return sorted(folder for folder, tagged in FOLDER_LEVELS.items() if tagged <= level and "/" not in folder)


def path_level(relative: str) -> Level | None:
    """The level of a repository path (POSIX, relative): its longest matching :data:`FOLDER_LEVELS` prefix's
    (whole path components), or None when no key names it or a parent."""
    parts = relative.split("/")
    matches = [key for key in FOLDER_LEVELS if key.split("/") == parts[: key.count("/") + 1]]
    return FOLDER_LEVELS[max(matches, key=len)] if matches else None
