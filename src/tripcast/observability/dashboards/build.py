"""The dashboards of the guide's metric split: technical (serving), model, data and SLOs, plus experiments.

Built with Grafana's Foundation SDK, the supported dashboards-as-code route: typed builders, JSON out.
Every query reads a metric Tripcast exports or a series its generated rules record (a test checks both,
and that each query parses as PromQL).
"""

from __future__ import annotations

import json
from collections.abc import Callable

from grafana_foundation_sdk.builders import prometheus, stat, timeseries
from grafana_foundation_sdk.builders.dashboard import Dashboard, DatasourceVariable, Row
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DataSourceRef

DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")
RATE = "$__rate_interval"


def _query(expr: str, legend: str = "") -> prometheus.Dataquery:
    query = prometheus.Dataquery().expr(expr).datasource(DATASOURCE)
    return query.legend_format(legend) if legend else query


def _series(title: str, unit: str, *queries: prometheus.Dataquery, span: int = 12) -> timeseries.Panel:
    panel = timeseries.Panel().title(title).unit(unit).datasource(DATASOURCE).height(8).span(span)
    for ref_id, query in zip("ABCDEFGH", queries, strict=False):
        panel = panel.with_target(query.ref_id(ref_id))
    return panel


def _stat(title: str, unit: str, query: prometheus.Dataquery, span: int = 6) -> stat.Panel:
    return (
        stat.Panel().title(title).unit(unit).datasource(DATASOURCE).height(5).span(span).with_target(query.ref_id("A"))
    )


def _dashboard(uid: str, title: str, tags: list[str]) -> Dashboard:
    return (
        Dashboard(title)
        .uid(uid)
        .tags(["tripcast", *tags])
        .refresh("30s")
        .time("now-6h", "now")
        .timezone("utc")
        .with_variable(DatasourceVariable("datasource").label("Prometheus").type("prometheus"))
    )


def _quantile(q: float) -> prometheus.Dataquery:
    buckets = f'tripcast_http_request_duration_seconds_bucket{{route=~"/v1/predict.*"}}[{RATE}]'
    return _query(f"histogram_quantile({q}, sum by (le) (rate({buckets})))", f"p{round(q * 100)}")


def serving_dashboard() -> Dashboard:
    """Technical metrics: traffic, errors, latency, saturation and load shedding."""
    return (
        _dashboard("tripcast-serving", "Tripcast / Serving", ["technical"])
        .with_row(Row("Traffic and errors"))
        .with_panel(_series("Requests by status", "reqps",
                            _query(f"sum by (status) (rate(tripcast_http_requests_total[{RATE}]))", "{{status}}")))
        .with_panel(_series("Shed requests by reason", "reqps",
                            _query(f"sum by (reason) (rate(tripcast_http_requests_rejected_total[{RATE}]))",
                                   "{{reason}}")))
        .with_row(Row("Latency and saturation"))
        .with_panel(_series("Prediction latency", "s", _quantile(0.5), _quantile(0.95), _quantile(0.99)))
        .with_panel(_series("In flight", "short", _query("sum(tripcast_http_requests_in_flight)", "in flight")))
        .with_row(Row("Model and cache"))
        .with_panel(_series("Predictions by model version", "ops",
                            _query(f"sum by (version) (rate(tripcast_predictions_total[{RATE}]))", "v{{version}}")))
        .with_panel(_stat("Cache hit ratio", "percentunit", _query(
            f"sum(rate(tripcast_prediction_cache_hits_total[{RATE}])) / (sum(rate(tripcast_prediction_cache_hits_total"
            f"[{RATE}])) + sum(rate(tripcast_prediction_cache_misses_total[{RATE}])))")))
        .with_panel(_stat("Model reload failures (1h)", "short",
                          _query('sum(increase(tripcast_model_reloads_total{outcome="failure"}[1h]))')))
    )  # fmt: skip


def model_dashboard() -> Dashboard:
    """Model performance: live error from ground truth, concept drift, data and prediction drift."""
    return (
        _dashboard("tripcast-model", "Tripcast / Model", ["model"])
        .with_row(Row("Live error (ground truth)"))
        .with_panel(_series("Live RMSE by version", "m",
                            _query('max by (version) (tripcast_live_rmse{segment="all"})', "v{{version}}")))
        .with_panel(_series("Live RMSE by segment", "m",
                            _query('max by (segment) (tripcast_live_rmse{segment!="all"})', "{{segment}}")))
        .with_panel(_series("Concept drift", "short", _query("max by (version) (tripcast_concept_drift)",
                                                             "v{{version}}")))
        .with_panel(_series("Live RMSE / validation RMSE", "short",
                            _query("max by (model) (tripcast_model_rmse_ratio)", "{{model}}")))
        .with_row(Row("Data and prediction drift"))
        .with_panel(_series("Drift score per feature", "short",
                            _query("max by (feature) (tripcast_drift_feature_score)", "{{feature}}")))
        .with_panel(_series("Share of features drifted", "percentunit",
                            _query("max by (model) (tripcast_drift_dataset_share)", "{{model}}")))
        .with_panel(_series("Prediction drift score", "short",
                            _query("max by (model) (tripcast_drift_prediction_score)", "{{model}}")))
    )  # fmt: skip


def data_dashboard() -> Dashboard:
    """Data metrics: pipeline rows in/valid/quarantined, quarantine reasons, quality checks, feature freshness."""
    return (
        _dashboard("tripcast-data", "Tripcast / Data", ["data"])
        .with_panel(_series("Pipeline rows by outcome", "short",
                            _query("sum by (month, outcome) (tripcast_data_rows)", "{{month}} {{outcome}}")))
        .with_panel(_series("Quarantined rows by reason", "short",
                            _query("sum by (reason) (tripcast_data_quarantined_rows)", "{{reason}}")))
        .with_panel(_series("Failing quality checks", "short",
                            _query("count by (month) (tripcast_data_check_status == 2)", "{{month}}")))
        .with_panel(_series("Feature store staleness", "s",
                            _query("max(tripcast_feature_store_staleness_seconds)", "staleness")))
    )  # fmt: skip


def slo_dashboard() -> Dashboard:
    """Error budgets and burn rates of the objectives in observability/sli_slo/slos.yaml."""
    return (
        _dashboard("tripcast-slo", "Tripcast / SLOs", ["slo"])
        .with_panel(_series("Error budget remaining (period)", "percentunit",
                            _query("max by (sloth_slo) (slo:period_error_budget_remaining:ratio)", "{{sloth_slo}}")))
        .with_panel(_series("Burn rate (5m)", "short",
                            _query("max by (sloth_slo) (slo:current_burn_rate:ratio)", "{{sloth_slo}}")))
        .with_panel(_series("SLO alerts firing", "short",
                            _query('count by (sloth_slo, sloth_severity) (ALERTS{alertstate="firing", sloth_slo!=""})',
                                   "{{sloth_slo}} {{sloth_severity}}")))
    )  # fmt: skip


def _exposure_rate(by: str) -> str:
    return f"sum by ({by}) (rate(tripcast_experiment_exposures_total[{RATE}]))"


#: The model call's p99 per version, put on each arm that version answers (the HTTP latency histogram has no arm
#: label: the middleware times a request before the use case picks its arm).
ARM_P99 = (
    "max by (experiment, arm, model_version) (tripcast_experiment_arm_info == 1) * on (model_version) group_left "
    f"histogram_quantile(0.99, sum by (le, model_version) (rate(tripcast_prediction_duration_seconds_bucket[{RATE}])))"
)


def experiments_dashboard() -> Dashboard:
    """Experiments (issue #14): exposures and the split per arm against its target, fallbacks, arms loaded,
    and each arm's model latency."""
    return (
        _dashboard("tripcast-experiments", "Tripcast / Experiments", ["experiments"])
        .with_row(Row("Traffic split"))
        .with_panel(_series("Exposures per arm", "ops",
                            _query(_exposure_rate("experiment, arm"), "{{experiment}} {{arm}}")))
        .with_panel(_series("Split share per arm vs target", "percentunit",
                            _query(f"{_exposure_rate('experiment, arm')} / ignoring (arm) group_left "
                                   f"{_exposure_rate('experiment')}", "{{experiment}} {{arm}} observed"),
                            _query("max by (experiment, arm) (tripcast_experiment_arm_target_share)",
                                   "{{experiment}} {{arm}} target")))
        .with_row(Row("Readiness and fallbacks"))
        .with_panel(_series("Fallbacks (served model answered, nothing exposed)", "reqps",
                            _query(f"sum by (experiment, reason) (rate(tripcast_experiment_fallbacks_total[{RATE}]))",
                                   "{{experiment}} {{reason}}")))
        .with_panel(_series("Arms loaded (least-ready worker)", "short",
                            _query("min by (experiment) (tripcast_experiment_arms_loaded)", "{{experiment}}")))
        .with_row(Row("Latency"))
        .with_panel(_series("Model p99 latency per arm", "s",
                            _query(ARM_P99, "{{experiment}} {{arm}} (v{{model_version}})"), span=24))
    )  # fmt: skip


#: File stem -> builder, in the order Grafana lists them.
DASHBOARDS: dict[str, Callable[[], Dashboard]] = {
    "serving": serving_dashboard,
    "model": model_dashboard,
    "data": data_dashboard,
    "slo": slo_dashboard,
    "experiments": experiments_dashboard,
}


def render_dashboards() -> dict[str, str]:
    """Every dashboard as Grafana JSON (``<stem>.json`` -> text)."""
    return {
        f"{stem}.json": json.dumps(build().build(), cls=JSONEncoder, indent=2, sort_keys=True) + "\n"
        for stem, build in DASHBOARDS.items()
    }


def panel_queries(dashboard_json: str) -> list[str]:
    """Every PromQL expression in a dashboard's JSON."""
    return [target["expr"] for panel in json.loads(dashboard_json)["panels"] for target in panel.get("targets", [])]
