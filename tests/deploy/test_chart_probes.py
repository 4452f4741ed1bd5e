"""Probes point at the server's real routes, on the port it really listens on, and need no
initialDelaySeconds guess: the startup probe gates the others and the port opens only once the
model is loaded."""
from __future__ import annotations

import re
import time

import pytest

from emotivoice_srv.server.config import ServerConfig

PROBE_KINDS = ("startupProbe", "readinessProbe", "livenessProbe")
EXPECTED_PATHS = {"startupProbe": "/startupz", "readinessProbe": "/readyz", "livenessProbe": "/livez"}


@pytest.fixture(scope="module")
def app(bundle_dir):
    """The real Starlette app over a real engine, with API keys on (as the chart's apiKeys sets them)."""
    from emotivoice_srv import Engine, EngineConfig
    from emotivoice_srv.server.app import create_app

    engine = Engine.load(EngineConfig(bundle_dir=bundle_dir, device="cpu", threads=1))
    return create_app(engine, ServerConfig(workers=1, api_keys=("secret-key",)))


def get_routes(app) -> set[str]:
    return {route.path for route in app.routes if "GET" in (getattr(route, "methods", None) or ())}


def test_probe_paths_are_get_routes_of_the_real_app(app, render, value_set):
    _, values = value_set
    server = render(values).server()
    for kind in PROBE_KINDS:
        path = server[kind]["httpGet"]["path"]
        assert path == EXPECTED_PATHS[kind]
        assert path in get_routes(app), f"{kind} {path} is not a GET route of the app"


def test_probes_answer_200_without_an_api_key_once_the_model_is_loaded(app, default_objects):
    """The kubelet sends no Authorization header: probes must stay open while /v1 is protected."""
    from starlette.testclient import TestClient

    server = default_objects.server()
    with TestClient(app) as client:
        deadline = time.monotonic() + 30
        while client.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, client.get("/readyz").json()
            time.sleep(0.05)
        for kind in PROBE_KINDS:
            response = client.get(server[kind]["httpGet"]["path"])
            assert response.status_code == 200, (kind, response.text)
        assert client.get("/v1/voices").status_code == 401  # the keys are really on


def test_probes_target_the_port_the_server_listens_on(render, value_set):
    _, values = value_set
    objects = render(values)
    server = objects.server()
    (port,) = [p for p in server["ports"] if p["name"] == "http"]
    assert int(objects.env()["EMOTIVOICE_PORT"]) == port["containerPort"] == ServerConfig().port
    for kind in PROBE_KINDS:
        assert server[kind]["httpGet"]["port"] == "http"
    assert objects.only("Service")["spec"]["ports"][0]["targetPort"] == "http"


def test_changing_the_port_moves_container_env_and_probes_together(render):
    objects = render({"server": {"port": 9090}})
    server = objects.server()
    assert server["ports"][0]["containerPort"] == 9090
    assert objects.env()["EMOTIVOICE_PORT"] == "9090"


def test_no_probe_guesses_an_initial_delay(render, value_set):
    _, values = value_set
    server = render(values).server()
    for kind in PROBE_KINDS:
        assert server[kind].get("initialDelaySeconds", 0) == 0, kind


def test_startup_probe_detects_a_start_within_a_second_and_allows_a_cold_node_minutes(default_objects):
    startup = default_objects.server()["startupProbe"]
    assert startup["periodSeconds"] <= 1
    budget = startup["periodSeconds"] * startup["failureThreshold"]
    assert 120 <= budget <= 600


def test_readiness_follows_the_server_within_seconds_but_does_not_flap_on_one_slow_answer(default_objects):
    readiness = default_objects.server()["readinessProbe"]
    assert readiness["periodSeconds"] <= 2
    assert readiness["failureThreshold"] >= 2
    assert readiness["successThreshold"] == 1


def test_liveness_tolerates_more_than_the_servers_own_lag_limit(default_objects):
    """/livez fails at livez-max-lag; the kubelet restarts only after several such failures in a row."""
    liveness = default_objects.server()["livenessProbe"]
    lag_limit = float(default_objects.env()["EMOTIVOICE_LIVEZ_MAX_LAG"])
    assert liveness["timeoutSeconds"] >= lag_limit
    assert liveness["periodSeconds"] * liveness["failureThreshold"] >= 4 * lag_limit


def test_the_image_healthcheck_asks_a_real_route(app, dockerfile):
    command = " ".join(dockerfile.stage("runtime").all("HEALTHCHECK")[-1].exec_form)
    (path,) = re.findall(r"/\w+", command.split("127.0.0.1")[1])[:1]
    assert path in get_routes(app)
