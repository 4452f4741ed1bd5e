"""The OpenAPI 3.1 document, written from the same field tables that validate requests."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .. import __version__
from ..audio.encode import CONTENT_TYPES
from .schemas import object_schema

if TYPE_CHECKING:
    from .context import ServerContext

ERROR = {"type": "object", "required": ["error"], "properties": {"error": {
    "type": "object", "required": ["code", "message"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}}

_ERRORS = {
    "400": "Body is not valid JSON (invalid_json)",
    "401": "Missing or wrong API key (unauthorized), when API keys are configured",
    "404": "Unknown voice (unknown_voice); unknown or expired detached manifest (manifest_not_found)",
    "409": "Voice name taken (voice_exists), voice still enrolling (voice_pending), built-in (voice_builtin)",
    "413": "Body, text or upload over the limit (body_too_large, text_too_long, audio_too_large)",
    "422": "Invalid field, range, emotion, format or model (invalid_request, *_out_of_range, unknown_emotion, "
           "unknown_format, model_not_found, ...)",
    "429": "Workers and queue full (overloaded); see Retry-After",
    "503": "Shutting down (draining); cloning_unavailable when the bundle has no speaker encoder",
    "504": "Deadline passed (deadline_exceeded)",
    "500": "Marking is on and the audio could not be signed (provenance_failed): no unmarked audio is sent",
}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: str) -> dict:
    return {code: _json({"$ref": "#/components/schemas/Error"}, _ERRORS[code]) for code in codes}


def _audio_response() -> dict:
    header = {"schema": {"type": "string"}}
    return {"200": {
        "description": "Audio bytes; with stream=true sent chunk by chunk (WAV header first, or raw PCM).",
        "headers": {"X-Model-Tier": {**header, "description": "main or fallback"},
                    "X-Audio-Duration": {**header, "description": "seconds (absent when streamed)"},
                    "X-Request-Id": header,
                    "X-Synthetic-Audio": {**header, "description": "always 'true': the audio is machine-made"},
                    "Link": {**header, "description": "pcm/ogg/opus and streams: <url>; rel=\"c2pa-manifest\" -- "
                                                      "the detached C2PA manifest (wav/flac/mp3 embed theirs)"}},
        "content": {mime.split(";")[0]: {"schema": {"type": "string", "format": "binary"}}
                    for mime in CONTENT_TYPES.values()}}}


def _get(summary: str, schema: dict | None = None, *, probe: bool = False) -> dict:
    responses = {"200": _json(schema or {"type": "object"}, "OK")}
    if probe:
        responses["503"] = _json({"type": "object"}, "Not ready / not started / stalled, with a reason")
    return {"get": {"summary": summary, "responses": responses}}


def build_openapi(ctx: ServerContext) -> dict:
    synth_errors = _errors("400", "401", "404", "409", "413", "422", "429", "500", "503", "504")
    upload = {"type": "object", "required": ["file", "name"], "properties": {
        "file": {"type": "string", "format": "binary", "description": "WAV/FLAC/OGG/MP3, 3-30 s of speech"},
        "name": {"type": "string", "maxLength": 64, "description": "Display name; the id is derived from it"},
        "description": {"type": "string", "maxLength": 500},
        "consent": {"type": "string", "maxLength": 2000,
                    "description": "Consent statement of the person whose voice this is (required with --require-consent)"},
        "subject": {"type": "string", "maxLength": 200, "description": "Who the voice belongs to (free text)"}}}
    inline = {"type": "object", "required": ["text", "reference_audio"], "properties": {
        **{k: v for k, v in object_schema(ctx.tts_fields)["properties"].items() if k != "voice"},
        "reference_audio": {"type": "string", "format": "binary",
                            "description": "Clone this speaker inline (cached like POST /v1/voices)"}}}
    voice_id = [{"name": "voice_id", "in": "path", "required": True, "schema": {"type": "string"}}]
    auth = [{"bearer": []}] if ctx.config.api_keys else []
    doc = {
        "openapi": "3.1.0",
        "info": {"title": "emotivoice-srv", "version": __version__,
                 "description": "Emotional text-to-speech on Kokoro-82M graphs. Errors are always "
                                "{\"error\": {\"code\", \"message\"}}."},
        "components": {
            "schemas": {"Error": ERROR, "TtsRequest": object_schema(ctx.tts_fields),
                        "SpeechRequest": object_schema(ctx.speech_fields)},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "paths": {
            "/v1/tts": {"post": {
                "summary": "Synthesize text with a voice and an emotion", "security": auth,
                "requestBody": {"required": True, "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/TtsRequest"}},
                    "multipart/form-data": {"schema": inline}}},
                "responses": {**_audio_response(), **synth_errors}}},
            "/v1/audio/speech": {"post": {
                "summary": "OpenAI-compatible speech endpoint", "security": auth,
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/SpeechRequest"}}}},
                "responses": {**_audio_response(), **synth_errors}}},
            "/v1/voices": {**_get("List voices (built-in, enrolled, pending/failed enrollments)"), "post": {
                "summary": "Enroll (clone) a voice from reference audio", "security": auth,
                "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": upload}}},
                "responses": {"201": _json({"type": "object"}, "The new voice (status ready)"),
                              "200": _json({"type": "object"}, "Same name and audio again: the existing voice"),
                              "202": _json({"type": "object"}, "Still fitting: status pending; poll Location"),
                              **_errors("400", "401", "409", "413", "422", "429", "503")}}},
            "/v1/voices/{voice_id}": {"get": {
                "summary": "One voice (status pending | ready | failed)", "parameters": voice_id,
                "responses": {"200": _json({"type": "object"}, "The voice"), **_errors("404")}},
                "delete": {"summary": "Delete an enrolled voice", "parameters": voice_id, "security": auth,
                           "responses": {"204": {"description": "Deleted"}, **_errors("404", "409")}}},
            "/v1/manifests/{manifest_id}": {"get": {
                "summary": "A detached C2PA manifest named by a response's Link header (short-lived)",
                "parameters": [{"name": "manifest_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "C2PA manifest store", "content": {
                    "application/c2pa": {"schema": {"type": "string", "format": "binary"}}}}, **_errors("404")}}},
            "/v1/verify": {"post": {
                "summary": "Check a file's C2PA Content Credentials (trusted/untrusted/tampered/unsigned)",
                "security": auth, "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                    "type": "object", "required": ["file"], "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "manifest": {"type": "string", "format": "binary",
                                     "description": "detached manifest (pcm/ogg/opus/streams)"}}}}}},
                "responses": {"200": _json({"type": "object"}, "The verdict"), **_errors("400", "401", "413")}}},
            "/v1/emotions": _get("List emotions with their prosody presets"),
            "/v1/models": _get("Models: bundle name, version, precision, provider, tier states"),
            "/livez": _get("Process alive and event loop responsive", probe=True),
            "/startupz": _get("200 once loading has finished", probe=True),
            "/readyz": _get("200 when the main model is loaded and warmed and not draining", probe=True),
            "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {"200": {
                "description": "Prometheus text format", "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
            "/openapi.json": _get("This document"),
        },
    }
    return doc
