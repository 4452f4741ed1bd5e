"""Request bodies: the field tables validate /v1/tts and /v1/audio/speech and write their OpenAPI schema."""
from __future__ import annotations

import json
import math

import pytest

from emotivoice_srv.engine import SynthesisOptions
from emotivoice_srv.prosody.emotion import EMOTIONS
from emotivoice_srv.errors import InvalidInput, MalformedRequest
from emotivoice_srv.server.schemas import (
    Field,
    SynthesisRequest,
    object_schema,
    parse_json,
    parse_speech,
    parse_tts,
    speech_fields,
    tts_fields,
    validate,
)

FORMATS = ("wav", "flac", "ogg", "opus", "mp3", "pcm")
RATES = (8000, 16000, 22050, 24000, 44100, 48000)
NATIVE = 24000
TTS = tts_fields(FORMATS, RATES, NATIVE)
SPEECH = speech_fields(("kokoro-82m", "tts-1"))
ALIASES = {"alloy": "en_female_1"}

TTS_NAMES = ["text", "voice", "emotion", "intensity", "emotion_mix", "prompt", "speed", "pitch", "energy",
             "format", "sample_rate", "stream", "quality", "latency_budget_ms"]
SPEECH_NAMES = ["model", "input", "voice", "instructions", "response_format", "speed", "stream_format",
                "emotion", "intensity"]


def tts(**extra) -> dict:
    return {"text": "Hello there.", "voice": "en_female_1", **extra}


def speech(**extra) -> dict:
    return {"input": "Hello there.", "voice": "alloy", **extra}


def speak(body, formats=FORMATS, aliases=ALIASES) -> SynthesisRequest:
    return parse_speech(body, SPEECH, aliases, formats, NATIVE)


def invalid(fn, *args) -> InvalidInput:
    with pytest.raises(InvalidInput) as info:
        fn(*args)
    assert info.value.http_status == 422
    return info.value


# --- validate -----------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [[], ["text"], "text", 42, 1.5, True, None])
def test_validate_rejects_a_body_that_is_not_an_object(body):
    err = invalid(validate, body, TTS)
    assert err.code == "invalid_request"
    assert "object" in err.message


def test_validate_rejects_unknown_fields_by_name():
    """A typo is an error, not a silently ignored option."""
    err = invalid(validate, tts(speeed=1.2, colour="red"), TTS)
    assert err.code == "invalid_request"
    assert "'speeed'" in err.message and "'colour'" in err.message


@pytest.mark.parametrize("missing", ["text", "voice"])
def test_validate_rejects_a_missing_required_field(missing):
    body = tts()
    del body[missing]
    err = invalid(validate, body, TTS)
    assert err.code == "invalid_request"
    assert repr(missing) in err.message


def test_validate_treats_null_as_absent_for_required_fields():
    err = invalid(validate, tts(voice=None), TTS)
    assert "'voice'" in err.message


def test_validate_fills_in_every_default():
    out = validate(tts(), TTS)
    assert list(out) == TTS_NAMES
    assert out["text"] == "Hello there." and out["voice"] == "en_female_1"
    assert out["speed"] == 1.0 and out["pitch"] == 0.0 and out["energy"] == 0.0
    assert out["format"] == "wav"
    assert out["sample_rate"] == NATIVE
    assert out["stream"] is False
    assert out["emotion"] is None and out["emotion_mix"] is None and out["intensity"] is None


def test_validate_treats_null_as_absent_for_optional_fields():
    out = validate(tts(speed=None, format=None, sample_rate=None, stream=None, emotion=None), TTS)
    assert out["speed"] == 1.0
    assert out["format"] == "wav"
    assert out["sample_rate"] == NATIVE
    assert out["stream"] is False
    assert out["emotion"] is None


def test_validate_keeps_given_values():
    out = validate(tts(speed=1.25, pitch=-2, format="flac", sample_rate=48000, stream=True, emotion="happy:0.7",
                       emotion_mix=None), TTS)
    assert out["speed"] == 1.25 and out["pitch"] == -2
    assert out["format"] == "flac" and out["sample_rate"] == 48000 and out["stream"] is True
    assert out["emotion"] == "happy:0.7"


def test_validate_accepts_an_integer_where_a_number_is_expected():
    assert validate(tts(speed=1), TTS)["speed"] == 1


def test_validate_reads_a_whole_float_as_an_integer_as_json_schema_does():
    out = validate(tts(sample_rate=24000.0, latency_budget_ms=78.0), TTS)
    assert out["sample_rate"] == 24000 and isinstance(out["sample_rate"], int)
    assert out["latency_budget_ms"] == 78 and isinstance(out["latency_budget_ms"], int)


@pytest.mark.parametrize("name, value", [
    ("text", 5),
    ("text", ["Hello"]),
    ("voice", {"id": "en_female_1"}),
    ("speed", "fast"),
    ("speed", "1.0"),
    ("speed", True),             # bool is not a number in JSON
    ("speed", False),
    ("speed", float("nan")),     # json.loads accepts NaN / Infinity; the schema does not
    ("speed", float("inf")),
    ("pitch", float("-inf")),
    ("intensity", [0.5]),
    ("sample_rate", 24000.5),    # an integer field takes a whole float only (JSON Schema: 24000.0 is an integer)
    ("sample_rate", "24000"),
    ("sample_rate", True),
    ("stream", 1),
    ("stream", "true"),
    ("emotion_mix", "happy"),
    ("emotion_mix", [["happy", 0.7]]),
    ("emotion_mix", {"happy": True}),
    ("emotion_mix", {"happy": "lots"}),
    ("emotion", {"happy": 1.0}),
])
def test_validate_rejects_wrong_types(name, value):
    err = invalid(validate, tts(**{name: value}), TTS)
    assert err.code == "invalid_request"
    assert repr(name) in err.message


@pytest.mark.parametrize("name, value, code", [
    ("format", "aiff", "unknown_format"),
    ("format", "WAV", "unknown_format"),
    ("sample_rate", 11025, "unsupported_sample_rate"),
    ("sample_rate", 0, "unsupported_sample_rate"),
])
def test_validate_reports_an_enum_violation_with_the_fields_code(name, value, code):
    err = invalid(validate, tts(**{name: value}), TTS)
    assert err.code == code
    assert repr(value) in err.message


def test_validate_enum_error_lists_the_allowed_values():
    err = invalid(validate, tts(format="aiff"), TTS)
    for fmt in FORMATS:
        assert fmt in err.message


def test_validate_uses_a_custom_fields_code_and_default_code():
    fields = (Field("colour", "string", "A colour.", enum=("red", "green"), code="no_such_colour"),
              Field("shade", "string", "A shade.", enum=("light", "dark")))
    assert invalid(validate, {"colour": "blue"}, fields).code == "no_such_colour"
    assert invalid(validate, {"shade": "grey"}, fields).code == "invalid_request"
    assert validate({"colour": "red"}, fields) == {"colour": "red", "shade": None}


def test_tts_format_enum_is_limited_to_the_servers_formats():
    """A server without an mp3 encoder does not offer mp3."""
    fields = tts_fields(("wav", "pcm"), RATES, NATIVE)
    assert validate(tts(format="pcm"), fields)["format"] == "pcm"
    assert invalid(validate, tts(format="mp3"), fields).code == "unknown_format"


# --- parse_tts ----------------------------------------------------------------------------------


def test_parse_tts_minimal_body_gives_default_request():
    req = parse_tts(tts(), TTS)
    assert req == SynthesisRequest("Hello there.", SynthesisOptions(voice="en_female_1"), "wav", NATIVE, False)


def test_parse_tts_maps_every_control_into_synthesis_options():
    req = parse_tts(tts(emotion="sad", intensity=0.4, speed=0.9, pitch=-1.5, energy=2.0,
                        format="pcm", sample_rate=16000, stream=True), TTS)
    assert req.options == SynthesisOptions(voice="en_female_1", emotion="sad", intensity=0.4, speed=0.9, pitch=-1.5,
                                           energy=2.0)
    assert parse_tts(tts(prompt="a little sad"), TTS).options.prompt == "a little sad"
    assert (req.text, req.format, req.sample_rate, req.stream) == ("Hello there.", "pcm", 16000, True)


def test_parse_tts_puts_emotion_mix_into_options_emotion():
    mix = {"happy": 0.7, "surprised": 0.3}
    req = parse_tts(tts(emotion_mix=mix), TTS)
    assert req.options.emotion == mix


def test_parse_tts_refuses_emotion_together_with_emotion_mix():
    err = invalid(parse_tts, tts(emotion="happy", emotion_mix={"sad": 1.0}), TTS)
    assert err.code == "invalid_request"
    assert "emotion_mix" in err.message


@pytest.mark.parametrize("name, value, code, words", [
    ("speed", 100.0, "speed_out_of_range", ["0.5", "2.0"]),
    ("intensity", 7.0, "intensity_out_of_range", ["[0, 1]"]),
    ("pitch", -40, "pitch_out_of_range", ["semitones"]),
    ("energy", 99, "energy_out_of_range", ["dB"]),
    ("speed", float("nan"), "invalid_request", ["speed", "finite", "0.5", "2.0", "NaN"]),
    ("pitch", float("inf"), "invalid_request", ["pitch", "finite", "semitones"]),
])
def test_parse_tts_checks_ranges_from_the_table_that_writes_the_schema(name, value, code, words):
    """The range in the schema is the range enforced; the message names the field and the range."""
    err = invalid(parse_tts, tts(**{name: value}), TTS)
    assert err.code == code
    for word in words:
        assert word in err.message, (word, err.message)
    prop = object_schema(TTS)["properties"][name]
    assert prop["minimum"] < prop["maximum"] and not prop["minimum"] <= value <= prop["maximum"]


@pytest.mark.parametrize("fmt", ["mp3", "flac", "ogg", "opus"])
def test_parse_tts_refuses_to_stream_a_format_that_needs_the_whole_audio(fmt):
    err = invalid(parse_tts, tts(format=fmt, stream=True), TTS)
    assert err.code == "unsupported_stream_format"


@pytest.mark.parametrize("fmt", ["wav", "pcm"])
def test_parse_tts_streams_wav_and_pcm(fmt):
    assert parse_tts(tts(format=fmt, stream=True), TTS).stream is True


@pytest.mark.parametrize("fmt", ["mp3", "flac", "ogg", "opus"])
def test_parse_tts_accepts_non_streamable_formats_without_stream(fmt):
    req = parse_tts(tts(format=fmt, stream=False), TTS)
    assert (req.format, req.stream) == (fmt, False)


# --- parse_speech (OpenAI-compatible) -----------------------------------------------------------


def test_parse_speech_defaults():
    req = speak(speech(voice="en_male_1"))
    assert req.text == "Hello there."
    assert req.options == SynthesisOptions(voice="en_male_1")
    assert req.format == "mp3"
    assert req.sample_rate == NATIVE
    assert req.stream is False


def test_parse_speech_maps_voice_aliases():
    assert speak(speech(voice="alloy")).options.voice == "en_female_1"


def test_parse_speech_passes_unaliased_voices_through():
    assert speak(speech(voice="en_male_1")).options.voice == "en_male_1"
    assert speak(speech(voice="alloy"), aliases={}).options.voice == "alloy"


def test_parse_speech_maps_instructions_to_the_emotion_prompt():
    req = speak(speech(instructions="Speak in a cheerful and positive tone."))
    assert req.options.prompt == "Speak in a cheerful and positive tone."


def test_parse_speech_passes_speed_and_emotion_extensions():
    req = speak(speech(speed=1.5, emotion="angry", intensity=0.3))
    assert (req.options.speed, req.options.emotion, req.options.intensity) == (1.5, "angry", 0.3)


@pytest.mark.parametrize("model", ["kokoro-82m", "tts-1"])
def test_parse_speech_accepts_every_listed_model(model):
    assert speak(speech(model=model)).text == "Hello there."


@pytest.mark.parametrize("model", ["gpt-4o-mini-tts", "tts-1-hd", ""])
def test_parse_speech_unknown_model_is_model_not_found(model):
    assert invalid(speak, speech(model=model)).code == "model_not_found"


def test_parse_speech_refuses_aac():
    err = invalid(speak, speech(response_format="aac"))
    assert err.code == "unknown_format"
    assert "aac" in err.message


def test_parse_speech_refuses_aac_even_if_the_server_lists_it():
    assert invalid(speak, speech(response_format="aac"), (*FORMATS, "aac")).code == "unknown_format"


@pytest.mark.parametrize("fmt", ["ogg", "m4a", "AAC"])
def test_parse_speech_refuses_formats_openai_does_not_define(fmt):
    assert invalid(speak, speech(response_format=fmt)).code == "unknown_format"


def test_parse_speech_refuses_a_format_the_server_cannot_encode():
    """Even the default (mp3) is refused when the server has no mp3 encoder."""
    err = invalid(speak, speech(), ("wav", "pcm"))
    assert err.code == "unknown_format"
    assert "wav" in err.message and "pcm" in err.message


@pytest.mark.parametrize("stream_format", ["sse", "chunks"])
def test_parse_speech_only_streams_raw_audio(stream_format):
    assert invalid(speak, speech(stream_format=stream_format)).code == "unsupported_stream_format"


def test_parse_speech_accepts_stream_format_audio():
    assert speak(speech(stream_format="audio")).format == "mp3"


@pytest.mark.parametrize("fmt, streamed", [("wav", True), ("pcm", True), ("mp3", False), ("flac", False),
                                           ("opus", False)])
def test_parse_speech_streams_wav_and_pcm_but_not_mp3(fmt, streamed):
    req = speak(speech(response_format=fmt))
    assert req.format == fmt
    assert req.stream is streamed


def test_parse_speech_rejects_tts_only_fields():
    """/v1/audio/speech takes its own fields, not /v1/tts's."""
    err = invalid(speak, speech(text="Hello"))
    assert err.code == "invalid_request"


def test_parse_speech_requires_input_and_voice():
    assert "'input'" in invalid(speak, {"voice": "alloy"}).message
    assert "'voice'" in invalid(speak, {"input": "Hi"}).message


# --- parse_json ---------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [b"", b"{", b"{'text': 'hi'}", b"text=hi&voice=x", b"\x80\x81\xfe", b"{\"a\": 1,}"])
def test_parse_json_on_bad_bytes_raises_malformed_request(body):
    with pytest.raises(MalformedRequest) as info:
        parse_json(body)
    assert info.value.http_status == 400
    assert info.value.code == "invalid_json"


def test_parse_json_decodes_valid_json():
    assert parse_json(b'{"text": "h\\u00e9", "speed": 1.5}') == {"text": "h\u00e9", "speed": 1.5}
    assert parse_json('{"text": "\u4f60\u597d"}'.encode()) == {"text": "\u4f60\u597d"}


def test_non_finite_json_numbers_get_through_parse_json_but_not_validation():
    body = parse_json(b'{"text": "hi", "voice": "v", "speed": NaN}')
    assert math.isnan(body["speed"])
    assert invalid(parse_tts, body, TTS).code == "invalid_request"


# --- object_schema ------------------------------------------------------------------------------


def test_tts_schema_lists_required_fields_and_every_property():
    schema = object_schema(TTS)
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["text", "voice"]
    assert list(schema["properties"]) == TTS_NAMES


def test_speech_schema_lists_required_fields_and_every_property():
    schema = object_schema(SPEECH)
    assert schema["required"] == ["input", "voice"]
    assert list(schema["properties"]) == SPEECH_NAMES


def test_schema_properties_carry_type_default_enum_and_bounds():
    props = object_schema(TTS)["properties"]
    assert props["text"]["type"] == "string" and props["text"]["description"]
    assert props["format"]["enum"] == [*FORMATS, None], "null counts as absent, and the schema says so"
    assert props["format"]["default"] == "wav"
    assert props["sample_rate"] == {**props["sample_rate"], "type": ["integer", "null"], "enum": [*RATES, None],
                                    "default": NATIVE}
    assert props["stream"]["type"] == ["boolean", "null"] and props["stream"]["default"] is False
    assert props["intensity"]["minimum"] == 0.0 and props["intensity"]["maximum"] == 1.0
    assert props["speed"]["minimum"] < 1.0 < props["speed"]["maximum"]
    assert props["emotion_mix"]["additionalProperties"] == {"type": "number", "minimum": 0, "maximum": 100.0}
    assert props["emotion_mix"]["propertyNames"] == {"enum": list(EMOTIONS)}
    assert "default" not in props["emotion"], "a None default is left out of the schema"
    speech_props = object_schema(SPEECH)["properties"]
    assert speech_props["model"]["enum"] == ["kokoro-82m", "tts-1", None]
    assert speech_props["stream_format"]["enum"] == ["audio", None], "sse is not offered, so not listed"
    assert "aac" not in speech_props["response_format"]["enum"], "no AAC encoder, so aac is not listed"


def test_schema_is_plain_json():
    for fields in (TTS, SPEECH):
        schema = object_schema(fields)
        assert json.loads(json.dumps(schema)) == schema
