"""Every kind of bad request gets its documented 4xx and a JSON error body; the server stays healthy."""
from __future__ import annotations

import pytest

OK = {"text": "Hello.", "voice": "en_female_1"}

# (id, endpoint, body (dict -> JSON, bytes -> raw), status, code, words the message must contain)
CASES = [
    ("malformed_json", "/v1/tts", b'{"text": "hi", "voice": ', 400, "invalid_json", ["JSON"]),
    ("not_utf8", "/v1/tts", b'\xff\xfe{"text"', 400, "invalid_json", ["JSON"]),
    ("body_is_a_list", "/v1/tts", b'["hello"]', 422, "invalid_request", ["object"]),
    ("text_wrong_type", "/v1/tts", {"text": 42, "voice": "en_female_1"}, 422, "invalid_request", ["text", "string"]),
    ("speed_wrong_type", "/v1/tts", {**OK, "speed": "fast"}, 422, "invalid_request", ["speed", "number"]),
    ("stream_wrong_type", "/v1/tts", {**OK, "stream": "yes"}, 422, "invalid_request", ["stream", "boolean"]),
    ("missing_text", "/v1/tts", {"voice": "en_female_1"}, 422, "invalid_request", ["text", "required"]),
    ("missing_voice", "/v1/tts", {"text": "Hi."}, 422, "invalid_request", ["voice", "required"]),
    ("unknown_field", "/v1/tts", {**OK, "emtion": "happy"}, 422, "invalid_request", ["emtion", "emotion"]),
    ("empty_text", "/v1/tts", {**OK, "text": "   "}, 422, "text_empty", ["empty"]),
    ("one_megabyte_text", "/v1/tts", {**OK, "text": "a" * 1_000_000}, 413, "body_too_large", ["limit"]),
    ("text_over_char_limit", "/v1/tts", {**OK, "text": "word " * 4000}, 413, "text_too_long", ["10000"]),
    ("unknown_voice", "/v1/tts", {**OK, "voice": "darth"}, 404, "unknown_voice", ["en_female_1", "en_male_1"]),
    ("unknown_emotion", "/v1/tts", {**OK, "emotion": "smug"}, 422, "unknown_emotion", ["happy", "sad"]),
    ("emotion_and_mix", "/v1/tts", {**OK, "emotion": "happy", "emotion_mix": {"sad": 1}}, 422, "invalid_request",
     ["either"]),
    ("speed_too_high", "/v1/tts", {**OK, "speed": 5}, 422, "speed_out_of_range", ["0.5", "2.0"]),
    ("speed_too_low", "/v1/tts", {**OK, "speed": 0.1}, 422, "speed_out_of_range", ["0.5"]),
    ("intensity_out_of_range", "/v1/tts", {**OK, "emotion": "happy", "intensity": 2}, 422,
     "intensity_out_of_range", ["[0, 1]"]),
    ("pitch_out_of_range", "/v1/tts", {**OK, "pitch": 40}, 422, "pitch_out_of_range", ["semitones"]),
    ("bad_format", "/v1/tts", {**OK, "format": "aiff"}, 422, "unknown_format", ["wav", "mp3"]),
    ("bad_sample_rate", "/v1/tts", {**OK, "sample_rate": 12345}, 422, "unsupported_sample_rate", ["16000"]),
    ("openai_missing_input", "/v1/audio/speech", {"model": "tts-1", "voice": "alloy"}, 422, "invalid_request",
     ["input"]),
    ("openai_unknown_model", "/v1/audio/speech", {"model": "whisper-1", "voice": "alloy", "input": "x"}, 422,
     "model_not_found", ["tts-1"]),
    ("openai_sse", "/v1/audio/speech", {"voice": "alloy", "input": "x", "stream_format": "sse"}, 422,
     "unsupported_stream_format", ["audio"]),
]


@pytest.mark.parametrize("name, path, body, status, code, words", CASES, ids=[c[0] for c in CASES])
def test_bad_request_gets_documented_error(client, name, path, body, status, code, words):
    if isinstance(body, bytes):
        r = client.post(path, content=body, headers={"content-type": "application/json"})
    else:
        r = client.post(path, json=body)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json"
    error = r.json()["error"]
    assert error["code"] == code
    for word in words:
        assert word in error["message"], (word, error["message"])
    assert client.get("/readyz").status_code == 200, "the server stays healthy"


def test_server_still_synthesizes_after_the_bad_inputs(client):
    assert client.post("/v1/tts", json=OK).status_code == 200
