"""Two real server processes (replicas A and B) against one real redis-server: a voice enrolled on one
is served by the other within a second, a delete reaches the other within a second, eight concurrent
uploads of one new recording split across both are fitted once, a Redis outage keeps built-in and
cached voices serving while enrollment answers 503 + Retry-After, the restarted Redis (AOF) has every
voice back without restarting the servers, and a replica killed mid-fit does not block the audio.

The replicas and Redis are shared by the module; the tests run in file order (the last one kills A)."""
from __future__ import annotations

import threading
import time

import httpx
import pytest
from prometheus_samples import scrape, value
from redis_server import RedisServer
from tests.server.test_voices_api import (FAST_FIT, TEXT, assert_error, assert_speech, enroll, tts, upload_at_once,
                                          with_gain)

pytestmark = pytest.mark.slow  # three real processes and several fits: ~2 min on 2 cores (runs in CI)

LOCK_TTL_S = 3.0
REPLICA_ARGS = ("--workers", "2", "--no-warmup", *FAST_FIT, "--fit-lock-ttl", str(LOCK_TTL_S),
                "--voice-store-timeout", "0.5")


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("replicas-redis")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def replicas(start_server, redis_server):
    a = start_server(*REPLICA_ARGS, "--voice-store", redis_server.url)
    b = start_server(*REPLICA_ARGS, "--voice-store", redis_server.url)
    for srv in (a, b):
        srv.wait_port()
        srv.wait_ready()
    return a, b


def wait_for(check, timeout: float, step: float = 0.01):
    """Poll ``check`` until it returns something truthy; (result, seconds taken)."""
    t0 = time.monotonic()
    while True:
        result = check()
        if result or time.monotonic() - t0 > timeout:
            return result, time.monotonic() - t0
        time.sleep(step)


def listed(client) -> set[str]:
    return {v["id"] for v in client.get("/v1/voices").json()["data"]}


def fits(srv) -> float:
    with srv.client() as c:
        return value(scrape(c), "emotivoice_voice_fits_total", result="ok")


def store_errors(client) -> float:
    return sum(v for (name, _), v in scrape(client).items() if name == "emotivoice_voice_store_errors_total")


def test_both_replicas_report_the_shared_store(replicas):
    for srv in replicas:
        with srv.client() as c:
            body = c.get("/readyz").json()
        assert body["voice_store"] == {"backend": "redis", "status": "ok"}


def test_a_voice_enrolled_on_a_is_served_by_b_within_a_second(replicas, reference_wav, decode_audio):
    a, b = replicas
    with a.client() as ca, b.client() as cb:
        r = enroll(ca, "Shared Alice", reference_wav)
        assert r.status_code == 201, r.text
        # B's list reads its in-process catalog only: the change notice must have arrived
        ok, took = wait_for(lambda: "shared_alice" in listed(cb), 1.0)
        assert ok, f"B did not list the voice within 1 s ({took:.2f} s)"
        spoken = tts(cb, "shared_alice", emotion="happy")
        assert spoken.status_code == 200, spoken.text
        assert_speech(spoken.content, decode_audio)
        assert cb.get("/v1/voices/shared_alice").json()["created"] == r.json()["created"]


def test_a_voice_deleted_on_b_is_gone_on_a_within_a_second(replicas, reference_wav):
    a, b = replicas
    with a.client() as ca, b.client() as cb:
        assert enroll(ca, "Short Lived", reference_wav).status_code == 201
        assert wait_for(lambda: cb.get("/v1/voices/short_lived").status_code == 200, 1.0)[0]
        assert cb.delete("/v1/voices/short_lived").status_code == 204
        gone, took = wait_for(lambda: ca.get("/v1/voices/short_lived").status_code == 404, 1.0)
        assert gone, f"A still had the voice after {took:.2f} s"
        assert_error(tts(ca, "short_lived"), 404, "unknown_voice")


def test_eight_concurrent_uploads_across_both_replicas_fit_once(replicas, reference_wav):
    a, b = replicas
    fresh = with_gain(reference_wav, -2.0)
    before = fits(a) + fits(b)
    results = upload_at_once([b, a], "Crowd Voice", fresh)
    statuses = [getattr(r, "status_code", r) for r in results]
    assert all(s in (200, 201) for s in statuses), statuses
    assert {r.json()["id"] for r in results} == {"crowd_voice"}
    assert fits(a) + fits(b) == before + 1, "one fit for eight uploads on two replicas"


def test_a_redis_outage_keeps_voices_serving_and_enrollment_recovers(replicas, redis_server, reference_wav,
                                                                     decode_audio):
    a, b = replicas
    with a.client() as ca, b.client() as cb:
        assert enroll(ca, "Survivor", with_gain(reference_wav, -1.0)).status_code == 201
        assert wait_for(lambda: cb.get("/v1/voices/survivor").status_code == 200, 1.0)[0]
        errors_before = store_errors(ca)

        redis_server.kill()
        answers = []
        for client in (ca, cb):
            for voice in ("en_female_1", "survivor"):
                r = tts(client, voice)
                answers.append(r.status_code)
                assert r.status_code == 200, r.text
                assert_speech(r.content, decode_audio)
            speech = client.post("/v1/audio/speech", json={"model": "tts-1", "voice": "alloy", "input": TEXT})
            answers.append(speech.status_code)
            for refused in (enroll(client, "During Outage", reference_wav), client.delete("/v1/voices/survivor")):
                error = assert_error(refused, 503, "voice_store_unavailable")
                assert int(refused.headers["retry-after"]) >= 1 and "retry" in error["message"]
            assert client.get("/readyz").status_code == 200, "a store outage does not take the replica out"
            assert client.get("/readyz").json()["voice_store"]["status"] == "unavailable"
        assert set(answers) == {200}
        assert store_errors(ca) > errors_before

        redis_server.start()  # same port and directory: the AOF is replayed
        for client in (ca, cb):
            for voice_id in ("shared_alice", "crowd_voice", "survivor"):
                assert client.get(f"/v1/voices/{voice_id}").status_code == 200, voice_id
        again = enroll(ca, "After Outage", with_gain(reference_wav, -3.0))
        assert again.status_code == 201, again.text  # no server restart needed
        back, took = wait_for(lambda: "after_outage" in listed(cb), 10.0, step=0.05)
        assert back, "B's subscription reconnected"
        assert cb.get("/readyz").json()["voice_store"]["status"] == "ok"


def test_a_replica_killed_mid_fit_does_not_block_the_audio(replicas, redis_server, reference_wav):
    import redis

    a, b = replicas
    fresh = with_gain(reference_wav, -5.0)
    store = redis.Redis.from_url(redis_server.url)

    def enroll_on_a() -> None:
        try:
            with a.client() as c:
                enroll(c, "Orphan", fresh)
        except httpx.HTTPError:
            pass  # A dies under this request

    threading.Thread(target=enroll_on_a, daemon=True).start()
    locked, _ = wait_for(lambda: store.keys("emotivoice:lock:*"), 30.0, step=0.02)
    assert locked, "A started the fit"
    a.proc.kill()  # SIGKILL mid-fit: the lock is never released, only expires
    a.proc.wait(10)
    before = fits(b)
    t0 = time.monotonic()
    with b.client() as cb:
        r = enroll(cb, "Adopted", fresh)
    assert r.status_code == 201, r.text
    assert fits(b) == before + 1, "B fitted the audio itself"
    assert time.monotonic() - t0 < LOCK_TTL_S + 30, "waited for the lock's expiry, not forever"
