"""The chart's hot-swap values: off by default (a fleet updates with a rolling update); a single
replica can watch its bundle path and bound a swap's memory."""
from __future__ import annotations

from emotivoice_srv.settings import parse_bytes


def test_by_default_no_watch_and_the_swap_limit_is_the_containers(default_objects):
    env = default_objects.env()
    assert "EMOTIVOICE_WATCH_BUNDLE" not in env and "EMOTIVOICE_SWAP_MEMORY_LIMIT" not in env


def test_a_single_replica_watches_its_bundle_and_bounds_a_swaps_memory(render):
    env = render({"replicaCount": 1, "swap": {"watchBundleSeconds": 5, "memoryLimit": "3Gi"}}).env()
    assert float(env["EMOTIVOICE_WATCH_BUNDLE"]) == 5.0
    assert parse_bytes(env["EMOTIVOICE_SWAP_MEMORY_LIMIT"]) == 3 << 30
