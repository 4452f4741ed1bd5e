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
    ("openai_aac", "/v1/audio/speech", {"voice": "alloy", "input": "x", "response_format": "aac"}, 422,
     "unknown_format", ["aac", "mp3", "wav"]),
    # bodies a parser can choke on: each is a 4xx that says what is wrong, never a 500
    ("nested_100000_levels", "/v1/tts", b'{"text": "hi", "voice": "en_female_1", "x": ' + b"[" * 100_000
     + b"]" * 100_000 + b"}", 400, "invalid_json", ["nested", "32"]),
    ("nested_40_levels_in_a_mix", "/v1/tts", b'{"text": "hi", "voice": "en_female_1", "emotion_mix": '
     + b'{"happy": ' * 40 + b"1" + b"}" * 41, 400, "invalid_json", ["nested", "32"]),
    ("speed_nan", "/v1/tts", b'{"text": "hi", "voice": "en_female_1", "speed": NaN}', 422, "invalid_request",
     ["speed", "finite", "0.5", "2.0", "NaN"]),
    ("pitch_infinity", "/v1/tts", b'{"text": "hi", "voice": "en_female_1", "pitch": -Infinity}', 422,
     "invalid_request", ["pitch", "semitones"]),
    ("mix_weight_nan", "/v1/tts", b'{"text": "hi", "voice": "en_female_1", "emotion_mix": {"happy": NaN}}', 422,
     "invalid_request", ["emotion_mix", "happy"]),
    ("duplicate_key", "/v1/tts", b'{"text": "hi", "voice": "en_female_1", "voice": "en_male_1"}', 400,
     "invalid_json", ["voice", "once"]),
    ("utf8_bom", "/v1/tts", b'\xef\xbb\xbf{"text": "hi", "voice": "en_female_1"}', 400, "invalid_json",
     ["byte-order mark"]),
    ("utf16", "/v1/tts", '{"text": "hi", "voice": "en_female_1"}'.encode("utf-16"), 400, "invalid_json",
     ["UTF-8"]),
    ("lone_surrogate", "/v1/tts", b'{"text": "hi \\ud800", "voice": "en_female_1"}', 400, "invalid_json",
     ["surrogate"]),
    ("top_level_string", "/v1/audio/speech", b'"hello"', 422, "invalid_request", ["object", "string"]),
    ("integer_as_text", "/v1/tts", {**OK, "sample_rate": "24000"}, 422, "invalid_request", ["sample_rate"]),
    ("unknown_emotion_in_mix", "/v1/tts", {**OK, "emotion_mix": {"smug": 1}}, 422, "unknown_emotion", ["smug", "happy"]),
    ("only_punctuation", "/v1/tts", {**OK, "text": "?!"}, 422, "text_empty", ["A-Z"]),
    ("opus_at_22050", "/v1/tts", {**OK, "format": "opus", "sample_rate": 22050}, 422, "unsupported_sample_rate",
     ["48000"]),
    ("emotion_level_and_intensity", "/v1/tts", {**OK, "emotion": "happy:0.5", "intensity": 0.2}, 422,
     "invalid_request", ["either"]),
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


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"])
@pytest.mark.parametrize("path", ["/v1/tts", "/v1/audio/speech"])
def test_a_body_declared_as_another_media_type_is_415(client, path, content_type):
    body = b'{"text": "Hello.", "input": "Hello.", "voice": "en_female_1"}'
    r = client.post(path, content=body, headers={"content-type": content_type})
    assert r.status_code == 415, r.text
    error = r.json()["error"]
    assert error["code"] == "unsupported_media_type"
    assert content_type in error["message"] and "application/json" in error["message"]


def test_a_json_body_without_content_type_is_still_read(client):
    r = client.post("/v1/tts", content=b'{"text": "Hi.", "voice": "en_female_1", "format": "pcm"}')
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("method, path, allow", [
    ("PUT", "/v1/tts", "POST"),
    ("GET", "/v1/audio/speech", "POST"),
    ("PATCH", "/v1/voices", "GET, HEAD, POST"),
    ("TRACE", "/v1/voices/en_female_1", "DELETE, GET, HEAD"),
    ("POST", "/readyz", "GET, HEAD"),
])
def test_a_method_the_path_does_not_take_is_405_with_allow(client, method, path, allow):
    """RFC 9110: a 405 lists, in Allow, every method the path takes (across all of its routes)."""
    r = client.request(method, path)
    assert r.status_code == 405
    assert r.headers["allow"] == allow
    assert r.json()["error"]["code"] == "method_not_allowed"


def test_server_still_synthesizes_after_the_bad_inputs(client):
    assert client.post("/v1/tts", json=OK).status_code == 200


@pytest.mark.parametrize("value", [b"\xb2", b"0", b"-5", b"1.5", b"soon"])
def test_a_malformed_latency_budget_header_is_422_naming_it(client, value):
    """'\xb2' (superscript two) passes str.isdigit() but is no integer: once a 500, now a 422."""
    r = client.post("/v1/tts", json=OK, headers={"X-Latency-Budget-Ms": value})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "invalid_request" and "X-Latency-Budget-Ms" in r.json()["error"]["message"]
