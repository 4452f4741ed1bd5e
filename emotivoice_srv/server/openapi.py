"""The OpenAPI 3.1 document, written from the definitions the server enforces: request bodies from the
field tables (schemas.py, forms.py), error responses from the error catalogue (error_catalogue.py),
response bodies from the shapes in response_schemas.py. Nothing here restates a limit by hand."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .. import __version__
from ..audio.encode import CONTENT_TYPES
from . import response_schemas as rs
from .error_catalogue import codes_for
from .fields import object_schema
from .forms import REFERENCE_MEDIA_TYPES, VERIFY_MEDIA_TYPES, consent_fields, enroll_fields, form_schema
from .schemas import speech_rules, tts_rules

if TYPE_CHECKING:
    from .context import ServerContext

RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before retrying", "schema": {"type": "string"}}}
VOICE_ID = [{"name": "voice_id", "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}]
ROUTING_HEADERS = [
    {"name": "X-Latency-Budget-Ms", "in": "header", "required": False,
     "description": "Longest acceptable wait for the first audio, ms (as latency_budget_ms; the smaller binds)",
     "schema": {"type": "integer", "minimum": 1}},
    {"name": "X-Allow-Degraded", "in": "header", "required": False,
     "description": "false: never answer from the fast tier unless quality fast was asked for",
     "schema": {"type": "boolean"}},
]


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def errors(*scopes: str) -> dict:
    """One response per status the catalogue lists for these scopes, its ``code`` enum exact."""
    out = {}
    for status, codes in codes_for(scopes).items():
        schema = {"allOf": [{"$ref": "#/components/schemas/Error"}, {"properties": {"error": {"properties": {
            "code": {"enum": codes}}}}}]}
        response = _json(schema, ", ".join(codes))
        if status in (429, 503):
            response["headers"] = RETRY_AFTER
        out[str(status)] = response
    return out


def _audio_response(formats: tuple[str, ...]) -> dict:
    header = {"schema": {"type": "string"}}
    media = dict.fromkeys(CONTENT_TYPES[f].split(";")[0] for f in formats)
    return {"200": {
        "description": "Audio bytes; with stream=true sent chunk by chunk (WAV header first, or raw PCM).",
        "headers": {"X-Model-Tier": {**header, "description": "main or fallback"},
                    "X-Audio-Duration": {**header, "description": "seconds (absent when streamed)"},
                    "X-Sample-Rate": header, "X-Request-Id": header,
                    "X-Route": {**header, "description": "the tier that answered"}, "X-Route-Reason": header,
                    "X-Synthetic-Audio": {**header, "description": "always 'true': the audio is machine-made"},
                    "Link": {**header, "description": "pcm/ogg/opus and streams: <url>; rel=\"c2pa-manifest\" -- "
                                                      "the detached C2PA manifest (wav/flac/mp3 embed theirs)"}},
        "content": {m: {"schema": {"type": "string", "format": "binary"}} for m in media}}}


def _get(op_id: str, summary: str, schema: dict, *, scopes: tuple[str, ...] = ("read",),
         probe: bool = False) -> dict:
    responses = {"200": _json(schema, "OK"), **errors(*scopes)}
    if probe:
        responses["503"] = _json(schema, "Not ready / not started / stalled, with a reason")
    return {"get": {"operationId": op_id, "summary": summary, "responses": responses}}


def _links() -> dict:
    param = {"voice_id": "$response.body#/id"}
    return {"GetVoice": {"operationId": "getVoice", "parameters": param},
            "DeleteVoice": {"operationId": "deleteVoice", "parameters": param}}


def build_openapi(ctx: ServerContext) -> dict:
    auth = [{"bearer": []}] if ctx.config.api_keys else []
    require_consent = ctx.cloning_config.require_consent
    rates = next(f.enum for f in ctx.tts_fields if f.name == "sample_rate")
    tts_json = {**object_schema(ctx.tts_fields, tts_rules(rates)),
                "examples": [{"text": "Hello there, how are you?", "voice": ctx.config.default_voice, "emotion": "happy"}]}
    speech_json = {**object_schema(ctx.speech_fields, speech_rules()),
                   "examples": [{"model": "tts-1", "input": "Hello there, how are you?", "voice": "alloy"}]}
    inline = form_schema((*(f for f in ctx.tts_fields if f.name != "voice"), *consent_fields(require_consent)),
                         {"reference_audio": ("Clone this speaker inline (cached like POST /v1/voices)", True)},
                         REFERENCE_MEDIA_TYPES)
    inline["schema"]["allOf"] = [r.schema() for r in tts_rules(rates)]
    upload = form_schema(enroll_fields(require_consent),
                         {"file": ("Reference audio: WAV/FLAC/OGG/MP3, 3-30 s of one person's speech", True)},
                         REFERENCE_MEDIA_TYPES)
    verify = form_schema((), {"file": ("The audio to check", True),
                              "manifest": ("Detached manifest (pcm/ogg/opus and streams)", False)}, VERIFY_MEDIA_TYPES,
                         decoded=False)
    speech_formats = next(f.enum for f in ctx.speech_fields if f.name == "response_format")
    created = {code: {**_json({"$ref": "#/components/schemas/Voice"}, what), "links": _links()}
               for code, what in (("201", "The new voice (status ready)"),
                                  ("200", "Same name and audio again: the existing voice"),
                                  ("202", "Still fitting: status pending; poll Location"))}
    paths = {
        "/v1/tts": {"post": {
            "operationId": "synthesize", "summary": "Synthesize text with a voice and an emotion", "security": auth,
            "parameters": ROUTING_HEADERS,
            "requestBody": {"required": True, "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/TtsRequest"}},
                "multipart/form-data": inline}},
            "responses": {**_audio_response(ctx.config.formats),
                          **errors("json", "form", "synthesis", "tts", "reference", "store")}}},
        "/v1/audio/speech": {"post": {
            "operationId": "createSpeech", "summary": "OpenAI-compatible speech endpoint", "security": auth,
            "parameters": ROUTING_HEADERS,
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/SpeechRequest"}}}},
            "responses": {**_audio_response(speech_formats), **errors("json", "synthesis", "speech", "store")}}},
        "/v1/audio/voices": _get("listAudioVoices", "Voices as OpenAI-compatible clients (Open WebUI, Kokoro-FastAPI "
                                 "clients) read them: {\"voices\": [{id, name, ...}]}; ready voices only",
                                 rs.AUDIO_VOICES),
        "/v1/audio/models": _get("listAudioModels", "Speech models as OpenAI-compatible clients read them: "
                                 "{\"models\": [{id, name, ...}]}", rs.AUDIO_MODELS),
        "/v1/voices": {**_get("listVoices", "List voices (built-in, enrolled, pending/failed enrollments)",
                              rs.VOICE_LIST), "post": {
            "operationId": "enrollVoice", "summary": "Enroll (clone) a voice from reference audio", "security": auth,
            "requestBody": {"required": True, "content": {"multipart/form-data": upload}},
            "responses": {**created, **errors("form", "reference", "enroll", "store")}}},
        "/v1/voices/{voice_id}": {
            "get": {"operationId": "getVoice", "summary": "One voice (status pending | ready | failed)",
                    "parameters": VOICE_ID, "security": auth,
                    "responses": {"200": _json({"$ref": "#/components/schemas/Voice"}, "The voice"),
                                  **errors("voice", "store")}},
            "delete": {"operationId": "deleteVoice", "summary": "Delete an enrolled voice", "parameters": VOICE_ID,
                       "security": auth, "responses": {"204": {"description": "Deleted"},
                                                       **errors("voice", "delete", "store")}}},
        "/v1/manifests/{manifest_id}": {"get": {
            "operationId": "getManifest", "security": auth,
            "summary": "A detached C2PA manifest named by a response's Link header (short-lived)",
            "parameters": [{"name": "manifest_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "C2PA manifest store", "content": {
                "application/c2pa": {"schema": {"type": "string", "format": "binary"}}}}, **errors("manifest")}}},
        "/v1/verify": {"post": {
            "operationId": "verifyFile", "security": auth,
            "summary": "Check a file's C2PA Content Credentials (trusted/untrusted/tampered/unsigned)",
            "requestBody": {"required": True, "content": {"multipart/form-data": verify}},
            "responses": {"200": _json(rs.VERDICT, "The verdict"), **errors("form")}}},
        "/v1/emotions": _get("listEmotions", "List emotions with their prosody presets", rs.EMOTIONS),
        "/v1/models": _get("listModels", "Models: bundle name, version, precision, provider, tier states", rs.MODELS),
        "/livez": _get("livez", "Process alive and event loop responsive", rs.PROBE, scopes=(), probe=True),
        "/startupz": _get("startupz", "200 once loading has finished", rs.PROBE, scopes=(), probe=True),
        "/readyz": _get("readyz", "200 when the main model is loaded and warmed and not draining", rs.PROBE,
                        scopes=(), probe=True),
        "/metrics": {"get": {"operationId": "metrics", "summary": "Prometheus metrics", "responses": {
            "200": {"description": "Prometheus text format", "content": {"text/plain": {"schema": {"type": "string"}}}},
            **(errors("metrics") if ctx.config.protect_metrics and ctx.config.api_keys else {})}}},
        "/openapi.json": _get("openapi", "This document", {"type": "object", "required": ["openapi", "paths"]},
                              scopes=()),
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "emotivoice-srv", "version": __version__,
                 "description": "Emotional text-to-speech on Kokoro-82M graphs. Errors are always "
                                "{\"error\": {\"code\", \"message\"}}; the codes are listed per response."},
        "components": {
            "schemas": {"Error": rs.ERROR, "Voice": rs.VOICE, "TtsRequest": tts_json,
                        "SpeechRequest": speech_json},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "paths": paths,
    }
