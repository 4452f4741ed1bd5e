"""The chart's routing values: the fast tier's pool sized from values (not the node's cores), the
overload policy, and an edge node's upstream with its key from a Secret."""
from __future__ import annotations


def test_by_default_the_fast_tier_has_one_worker_overload_rejects_and_there_is_no_upstream(default_objects):
    env = default_objects.env()
    assert env["EMOTIVOICE_FAST_WORKERS"] == "1" and env["EMOTIVOICE_OVERLOAD_POLICY"] == "reject"
    assert not any(name.startswith("EMOTIVOICE_UPSTREAM") for name in env)


def test_an_edge_node_forwards_to_its_upstream_with_the_key_from_a_secret(render):
    objects = render({"server": {"routing": {"overloadPolicy": "degrade", "upstream": {
        "url": "http://tts-gpu.speech.svc:8000", "existingSecret": "gpu-pool-key", "longChars": 300}}}})
    env = objects.env()
    assert env["EMOTIVOICE_OVERLOAD_POLICY"] == "degrade"
    assert env["EMOTIVOICE_UPSTREAM"] == "http://tts-gpu.speech.svc:8000"
    assert env["EMOTIVOICE_UPSTREAM_LONG_CHARS"] == "300"
    assert env["EMOTIVOICE_UPSTREAM_ROUTES"] == "enroll,long,busy,voice"
    (key,) = [e for e in objects.server()["env"] if e["name"] == "EMOTIVOICE_UPSTREAM_API_KEY"]
    assert key["valueFrom"]["secretKeyRef"] == {"name": "gpu-pool-key", "key": "upstream-api-key"}


def test_the_fast_workers_fit_in_the_cpu_request_beside_main(default_objects, chart_values):
    env = default_objects.env()
    cpu = float(chart_values["resources"]["requests"]["cpu"])
    assert int(env["EMOTIVOICE_FAST_WORKERS"]) <= cpu
