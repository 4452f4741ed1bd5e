"""The chart renders with a real Helm for every value set, and every object is valid Kubernetes.

Core objects are validated (strictly: unknown fields fail) against the Kubernetes JSON schemas bundled
by kubernetes-validate, for the oldest version the chart supports, a common one and the newest
bundled. ServiceMonitor and PrometheusRule are Prometheus Operator CRDs, which those schemas do not
cover: they are checked against the structural schemas below (written from the operator's
monitoring.coreos.com/v1 API: the fields this chart uses, duration formats, required keys; unknown
fields fail), and every alert expression must parse as PromQL.
"""
from __future__ import annotations

import copy

import jsonschema
import kubernetes_validate
import pytest
from kubernetes_validate import utils as kv

KUBE_VERSIONS = ("1.27.0", "1.30.0", kv.latest_version())
CRD_KINDS = {"ServiceMonitor", "PrometheusRule"}

DURATION = {"type": "string", "minLength": 1,
            "pattern": r"^(0|([0-9]+y)?([0-9]+w)?([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?([0-9]+ms)?)$"}
STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
METADATA = {"type": "object", "required": ["name"], "properties": {
    "name": {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", "maxLength": 253},
    "labels": STRING_MAP, "annotations": STRING_MAP, "namespace": {"type": "string"}}}
SECRET_KEY = {"type": "object", "required": ["key"], "additionalProperties": False,
              "properties": {"name": {"type": "string"}, "key": {"type": "string"}, "optional": {"type": "boolean"}}}
SERVICE_MONITOR = {
    "type": "object", "required": ["apiVersion", "kind", "metadata", "spec"], "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"}, "kind": {"const": "ServiceMonitor"}, "metadata": METADATA,
        "spec": {"type": "object", "required": ["selector", "endpoints"], "additionalProperties": False, "properties": {
            "jobLabel": {"type": "string"},
            "selector": {"type": "object", "additionalProperties": False, "properties": {
                "matchLabels": STRING_MAP, "matchExpressions": {"type": "array"}}},
            "namespaceSelector": {"type": "object", "additionalProperties": False, "properties": {
                "any": {"type": "boolean"}, "matchNames": {"type": "array", "items": {"type": "string"}}}},
            "endpoints": {"type": "array", "minItems": 1, "items": {
                "type": "object", "additionalProperties": False, "properties": {
                    "port": {"type": "string"}, "path": {"type": "string", "pattern": "^/"},
                    "scheme": {"enum": ["http", "https"]}, "interval": DURATION, "scrapeTimeout": DURATION,
                    "honorLabels": {"type": "boolean"},
                    "authorization": {"type": "object", "additionalProperties": False, "properties": {
                        "type": {"type": "string"}, "credentials": SECRET_KEY}},
                    "relabelings": {"type": "array"}, "metricRelabelings": {"type": "array"}}}}}}}}
PROMETHEUS_RULE = {
    "type": "object", "required": ["apiVersion", "kind", "metadata", "spec"], "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"}, "kind": {"const": "PrometheusRule"}, "metadata": METADATA,
        "spec": {"type": "object", "required": ["groups"], "additionalProperties": False, "properties": {
            "groups": {"type": "array", "items": {
                "type": "object", "required": ["name", "rules"], "additionalProperties": False, "properties": {
                    "name": {"type": "string", "minLength": 1}, "interval": DURATION,
                    "rules": {"type": "array", "minItems": 1, "items": {
                        "type": "object", "required": ["expr"], "additionalProperties": False,
                        "oneOf": [{"required": ["alert"]}, {"required": ["record"]}],
                        "properties": {
                            "alert": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
                            "record": {"type": "string"}, "expr": {"type": "string", "minLength": 1},
                            "for": DURATION, "keep_firing_for": DURATION,
                            "labels": STRING_MAP, "annotations": STRING_MAP}}}}}}}}}}
CRD_SCHEMAS = {"ServiceMonitor": SERVICE_MONITOR, "PrometheusRule": PROMETHEUS_RULE}


def validate_object(obj: dict) -> None:
    """Raise if ``obj`` is not a valid object of its kind (core schemas or the CRD schemas above)."""
    if obj["kind"] in CRD_KINDS:
        jsonschema.validate(obj, CRD_SCHEMAS[obj["kind"]])
        if obj["kind"] == "PrometheusRule":
            import promql_parser

            for group in obj["spec"]["groups"]:
                for rule in group["rules"]:
                    promql_parser.parse(rule["expr"])
        return
    for version in KUBE_VERSIONS:
        kv.validate(for_cluster(obj, version), version, strict=True)


def for_cluster(obj: dict, version: str) -> dict:
    """The object as Helm renders it for a cluster of ``version``: the Service's trafficDistribution
    exists from Kubernetes 1.31 and the chart leaves it out below (Capabilities.KubeVersion); the
    offline render reports a newer cluster, so it is dropped here for the older schemas."""
    if obj["kind"] == "Service" and tuple(int(p) for p in version.split(".")[:2]) < (1, 31):
        obj = copy.deepcopy(obj)
        obj["spec"].pop("trafficDistribution", None)
    return obj


def test_every_object_of_every_value_set_validates(render, value_set):
    name, values = value_set
    objects = render(values)
    assert {"Deployment", "Service"} <= objects.kinds()
    for obj in objects:
        try:
            validate_object(obj)
        except (kubernetes_validate.ValidationError, jsonschema.ValidationError) as exc:
            pytest.fail(f"{name}: {obj['kind']} {obj['metadata']['name']}: {exc.message} at {list(exc.path)}")


BASE_KINDS = {"Deployment", "Service", "ServiceAccount", "HorizontalPodAutoscaler", "PodDisruptionBudget",
              "StatefulSet", "Secret"}
"""The defaults: the server's objects and the chart's Redis (StatefulSet, headless Service, password
Secret); no cache claim (the voices live in Redis)."""
LOCAL = {"Deployment", "Service", "ServiceAccount", "PersistentVolumeClaim"}
EXPECTED_KINDS = {
    "defaults": BASE_KINDS,
    "gpu": BASE_KINDS,
    "gpu-main-fallback-ready-on-fallback": BASE_KINDS,
    "no-fallback": BASE_KINDS,
    "api-only-no-studio": BASE_KINDS,
    "edge-node": BASE_KINDS,
    "ingress": BASE_KINDS | {"Ingress"},
    "monitoring": BASE_KINDS | {"ServiceMonitor", "PrometheusRule"},
    "api-keys": BASE_KINDS | {"Secret", "ServiceMonitor"},
    "bundle-from-model-image": BASE_KINDS,
    "bundle-from-volume": BASE_KINDS,
    "fixed-replicas-no-persistence": {"Deployment", "Service", "ServiceAccount", "StatefulSet", "Secret"},
    "external-redis": BASE_KINDS - {"StatefulSet", "Secret"},
    "local-store-one-replica": LOCAL | {"PodDisruptionBudget"},
    "existing-claim-and-secret": LOCAL - {"PersistentVolumeClaim"} | {"PodDisruptionBudget"},
    "provenance-secret": BASE_KINDS,
    "provenance-off": BASE_KINDS,
}


def test_each_value_set_renders_exactly_its_objects(render, value_set):
    name, values = value_set
    assert render(values).kinds() == EXPECTED_KINDS[name]


def test_helm_lint_finds_nothing_above_info(repo, value_set):
    import helm_python

    name, values = value_set
    report = helm_python.lint(repo / "helm" / "emotivoice-srv", values, strict=True, kube_version="v1.30.0")
    serious = [m for m in report["messages"] if m["severity"] >= 2]
    assert report["errors"] == [] and serious == [], (name, report)


def test_the_validators_reject_what_they_should(default_objects):
    """Controls: a misspelled field, a wrong type and a bad CRD duration all fail validation."""
    deployment = copy.deepcopy(default_objects.only("Deployment"))
    deployment["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {"httpGet": {"path": "/readyz"}}
    with pytest.raises(kubernetes_validate.ValidationError):
        validate_object(deployment)
    service = copy.deepcopy(default_objects.only("Service"))
    service["spec"]["ports"][0]["port"] = "eighty"
    with pytest.raises(kubernetes_validate.ValidationError):
        validate_object(service)
    monitor = {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor", "metadata": {"name": "x"},
               "spec": {"selector": {}, "endpoints": [{"port": "http", "interval": "15 seconds"}]}}
    with pytest.raises(jsonschema.ValidationError):
        validate_object(monitor)
    rule = {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule", "metadata": {"name": "x"},
            "spec": {"groups": [{"name": "g", "rules": [{"alert": "A", "expr": "sum(rate(x[5m])"}]}]}}
    with pytest.raises(ValueError):
        validate_object(rule)
