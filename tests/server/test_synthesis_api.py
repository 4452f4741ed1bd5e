"""POST /v1/tts and POST /v1/audio/speech against the real server and graphs."""
from __future__ import annotations

import time

import numpy as np
import pytest

from emotivoice_srv.quality import median_f0_hz

SHORT = "Testing the server, one two three."
PARAGRAPH = ("The first sentence is short. The second sentence carries on a little longer than the first one. "
             "And the third sentence closes this paragraph.")


@pytest.mark.parametrize("fmt, mime", [("wav", "audio/wav"), ("flac", "audio/flac"), ("ogg", "audio/ogg"),
                                       ("opus", "audio/ogg"), ("mp3", "audio/mpeg"), ("pcm", "audio/pcm")])
def test_every_format_round_trips_with_its_duration_and_rate(client, fmt, mime, decode_audio):
    r = client.post("/v1/tts", json={"text": SHORT, "voice": "en_female_1", "format": fmt})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith(mime)
    assert r.headers["x-model-tier"] == "main"
    audio, sr = decode_audio(r.content, fmt)
    assert sr == 24000
    declared = float(r.headers["x-audio-duration"])
    assert declared > 1.0
    # lossy codecs add a few ms of priming/padding; the duration must otherwise match
    assert abs(len(audio) / sr - declared) < 0.1
    assert np.abs(audio).max() > 0.05, "audible speech, not silence"


@pytest.mark.parametrize("rate", [16000, 48000])
def test_sample_rate_is_resampled_on_request(client, rate, decode_audio):
    native = client.post("/v1/tts", json={"text": SHORT, "voice": "en_female_1"})
    r = client.post("/v1/tts", json={"text": SHORT, "voice": "en_female_1", "sample_rate": rate})
    assert r.status_code == 200, r.text
    audio, sr = decode_audio(r.content, "wav")
    assert sr == rate
    assert abs(len(audio) / sr - float(native.headers["x-audio-duration"])) < 0.01


def test_request_id_is_echoed_or_generated(client):
    r = client.post("/v1/tts", json={"text": "Hi.", "voice": "en_male_1"}, headers={"X-Request-Id": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    r = client.post("/v1/tts", json={"text": "Hi.", "voice": "en_male_1"}, headers={"X-Request-Id": "bad id\x01"})
    assert len(r.headers["x-request-id"]) == 32


def test_pitch_and_emotion_controls_reach_the_audio(client, decode_audio):
    def f0(**extra):
        r = client.post("/v1/tts", json={"text": SHORT, "voice": "en_female_1", **extra})
        assert r.status_code == 200, r.text
        audio, sr = decode_audio(r.content, "wav")
        return median_f0_hz(audio, sr)

    assert f0(pitch=4.0) > f0(pitch=-4.0) * 1.3
    mix = client.post("/v1/tts", json={"text": SHORT, "voice": "en_female_1",
                                       "emotion_mix": {"happy": 0.7, "surprised": 0.3}, "intensity": 0.8})
    assert mix.status_code == 200, mix.text
    prompt = client.post("/v1/tts", json={"text": SHORT, "voice": "en_female_1", "prompt": "very sad"})
    assert prompt.status_code == 200, prompt.text
    assert float(prompt.headers["x-audio-duration"]) > float(mix.headers["x-audio-duration"]), \
        "sad speech is slower than happy/surprised speech"


def _timed_stream(client, payload: dict) -> tuple[bytes, float, float]:
    t0 = time.perf_counter()
    first, data = None, bytearray()
    with client.stream("POST", "/v1/tts", json=payload) as r:
        assert r.status_code == 200
        assert r.headers.get("transfer-encoding") == "chunked"
        for chunk in r.iter_bytes():
            if first is None and chunk:
                first = time.perf_counter() - t0
            data += chunk
    return bytes(data), first, time.perf_counter() - t0


def test_streaming_sends_the_first_sentence_before_the_rest_is_computed(client, decode_audio):
    payload = {"text": PARAGRAPH, "voice": "en_female_1"}
    whole = client.post("/v1/tts", json=payload)
    data, first, total = _timed_stream(client, {**payload, "stream": True})
    assert data[:4] == b"RIFF", "the WAV header comes first"
    streamed, sr = decode_audio(data, "wav")
    expected, _ = decode_audio(whole.content, "wav")
    np.testing.assert_array_equal(streamed, expected)  # same samples, only delivered earlier
    assert first < 0.6 * total, f"first chunk after {first:.2f} s of {total:.2f} s"


def test_streaming_raw_pcm_has_no_header(client):
    data, _, _ = _timed_stream(client, {"text": "One. Two.", "voice": "en_male_1", "stream": True, "format": "pcm"})
    assert data[:4] != b"RIFF" and len(data) % 2 == 0 and len(data) > 24000


def test_streaming_a_whole_file_format_is_refused_before_synthesis(client):
    r = client.post("/v1/tts", json={"text": "Hi.", "voice": "en_male_1", "stream": True, "format": "mp3"})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "unsupported_stream_format"


def test_streaming_validation_errors_are_json_not_a_broken_stream(client):
    r = client.post("/v1/tts", json={"text": "Hi.", "voice": "nobody", "stream": True})
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_voice"


# -- OpenAI compatibility -------------------------------------------------------------------------
@pytest.fixture
def openai_client(server):
    from openai import OpenAI

    return OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0)


def test_official_openai_client_gets_audio(openai_client, decode_audio):
    resp = openai_client.audio.speech.create(model="tts-1", voice="alloy", input="Hello from an OpenAI client.",
                                             response_format="wav")
    audio, sr = decode_audio(resp.content, "wav")
    assert sr == 24000 and len(audio) / sr > 1.0


def test_openai_default_format_is_mp3(openai_client, decode_audio):
    resp = openai_client.audio.speech.create(model="gpt-4o-mini-tts", voice="onyx", input="Default format.")
    assert resp.response.headers["content-type"] == "audio/mpeg"
    audio, _ = decode_audio(resp.content, "mp3")
    assert len(audio) > 12000


def test_openai_instructions_and_emotion_extension(openai_client, decode_audio):
    sad = openai_client.audio.speech.create(model="tts-1", voice="en_female_1", input=SHORT, response_format="wav",
                                            instructions="Speak very sadly.")
    happy = openai_client.audio.speech.create(model="tts-1", voice="en_female_1", input=SHORT, response_format="wav",
                                              extra_body={"emotion": "happy"})
    a_sad, sr = decode_audio(sad.content, "wav")
    a_happy, _ = decode_audio(happy.content, "wav")
    assert median_f0_hz(a_happy, sr) > median_f0_hz(a_sad, sr)


def test_openai_streaming_response(openai_client, decode_audio):
    with openai_client.audio.speech.with_streaming_response.create(
            model="tts-1", voice="nova", input="Streaming through the OpenAI client.", response_format="pcm") as resp:
        data = b"".join(resp.iter_bytes())
    audio, _ = decode_audio(data, "pcm")
    assert len(audio) > 24000


def test_openai_unsupported_format_names_the_supported_ones(client):
    r = client.post("/v1/audio/speech", json={"model": "tts-1", "voice": "alloy", "input": "x", "response_format": "aac"})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "unknown_format" and "opus" in r.json()["error"]["message"]


# -- catalogue endpoints -----------------------------------------------------------------------------
def test_voices_list_and_lookup(client):
    voices = {v["id"]: v for v in client.get("/v1/voices").json()["data"]}
    assert {"en_female_1", "en_male_1"} <= set(voices)
    assert "alloy" in voices["en_female_1"]["aliases"] and "onyx" in voices["en_male_1"]["aliases"]
    one = client.get("/v1/voices/en_male_1")
    assert one.status_code == 200 and one.json()["gender"] == "male"
    missing = client.get("/v1/voices/nobody")
    assert missing.status_code == 404 and "en_female_1" in missing.json()["error"]["message"]


def test_emotions_list(client):
    names = [e["name"] for e in client.get("/v1/emotions").json()["data"]]
    assert names == ["neutral", "happy", "sad", "angry", "surprised", "fearful", "disgusted"]


def test_models_report_bundle_precision_provider_and_tier_state(client):
    body = client.get("/v1/models").json()
    main = body["data"][0]
    assert main["id"] == "kokoro-82m" and main["precision"] == "int8"
    assert main["provider"] == "CPUExecutionProvider" and main["state"] == "ready"
    assert {m["id"] for m in body["data"]} >= {"tts-1", "tts-1-hd"}
    assert body["tiers"][0]["role"] == "main"


def test_openapi_describes_every_route(client, server):
    doc = client.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    for path in ("/v1/tts", "/v1/audio/speech", "/v1/voices", "/v1/voices/{voice_id}", "/v1/emotions",
                 "/v1/models", "/v1/audio/voices", "/v1/audio/models", "/livez", "/readyz", "/startupz", "/metrics",
                 "/openapi.json"):
        assert path in doc["paths"], path
    tts = doc["components"]["schemas"]["TtsRequest"]
    assert set(tts["required"]) == {"text", "voice"}
    assert tts["properties"]["format"]["enum"] == ["wav", "flac", "ogg", "opus", "mp3", "pcm", None]
    assert tts["properties"]["speed"]["minimum"] == 0.5


def test_unknown_route_and_method_are_json_errors(client):
    r = client.get("/v2/nothing")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = client.get("/v1/tts")
    assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"


def test_access_log_is_json_with_request_fields(client, server):
    import json

    client.post("/v1/tts", json={"text": "Logged.", "voice": "en_male_1", "emotion": "angry"},
                headers={"X-Request-Id": "log-check-1"})
    time.sleep(0.1)
    lines = [json.loads(line) for line in server.log().splitlines() if '"log-check-1"' in line]
    assert lines, server.log()[-2000:]
    entry = lines[-1]
    for key in ("voice", "emotion", "text_chars", "audio_s", "latency_s", "tier", "status", "route"):
        assert key in entry, key
    assert entry["voice"] == "en_male_1" and entry["emotion"] == "angry" and entry["tier"] == "main"
