"""Every error code the HTTP API can answer, its status, when, and on which operations: the one place
a new code is registered. The OpenAPI document writes each operation's error responses from it (one
response per status, the ``code`` enum listing exactly the codes registered for that operation), a
test checks that every code raised in the package is registered here, and docs/server.md's table
is checked against it.

To add a code: one ``ErrorCode(code, status, when, scopes)`` line below. ``scopes`` names the groups
of operations it can come from (``SCOPES``); ``ANY`` is every API operation (not the probes,
/metrics or /openapi.json); an empty tuple means no documented operation answers it (unknown paths
and methods), ``STARTUP`` that it is never an HTTP answer; both are listed for the docs.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

ANY = "any"
STARTUP = "startup"
SCOPES = {
    STARTUP: "not an HTTP answer (yet): start-up, CLI and bundle-store/delta errors; a route that starts "
             "answering one registers its scopes here",
    ANY: "every API operation (authentication, draining)",
    "json": "operations that read a JSON body",
    "form": "operations that read a multipart form",
    "synthesis": "POST /v1/tts and POST /v1/audio/speech",
    "tts": "POST /v1/tts",
    "speech": "POST /v1/audio/speech",
    "reference": "operations that take reference audio (POST /v1/voices, multipart POST /v1/tts)",
    "enroll": "POST /v1/voices",
    "voice": "GET and DELETE /v1/voices/{voice_id}",
    "delete": "DELETE /v1/voices/{voice_id}",
    "manifest": "GET /v1/manifests/{manifest_id}",
    "store": "operations that read the voice store",
    "admin": "the model-version admin API (/admin/models, /admin/bundles: admin keys only; not in the OpenAPI "
             "document)",
}


@dataclass(frozen=True)
class ErrorCode:
    code: str
    status: int
    when: str
    scopes: tuple[str, ...] = ()


CODES: tuple[ErrorCode, ...] = (
    ErrorCode("invalid_json", 400, "the body is not UTF-8 JSON, repeats a key, holds an unpaired surrogate, or "
              "nests deeper than --max-json-depth (32)", ("json", "form")),
    ErrorCode("invalid_content_type", 400, "a multipart route got another Content-Type", ("form",)),
    ErrorCode("invalid_multipart", 400, "the multipart body cannot be parsed", ("form",)),
    ErrorCode("missing_file", 400, "the form lacks its file part", ("form",)),
    ErrorCode("unauthorized", 401, "API keys are configured and the request has none or a wrong one; "
              "with WWW-Authenticate: Bearer", (ANY,)),
    ErrorCode("not_found", 404, "no such path", ()),
    ErrorCode("unknown_voice", 404, "no such voice for this caller, another tenant's voice included",
              ("synthesis", "voice")),
    ErrorCode("manifest_not_found", 404, "unknown or expired detached manifest, or marking is off", ("manifest",)),
    ErrorCode("method_not_allowed", 405, "the path exists but not with this method; with Allow", ()),
    ErrorCode("voice_exists", 409, "an enrolled or built-in voice already has this name", ("enroll",)),
    ErrorCode("voice_pending", 409, "the voice is still being enrolled", ("synthesis", "enroll", "delete")),
    ErrorCode("voice_builtin", 409, "built-in voices cannot be deleted", ("delete",)),
    ErrorCode("voice_conflict", 409, "another conflict on a voice", ()),
    ErrorCode("body_too_large", 413, "the body is over --max-body-bytes, checked before buffering",
              ("json", "enroll")),
    ErrorCode("text_too_long", 413, "the text is over --max-text-chars", ("synthesis",)),
    ErrorCode("audio_too_large", 413, "the upload is over --max-upload-bytes", ("form",)),
    ErrorCode("unsupported_media_type", 415, "a JSON route got a body declared as another media type",
              ("json",)),
    ErrorCode("invalid_request", 422, "a field of the wrong type, out of its range or length, missing, unknown, or "
              "two fields that exclude each other; a malformed X-Latency-Budget-Ms / X-Allow-Degraded",
              ("json", "form")),
    ErrorCode("invalid_input", 422, "another invalid synthesis option", ("synthesis",)),
    ErrorCode("text_empty", 422, "nothing speakable in the text", ("synthesis",)),
    ErrorCode("unknown_emotion", 422, "an emotion that is not one of the seven", ("synthesis",)),
    *(ErrorCode(f"{name}_out_of_range", 422, f"{name} outside its range, which the schema states", ("synthesis",))
      for name in ("speed", "pitch", "energy", "intensity")),
    ErrorCode("unknown_format", 422, "a format this server does not encode", ("synthesis",)),
    ErrorCode("unsupported_sample_rate", 422, "a sample rate not offered, or not one opus can carry",
              ("synthesis",)),
    ErrorCode("unsupported_stream_format", 422, "stream with a format that needs the whole audio; "
              "stream_format sse", ("synthesis",)),
    ErrorCode("unknown_quality", 422, "quality other than best or fast", ("tts",)),
    ErrorCode("model_not_found", 422, "a model id that is not listed by GET /v1/models", ("speech",)),
    *(ErrorCode(f"audio_{what}", 422, f"reference audio {words}", ("reference",)) for what, words in (
        ("empty", "with no samples"), ("unreadable", "that cannot be decoded: send WAV, FLAC, OGG or MP3"),
        ("silent", "that is silent"), ("clipped", "that is clipped"), ("not_speech", "that is not speech"),
        ("too_short", "with less speech than --min-reference-s"),
        ("too_long", "with more speech than --max-reference-s"))),
    ErrorCode("invalid_audio", 422, "reference audio that cannot be a voice", ()),
    ErrorCode("invalid_name", 422, "a voice name that gives no id", ("enroll",)),
    ErrorCode("invalid_description", 422, "a voice description over its length", ("enroll",)),
    ErrorCode("consent_required", 422, "--require-consent and no consent statement", ("reference",)),
    ErrorCode("invalid_consent", 422, "a consent or subject field over its length", ("reference",)),
    ErrorCode("body_timeout", 408, "the body did not arrive within --body-timeout of the request; Connection: close",
              ("json", "form")),
    ErrorCode("render_too_long", 413, "a whole response estimated over --max-render-seconds: stream it or send "
              "fewer characters (the message says how many fit); refused before rendering", ("synthesis",)),
    ErrorCode("overloaded", 429, "workers and queue are full, or the work queued ahead would push the request past "
              "--max-render-seconds; with Retry-After", ("synthesis", "reference")),
    ErrorCode("rate_limited", 429, "over the caller's --rate-limit (per API key, or client address without keys); "
              "Retry-After = seconds to its next token", (ANY,)),
    ErrorCode("too_many_enrollments", 429, "--max-enrollments-per-key fits of this caller are still running; with "
              "Retry-After", ("enroll",)),
    ErrorCode("headers_too_large", 431, "request line + headers over --max-header-bytes", (ANY,)),
    ErrorCode("insufficient_storage", 507, "the file system under --cache-dir is full: the voice was not saved, "
              "nothing half-written is left, synthesis keeps working", ("enroll",)),
    ErrorCode("budget_unmeetable", 429, "no tier can send first audio within the latency budget", ("synthesis",)),
    ErrorCode("internal_error", 500, "a server fault: a bug, report it", ()),
    ErrorCode("provenance_failed", 500, "marking is on and the audio could not be signed: no unmarked audio is sent",
              ("synthesis",)),
    ErrorCode("enrollment_failed", 500, "an enrollment failed for a reason that is not the audio's", ("enroll",)),
    ErrorCode("draining", 503, "shutting down; with Connection: close and Retry-After", (ANY,)),
    ErrorCode("unavailable", 503, "the server cannot serve this now; with Retry-After", ()),
    ErrorCode("model_unavailable", 503, "no model tier can serve yet", ("synthesis",)),
    ErrorCode("cloning_unavailable", 503, "the bundle has no speaker encoder", ("reference",)),
    ErrorCode("voice_store_unavailable", 503, "the shared voice store cannot be reached; with Retry-After",
              ("store",)),
    ErrorCode("deadline_exceeded", 504, "the request's deadline (max of --request-timeout and --deadline-slack x its "
              "estimate) passed before its audio was ready: the server was slower than it had measured",
              ("synthesis", "reference")),
    *(ErrorCode(code, 500, "start-up / CLI only", (STARTUP,)) for code in (
        "bundle_error", "bundle_missing", "bundle_corrupt", "source_error", "provenance_config",
        "runtime_conflict", "device_unavailable", "bundle_exists", "bundle_write_failed", "bundle_ambiguous",
        "bundle_store_io")),
    ErrorCode("bundle_not_found", 404, "no such bundle version in the store", (STARTUP, "admin")),
    ErrorCode("bundle_path_forbidden", 403, "a bundle path outside --bundle-roots", (STARTUP, "admin")),
    ErrorCode("delta_base_mismatch", 409, "the delta's base is not the bundle it is applied to", (STARTUP, "admin")),
    ErrorCode("admin_only", 403, "the model-version admin API needs an admin key (--admin-keys)", ("admin",)),
    ErrorCode("unknown_tier", 404, "a tier other than main or fallback", ("admin",)),
    *(ErrorCode(code, 409, when, ("admin",)) for code, when in (
        ("swap_in_progress", "another swap is running (one at a time)"),
        ("swap_refused", "the swap cannot start"),
        ("tier_not_ready", "the tier is not ready (loading, warming, failed or draining)"),
        ("no_fallback_tier", "a fallback swap on a server without a fallback tier"),
        ("no_previous_version", "a rollback before any swap"),
        ("no_bundle_store", "a delta upload on a server without a bundle store"))),
    *(ErrorCode(code, 422, f"a swap that failed {when}; the old version serves on", ("admin",)) for code, when in (
        ("swap_failed", "after the switch"), ("swap_verify_failed", "verifying the bundle's hashes"),
        ("swap_load_failed", "loading the new version"), ("swap_warmup_failed", "warming the new version up"),
        ("swap_canary_failed", "the canary check"))),
    ErrorCode("swap_memory_limit", 507, "two versions loaded would cross --swap-memory-limit", ("admin",)),
    *(ErrorCode(code, 422, "a delta that cannot be applied", (STARTUP, "admin")) for code in (
        "delta_invalid", "delta_truncated", "delta_corrupt", "delta_unsafe_path", "delta_hash_mismatch",
        "delta_unreadable")),
)
BY_CODE = {c.code: c for c in CODES}


def codes_for(scopes: tuple[str, ...]) -> dict[int, list[str]]:
    """status -> the codes an operation with these scopes can answer (``ANY`` codes included unless the
    operation is open: probes, /metrics, /openapi.json pass no scopes)."""
    wanted = set(scopes) | ({ANY} if scopes else set())
    out: dict[int, list[str]] = defaultdict(list)
    for entry in CODES:
        if wanted & set(entry.scopes):
            out[entry.status].append(entry.code)
    return dict(sorted(out.items()))
