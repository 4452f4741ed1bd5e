"""An edge server in front of a second, real server (--upstream): enrollment and long texts go
upstream (seen in the upstream's own metrics), forwarded streams arrive chunk by chunk, a killed
upstream leaves the edge answering locally at once (flagged), and the edge returns to the upstream
once it is back."""
from __future__ import annotations

import time

import httpx
import pytest

LONG = ("The harbour was quiet when the first boats came in. Gulls followed them, calling over the water. "
        "By noon the market was full, and the smell of salt and smoke hung over every stall.")
LONG_CHARS = 120
assert len(LONG) > LONG_CHARS

pytestmark = pytest.mark.slow


def metric(client: httpx.Client, prefix: str) -> float:
    return sum(float(ln.rsplit(" ", 1)[1]) for ln in client.get("/metrics").text.splitlines() if ln.startswith(prefix))


def upstream_args(cache) -> tuple[str, ...]:
    # enrollments answer 202 at once and fit with the first candidates only: the test is the routing
    return ("--workers", "2", "--enroll-wait", "0", "--fit-evaluations", "0", "--cache-dir", str(cache),
            "--request-timeout", "600")


@pytest.fixture(scope="module")
def pair(start_server, tmp_path_factory):
    """(upstream, edge, restart_upstream): the edge forwards texts over 120 characters."""
    cache = tmp_path_factory.mktemp("upstream-cache")
    upstream = start_server(*upstream_args(cache))
    upstream.wait_port()
    edge = start_server("--workers", "2", "--fallback-bundle", "student", "--upstream", upstream.url,
                        "--upstream-long-chars", str(LONG_CHARS), "--upstream-timeout", "120",
                        "--upstream-failures", "1", "--upstream-probe-interval", "0.5", "--request-timeout", "600")
    edge.wait_port()
    upstream.wait_ready()
    edge.wait_ready()
    state = {"upstream": upstream}

    def restart():
        state["upstream"] = start_server(*upstream_args(cache), port=upstream.port)
        state["upstream"].wait_port()
        state["upstream"].wait_ready()
        return state["upstream"]

    yield state, edge, restart
    edge.stop()
    state["upstream"].stop()


def test_an_enrollment_is_forwarded_upstream(pair, reference_wav):
    state, edge, _ = pair
    up = state["upstream"]
    with edge.client() as e, up.client() as u:
        before = metric(u, 'emotivoice_requests_total{method="POST",route="/v1/voices"')
        r = e.post("/v1/voices", files={"file": ("ref.wav", reference_wav, "audio/wav")}, data={"name": "Edgar"})
        assert r.status_code in (201, 202), r.text
        assert r.headers["x-route"] == "upstream" and r.headers["x-route-reason"] == "enrollment"
        assert r.json()["id"] == "edgar"
        assert metric(u, 'emotivoice_requests_total{method="POST",route="/v1/voices"') == before + 1
        assert metric(e, 'emotivoice_requests_total{method="POST",route="/v1/voices",status="2') == 1
        assert metric(e, "emotivoice_voice_fits_total") == 0  # no model work on the edge
        deadline = time.monotonic() + 300  # the voice, known only upstream, is usable through the edge
        while e.get("/v1/voices/edgar").json().get("status") == "pending" and time.monotonic() < deadline:
            time.sleep(0.5)
        looked_up = e.get("/v1/voices/edgar")
        assert looked_up.status_code == 200 and looked_up.headers["x-route"] == "upstream"
        spoken = e.post("/v1/tts", json={"text": "Hello from the edge.", "voice": "edgar", "format": "pcm"})
        assert spoken.status_code == 200, spoken.text
        assert spoken.headers["x-route-reason"] == "remote_voice" and len(spoken.content) > 24000


def test_a_long_text_is_forwarded_and_its_stream_passes_through_chunk_by_chunk(pair):
    state, edge, _ = pair
    up = state["upstream"]
    with edge.client() as e, up.client() as u:
        before = metric(u, 'emotivoice_tier_requests_total{tier="main"}')
        arrivals, size = [], 0
        t0 = time.monotonic()
        with e.stream("POST", "/v1/tts", json={"text": LONG, "voice": "en_male_1", "stream": True}) as r:
            assert r.status_code == 200
            assert r.headers["x-route"] == "upstream" and r.headers["x-route-reason"] == "long_text"
            assert r.headers["x-model-tier"] == "main"  # what rendered it, upstream
            for chunk in r.iter_raw():
                arrivals.append(time.monotonic() - t0)
                size += len(chunk)
        assert size > 44 + 24000 * 2 * 5  # the WAV header + over 5 s of audio
        # the upstream schedules a stream's later sentences by playback time: audio kept arriving
        assert len(arrivals) >= 2 and arrivals[-1] - arrivals[0] > 0.5, arrivals
        assert metric(u, 'emotivoice_tier_requests_total{tier="main"}') == before + 1
        short = e.post("/v1/tts", json={"text": "Short and local.", "voice": "en_male_1", "format": "pcm"})
        assert short.headers["x-route"] == "main"  # under the length rule, main idle: served by the edge


def test_a_killed_upstream_leaves_the_edge_serving_locally_at_once_and_it_returns_later(pair):
    state, edge, restart = pair
    state["upstream"].proc.kill()
    state["upstream"].stop()
    with edge.client() as e:
        t0 = time.monotonic()
        with e.stream("POST", "/v1/tts", json={"text": LONG, "voice": "en_male_1", "stream": True}) as r:
            first = None
            for chunk in r.iter_raw():
                first = first or time.monotonic() - t0
        assert r.status_code == 200
        assert r.headers["x-route-reason"] == "upstream_unavailable" and r.headers["x-degraded"] == "true"
        assert r.headers["x-model-tier"] == "fallback"
        assert first is not None and first < 1.0, first
        assert 'emotivoice_upstream_breaker_state{state="open"} 1.0' in e.get("/metrics").text
        again = e.post("/v1/tts", json={"text": LONG, "voice": "en_male_1", "format": "pcm"})
        assert again.headers["x-route-reason"] == "upstream_unavailable"  # the open breaker: no wait at all
        assert metric(e, 'emotivoice_upstream_requests_total{result="breaker_open"}') >= 1

        up = restart()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            r = e.post("/v1/tts", json={"text": LONG, "voice": "en_male_1", "format": "pcm"})
            if r.headers.get("x-route") == "upstream":
                break
            time.sleep(0.5)
        assert r.status_code == 200 and r.headers["x-route"] == "upstream", r.headers
        assert 'emotivoice_upstream_breaker_state{state="closed"} 1.0' in e.get("/metrics").text
        with up.client() as u:
            assert metric(u, 'emotivoice_tier_requests_total{tier="main"}') >= 1
