"""The fast tier in a real server (the distilled student on its own pool): asked for, chosen by a
latency budget, and taking main's overflow under --overload-policy degrade; clients that must have
main get 429 instead."""
from __future__ import annotations

import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

TEXT = "The quick brown fox jumps over the lazy dog, and then it runs back home."
BODY = {"text": TEXT, "voice": "en_female_1", "format": "pcm"}
BURST = 48


@pytest.fixture(scope="module")
def degrading(start_server):
    """2 main workers + 2 queued (a short main backlog keeps the test short), the student's pool (1 worker
    on 2 cores, 64 queued), policy degrade; a deadline no shared test machine reaches."""
    srv = start_server("--workers", "2", "--queue-size", "2", "--fallback-bundle", "student",
                       "--overload-policy", "degrade", "--request-timeout", "600")
    srv.wait_port()
    srv.wait_ready()
    yield srv
    srv.stop()


def routed(client: httpx.Client, route: str, reason: str) -> float:
    prefix = f'emotivoice_routed_requests_total{{reason="{reason}",route="{route}"}}'
    return next((float(ln.rsplit(" ", 1)[1]) for ln in client.get("/metrics").text.splitlines()
                 if ln.startswith(prefix)), 0.0)


def burst(srv, headers: dict[str, str] | None = None, body: dict | None = None) -> list[httpx.Response]:
    def post(_):
        with srv.client() as c:
            return c.post("/v1/tts", json=body or BODY, headers=headers or {})

    with ThreadPoolExecutor(BURST) as pool:
        return list(pool.map(post, range(BURST)))


def test_quality_fast_renders_on_the_fast_tier(degrading):
    with degrading.client() as c:
        before = routed(c, "fallback", "requested")
        r = c.post("/v1/tts", json={**BODY, "quality": "fast"})
        assert r.status_code == 200, r.text
        assert r.headers["x-model-tier"] == "fallback" and r.headers["x-route-reason"] == "requested"
        assert "x-degraded" not in r.headers  # asked for, not degraded
        assert len(r.content) > 24000 * 2  # over a second of 16-bit audio
        assert routed(c, "fallback", "requested") == before + 1
        best = c.post("/v1/tts", json={**BODY, "quality": "best"})
        assert best.headers["x-model-tier"] == "main"
        bad = c.post("/v1/tts", json={**BODY, "quality": "ultra"})
        assert bad.status_code == 422 and bad.json()["error"]["code"] == "unknown_quality"


def test_the_students_model_id_is_listed_as_servable_and_renders_on_the_fast_tier(degrading):
    with degrading.client() as c:
        models = {m["id"]: m for m in c.get("/v1/models").json()["data"]}
        student = models["kokoro-82m-student"]
        assert student["servable"] is True and student["quality"] == "fast" and student["state"] == "ready"
        r = c.post("/v1/audio/speech", json={"model": "kokoro-82m-student", "input": TEXT, "voice": "alloy",
                                             "response_format": "pcm"})
        assert r.status_code == 200 and r.headers["x-model-tier"] == "fallback" and len(r.content) > 48000
        main = c.post("/v1/audio/speech", json={"model": "tts-1", "input": "Hi.", "voice": "alloy",
                                                "response_format": "pcm"})
        assert main.headers["x-model-tier"] == "main"


def estimates_ms(client: httpx.Client) -> tuple[float, float]:
    """(main's, the fast tier's) estimated ms to first audio for BODY now, as the server's 429 for an
    impossible budget states them (the rates are measured, so they follow the machine's load)."""
    never = client.post("/v1/tts", json={**BODY, "latency_budget_ms": 1})
    assert never.status_code == 429 and never.json()["error"]["code"] == "budget_unmeetable"
    assert int(never.headers["retry-after"]) >= 1
    main, fast = re.findall(r"(\d+) ms", never.json()["error"]["message"])[1:3]
    return float(main), float(fast)


def test_a_budget_main_cannot_meet_goes_to_the_fast_tier_with_the_reason(degrading):
    with degrading.client() as c:
        main_ms, fast_ms = estimates_ms(c)
        assert fast_ms * 4 < main_ms, (main_ms, fast_ms)
        budget = str(int((main_ms * fast_ms) ** 0.5))  # between the two estimates, far from both
        r = c.post("/v1/tts", json=BODY, headers={"X-Latency-Budget-Ms": budget})
        assert r.status_code == 200, r.text
        assert r.headers["x-model-tier"] == "fallback" and r.headers["x-route-reason"] == "latency_budget"
        assert r.headers["x-degraded"] == "true" and len(r.content) > 48000
        main_ms, fast_ms = estimates_ms(c)
        field = c.post("/v1/tts", json={**BODY, "latency_budget_ms": int((main_ms * fast_ms) ** 0.5)})
        assert field.headers["x-route-reason"] == "latency_budget"
        roomy = c.post("/v1/tts", json={**BODY, "latency_budget_ms": 600_000})
        assert roomy.headers["x-model-tier"] == "main" and roomy.headers["x-route-reason"] == "latency_budget_met"
        bad = c.post("/v1/tts", json=BODY, headers={"X-Latency-Budget-Ms": "soon"})
        assert bad.status_code == 422


def test_with_degrade_a_burst_of_48_gets_no_429_and_every_answer_names_its_tier(degrading):
    answers = burst(degrading)
    statuses = Counter(r.status_code for r in answers)
    assert statuses == {200: BURST}, statuses
    tiers = Counter((r.headers["x-model-tier"], r.headers["x-route-reason"]) for r in answers)
    assert tiers[("main", "default")] >= 2 and tiers[("fallback", "overload")] >= 1, tiers
    assert set(tiers) <= {("main", "default"), ("fallback", "overload")}, tiers
    assert all(r.headers.get("x-degraded") == "true" for r in answers if r.headers["x-model-tier"] == "fallback")
    assert all(len(r.content) > 48000 for r in answers)


@pytest.mark.parametrize("refusal", [{"headers": {"X-Allow-Degraded": "false"}},
                                     {"body": {**BODY, "quality": "best"}}], ids=["header", "explicit-best"])
def test_a_client_that_refuses_degrading_stays_on_main_and_gets_429_when_it_is_full(degrading, refusal):
    answers = burst(degrading, **refusal)
    statuses = Counter(r.status_code for r in answers)
    assert set(statuses) == {200, 429} and statuses[429] >= 1, statuses
    assert {r.headers["x-model-tier"] for r in answers if r.status_code == 200} == {"main"}
    assert all(r.json()["error"]["code"] == "overloaded" and "retry-after" in r.headers
               for r in answers if r.status_code == 429)
