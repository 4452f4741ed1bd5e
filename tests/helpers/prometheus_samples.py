"""Reading /metrics in tests: every sample keyed by (name, sorted labels)."""
from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


def scrape(client) -> dict[tuple[str, tuple], float]:
    """GET /metrics (must be 200 Prometheus text) -> {(sample name, sorted label pairs): value}."""
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def value(samples, name: str, **labels) -> float:
    """One sample's value; 0 for a series not yet exported."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)
