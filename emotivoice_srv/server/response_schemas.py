"""JSON Schemas of the JSON responses (what each GET and the voice routes answer), for the OpenAPI
document. Required keys are the ones every answer carries; objects stay open to additions."""
from __future__ import annotations

from ..prosody.emotion import EMOTIONS as EMOTION_NAMES

_STR, _NUM, _INT = {"type": "string"}, {"type": "number"}, {"type": "integer"}
_OPT_STR, _OPT_NUM = {"type": ["string", "null"]}, {"type": ["number", "null"]}

ERROR = {"type": "object", "required": ["error"], "properties": {"error": {
    "type": "object", "required": ["code", "message", "request_id"],
    "properties": {"code": _STR, "message": _STR,
                   "request_id": {"type": "string", "description": "the response's X-Request-Id (log lines carry it too)"}}}}}

VOICE = {"type": "object", "required": ["id", "object", "kind", "status"], "properties": {
    "id": _STR, "object": {"const": "voice"}, "name": _STR, "description": _STR,
    "kind": {"type": "string", "description": "builtin, blend, enrolled ..."},
    "status": {"enum": ["pending", "ready", "failed"]},
    "gender": _OPT_STR, "language": _OPT_STR, "speed": _OPT_NUM, "pitch": _OPT_NUM,
    "created": _STR, "similarity": _OPT_NUM, "speech_s": _OPT_NUM, "owner": _STR,
    "aliases": {"type": "array", "items": _STR},
    "consent": {"type": ["object", "null"]},
    "error": {"type": "object", "required": ["code", "message"]}}}

VOICE_LIST = {"type": "object", "required": ["object", "data"], "properties": {
    "object": {"const": "list"}, "data": {"type": "array", "items": {"$ref": "#/components/schemas/Voice"}}}}

AUDIO_VOICES = {"type": "object", "required": ["voices"], "properties": {"voices": {"type": "array", "items": {
    "type": "object", "required": ["id", "name"], "properties": {
        "id": {"type": "string", "description": "what /v1/audio/speech takes as voice"},
        "name": {"type": "string", "description": "a label for pickers"}}}}}}

_MODEL = {"type": "object", "required": ["id", "object", "created", "owned_by"], "properties": {
    "id": _STR, "object": {"const": "model"}, "created": _INT, "owned_by": _STR}}
MODELS = {"type": "object", "required": ["object", "data"], "properties": {
    "object": {"const": "list"}, "data": {"type": "array", "items": _MODEL},
    "tiers": {"type": "array", "items": {"type": "object", "required": ["role", "state"]}}}}
AUDIO_MODELS = {"type": "object", "required": ["models"], "properties": {
    "models": {"type": "array", "items": {**_MODEL, "required": ["id", "name"], "properties": {
        **_MODEL["properties"], "name": _STR}}}}}

EMOTIONS = {"type": "object", "required": ["object", "data"], "properties": {
    "object": {"const": "list"},
    "data": {"type": "array", "items": {"type": "object", "required": ["name", "prosody"], "properties": {
        "name": {"enum": list(EMOTION_NAMES)}, "prosody": {"type": "object"}}}},
    "intensity_range": {"type": "array", "items": _NUM}, "mix_example": {"type": "object"}}}

PROBE = {"type": "object", "required": ["status"], "properties": {"status": _STR, "reason": _STR}}

VERDICT = {"type": "object", "required": ["state"], "properties": {
    "state": {"enum": ["trusted", "untrusted", "tampered", "unsigned"]},
    "failures": {"type": "array"}, "generator": _OPT_STR, "signer": _OPT_STR, "issuer": _OPT_STR,
    "synthetic": {"type": ["boolean", "null"]}, "synthesis": {"type": ["object", "null"]}}}
