"""What the chart tells the server and the cluster: real settings, the model where the image put it,
storage for voices, GPU scheduling, autoscaling that never reaches zero, and a locked-down pod."""
from __future__ import annotations

import pytest

from emotivoice_srv import settings
from emotivoice_srv.cli import build_parser
from emotivoice_srv.loading import has_fallback


def serve_options() -> dict[str, settings.Option]:
    """EMOTIVOICE_* variable -> its Option, for every flag the real `serve` parser accepts."""
    parser = build_parser()
    commands = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    flags = {flag for action in commands.choices["serve"]._actions for flag in action.option_strings}
    declared = [opt for value in vars(settings).values() if isinstance(value, list)
                for opt in value if isinstance(opt, settings.Option)]
    return {opt.env: opt for opt in declared if opt.flag in flags}


OPTIONS = serve_options()


def test_every_emotivoice_variable_is_a_real_server_setting_with_a_valid_value(render, value_set):
    """A misspelled variable would be ignored silently by the server; a malformed one exits with 2."""
    _, values = value_set
    for name, value in render(values).env().items():
        if not name.startswith("EMOTIVOICE_"):
            continue
        assert name in OPTIONS, f"{name} is not an option of `emotivoice-srv serve`"
        if value is not None:
            option = OPTIONS[name]
            parsed = option.cast(value)
            if option.choices:
                assert parsed in option.choices, (name, value)


def test_workers_and_threads_are_sized_to_the_cpu_request_not_the_node(default_objects, chart_values):
    """os.cpu_count() in a pod sees the node's cores; without these the server would oversubscribe."""
    env = default_objects.env()
    cpu = float(chart_values["resources"]["requests"]["cpu"])
    assert int(env["EMOTIVOICE_WORKERS"]) >= 1
    assert int(env["EMOTIVOICE_THREADS"]) <= cpu
    # the overlapping syntheses' session set: narrower than the main sessions (else the server skips
    # it), and as many of them as there are workers fit the request
    narrow = int(env["EMOTIVOICE_CONCURRENT_THREADS"])
    assert 0 < narrow < int(env["EMOTIVOICE_THREADS"])
    assert narrow * int(env["EMOTIVOICE_WORKERS"]) <= cpu


def test_the_server_loads_the_bundle_baked_into_the_image(default_objects, dockerfile):
    image_env = dockerfile.env("runtime")
    env = default_objects.env()
    assert env["EMOTIVOICE_BUNDLE"] == image_env["EMOTIVOICE_BUNDLE"]
    assert env["EMOTIVOICE_CACHE_DIR"] == image_env["EMOTIVOICE_CACHE_DIR"]
    # numba's cache where the image seeded it, compiled for the CPU target the image sets (generic)
    assert env["NUMBA_CACHE_DIR"] == image_env["NUMBA_CACHE_DIR"]
    assert env.get("NUMBA_CPU_NAME", image_env["NUMBA_CPU_NAME"]) == image_env["NUMBA_CPU_NAME"] == "generic"


def test_the_image_tag_is_the_app_version_and_matches_the_package(repo, default_objects, render):
    import tomllib
    import yaml

    version = tomllib.loads((repo / "pyproject.toml").read_text())["project"]["version"]
    chart = yaml.safe_load((repo / "helm" / "emotivoice-srv" / "Chart.yaml").read_text())
    assert chart["appVersion"] == version
    assert default_objects.server()["image"] == f"emotivoice-srv:{version}"
    assert render({"gpu": {"enabled": True}}).server()["image"] == f"emotivoice-srv:{version}-gpu"
    digest = "sha256:" + "a" * 64
    assert render({"image": {"digest": digest}}).server()["image"] == f"emotivoice-srv@{digest}"


LOCAL_ONE_REPLICA = {"redis": {"enabled": False}, "autoscaling": {"enabled": False}, "replicaCount": 1}


def test_with_the_local_store_the_cache_dir_is_a_claim_that_outlives_the_release(render):
    objects = render(LOCAL_ONE_REPLICA)
    pod = objects.pod()
    claim = objects.only("PersistentVolumeClaim")
    (cache,) = [v for v in pod["volumes"] if v["name"] == "cache"]
    assert cache["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    assert claim["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    mount = next(m for m in objects.server()["volumeMounts"] if m["name"] == "cache")
    assert mount["mountPath"] == objects.env()["EMOTIVOICE_CACHE_DIR"]
    assert objects.env()["NUMBA_CACHE_DIR"].startswith(mount["mountPath"] + "/")
    assert objects.env()["EMOTIVOICE_VOICE_STORE"] == "local"
    # one replica: one node mounts the claim; no ReadWriteMany needed
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]


def test_an_existing_claim_is_used_as_is(render):
    objects = render({**LOCAL_ONE_REPLICA, "persistence": {"existingClaim": "voices"}})
    assert "PersistentVolumeClaim" not in objects.kinds()
    (cache,) = [v for v in objects.pod()["volumes"] if v["name"] == "cache"]
    assert cache["persistentVolumeClaim"]["claimName"] == "voices"


@pytest.mark.parametrize("values", [
    {"redis": {"enabled": False}},
    {"redis": {"enabled": False}, "autoscaling": {"enabled": False}, "replicaCount": 2},
    {"redis": {"enabled": False}, "autoscaling": {"minReplicas": 1, "maxReplicas": 3}},
], ids=["autoscaling-2-10", "two-fixed-replicas", "autoscaling-up-to-3"])
def test_the_local_store_with_more_than_one_replica_does_not_render(render, values):
    """Refused, not warned about: a warning in NOTES.txt comes after the install, and the failure it
    announces (half of the requests for a new voice answer 404) looks like a server bug."""
    with pytest.raises(Exception) as info:
        render(values)
    message = str(info.value)
    assert "local voice store" in message and "redis.enabled=true" in message and "voiceStore.url" in message


def test_notes_say_where_the_voices_live(notes):
    assert "Voice store: the chart's Redis" in notes()
    assert "rediss://voices.example.com" in notes({"redis": {"enabled": False},
                                                   "voiceStore": {"url": "rediss://voices.example.com:6380/0"}})
    assert "local files" in notes(LOCAL_ONE_REPLICA)
    assert "WARNING" not in notes() and "WARNING" in notes({**LOCAL_ONE_REPLICA, "persistence": {"enabled": False}})


def test_the_root_filesystem_is_read_only_with_writable_cache_and_tmp(render, value_set):
    _, values = value_set
    objects = render(values)
    pod, server = objects.pod(), objects.server()
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001
    assert pod["automountServiceAccountToken"] is False
    for container in pod["containers"] + pod.get("initContainers", []):
        context = container["securityContext"]
        assert context["readOnlyRootFilesystem"] is True
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"]["drop"] == ["ALL"]
    mounts = {m["mountPath"] for m in server["volumeMounts"] if not m.get("readOnly")}
    assert mounts == {"/tmp", objects.env()["EMOTIVOICE_CACHE_DIR"]}


def test_gpu_values_request_a_gpu_and_schedule_on_gpu_nodes(render):
    objects = render({"gpu": {"enabled": True, "runtimeClassName": "nvidia",
                              "nodeSelector": {"nvidia.com/gpu.present": "true"}}, "nodeSelector": {"pool": "tts"}})
    pod, server = objects.pod(), objects.server()
    assert server["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert pod["nodeSelector"] == {"nvidia.com/gpu.present": "true", "pool": "tts"}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]
    assert pod["runtimeClassName"] == "nvidia"
    assert objects.env()["EMOTIVOICE_DEVICE"] == "cuda"


def test_cpu_pods_get_no_gpu_scheduling(default_objects):
    pod, server = default_objects.pod(), default_objects.server()
    assert "nvidia.com/gpu" not in server["resources"].get("limits", {})
    assert "tolerations" not in pod and "nodeSelector" not in pod and "runtimeClassName" not in pod
    assert default_objects.env()["EMOTIVOICE_DEVICE"] == "cpu"


def test_the_fallback_tier_is_the_student_baked_into_the_image(default_objects, dockerfile):
    """On by default, by path: the bundle the image's build exported (never the server's `student`,
    which would assemble one in the cache volume at start), on the CPU, with readiness still on main."""
    env = default_objects.env()
    assert env["EMOTIVOICE_FALLBACK_BUNDLE"] == dockerfile.env("runtime")["EMOTIVOICE_FALLBACK_BUNDLE"]
    assert has_fallback(build_parser().parse_args(["serve", "--fallback-bundle", env["EMOTIVOICE_FALLBACK_BUNDLE"]]))
    assert env["EMOTIVOICE_FALLBACK_DEVICE"] == "cpu"
    assert "EMOTIVOICE_FALLBACK_PRECISION" not in env  # the loader picks what the bundle has (fp32)
    assert "EMOTIVOICE_FALLBACK_THREADS" not in env  # auto: one per session for the student
    assert env["EMOTIVOICE_READY_ON_FALLBACK"] == "false"
    assert default_objects.server()["readinessProbe"]["httpGet"]["path"] == "/readyz"


def test_gpu_pods_fall_back_to_the_student_on_the_cpu_while_cuda_warms(render, default_objects):
    env = render({"gpu": {"enabled": True}}).env()
    assert env["EMOTIVOICE_DEVICE"] == "cuda"
    assert env["EMOTIVOICE_FALLBACK_BUNDLE"] == default_objects.env()["EMOTIVOICE_FALLBACK_BUNDLE"]
    assert env["EMOTIVOICE_FALLBACK_DEVICE"] == "cpu"


def test_the_fallback_can_be_the_main_bundles_int8_graphs_or_off(render):
    main = render({"gpu": {"enabled": True},
                   "server": {"fallback": {"bundle": "main", "precision": "int8", "threads": 4}}}).env()
    assert main["EMOTIVOICE_FALLBACK_BUNDLE"] == "main" and main["EMOTIVOICE_FALLBACK_THREADS"] == "4"
    assert (main["EMOTIVOICE_FALLBACK_DEVICE"], main["EMOTIVOICE_FALLBACK_PRECISION"]) == ("cpu", "int8")
    for values in ({"bundle": "none"}, {"bundle": "None"}, {"enabled": False}, {"bundle": ""}):
        env = render({"server": {"fallback": values}}).env()
        assert env["EMOTIVOICE_FALLBACK_BUNDLE"] == "none", values
        assert not has_fallback(build_parser().parse_args(["serve", "--fallback-bundle", "none"]))
        assert not [name for name in env if name.startswith("EMOTIVOICE_FALLBACK_") and name != "EMOTIVOICE_FALLBACK_BUNDLE"]
        assert "EMOTIVOICE_READY_ON_FALLBACK" not in env and "EMOTIVOICE_HOLD_FOR_MAIN_MS" not in env


def test_ready_on_fallback_is_passed_to_the_server_and_the_probe_stays_on_readyz(render):
    """The server decides what /readyz means (main ready, or the fallback with this on); the probe
    path does not change."""
    objects = render({"server": {"fallback": {"readyOnFallback": True, "holdForMainMs": 250}}})
    assert objects.env()["EMOTIVOICE_READY_ON_FALLBACK"] == "true"
    assert objects.env()["EMOTIVOICE_HOLD_FOR_MAIN_MS"] == "250"
    assert objects.server()["readinessProbe"]["httpGet"]["path"] == "/readyz"


def test_the_chart_refuses_a_fallback_assembled_in_the_cache_volume_at_start(render):
    import helm_python

    with pytest.raises(helm_python.HelmError, match="fallback.bundle=student"):
        render({"server": {"fallback": {"bundle": "student"}}})
    assert render({"server": {"fallback": {"enabled": False, "bundle": "student"}}}).env()[
        "EMOTIVOICE_FALLBACK_BUNDLE"] == "none"


def test_notes_say_which_fallback_answers_and_what_readiness_waits_for(notes):
    text = notes({"gpu": {"enabled": True}})
    assert "/opt/emotivoice/bundles/kokoro-82m-student on cpu" in text and "when main is ready" in text
    assert "no fallback tier" in notes({"gpu": {"enabled": True}, "server": {"fallback": {"bundle": "none"}}})


def test_autoscaling_keeps_at_least_one_replica_by_default(default_objects):
    hpa = default_objects.only("HorizontalPodAutoscaler")
    assert hpa["spec"]["minReplicas"] >= 1
    assert hpa["spec"]["scaleTargetRef"]["name"] == default_objects.only("Deployment")["metadata"]["name"]
    assert "replicas" not in default_objects.only("Deployment")["spec"]  # the HPA owns the count


def test_the_chart_refuses_scale_to_zero(render):
    import helm_python

    with pytest.raises(helm_python.HelmError, match="minReplicas must be at least 1"):
        render({"autoscaling": {"minReplicas": 0}})


def test_voluntary_disruptions_take_one_pod_at_a_time(default_objects):
    pdb = default_objects.only("PodDisruptionBudget")
    assert pdb["spec"]["maxUnavailable"] == 1
    deployment = default_objects.only("Deployment")
    assert pdb["spec"]["selector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]


def test_pods_spread_over_zones_and_nodes(default_objects):
    constraints = default_objects.pod()["topologySpreadConstraints"]
    assert {c["topologyKey"] for c in constraints} == {"topology.kubernetes.io/zone", "kubernetes.io/hostname"}
    assert all(c["whenUnsatisfiable"] == "ScheduleAnyway" for c in constraints)


def test_api_keys_come_from_a_secret_and_roll_the_pods_when_they_change(render):
    objects = render({"apiKeys": {"keys": ["a", "b"]}})
    secret = objects.only("Secret")
    (var,) = [e for e in objects.server()["env"] if e["name"] == "EMOTIVOICE_API_KEYS"]
    assert var["valueFrom"]["secretKeyRef"] == {"name": secret["metadata"]["name"], "key": "api-keys"}
    before = objects.only("Deployment")["spec"]["template"]["metadata"]["annotations"]["checksum/api-keys"]
    after = render({"apiKeys": {"keys": ["a", "c"]}}).only("Deployment")["spec"]["template"]["metadata"]
    assert after["annotations"]["checksum/api-keys"] != before
    existing = render({"apiKeys": {"existingSecret": "keys", "existingSecretKey": "list"}})
    (var,) = [e for e in existing.server()["env"] if e["name"] == "EMOTIVOICE_API_KEYS"]
    assert var["valueFrom"]["secretKeyRef"] == {"name": "keys", "key": "list"}


def test_an_init_container_can_bring_the_bundle_from_a_model_image(render):
    objects = render({"bundle": {"source": "initContainer", "initContainer": {
        "image": {"repository": "registry.example.com/emotivoice-srv-model"}}}})
    (init,) = objects.pod()["initContainers"]
    assert init["image"] == "registry.example.com/emotivoice-srv-model:0.1.0"
    bundle_mount = next(m for m in init["volumeMounts"] if m["name"] == "bundle")
    server_mount = next(m for m in objects.server()["volumeMounts"] if m["name"] == "bundle")
    assert server_mount["readOnly"] is True
    assert objects.env()["EMOTIVOICE_BUNDLE"] == server_mount["mountPath"]
    assert bundle_mount["mountPath"] == "/bundle"


def test_an_init_container_can_bring_the_bundle_from_a_volume(render):
    objects = render({"bundle": {"source": "initContainer", "initContainer": {
        "sourcePath": "bundles/custom", "volume": {"persistentVolumeClaim": {"claimName": "models"}}}}})
    (init,) = objects.pod()["initContainers"]
    assert init["image"] == objects.server()["image"]  # the app image copies it
    assert {"name": "BUNDLE_SOURCE", "value": "/source/bundles/custom"} in init["env"]
    source = next(v for v in objects.pod()["volumes"] if v["name"] == "bundle-source")
    assert source["persistentVolumeClaim"]["claimName"] == "models"


def test_a_protected_metrics_endpoint_needs_scrape_credentials(render):
    import helm_python

    with pytest.raises(helm_python.HelmError, match="protectMetrics needs"):
        render({"server": {"protectMetrics": True}, "metrics": {"serviceMonitor": {"enabled": True}}})


def test_service_monitor_scrapes_the_metrics_route_on_the_service_port(render):
    objects = render({"metrics": {"serviceMonitor": {"enabled": True}}})
    monitor = objects.only("ServiceMonitor")
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] == objects.only("Service")["spec"]["ports"][0]["name"]
    assert endpoint["path"] == "/metrics"
    service_labels = objects.only("Service")["metadata"]["labels"]
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service_labels.items()


def test_the_web_studio_is_on_by_default_and_server_ui_false_removes_it(render):
    """server.ui -> EMOTIVOICE_UI, read by the real `serve` parser (off: / is 404, API only)."""
    from emotivoice_srv.server.config import ServerConfig

    for values, expected in (({}, True), ({"server": {"ui": False}}, False), ({"server": {"ui": True}}, True)):
        env = render(values).env()
        option = OPTIONS["EMOTIVOICE_UI"]
        assert option.cast(env["EMOTIVOICE_UI"]) in option.choices
        parser = build_parser()
        config = ServerConfig.from_args(parser.parse_args(["serve", "--ui", env["EMOTIVOICE_UI"]]))
        assert config.ui is expected


def test_abuse_limits_reach_the_server_when_set_and_stay_off_by_default(render):
    """A rate limit is opt-in (behind an ingress every client shares one address: keys first)."""
    default = render({}).env()
    assert "EMOTIVOICE_RATE_LIMIT" not in default
    assert default["EMOTIVOICE_BODY_TIMEOUT"] == "60" and default["EMOTIVOICE_MAX_ENROLLMENTS_PER_KEY"] == "2"
    assert default["EMOTIVOICE_MAX_RENDER_SECONDS"] == "300"
    env = render({"server": {"rateLimit": "600/min", "rateLimitBurst": 50}}).env()
    assert OPTIONS["EMOTIVOICE_RATE_LIMIT"].cast(env["EMOTIVOICE_RATE_LIMIT"]).per_s == 10.0
    assert env["EMOTIVOICE_RATE_LIMIT_BURST"] == "50"
