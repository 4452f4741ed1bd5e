"""The request bodies of the synthesis routes, declared once (server/fields.py): the same tables
validate requests and write the OpenAPI schema, ranges and cross-field rules included.

Speed, pitch, energy and intensity ranges come from the engine's constants, which the CLI shares;
the engine checks them again for callers that do not come through the API.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..audio.encode import FORMATS, OPUS_RATES, STREAMABLE
from ..engine import ENERGY_RANGE_DB, PITCH_RANGE_ST, SPEED_RANGE, SynthesisOptions
from ..errors import InvalidInput, TextTooLong
from ..prosody.emotion import EMOTIONS
from .fields import Field, Rule, form_to_body, object_schema, validate
from .json_body import loads as parse_json
from .routing import QUALITIES

__all__ = ["Field", "Rule", "SynthesisRequest", "form_to_body", "object_schema", "parse_json", "parse_speech",
           "parse_tts", "speech_fields", "speech_rules", "tts_fields", "tts_rules", "validate"]

SPEAKABLE = "[A-Za-z0-9]"
"""A text is speakable when it holds a Latin letter or a digit (the English front-end reads those; a
text of punctuation, symbols or emoji only gives no sound)."""
EMOTION_PATTERN = f"^({'|'.join(EMOTIONS)})(:(0(\\.[0-9]{{1,6}})?|1(\\.0{{1,6}})?))?$"
EMOTION_HINT = f"choose from {', '.join(EMOTIONS)}, optionally with an intensity in [0, 1] ('happy:0.7')"
MIX_WEIGHT_MAX = 100.0
"""Largest weight in an emotion mix (weights summing over 1 are normalized, so 70/30 works too)."""


def _text(name: str, max_chars: int | None, description: str) -> Field:
    return Field(name, "string", description, required=True, min_length=1, max_length=max_chars,
                 pattern=SPEAKABLE, pattern_hint="nothing speakable: the text is empty or has no letter A-Z or digit",
                 code="text_empty", too_long=TextTooLong)


def _emotion(description: str) -> Field:
    return Field("emotion", "string", description, pattern=EMOTION_PATTERN, pattern_hint=EMOTION_HINT,
                 code="unknown_emotion")


def _intensity(description: str) -> Field:
    return Field("intensity", "number", description, minimum=0, maximum=1, range_code="intensity_out_of_range")


def _speed() -> Field:
    return Field("speed", "number", "Speaking-rate factor.", default=1.0, minimum=SPEED_RANGE[0],
                 maximum=SPEED_RANGE[1], range_code="speed_out_of_range")


def _intensity_rule() -> Rule:
    return Rule("emotion", "intensity", "give the intensity either as 'emotion:level' or in intensity, not both",
                when_pattern=":")


@dataclass(frozen=True)
class SynthesisRequest:
    """What both synthesis endpoints reduce to."""

    text: str
    options: SynthesisOptions
    format: str
    sample_rate: int
    stream: bool
    quality: str | None = None
    """best | fast; None: not given (best, which the overload policy may degrade)."""
    latency_budget_ms: int | None = None


def tts_fields(formats: tuple[str, ...], sample_rates: tuple[int, ...], native_rate: int,
               max_text_chars: int | None = None) -> tuple[Field, ...]:
    return (
        _text("text", max_text_chars, "Text to speak (plain text; numbers, dates, currency are read out). "
              "It needs a letter A-Z or a digit."),
        Field("voice", "string", "Voice id from GET /v1/voices.", required=True),
        _emotion(f"One of {', '.join(EMOTIONS)}, optionally with intensity: 'happy:0.7'."),
        _intensity("Emotion intensity."),
        Field("emotion_mix", "object", "Weighted mix, e.g. {\"happy\": 0.7, \"surprised\": 0.3} (instead of emotion); "
              "weights over 1 in total are normalized, all 0 is neutral.", keys=EMOTIONS, min_keys=1, minimum=0,
              maximum=MIX_WEIGHT_MAX, code="unknown_emotion"),
        Field("prompt", "string", "Free-text emotion description in English or Chinese, e.g. 'a little sad' "
              "(instead of emotion)."),
        _speed(),
        Field("pitch", "number", "Pitch shift in semitones, added to the emotion's.", default=0.0,
              minimum=PITCH_RANGE_ST[0], maximum=PITCH_RANGE_ST[1], range_code="pitch_out_of_range",
              unit=" semitones"),
        Field("energy", "number", "Loudness change in dB, added to the emotion's.", default=0.0,
              minimum=ENERGY_RANGE_DB[0], maximum=ENERGY_RANGE_DB[1], range_code="energy_out_of_range", unit=" dB"),
        Field("format", "string", "Audio container of the response.", default="wav",
              enum=tuple(f for f in FORMATS if f in formats), code="unknown_format"),
        Field("sample_rate", "integer", f"Sample rate of the response (resampled from the model's rate); opus takes "
              f"{', '.join(map(str, OPUS_RATES))} only.", default=native_rate, enum=sample_rates,
              code="unsupported_sample_rate"),
        Field("stream", "boolean", f"Send audio utterance by utterance as it is rendered ({' or '.join(STREAMABLE)}).",
              default=False),
        Field("quality", "string", "best: the main model (default); fast: the fast tier (the distilled student, "
              "X-Model-Tier: fallback). An explicit best is never degraded under overload.",
              enum=QUALITIES, code="unknown_quality"),
        Field("latency_budget_ms", "integer", "Longest acceptable wait for the first audio; when main cannot meet "
              "it the fast tier answers (X-Route-Reason: latency_budget), when neither can: 429. Also the "
              "X-Latency-Budget-Ms header.", minimum=1),
    )


def tts_rules(sample_rates: tuple[int, ...]) -> tuple[Rule, ...]:
    return (
        Rule("emotion", "emotion_mix", "give either emotion or emotion_mix, not both"),
        Rule("prompt", "emotion", "give either an emotion or a free-text prompt, not both"),
        Rule("prompt", "emotion_mix", "give either an emotion_mix or a free-text prompt, not both"),
        _intensity_rule(),
        Rule("stream", "format", f"streaming sends {' or '.join(STREAMABLE)}; other formats need the whole audio "
             "first (use stream: false)", code="unsupported_stream_format", when=(True,), values=STREAMABLE),
        Rule("format", "sample_rate", f"opus supports sample rates {', '.join(map(str, OPUS_RATES))}",
             code="unsupported_sample_rate", when=("opus",), values=tuple(r for r in sample_rates if r in OPUS_RATES)),
    )


def parse_tts(body: Any, fields: tuple[Field, ...], rules: tuple[Rule, ...] | None = None) -> SynthesisRequest:
    rules = tts_rules(next(f.enum for f in fields if f.name == "sample_rate")) if rules is None else rules
    v = validate(body, fields, rules)
    options = SynthesisOptions(
        voice=v["voice"], emotion=v["emotion_mix"] if v["emotion_mix"] is not None else v["emotion"],
        intensity=v["intensity"], prompt=v["prompt"], speed=v["speed"], pitch=v["pitch"], energy=v["energy"])
    return SynthesisRequest(v["text"], options, v["format"], v["sample_rate"], v["stream"], v["quality"],
                            v["latency_budget_ms"])


OPENAI_FORMATS = ("mp3", "opus", "aac", "flac", "wav", "pcm")
"""OpenAI's response_format values; the schema offers those this server encodes (not aac: no encoder)."""


def speech_fields(model_ids: tuple[str, ...], formats: tuple[str, ...] = tuple(FORMATS),
                  max_text_chars: int | None = None) -> tuple[Field, ...]:
    offered = tuple(f for f in OPENAI_FORMATS if f in formats and f in FORMATS)
    return (
        Field("model", "string", f"Accepted: {', '.join(model_ids)} (the fast tier's id renders there, the others "
              "on the main model).", default=model_ids[0], enum=model_ids, code="model_not_found"),
        _text("input", max_text_chars, "Text to speak. It needs a letter A-Z or a digit."),
        Field("voice", "string", "A voice id, or an OpenAI voice name mapped by --voice-aliases.", required=True),
        Field("instructions", "string", "Free-text delivery description, mapped to the emotion prompt."),
        Field("response_format", "string", f"Audio format ({', '.join(offered)}; aac is not offered: this server has "
              "no AAC encoder). wav and pcm are streamed.", default=offered[0] if offered else None,
              enum=offered, code="unknown_format"),
        _speed(),
        Field("stream_format", "string", "'audio' (raw bytes); OpenAI's 'sse' is not offered.", default="audio",
              enum=("audio",), code="unsupported_stream_format"),
        _emotion(f"Extension: one of {', '.join(EMOTIONS)}, or 'happy:0.7'."),
        _intensity("Extension: emotion intensity."),
    )


def speech_rules() -> tuple[Rule, ...]:
    return (Rule("instructions", "emotion", "give either an emotion or instructions, not both"), _intensity_rule())


def parse_speech(body: Any, fields: tuple[Field, ...], aliases: Mapping[str, str], formats: tuple[str, ...],
                 native_rate: int, fast_model_ids: tuple[str, ...] = ()) -> SynthesisRequest:
    """``fast_model_ids``: model ids served by the fast tier (the student's bundle name)."""
    v = validate(body, fields, speech_rules())
    fmt = v["response_format"]
    if fmt is None or fmt not in formats:  # a server configured with no OpenAI format at all
        allowed = [f for f in OPENAI_FORMATS if f in formats and f in FORMATS]
        raise InvalidInput(f"response_format {fmt!r} is not supported here; choose from {', '.join(allowed)}",
                           code="unknown_format")
    options = SynthesisOptions(voice=aliases.get(v["voice"], v["voice"]), emotion=v["emotion"],
                               intensity=v["intensity"], prompt=v["instructions"], speed=v["speed"])
    # OpenAI clients read the body as it arrives: the streamable formats are streamed.
    return SynthesisRequest(v["input"], options, fmt, native_rate, stream=fmt in STREAMABLE,
                            quality="fast" if v["model"] in fast_model_ids else None)
