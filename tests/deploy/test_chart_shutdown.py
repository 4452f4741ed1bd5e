"""Termination: the pod leaves the endpoints (preStop), then drains exactly as the server does on
SIGTERM, and the kubelet's SIGKILL can only come after the server's own grace period has run out."""
from __future__ import annotations

import pytest

from emotivoice_srv.server.config import ServerConfig


def shutdown_plan(objects) -> dict[str, float]:
    pod = objects.pod()
    server = objects.server()
    env = objects.env()
    command = server["lifecycle"]["preStop"]["exec"]["command"]
    assert command[0] == "sleep"
    return {"grace_period": pod["terminationGracePeriodSeconds"], "pre_stop": float(command[1]),
            "drain_grace": float(env["EMOTIVOICE_DRAIN_GRACE"]), "drain_delay": float(env["EMOTIVOICE_DRAIN_DELAY"])}


def test_the_chart_passes_the_servers_default_drain_grace(default_objects):
    """Same number in values.yaml and ServerConfig: docs, alerts and arithmetic speak of one grace."""
    assert shutdown_plan(default_objects)["drain_grace"] == ServerConfig().drain_grace_s


def test_sigkill_comes_only_after_prestop_and_the_whole_drain(render, value_set):
    """The server keeps the port open max(drain delay, drain grace) after SIGTERM at most (draining.py),
    and SIGTERM arrives after preStop: the grace period must cover both, with room for the exit."""
    _, values = value_set
    plan = shutdown_plan(render(values))
    needed = plan["pre_stop"] + max(plan["drain_grace"], plan["drain_delay"])
    assert plan["grace_period"] >= needed + 5, plan


@pytest.mark.parametrize("server, shutdown", [
    ({"drainGraceSeconds": 120}, {}),
    ({"drainGraceSeconds": 10, "drainDelaySeconds": 25}, {}),
    ({"drainGraceSeconds": 7.5}, {"preStopSleepSeconds": 15, "marginSeconds": 3}),
], ids=["long-grace", "delay-beyond-grace", "fractional-grace"])
def test_the_grace_period_follows_the_drain_settings(render, server, shutdown):
    plan = shutdown_plan(render({"server": server, "shutdown": shutdown}))
    margin = shutdown.get("marginSeconds", 10)
    expected = plan["pre_stop"] + max(plan["drain_grace"], plan["drain_delay"]) + margin
    assert plan["grace_period"] == pytest.approx(expected, abs=1)
    assert plan["grace_period"] >= expected


def test_prestop_keeps_the_pod_serving_while_endpoints_update(default_objects):
    """During preStop the server still answers normally; only after it does SIGTERM start the drain."""
    plan = shutdown_plan(default_objects)
    assert 3 <= plan["pre_stop"] <= 15
    assert plan["drain_delay"] == 0  # preStop already covered the load balancers' lag


def test_no_prestop_when_switched_off(render):
    server = render({"shutdown": {"preStopSleepSeconds": 0}}).server()
    assert "lifecycle" not in server


def test_rollouts_never_lower_capacity(render, value_set):
    _, values = value_set
    strategy = render(values).only("Deployment")["spec"]["strategy"]
    assert strategy["type"] == "RollingUpdate"
    assert strategy["rollingUpdate"]["maxUnavailable"] == 0
    assert strategy["rollingUpdate"]["maxSurge"] >= 1
