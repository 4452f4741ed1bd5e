"""Abuse limits on a real server (issue 22, item 4): a token bucket per API key, headers and slow bodies
cut off with JSON errors, a cap on concurrent enrollments per key, and the request id in every error body."""
from __future__ import annotations

import io
import json
import socket
import time

import httpx
import pytest
import soundfile as sf

from tests.helpers.prometheus_samples import scrape, value

KEYS = ("flood:key-flood", "calm:key-calm", "misc:key-misc")


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="module")
def guarded(start_server):
    srv = start_server("--workers", "2", "--api-keys", ",".join(KEYS), "--rate-limit", "2/s",
                       "--rate-limit-burst", "4", "--max-header-bytes", "8192", "--body-timeout", "1",
                       "--max-enrollments-per-key", "1", "--enroll-wait", "0")
    srv.wait_port()
    srv.wait_ready()
    return srv


def test_one_key_flooding_gets_429_with_retry_after_and_another_key_is_not_affected(guarded):
    with guarded.client() as c:
        statuses = [c.get("/v1/emotions", headers=auth("key-flood")) for _ in range(8)]
        limited = [r for r in statuses if r.status_code == 429]
        assert [r.status_code for r in statuses[:4]] == [200] * 4 and limited, [r.status_code for r in statuses]
        error = limited[0].json()["error"]
        assert error["code"] == "rate_limited" and "2/1s" in error["message"]
        assert int(limited[0].headers["retry-after"]) >= 1
        assert error["request_id"] == limited[0].headers["x-request-id"]
        assert c.get("/v1/emotions", headers=auth("key-calm")).status_code == 200
        assert c.get("/readyz").status_code == 200  # probes are never rate limited
        metrics = scrape(c)
        time.sleep(1.1)  # the bucket refills at the rate
        assert c.get("/v1/emotions", headers=auth("key-flood")).status_code == 200
    assert value(metrics, "emotivoice_rejected_requests_total", reason="rate_limited") >= len(limited)


def test_oversized_headers_get_431_in_json_and_huge_ones_are_refused_by_the_parser(guarded):
    with guarded.client() as c:
        r = c.get("/v1/emotions", headers={**auth("key-misc"), "X-Padding": "x" * 10_000})
        assert r.status_code == 431 and r.json()["error"]["code"] == "headers_too_large"
        assert r.json()["error"]["request_id"] == r.headers["x-request-id"]
    try:  # a head still incomplete past twice the limit is refused by the parser (400 or a dropped connection)
        with guarded.client(timeout=10) as c:
            huge = c.get("/v1/emotions", headers={**auth("key-misc"), "X-Padding": "x" * 40_000})
        assert huge.status_code in (400, 431)
    except httpx.TransportError:
        pass
    with guarded.client() as c:
        assert c.get("/v1/emotions", headers=auth("key-misc")).status_code == 200


def test_a_slow_body_is_cut_off_with_408_and_the_connection_closed(guarded):
    with socket.create_connection(("127.0.0.1", guarded.port), timeout=10) as s:
        s.sendall(b"POST /v1/tts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer key-misc\r\n"
                  b"Content-Type: application/json\r\nContent-Length: 1000\r\nX-Request-Id: slow-1\r\n\r\n{\"te")
        t0 = time.monotonic()
        data = b""
        while chunk := s.recv(65536):
            data += chunk
        waited = time.monotonic() - t0
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), head
    assert b"connection: close" in head.lower()
    error = json.loads(body)["error"]
    assert error["code"] == "body_timeout" and error["request_id"] == "slow-1"
    assert waited < 5.0


def test_every_error_body_carries_the_request_id(guarded):
    with guarded.client() as c:
        for r in (c.get("/v1/nowhere", headers=auth("key-misc")),
                  c.post("/v1/tts", headers=auth("key-misc"), json={"text": "", "voice": "en_female_1"}),
                  c.get("/v1/emotions"),
                  c.post("/v1/tts", headers={**auth("key-misc"), "X-Request-Id": "mine-7"}, content=b"{")):
            assert r.status_code >= 400
            assert r.json()["error"]["request_id"] == r.headers["x-request-id"], r.text
        assert r.headers["x-request-id"] == "mine-7"


def test_one_key_may_have_only_so_many_enrollments_running(guarded, reference_wav):
    with guarded.client() as c:
        first = c.post("/v1/voices", headers=auth("key-misc"), files={"file": ("a.wav", reference_wav)},
                       data={"name": "capped one"})
        assert first.status_code == 202, first.text  # --enroll-wait 0: the fit goes on
        shifted = _shifted(reference_wav)
        second = c.post("/v1/voices", headers=auth("key-misc"), files={"file": ("b.wav", shifted)},
                        data={"name": "capped two"})
        assert second.status_code == 429, second.text
        assert second.json()["error"]["code"] == "too_many_enrollments"
        other = c.post("/v1/voices", headers=auth("key-calm"), files={"file": ("b.wav", shifted)},
                       data={"name": "other tenant"})
        assert other.status_code in (201, 202), other.text  # another key is not capped by this one
        deadline = time.monotonic() + 120
        while True:  # polled under the server's 2/s rate limit
            time.sleep(0.6)
            state = c.get("/v1/voices/capped_one", headers=auth("key-misc"))
            if state.status_code == 200 and state.json()["status"] != "pending":
                break
            assert time.monotonic() < deadline, state.text
        time.sleep(0.6)
        again = c.post("/v1/voices", headers=auth("key-misc"), files={"file": ("b.wav", shifted)},
                       data={"name": "capped two"})
        assert again.status_code in (201, 202), again.text


def _shifted(wav: bytes) -> bytes:
    """The same speech, slightly quieter: other audio (another fit), still a valid reference."""
    audio, sr = sf.read(io.BytesIO(wav), dtype="float32")
    buf = io.BytesIO()
    sf.write(buf, audio * 0.8, sr, format="WAV", subtype="PCM_16")
    return buf.getvalue()
