"""The PrometheusRule alerts on metrics the server really exports, with labels it really sets.

Every expression is parsed as PromQL; every emotivoice_* series it selects must be one the server's
Metrics registry defines (same name, same label names), label values must be values the server
writes (routes of the app, tier roles, tier states), and the only foreign metric allowed is
kube-state-metrics' readiness series (readiness flapping is seen by Kubernetes, not by the pod).
"""
from __future__ import annotations

import promql_parser
import pytest

from emotivoice_srv.server.metrics import Metrics
from emotivoice_srv.server.tiers import TierState

KUBE_STATE_METRICS = {"kube_pod_status_ready": {"namespace", "pod", "condition", "uid"}}
TIER_ROLES = {"main", "fallback"}
ALERTS = {"EmotivoiceLatencyP95High", "EmotivoiceTimeToFirstAudioP95High", "EmotivoiceServingFromFallback",
          "EmotivoiceMainTierFailed", "EmotivoiceReadinessFlapping", "EmotivoiceOverloaded", "EmotivoiceVoiceStoreErrors"}
TARGET_LABELS = {"job", "namespace", "pod", "service", "instance", "endpoint", "container"}
"""Labels Prometheus adds to every series it scrapes through a ServiceMonitor."""


def exported_series() -> dict[str, set[str]]:
    """Series name -> label names, as the server's Metrics registry exposes them (counters with
    _total, histograms with _bucket/_sum/_count). Labelled metrics get one child each, so that
    every series appears."""
    from prometheus_client.metrics import MetricWrapperBase

    metrics = Metrics()
    for metric in vars(metrics).values():
        if isinstance(metric, MetricWrapperBase) and metric._labelnames:
            metric.labels(*["x"] * len(metric._labelnames))
    series: dict[str, set[str]] = {}
    for family in metrics.registry.collect():
        for sample in family.samples:
            series.setdefault(sample.name, set()).update(sample.labels)
    return series


def selectors(expr: str) -> list[promql_parser.VectorSelector]:
    found = []
    promql_parser.walk(promql_parser.parse(expr),
                       lambda node: found.append(node) if isinstance(node, promql_parser.VectorSelector) else None)
    return found


@pytest.fixture(scope="module")
def rules(render) -> list[dict]:
    objects = render({"metrics": {"prometheusRule": {"enabled": True}, "serviceMonitor": {"enabled": True}}})
    return [rule for group in objects.only("PrometheusRule")["spec"]["groups"] for rule in group["rules"]]


@pytest.fixture(scope="module")
def app_routes(bundle_dir) -> set[str]:
    from emotivoice_srv import Engine, EngineConfig
    from emotivoice_srv.server.app import create_app
    from emotivoice_srv.server.config import ServerConfig

    engine = Engine.load(EngineConfig(bundle_dir=bundle_dir, device="cpu", threads=1))
    app = create_app(engine, ServerConfig(workers=1))
    app.state.ctx.pool.shutdown(wait=False)
    return {route.path for route in app.routes}


def test_the_rule_has_the_promised_alerts(rules):
    """p95 latency, fallback serving too long, readiness flapping, 429 rate (and main failed, TTFA)."""
    assert {rule["alert"] for rule in rules} == ALERTS


def unknown_references(expr: str, exported: dict[str, set[str]]) -> list[str]:
    """What an expression selects that the server (or kube-state-metrics) does not export."""
    problems = []
    for selector in selectors(expr):
        labels = {m.name for m in selector.matchers.matchers}
        if selector.name in KUBE_STATE_METRICS:
            problems += [f"{selector.name}{{{label}}}" for label in labels - KUBE_STATE_METRICS[selector.name]]
        elif selector.name not in exported:
            problems.append(selector.name)
        else:
            problems += [f"{selector.name}{{{label}}}" for label in labels - exported[selector.name] - TARGET_LABELS]
    return problems


def test_every_alert_selects_only_metrics_and_labels_the_server_exports(rules):
    exported = exported_series()
    for rule in rules:
        assert unknown_references(rule["expr"], exported) == [], rule["alert"]


def test_the_metric_check_catches_a_renamed_metric_or_label():
    """A control: names that drifted from metrics.py are reported."""
    exported = exported_series()
    assert unknown_references('rate(emotivoice_request_total{route="/v1/tts"}[5m])', exported) == [
        "emotivoice_request_total"]
    assert unknown_references('emotivoice_model_tier_state{role="main"}', exported) == [
        "emotivoice_model_tier_state{role}"]


def test_label_values_are_values_the_server_writes(rules, app_routes):
    states = {state.value for state in TierState}
    for rule in rules:
        for selector in selectors(rule["expr"]):
            for matcher in selector.matchers.matchers:
                value, regex = matcher.value, matcher.op in (promql_parser.MatchOp.Re, promql_parser.MatchOp.NotRe)
                wanted = value.split("|") if regex and "|" in value else [value]
                if matcher.name == "tier":
                    assert set(wanted) <= TIER_ROLES, (rule["alert"], value)
                elif matcher.name == "state":
                    assert set(wanted) <= states, (rule["alert"], value)
                elif matcher.name == "route" and not value.endswith(".+"):
                    assert set(wanted) <= app_routes, (rule["alert"], value)
                elif matcher.name == "route":
                    assert any(r.startswith(value[:-2]) for r in app_routes), (rule["alert"], value)


def test_alerts_target_the_release_that_the_service_monitor_scrapes(render):
    objects = render({"metrics": {"prometheusRule": {"enabled": True}, "serviceMonitor": {"enabled": True}}})
    service = objects.only("Service")["metadata"]["name"]
    namespace_ok = 0
    for group in objects.only("PrometheusRule")["spec"]["groups"]:
        for rule in group["rules"]:
            for selector in selectors(rule["expr"]):
                matchers = {m.name: m.value for m in selector.matchers.matchers}
                if selector.name.startswith("emotivoice_"):
                    assert matchers["job"] == service  # the ServiceMonitor's job label is the Service name
                namespace_ok += matchers.get("namespace") == "speech"
    assert namespace_ok > 0


def test_alert_annotations_keep_prometheus_templates_for_prometheus(rules):
    """Helm must not eat {{ $labels.pod }}: Prometheus fills it in when the alert fires."""
    fallback = next(rule for rule in rules if rule["alert"] == "EmotivoiceServingFromFallback")
    assert "{{ $labels.pod }}" in fallback["annotations"]["description"]


def test_thresholds_and_windows_come_from_values(render):
    alerts = {"latencyP95": {"thresholdSeconds": 4, "for": "3m"}, "fallbackServing": {"for": "20m"},
              "overload429": {"ratio": 0.2}, "readinessFlapping": {"enabled": False}}
    objects = render({"metrics": {"prometheusRule": {"enabled": True, "alerts": alerts}}})
    rules = {r["alert"]: r for g in objects.only("PrometheusRule")["spec"]["groups"] for r in g["rules"]}
    assert "EmotivoiceReadinessFlapping" not in rules
    assert rules["EmotivoiceLatencyP95High"]["expr"].rstrip().endswith("> 4")
    assert rules["EmotivoiceLatencyP95High"]["for"] == "3m"
    assert rules["EmotivoiceServingFromFallback"]["for"] == "20m"
    assert rules["EmotivoiceOverloaded"]["expr"].rstrip().endswith("> 0.2")
