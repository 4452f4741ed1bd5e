"""Request bodies declared once: the same field tables validate requests and write the OpenAPI schema.

Types, enums and required fields are checked here; value ranges of synthesis controls (speed, pitch,
energy, intensity) are checked by the engine, the one place the CLI shares, and only documented here.
"""
from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..audio.encode import FORMATS, STREAMABLE
from ..engine import ENERGY_RANGE_DB, PITCH_RANGE_ST, SPEED_RANGE, SynthesisOptions
from ..errors import InvalidInput, MalformedRequest
from ..prosody.emotion import EMOTIONS
from .routing import QUALITIES

_JSON_TYPES = {"string": (str,), "number": (int, float), "integer": (int,), "boolean": (bool,), "object": (dict,)}


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    """JSON type: string, number, integer, boolean, object (a mix of name -> number)."""
    description: str
    required: bool = False
    default: Any = None
    enum: tuple | None = None
    minimum: float | None = None
    maximum: float | None = None
    code: str = "invalid_request"
    """Error code when the value is not one of ``enum``."""

    def schema(self) -> dict:
        out: dict[str, Any] = {"type": self.type, "description": self.description}
        if self.type == "object":
            out["additionalProperties"] = {"type": "number", "minimum": 0}
        for key, value in (("default", self.default), ("enum", self.enum), ("minimum", self.minimum),
                           ("maximum", self.maximum)):
            if value is not None:
                out[key] = list(value) if key == "enum" else value
        return out


def _type_ok(value: Any, kind: str) -> bool:
    if isinstance(value, bool) and kind != "boolean":
        return False
    if kind == "number" and isinstance(value, float) and not math.isfinite(value):
        return False
    if kind == "object" and isinstance(value, dict):  # an emotion mix: name -> number
        return all(_type_ok(v, "number") for v in value.values())
    return isinstance(value, _JSON_TYPES[kind])


def parse_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedRequest(f"the request body is not valid JSON: {exc}") from None


def form_to_body(form: Mapping[str, str], fields: tuple[Field, ...]) -> dict[str, Any]:
    """Multipart text fields -> the JSON body they stand for (numbers, booleans and mixes parsed by
    each field's declared type), so form requests go through the same validation as JSON ones."""
    kinds = {f.name: f.type for f in fields}
    body: dict[str, Any] = {}
    for name, raw in form.items():
        kind = kinds.get(name, "string")
        try:
            if kind == "number":
                body[name] = float(raw)
            elif kind == "integer":
                body[name] = int(raw)
            elif kind == "boolean":
                from ..settings import parse_bool

                body[name] = parse_bool(raw)
            elif kind == "object":
                body[name] = json.loads(raw)
            else:
                body[name] = raw
        except ValueError:
            raise InvalidInput(f"form field {name!r} must be a {kind}, got {raw!r}", code="invalid_request") from None
    return body


def validate(body: Any, fields: tuple[Field, ...]) -> dict[str, Any]:
    """Check a decoded JSON body against ``fields``; return every field (defaults filled in).
    null counts as absent; unknown fields are an error, so a typo is not silently ignored."""
    if not isinstance(body, dict):
        raise InvalidInput(f"the request body must be a JSON object, got {type(body).__name__}",
                           code="invalid_request")
    known = {f.name: f for f in fields}
    unknown = sorted(set(body) - set(known))
    if unknown:
        raise InvalidInput(f"unknown field(s) {', '.join(map(repr, unknown))}; accepted: {', '.join(known)}",
                           code="invalid_request")
    out: dict[str, Any] = {}
    for f in fields:
        value = body.get(f.name)
        if value is None:
            if f.required:
                raise InvalidInput(f"field {f.name!r} is required", code="invalid_request")
            out[f.name] = f.default
            continue
        if not _type_ok(value, f.type):
            raise InvalidInput(f"field {f.name!r} must be a {f.type}, got {type(value).__name__}",
                               code="invalid_request")
        if f.enum is not None and value not in f.enum:
            raise InvalidInput(f"{f.name} {value!r} is not allowed; choose from {', '.join(map(str, f.enum))}",
                               code=f.code)
        out[f.name] = value
    return out


def object_schema(fields: tuple[Field, ...]) -> dict:
    return {"type": "object", "additionalProperties": False,
            "required": [f.name for f in fields if f.required],
            "properties": {f.name: f.schema() for f in fields}}


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


def tts_fields(formats: tuple[str, ...], sample_rates: tuple[int, ...], native_rate: int) -> tuple[Field, ...]:
    return (
        Field("text", "string", "Text to speak (plain text; numbers, dates, currency are read out).", required=True),
        Field("voice", "string", "Voice id from GET /v1/voices.", required=True),
        Field("emotion", "string", f"One of {', '.join(EMOTIONS)}, optionally with intensity: 'happy:0.7'."),
        Field("intensity", "number", "Emotion intensity.", minimum=0.0, maximum=1.0),
        Field("emotion_mix", "object", "Weighted mix, e.g. {\"happy\": 0.7, \"surprised\": 0.3} (instead of emotion)."),
        Field("prompt", "string", "Free-text emotion description in English or Chinese, e.g. 'a little sad'."),
        Field("speed", "number", "Speaking-rate factor.", default=1.0, minimum=SPEED_RANGE[0], maximum=SPEED_RANGE[1]),
        Field("pitch", "number", "Pitch shift in semitones, added to the emotion's.", default=0.0,
              minimum=PITCH_RANGE_ST[0], maximum=PITCH_RANGE_ST[1]),
        Field("energy", "number", "Loudness change in dB, added to the emotion's.", default=0.0,
              minimum=ENERGY_RANGE_DB[0], maximum=ENERGY_RANGE_DB[1]),
        Field("format", "string", "Audio container of the response.", default="wav",
              enum=tuple(f for f in FORMATS if f in formats), code="unknown_format"),
        Field("sample_rate", "integer", "Sample rate of the response (resampled from the model's rate).",
              default=native_rate, enum=sample_rates, code="unsupported_sample_rate"),
        Field("stream", "boolean", "Send audio utterance by utterance as it is rendered (wav or pcm).",
              default=False),
        Field("quality", "string", "best: the main model (default); fast: the fast tier (the distilled student, "
              "X-Model-Tier: fallback). An explicit best is never degraded under overload.",
              enum=QUALITIES, code="unknown_quality"),
        Field("latency_budget_ms", "integer", "Longest acceptable wait for the first audio; when main cannot meet "
              "it the fast tier answers (X-Route-Reason: latency_budget), when neither can: 429. Also the "
              "X-Latency-Budget-Ms header.", minimum=1),
    )


def parse_tts(body: Any, fields: tuple[Field, ...]) -> SynthesisRequest:
    v = validate(body, fields)
    if v["emotion"] is not None and v["emotion_mix"] is not None:
        raise InvalidInput("give either emotion or emotion_mix, not both", code="invalid_request")
    options = SynthesisOptions(
        voice=v["voice"], emotion=v["emotion_mix"] if v["emotion_mix"] is not None else v["emotion"],
        intensity=v["intensity"], prompt=v["prompt"], speed=v["speed"], pitch=v["pitch"], energy=v["energy"])
    _check_streamable(v["format"], v["stream"])
    if v["latency_budget_ms"] is not None and v["latency_budget_ms"] < 1:
        raise InvalidInput("latency_budget_ms must be >= 1", code="invalid_request")
    return SynthesisRequest(v["text"], options, v["format"], v["sample_rate"], v["stream"], v["quality"],
                            v["latency_budget_ms"])


def _check_streamable(fmt: str, stream: bool) -> None:
    if stream and fmt not in STREAMABLE:
        raise InvalidInput(f"streaming sends {' or '.join(STREAMABLE)}; {fmt} needs the whole audio first "
                           "(use stream: false)", code="unsupported_stream_format")


OPENAI_FORMATS = ("mp3", "opus", "aac", "flac", "wav", "pcm")


def speech_fields(model_ids: tuple[str, ...]) -> tuple[Field, ...]:
    return (
        Field("model", "string", f"Accepted: {', '.join(model_ids)} (the fast tier's id renders there, the others "
              "on the main model).",
              default=model_ids[0], enum=model_ids, code="model_not_found"),
        Field("input", "string", "Text to speak.", required=True),
        Field("voice", "string", "A voice id, or an OpenAI voice name mapped by --voice-aliases.", required=True),
        Field("instructions", "string", "Free-text delivery description, mapped to the emotion prompt."),
        Field("response_format", "string", "Audio format (aac is not supported).", default="mp3",
              enum=OPENAI_FORMATS, code="unknown_format"),
        Field("speed", "number", "Speaking-rate factor.", default=1.0, minimum=SPEED_RANGE[0], maximum=SPEED_RANGE[1]),
        Field("stream_format", "string", "'audio' (raw bytes); 'sse' is not supported.", default="audio",
              enum=("audio", "sse"), code="unsupported_stream_format"),
        Field("emotion", "string", f"Extension: one of {', '.join(EMOTIONS)}, or 'happy:0.7'."),
        Field("intensity", "number", "Extension: emotion intensity.", minimum=0.0, maximum=1.0),
    )


def parse_speech(body: Any, fields: tuple[Field, ...], aliases: Mapping[str, str], formats: tuple[str, ...],
                 native_rate: int, fast_model_ids: tuple[str, ...] = ()) -> SynthesisRequest:
    """``fast_model_ids``: model ids served by the fast tier (the student's bundle name)."""
    v = validate(body, fields)
    fmt = v["response_format"]
    if fmt == "aac" or fmt not in formats:
        allowed = [f for f in OPENAI_FORMATS if f in formats and f != "aac"]
        raise InvalidInput(f"response_format {fmt!r} is not supported here; choose from {', '.join(allowed)}",
                           code="unknown_format")
    if v["stream_format"] == "sse":
        raise InvalidInput("stream_format 'sse' is not supported; use 'audio'", code="unsupported_stream_format")
    options = SynthesisOptions(voice=aliases.get(v["voice"], v["voice"]), emotion=v["emotion"],
                               intensity=v["intensity"], prompt=v["instructions"], speed=v["speed"])
    # OpenAI clients read the body as it arrives: the streamable formats are streamed.
    return SynthesisRequest(v["input"], options, fmt, native_rate, stream=fmt in ("wav", "pcm"),
                            quality="fast" if v["model"] in fast_model_ids else None)
