"""The chart's voice store: its own Redis (the default) or an existing one, the password from a Secret,
no shared claim once voices live in Redis, replicas spread over zones, and a Service that prefers a
ready replica in the client's zone. Rendered offline by a real Helm, like the other chart tests."""
from __future__ import annotations

import copy

import kubernetes_validate
import pytest
from kubernetes_validate import utils as kv

from emotivoice_srv.cloning.store import check_url
from emotivoice_srv.settings import STORE


def env_of(container: dict) -> dict[str, dict]:
    return {e["name"]: e for e in container.get("env", [])}


def test_by_default_the_chart_runs_its_own_redis_and_the_server_uses_it(default_objects):
    env = default_objects.env()
    redis_service = default_objects.voice_store("Service")
    url = env["EMOTIVOICE_VOICE_STORE"]
    assert url == f"redis://{redis_service['metadata']['name']}:6379/0"
    check_url(url)  # what the server accepts
    secret = default_objects.voice_store("Secret")
    ref = env_of(default_objects.server())["EMOTIVOICE_VOICE_STORE_PASSWORD"]["valueFrom"]["secretKeyRef"]
    assert ref["name"] == secret["metadata"]["name"] and ref["key"] in secret["data"]
    assert "password" not in url and "@" not in url, "the password never sits in the URL"
    assert "PersistentVolumeClaim" not in default_objects.kinds(), "no ReadWriteMany claim with Redis"
    (cache,) = [v for v in default_objects.pod()["volumes"] if v["name"] == "cache"]
    assert "emptyDir" in cache
    assert {o.env for o in STORE} >= {"EMOTIVOICE_VOICE_STORE", "EMOTIVOICE_VOICE_STORE_PASSWORD",
                                      "EMOTIVOICE_VOICE_STORE_TIMEOUT", "EMOTIVOICE_FIT_LOCK_TTL"}
    assert {"EMOTIVOICE_VOICE_STORE_TIMEOUT", "EMOTIVOICE_FIT_LOCK_TTL"} <= set(env)


def test_the_redis_is_single_node_persistent_aof_non_root_and_probed(default_objects):
    sts = default_objects.voice_store("StatefulSet")
    assert sts["spec"]["replicas"] == 1
    assert sts["spec"]["serviceName"] == default_objects.voice_store("Service")["metadata"]["name"]
    (claim,) = sts["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    pod = sts["spec"]["template"]["spec"]
    (redis,) = pod["containers"]
    args = redis["args"]
    assert args[args.index("--appendonly") + 1] == "yes" and args[args.index("--dir") + 1] == "/data"
    assert args[args.index("--maxmemory-policy") + 1] == "volatile-lru", "voice records are never evicted"
    assert "$(REDIS_PASSWORD)" in args
    assert pod["securityContext"]["runAsNonRoot"] and pod["securityContext"]["runAsUser"] != 0
    assert redis["securityContext"]["readOnlyRootFilesystem"] and not redis["securityContext"]["allowPrivilegeEscalation"]
    assert {m["mountPath"] for m in redis["volumeMounts"]} == {"/data", "/tmp"}
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert probe in redis
    assert "redis-cli ping" in " ".join(redis["readinessProbe"]["exec"]["command"])
    assert "REDISCLI_AUTH" in env_of(redis)
    # the server's Service and spread never select the Redis pod
    labels = pod.get("labels") or sts["spec"]["template"]["metadata"]["labels"]
    selector = default_objects.only("Service")["spec"]["selector"]
    assert not all(labels.get(k) == v for k, v in selector.items())


def test_an_existing_redis_gets_its_url_and_the_password_from_a_secret(render):
    objects = render({"redis": {"enabled": False}, "voiceStore": {
        "url": "rediss://voices.example.com:6380/2", "existingSecret": "vs", "existingSecretKey": "pw"}})
    assert "StatefulSet" not in objects.kinds() and "PersistentVolumeClaim" not in objects.kinds()
    env = env_of(objects.server())
    assert env["EMOTIVOICE_VOICE_STORE"]["value"] == "rediss://voices.example.com:6380/2"
    assert env["EMOTIVOICE_VOICE_STORE_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "vs", "key": "pw"}


def test_both_the_charts_redis_and_another_url_is_refused(render):
    with pytest.raises(Exception) as info:
        render({"voiceStore": {"url": "redis://elsewhere:6379/0"}})
    assert "redis.enabled" in str(info.value) and "voiceStore.url" in str(info.value)


def test_replicas_spread_over_zones_and_the_service_prefers_the_clients_zone(default_objects, render):
    spread = default_objects.pod()["topologySpreadConstraints"]
    assert "topology.kubernetes.io/zone" in {c["topologyKey"] for c in spread}
    service = default_objects.only("Service")
    assert service["spec"]["trafficDistribution"] == "PreferClose"
    assert "trafficDistribution" not in render({"service": {"trafficDistribution": ""}}).only("Service")["spec"]
    kv.validate(service, kv.latest_version(), strict=True)
    with pytest.raises(kubernetes_validate.ValidationError):  # why the chart gates it on the cluster version
        kv.validate(copy.deepcopy(service), "1.27.0", strict=True)


def test_the_voice_store_alert_exists_and_reads_the_servers_counter(render):
    objects = render({"metrics": {"prometheusRule": {"enabled": True}}})
    rules = {r["alert"]: r for g in objects.only("PrometheusRule")["spec"]["groups"] for r in g["rules"]}
    assert "emotivoice_voice_store_errors_total" in rules["EmotivoiceVoiceStoreErrors"]["expr"]


def test_tenant_keys_and_admin_keys_travel_in_the_api_key_secret(render):
    import base64

    objects = render({"apiKeys": {"keys": ["acme:k1", "bare"], "adminKeys": ["ops:k2"]}})
    secret = objects.only("Secret")
    assert base64.b64decode(secret["data"]["api-keys"]).decode() == "acme:k1,bare"
    assert base64.b64decode(secret["data"]["admin-keys"]).decode() == "ops:k2"
    env = env_of(objects.server())
    assert env["EMOTIVOICE_ADMIN_KEYS"]["valueFrom"]["secretKeyRef"] == {"name": secret["metadata"]["name"],
                                                                       "key": "admin-keys"}
    assert "EMOTIVOICE_ADMIN_KEYS" not in env_of(render({"apiKeys": {"keys": ["k"]}}).server())
    existing = env_of(render({"apiKeys": {"existingSecret": "s", "existingSecretAdminKey": "adm"}}).server())
    assert existing["EMOTIVOICE_ADMIN_KEYS"]["valueFrom"]["secretKeyRef"] == {"name": "s", "key": "adm"}
