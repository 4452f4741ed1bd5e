"""Model tiers in a real server: the fallback answers while main is slowed, says so, and the switch to
main loses no request; a main that fails to load leaves the fallback serving and /readyz saying why."""
from __future__ import annotations

import json
import threading
import time

import httpx
import pytest

SHORT = {"text": "Hi there.", "voice": "en_female_1", "format": "pcm"}


def tiers_by_role(client: httpx.Client) -> dict[str, dict]:
    return {t["role"]: t for t in client.get("/v1/models").json()["tiers"]}


def tier_requests(client: httpx.Client, tier: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(f'emotivoice_tier_requests_total{{tier="{tier}"}}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@pytest.fixture(scope="module")
def slowed_main(start_server):
    """The same int8 bundle as fallback; main held back 6 s (a slow GPU start)."""
    srv = start_server("--fallback-bundle", "main", "--main-start-delay", "6", "--workers", "2")
    srv.wait_port()
    return srv


def test_the_fallback_answers_while_main_is_slowed_and_the_switch_loses_no_request(slowed_main):
    answers: list[tuple[int, str | None, float]] = []
    with slowed_main.client() as c:
        tiers = tiers_by_role(c)
        assert tiers["main"]["state"] == "loading"
        assert tiers["fallback"]["state"] in ("warming", "ready")
        not_ready = c.get("/readyz")
        assert not_ready.status_code == 503 and not_ready.json()["reason"].startswith("loading")

        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:  # requests back to back across the switch
            r = c.post("/v1/tts", json=SHORT)
            answers.append((r.status_code, r.headers.get("x-model-tier"), time.monotonic()))
            assert r.status_code == 200, r.text
            assert len(r.content) > 2400  # real audio, not an empty body
            if r.headers["x-model-tier"] == "main":
                break
        served = [tier for _, tier, _ in answers]
        assert served[0] == "fallback" and served[-1] == "main", served
        switch = served.index("main")
        assert set(served[:switch]) == {"fallback"} and set(served[switch:]) == {"main"}  # one switch, never back
        assert tier_requests(c, "fallback") >= switch
        assert tier_requests(c, "main") >= 1
        slowed_main.wait_ready()
        tiers = tiers_by_role(c)
        assert tiers["main"]["state"] == "ready" and tiers["main"]["precision"] == "int8"
        assert c.post("/v1/tts", json=SHORT).headers["x-model-tier"] == "main"


def test_streamed_requests_also_say_which_tier_served_them(start_server):
    srv = start_server("--fallback-bundle", "main", "--main-start-delay", "30", "--workers", "2")
    srv.wait_port()
    with srv.client() as c:
        with c.stream("POST", "/v1/tts", json={**SHORT, "stream": True}) as r:
            body = r.read()
        assert r.status_code == 200 and r.headers["x-model-tier"] == "fallback" and len(body) > 2400
        metrics = c.get("/metrics").text
        assert 'emotivoice_model_tier_state{state="loading",tier="main"} 1.0' in metrics
    srv.stop()


def test_the_hold_policy_makes_a_request_wait_for_main_instead(start_server):
    srv = start_server("--fallback-bundle", "main", "--main-start-delay", "1", "--hold-for-main-ms", "60000")
    srv.wait_port()
    with srv.client() as c:
        assert tiers_by_role(c)["main"]["state"] in ("loading", "warming")
        r = c.post("/v1/tts", json=SHORT)
        assert r.status_code == 200 and r.headers["x-model-tier"] == "main"
    srv.stop()


def test_ready_on_fallback_reports_ready_before_main(start_server):
    srv = start_server("--fallback-bundle", "main", "--main-start-delay", "30", "--ready-on-fallback")
    srv.wait_port()
    srv.wait_ready(timeout=30)
    with srv.client() as c:
        body = c.get("/readyz").json()
        assert body["status"] == "ready" and "fallback" in body["reason"]
        assert tiers_by_role(c)["main"]["state"] == "loading"
    srv.stop()


def test_a_main_that_fails_to_load_is_a_state_not_a_crash(start_server, bundle_dir, tmp_path):
    broken = tmp_path / "broken-bundle"
    broken.mkdir()
    manifest = json.loads((bundle_dir / "manifest.json").read_text())
    manifest["graphs"] = [{**g, "file": "graphs/missing.onnx"} for g in manifest["graphs"]]
    (broken / "manifest.json").write_text(json.dumps(manifest))
    srv = start_server("--bundle", str(broken), "--fallback-bundle", str(bundle_dir))
    srv.wait_port()
    with srv.client() as c:
        deadline = time.monotonic() + 60
        while tiers_by_role(c)["main"]["state"] != "failed" and time.monotonic() < deadline:
            time.sleep(0.1)
        main = tiers_by_role(c)["main"]
        assert main["state"] == "failed" and "missing.onnx" in main["error"]
        ready = c.get("/readyz")
        assert ready.status_code == 503 and ready.json()["reason"].startswith("main tier failed")
        r = c.post("/v1/tts", json=SHORT)
        assert r.status_code == 200 and r.headers["x-model-tier"] == "fallback"
    assert srv.proc.poll() is None
    assert '"main tier failed to load"' in srv.log() or "main tier failed to load" in srv.log()
    srv.stop()


def test_by_default_the_distilled_student_is_the_fallback_tier(server):
    with server.client() as c:
        tiers = tiers_by_role(c)
        assert tiers["main"]["state"] == "ready" and tiers["main"]["bundle"] == "kokoro-82m"
        student = tiers["fallback"]
        assert student["bundle"] == "kokoro-82m-student" and student["precision"] == "fp32"
        assert student["state"] == "ready"
        assert c.post("/v1/tts", json=SHORT).headers["x-model-tier"] == "main"  # main is ready: it serves


def test_without_a_fallback_the_port_opens_on_a_loaded_main(start_server):
    srv = start_server("--fallback-bundle", "none")
    srv.wait_port()
    with srv.client() as c:
        tiers = c.get("/v1/models").json()["tiers"]
        assert [t["role"] for t in tiers] == ["main"] and tiers[0]["state"] == "ready"
        assert c.post("/v1/tts", json=SHORT).headers["x-model-tier"] == "main"
    srv.stop()


def test_a_fallback_that_cannot_load_is_a_failed_tier_and_main_serves(start_server, tmp_path):
    srv = start_server("--fallback-bundle", str(tmp_path / "no-such-bundle"))
    srv.wait_port()
    with srv.client() as c:
        tiers = tiers_by_role(c)
        assert tiers["fallback"]["state"] == "failed" and "no-such-bundle" in tiers["fallback"]["error"]
        assert tiers["main"]["state"] in ("warming", "ready")
        srv.wait_ready()
        assert c.post("/v1/tts", json=SHORT).headers["x-model-tier"] == "main"
    srv.stop()


def test_concurrent_requests_during_the_switch_all_succeed(start_server):
    srv = start_server("--fallback-bundle", "main", "--main-start-delay", "2", "--workers", "2")
    srv.wait_port()
    statuses: list[int] = []
    tiers: set[str] = set()
    stop = time.monotonic() + 60

    def client_loop():
        with srv.client() as c:
            while time.monotonic() < stop:
                r = c.post("/v1/tts", json=SHORT)
                statuses.append(r.status_code)
                tiers.add(r.headers.get("x-model-tier"))
                if c.get("/readyz").status_code == 200 and r.headers.get("x-model-tier") == "main":
                    return

    threads = [threading.Thread(target=client_loop) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses and set(statuses) == {200}, statuses
    assert tiers == {"fallback", "main"}
    srv.stop()
