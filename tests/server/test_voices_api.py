"""Voice cloning over HTTP: enroll (POST /v1/voices), list, look up, synthesize with, delete; the fit
cache, idempotent re-uploads and name conflicts, pending enrollments, single-flight fits, inline
cloning on /v1/tts, and enrolled voices surviving a restart."""
from __future__ import annotations

import io
import threading
import time

import numpy as np
import pytest
import soundfile as sf
from prometheus_samples import scrape, value

FAST_FIT = ("--fit-evaluations", "0")
"""One candidate per fit (about 2 s on a 2-core CPU): enough to exercise every path."""
SERVER_ARGS = ("--workers", "2", "--no-warmup", *FAST_FIT)
TEXT = "Hello from a cloned voice."


# -- fixtures and helpers --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def clone_server(start_server):
    srv = start_server(*SERVER_ARGS)
    srv.wait_port()
    srv.wait_ready()
    return srv


@pytest.fixture
def vc(clone_server):
    with clone_server.client() as c:
        yield c


def with_gain(wav: bytes, db: float) -> bytes:
    """The same recording at another level: a different upload (and fit) after 16-bit quantization."""
    audio, rate = sf.read(io.BytesIO(wav), dtype="float32")
    buf = io.BytesIO()
    sf.write(buf, audio * 10 ** (db / 20), rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def as_flac(wav: bytes) -> bytes:
    """Identical 16-bit samples in a FLAC container."""
    pcm, rate = sf.read(io.BytesIO(wav), dtype="int16")
    buf = io.BytesIO()
    sf.write(buf, pcm, rate, format="FLAC", subtype="PCM_16")
    return buf.getvalue()


def one_second(wav: bytes) -> bytes:
    audio, rate = sf.read(io.BytesIO(wav), dtype="float32")
    buf = io.BytesIO()
    sf.write(buf, audio[:rate], rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def enroll(client, name: str, audio: bytes, filename: str = "ref.wav", **fields):
    return client.post("/v1/voices", data={"name": name, **fields}, files={"file": (filename, audio, "audio/wav")})


def assert_error(r, status: int, code: str) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "request_id"}, body
    assert body["error"]["request_id"] == r.headers["x-request-id"]
    assert body["error"]["code"] == code, body
    return body["error"]


def fits_ok(samples) -> float:
    return value(samples, "emotivoice_voice_fits_total", result="ok")


def fit_cache(samples, result: str) -> float:
    return value(samples, "emotivoice_cache_requests_total", cache="voice_fit", result=result)


def assert_speech(body: bytes, decode_audio, fmt: str = "wav") -> np.ndarray:
    audio, sr = decode_audio(body, fmt)
    assert sr == 24000
    assert audio.size / sr > 0.8, "a sentence of audio"
    assert np.all(np.isfinite(audio)) and np.abs(audio).max() > 0.05, "audible speech, not silence"
    return audio


def tts(client, voice: str, **extra):
    return client.post("/v1/tts", json={"text": TEXT, "voice": voice, **extra})


def delete_quietly(client, *voice_ids: str) -> None:
    for voice_id in voice_ids:
        client.delete(f"/v1/voices/{voice_id}")


# -- the life of an enrolled voice ------------------------------------------------------------------
def test_enroll_list_use_and_delete(vc, reference_wav, decode_audio):
    r = enroll(vc, "Test Alice", reference_wav, description="a cloned test voice")
    assert r.status_code == 201, r.text
    voice = r.json()
    assert voice["id"] == "test_alice" and voice["name"] == "Test Alice"
    assert voice["status"] == "ready" and voice["kind"] == "enrolled" and voice["object"] == "voice"
    assert voice["description"] == "a cloned test voice"
    assert voice["created"].endswith("Z") and voice["gender"] in ("male", "female")
    assert 7.0 < voice["speech_s"] < 9.0
    assert r.headers["location"] == "/v1/voices/test_alice"
    try:
        listed = {v["id"]: v for v in vc.get("/v1/voices").json()["data"]}
        assert listed["test_alice"]["kind"] == "enrolled" and listed["test_alice"]["status"] == "ready"
        assert listed["en_male_1"]["kind"] == "builtin" and listed["en_female_1"]["kind"] == "builtin"
        one = vc.get("/v1/voices/test_alice")
        assert one.status_code == 200
        assert {k: one.json()[k] for k in ("id", "name", "created", "kind", "status")} == \
            {k: voice[k] for k in ("id", "name", "created", "kind", "status")}

        happy = tts(vc, "test_alice", emotion="happy")
        sad = tts(vc, "test_alice", emotion="sad")
        for r in (happy, sad):
            assert r.status_code == 200, r.text
            assert r.headers["content-type"].startswith("audio/wav")
            assert_speech(r.content, decode_audio)
        assert happy.content != sad.content, "the emotion reaches the cloned voice"

        openai = vc.post("/v1/audio/speech", json={"model": "tts-1", "voice": "test_alice", "input": TEXT,
                                                   "response_format": "flac"})
        assert openai.status_code == 200, openai.text
        assert_speech(openai.content, decode_audio, "flac")
    finally:
        deleted = vc.delete("/v1/voices/test_alice")
    assert deleted.status_code == 204 and deleted.content == b""
    assert_error(vc.get("/v1/voices/test_alice"), 404, "unknown_voice")
    assert_error(tts(vc, "test_alice"), 404, "unknown_voice")
    assert "test_alice" not in {v["id"] for v in vc.get("/v1/voices").json()["data"]}
    assert_error(vc.delete("/v1/voices/test_alice"), 404, "unknown_voice")


def test_builtin_voice_cannot_be_deleted(vc):
    error = assert_error(vc.delete("/v1/voices/en_male_1"), 409, "voice_builtin")
    assert "built-in" in error["message"]
    assert vc.get("/v1/voices/en_male_1").status_code == 200


def test_enrolled_voices_gauge(vc, reference_wav):
    before = value(scrape(vc), "emotivoice_enrolled_voices")
    assert enroll(vc, "Gauge Voice", reference_wav).status_code in (200, 201)
    try:
        assert value(scrape(vc), "emotivoice_enrolled_voices") == before + 1
    finally:
        delete_quietly(vc, "gauge_voice")
    assert value(scrape(vc), "emotivoice_enrolled_voices") == before


# -- the fit cache -----------------------------------------------------------------------------------
def test_same_audio_under_a_new_name_is_a_cache_hit(vc, reference_wav):
    assert enroll(vc, "Cache Original", reference_wav).status_code == 201  # fitted now or earlier
    try:
        before = scrape(vc)
        t0 = time.perf_counter()
        r = enroll(vc, "Cache Copy", reference_wav)
        elapsed = time.perf_counter() - t0
        assert r.status_code == 201, r.text
        assert r.json()["id"] == "cache_copy" and r.json()["status"] == "ready"
        flac = enroll(vc, "Cache Flac", as_flac(reference_wav), filename="ref.flac")
        assert flac.status_code == 201, flac.text
        after = scrape(vc)
        assert fits_ok(after) == fits_ok(before), "no model work for audio already fitted"
        assert fit_cache(after, "hit") == fit_cache(before, "hit") + 2, "WAV and FLAC copies both hit"
        assert fit_cache(after, "miss") == fit_cache(before, "miss")
        assert elapsed < 1.5, f"a cache hit took {elapsed:.2f} s"
        original = vc.get("/v1/voices/cache_original").json()
        for copy in (r.json(), flac.json()):
            assert copy["similarity"] == original["similarity"] and copy["gender"] == original["gender"]
    finally:
        delete_quietly(vc, "cache_original", "cache_copy", "cache_flac")


# -- idempotency and conflicts -------------------------------------------------------------------------
def test_same_name_same_audio_is_idempotent_other_audio_conflicts(vc, reference_wav):
    first = enroll(vc, "Idem Voice", reference_wav)
    assert first.status_code == 201, first.text
    try:
        before = scrape(vc)
        again = enroll(vc, "Idem Voice", reference_wav)
        assert again.status_code == 200, again.text
        assert again.json()["id"] == "idem_voice" and again.json()["created"] == first.json()["created"]
        assert enroll(vc, "IDEM voice", as_flac(reference_wav), filename="ref.flac").status_code == 200, \
            "the same name slug and the same samples in another container"

        error = assert_error(enroll(vc, "Idem Voice", with_gain(reference_wav, -6.0)), 409, "voice_exists")
        assert "idem_voice" in error["message"]
        assert fits_ok(scrape(vc)) == fits_ok(before), "a conflict is found before any fit"
        assert vc.get("/v1/voices/idem_voice").json()["created"] == first.json()["created"], "untouched"
    finally:
        delete_quietly(vc, "idem_voice")


@pytest.mark.parametrize("name", ["en_male_1", "EN Male 1"])
def test_builtin_id_as_a_name_conflicts(vc, reference_wav, name):
    error = assert_error(enroll(vc, name, reference_wav), 409, "voice_exists")
    assert "built-in" in error["message"]
    assert vc.get("/v1/voices/en_male_1").json()["kind"] == "builtin"


def upload_at_once(servers, name: str, audio: bytes, uploads: int = 8) -> list:
    """``uploads`` enrollments of the same audio released together, spread round-robin over ``servers``;
    each slot holds the response or the exception it raised."""
    barrier = threading.Barrier(uploads)
    results: list = [None] * uploads

    def upload(i: int) -> None:
        with servers[i % len(servers)].client() as c:
            barrier.wait()
            try:
                results[i] = enroll(c, name, audio)
            except Exception as exc:  # reported by the caller, with the others
                results[i] = exc

    threads = [threading.Thread(target=upload, args=(i,)) for i in range(uploads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


# -- single-flight -----------------------------------------------------------------------------------
def test_concurrent_uploads_of_new_audio_share_one_fit(vc, clone_server, reference_wav):
    fresh = with_gain(reference_wav, -2.0)  # never uploaded before: not in the cache
    before = scrape(vc)
    results = upload_at_once([clone_server], "Crowd Voice", fresh)
    try:
        statuses = [getattr(r, "status_code", r) for r in results]
        assert all(s in (200, 201) for s in statuses), statuses
        assert {r.json()["id"] for r in results} == {"crowd_voice"}
        assert {r.json()["created"] for r in results} == {results[0].json()["created"]}
        assert 201 in statuses
        after = scrape(vc)
        assert fits_ok(after) == fits_ok(before) + 1, "one fit for eight uploads"
        assert value(after, "emotivoice_voice_fits_total", result="failed") == \
            value(before, "emotivoice_voice_fits_total", result="failed")
    finally:
        delete_quietly(vc, "crowd_voice")


# -- inline cloning on /v1/tts -------------------------------------------------------------------------
def inline(client, audio: bytes, **fields):
    form = {"text": TEXT, **{k: str(v) for k, v in fields.items()}}
    return client.post("/v1/tts", data=form, files={"reference_audio": ("ref.wav", audio, "audio/wav")})


def test_inline_reference_audio_on_tts(vc, reference_wav, decode_audio):
    fresh = with_gain(reference_wav, -4.0)
    before = scrape(vc)
    r = inline(vc, fresh, emotion="happy", format="wav", speed=1.1)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("audio/wav")
    assert_speech(r.content, decode_audio)
    mid = scrape(vc)
    assert fits_ok(mid) == fits_ok(before) + 1
    again = inline(vc, fresh, emotion="sad", format="flac")
    assert again.status_code == 200, again.text
    assert_speech(again.content, decode_audio, "flac")
    after = scrape(vc)
    assert fits_ok(after) == fits_ok(mid) and fit_cache(after, "hit") == fit_cache(mid, "hit") + 1
    listed = {v["id"] for v in vc.get("/v1/voices").json()["data"]}
    assert not any(v.startswith("ref_") for v in listed), "an inline reference enrolls nothing"


def test_inline_reference_with_a_voice_too_is_422(vc, reference_wav):
    error = assert_error(inline(vc, reference_wav, voice="en_male_1"), 422, "invalid_request")
    assert "voice" in error["message"] and "reference_audio" in error["message"]


@pytest.mark.parametrize("audio, fields, status, code", [
    ("short", {}, 422, "audio_too_short"),
    ("text", {}, 422, "audio_unreadable"),
    ("ok", {"emotion": "smug"}, 422, "unknown_emotion"),
    ("ok", {"speed": "fast"}, 422, "invalid_request"),
], ids=["one_second_reference", "text_as_reference", "bad_emotion", "speed_not_a_number"])
def test_inline_bad_reference_or_fields(vc, reference_wav, audio, fields, status, code):
    data = {"short": one_second(reference_wav), "text": b"not audio at all\n" * 40, "ok": reference_wav}[audio]
    assert_error(inline(vc, data, **fields), status, code)
    assert vc.get("/livez").status_code == 200


def test_inline_form_without_reference_audio(vc):
    r = vc.post("/v1/tts", data={"text": TEXT, "voice": "en_male_1"}, files={"other": ("x.wav", b"RIFF")})
    assert_error(r, 422, "invalid_request")
    r = vc.post("/v1/tts", content=b"--b\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nHi.\r\n--b--\r\n",
                headers={"content-type": "multipart/form-data; boundary=b"})
    assert_error(r, 400, "missing_file")


# -- pending enrollments, then a restart on the same cache directory ----------------------------------
@pytest.fixture(scope="module")
def first_server(start_server, tmp_path_factory):
    """Answers POST /v1/voices at once (202) and keeps its voices and fits in a known directory, so
    the restart test can start a second process on them. The pending test runs first and leaves its
    voice for the restart test (which enrolls it itself when run alone)."""
    cache = tmp_path_factory.mktemp("restart-cache")
    srv = start_server(*SERVER_ARGS, "--enroll-wait", "0", "--cache-dir", str(cache))
    srv.wait_port()
    srv.wait_ready()
    return srv, cache


def wait_until_ready(client, location: str, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        state = client.get(location)
        assert state.status_code == 200, state.text
        if state.json()["status"] != "pending" or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert state.json()["status"] == "ready", state.json()
    return state.json()


def test_slow_enrollment_is_202_pending_then_ready(first_server, reference_wav, decode_audio):
    srv, _ = first_server
    with srv.client() as c:
        r = enroll(c, "Slow Voice", reference_wav)
        assert r.status_code == 202, r.text
        assert r.headers["location"] == "/v1/voices/slow_voice"
        job = r.json()
        assert job["id"] == "slow_voice" and job["status"] == "pending" and job["kind"] == "enrolled"
        assert job["name"] == "Slow Voice" and job["created"].endswith("Z")

        # the one-candidate fit takes seconds; these answers take milliseconds
        assert_error(tts(c, "slow_voice"), 409, "voice_pending")
        assert_error(c.post("/v1/audio/speech", json={"voice": "slow_voice", "input": TEXT}), 409, "voice_pending")
        assert_error(c.delete("/v1/voices/slow_voice"), 409, "voice_pending")
        listed = {v["id"]: v for v in c.get("/v1/voices").json()["data"]}
        assert listed["slow_voice"]["status"] in ("pending", "ready")
        joined = enroll(c, "Slow Voice", reference_wav)
        assert joined.status_code in (200, 202) and joined.json()["id"] == "slow_voice", joined.text
        other = enroll(c, "Slow Voice", with_gain(reference_wav, -6.0))
        assert other.status_code == 409, other.text  # voice_pending, or voice_exists if the fit just ended
        assert other.json()["error"]["code"] in ("voice_pending", "voice_exists")

        ready = wait_until_ready(c, r.headers["location"])
        assert ready["kind"] == "enrolled" and ready["name"] == "Slow Voice" and ready["created"] == job["created"]
        ok = tts(c, "slow_voice", emotion="surprised")
        assert ok.status_code == 200, ok.text
        assert_speech(ok.content, decode_audio)
        assert fits_ok(scrape(c)) == 1, "the joined upload did not fit again"


def test_enrolled_voice_and_its_fit_survive_a_restart(first_server, start_server, reference_wav, decode_audio):
    first, cache = first_server
    with first.client() as c:
        r = enroll(c, "Slow Voice", reference_wav)  # 200 when the pending test left it ready
        assert r.status_code in (200, 202), r.text
        created = wait_until_ready(c, "/v1/voices/slow_voice")["created"]
    assert first.stop() == 0
    assert (cache / "voices" / "slow_voice.json").is_file()

    second = start_server(*SERVER_ARGS, "--cache-dir", str(cache))
    second.wait_port()
    second.wait_ready()
    with second.client() as c:
        listed = {v["id"]: v for v in c.get("/v1/voices").json()["data"]}
        assert listed["slow_voice"]["kind"] == "enrolled" and listed["slow_voice"]["status"] == "ready"
        assert listed["slow_voice"]["created"] == created and listed["slow_voice"]["name"] == "Slow Voice"
        assert value(scrape(c), "emotivoice_enrolled_voices") == 1
        r = tts(c, "slow_voice")
        assert r.status_code == 200, r.text
        assert_speech(r.content, decode_audio)

        assert enroll(c, "Slow Voice", reference_wav).status_code == 200, "the saved voice, not a new one"
        copy = enroll(c, "Restart Copy", reference_wav)
        assert copy.status_code == 201, copy.text
        samples = scrape(c)
        assert fits_ok(samples) == 0, "the fit came from the on-disk cache"
        assert fit_cache(samples, "hit") == 1 and fit_cache(samples, "miss") == 0

        assert c.delete("/v1/voices/slow_voice").status_code == 204
        assert not (cache / "voices" / "slow_voice.json").exists(), "deleting removes the voice file"
    assert second.stop() == 0
