"""Settings from CLI flags with EMOTIVOICE_* environment defaults, cast strictly.

Each option is declared once (flag, env variable, type, default, help); argparse shows the variable
in --help, and a malformed environment value is an error at start-up, not a surprise later.
"""
from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Option:
    flag: str
    env: str
    cast: Callable[[str], Any]
    default: Any
    help: str
    choices: tuple[str, ...] | None = None


def parse_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"not a boolean: {raw!r}")


def add_options(parser: argparse.ArgumentParser, options: list[Option], environ: Mapping[str, str] | None = None) -> None:
    """Register options on a parser; defaults come from the environment when set there."""
    env = os.environ if environ is None else environ
    for opt in options:
        default = opt.default
        if opt.env in env:
            try:
                default = opt.cast(env[opt.env])
            except ValueError as exc:
                parser.error(f"{opt.env}={env[opt.env]!r} is invalid: {exc}")
            if opt.choices and default not in opt.choices:
                parser.error(f"{opt.env}={env[opt.env]!r} must be one of {', '.join(opt.choices)}")
        kwargs: dict[str, Any] = dict(default=default, help=f"{opt.help} [env {opt.env}; default {opt.default}]")
        if opt.cast is parse_bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        else:
            kwargs["type"] = opt.cast
            if opt.choices:
                kwargs["choices"] = opt.choices
        parser.add_argument(opt.flag, **kwargs)


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise ValueError("must be > 0")
    return value


def _non_negative_int(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise ValueError("must be >= 0")
    return value


COMMON = [
    Option("--cache-dir", "EMOTIVOICE_CACHE_DIR", str, None,
           "cache directory for bundles (default: the checkout's cache/ or ~/.cache/emotivoice-srv)"),
    Option("--log-level", "EMOTIVOICE_LOG_LEVEL", str, None, "log level (default: info for serve, else warning)",
           ("debug", "info", "warning", "error")),
    Option("--log-format", "EMOTIVOICE_LOG_FORMAT", str, "json", "log format", ("json", "text")),
]

ENGINE = [
    Option("--bundle", "EMOTIVOICE_BUNDLE", str, None,
           "model bundle directory (default: <cache-dir>/bundles/kokoro-82m, built on first use)"),
    Option("--device", "EMOTIVOICE_DEVICE", str, "auto", "inference device", ("auto", "cpu", "cuda")),
    Option("--precision", "EMOTIVOICE_PRECISION", str, None,
           "graph precision (default: int8 on cpu, fp16 on cuda)", ("int8", "fp32", "fp16")),
    Option("--threads", "EMOTIVOICE_THREADS", _positive_int, None, "intra-op threads per graph session"),
    Option("--session-memory", "EMOTIVOICE_SESSION_MEMORY", str, "shared",
           "CPU sessions' memory: one process-wide onnxruntime arena without per-shape memory patterns "
           "(lower peak RSS) or onnxruntime's per-session defaults", ("shared", "per-session")),
    Option("--max-text-chars", "EMOTIVOICE_MAX_TEXT_CHARS", _positive_int, 10_000, "longest accepted text"),
    Option("--verify-bundle", "EMOTIVOICE_VERIFY_BUNDLE", parse_bool, False, "hash-check bundle files at load"),
    Option("--stream-first-clause-words", "EMOTIVOICE_STREAM_FIRST_CLAUSE_WORDS", _non_negative_int, 2,
           "streams send the first sentence's first clause as its own chunk when both parts keep this many "
           "words (earlier first audio); 0: whole sentences"),
]


def _non_negative_float(raw: str) -> float:
    value = float(raw)
    if not value >= 0:
        raise ValueError("must be >= 0")
    return value


def _positive_float(raw: str) -> float:
    value = float(raw)
    if not value > 0:
        raise ValueError("must be > 0")
    return value


STUDENT_THREADS = 1
"""Intra-op threads of the student's sessions unless --fallback-threads says otherwise (bench distill)."""


def _positive_int_or_auto(raw: str) -> int | None:
    return None if raw.strip().lower() == "auto" else _positive_int(raw)


def _threads_or_auto(raw: str) -> int | None:
    """'auto' -> None (decided from cores and workers), else a thread count >= 0."""
    return None if raw.strip().lower() == "auto" else _non_negative_int(raw)


def _rate(raw: str):
    """'10/s', '600/min', 'off' (server/abuse.py)."""
    from .server.abuse import parse_rate

    return parse_rate(raw)


def _port(raw: str) -> int:
    value = int(raw)
    if not 0 <= value <= 65535:
        raise ValueError("must be a port number 0..65535")
    return value


def parse_list(raw: str) -> tuple[str, ...]:
    """Comma-separated values, blanks dropped: "a, b,," -> ("a", "b")."""
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def parse_int_list(raw: str) -> tuple[int, ...]:
    values = tuple(int(part) for part in parse_list(raw))
    if not values or any(v <= 0 for v in values):
        raise ValueError("must be a comma-separated list of positive integers")
    return values


def parse_aliases(raw: str) -> dict[str, str]:
    """`alloy=en_female_1,onyx=en_male_1` -> {"alloy": "en_female_1", "onyx": "en_male_1"}."""
    out = {}
    for part in parse_list(raw):
        name, sep, target = part.partition("=")
        if not sep or not name.strip() or not target.strip():
            raise ValueError(f"expected name=voice, got {part!r}")
        out[name.strip()] = target.strip()
    return out


CLONING = [
    Option("--min-reference-s", "EMOTIVOICE_MIN_REFERENCE_S", _positive_float, 3.0,
           "shortest accepted reference speech in seconds (after silence trimming)"),
    Option("--max-reference-s", "EMOTIVOICE_MAX_REFERENCE_S", _positive_float, 30.0,
           "longest accepted reference speech in seconds"),
    Option("--max-upload-bytes", "EMOTIVOICE_MAX_UPLOAD_BYTES", _positive_int, 20 * 1024 * 1024,
           "largest accepted reference-audio upload (413 above)"),
    Option("--fit-evaluations", "EMOTIVOICE_FIT_EVALUATIONS", _non_negative_int, 0,
           "refinement candidates the voice fit renders after the stock timbres (work, not time: "
           "the same audio always gives the same voice)"),
    Option("--fit-budget", "EMOTIVOICE_FIT_BUDGET", _positive_float, 8.0,
           "ignored since fit version 2 (the fit is bounded by work, not time); accepted so existing "
           "configurations still start"),
    Option("--fit-eq-strength", "EMOTIVOICE_FIT_EQ_STRENGTH", _non_negative_float, 1.0,
           "strength of a cloned voice's long-term-spectrum equalizer toward its reference (0 = off)"),
    Option("--voice-cache-bytes", "EMOTIVOICE_VOICE_CACHE_BYTES", _positive_int, 256 * 1024 * 1024,
           "size bound of the on-disk fit cache (least recently used entries are evicted)"),
    Option("--require-consent", "EMOTIVOICE_REQUIRE_CONSENT", parse_bool, False,
           "enrolling a voice requires a consent statement (422 consent_required without one)"),
]


STORE = [
    Option("--voice-store", "EMOTIVOICE_VOICE_STORE", str, "local",
           "where enrolled voices, the fit cache and fit locks live: 'local' (files under --cache-dir, one "
           "process) or redis://[user:pass@]host:port/db (rediss:// for TLS): a Redis/Valkey every replica "
           "shares"),
    Option("--voice-store-password", "EMOTIVOICE_VOICE_STORE_PASSWORD", str, None,
           "password for the Redis voice store (overrides one in the URL; keep it in a Secret)"),
    Option("--voice-store-timeout", "EMOTIVOICE_VOICE_STORE_TIMEOUT", _positive_float, 1.0,
           "seconds one voice-store call may take before it fails (503 voice_store_unavailable)"),
    Option("--fit-lock-ttl", "EMOTIVOICE_FIT_LOCK_TTL", _positive_float, 30.0,
           "seconds a fit's lock in the shared store outlives its last refresh (a replica killed mid-fit "
           "frees the audio for another after this long)"),
    Option("--voice-store-fit-ttl", "EMOTIVOICE_VOICE_STORE_FIT_TTL", _positive_float, 30 * 86400.0,
           "Redis: seconds an unused cached fit is kept (voice records never expire)"),
]
"""The voice store (cloning/store.py), shared by serve and the CLI's voices/enroll/synth."""


def store_config(args: argparse.Namespace):
    """The StoreConfig described by parsed STORE (and CLONING) options."""
    from .cloning.store import StoreConfig

    return StoreConfig(url=args.voice_store.strip(), password=args.voice_store_password,
                       timeout_s=args.voice_store_timeout, fit_lock_ttl_s=args.fit_lock_ttl,
                       fit_ttl_s=args.voice_store_fit_ttl, cache_bytes=args.voice_cache_bytes)


def cloning_config(args: argparse.Namespace):
    """The CloningConfig described by parsed CLONING options."""
    from .audio.timbre_eq import EqConfig
    from .cloning import CloningConfig, FitConfig, IntakeLimits

    if args.min_reference_s > args.max_reference_s:
        raise ValueError("--min-reference-s must not exceed --max-reference-s")
    return CloningConfig(
        limits=IntakeLimits(min_speech_s=args.min_reference_s, max_speech_s=args.max_reference_s,
                            max_bytes=args.max_upload_bytes),
        fit=FitConfig(evaluations=args.fit_evaluations, eq=EqConfig(strength=args.fit_eq_strength)),
        cache_bytes=args.voice_cache_bytes, require_consent=args.require_consent,
    )


FALLBACK = [
    Option("--fallback-bundle", "EMOTIVOICE_FALLBACK_BUNDLE", str, "student",
           "the fallback tier, which opens the port and answers while main loads/warms: 'student' (default: "
           "the distilled student shipped with the package, fp32, speaks the main bundle's voices), 'main' "
           "(the main bundle itself, e.g. its int8 CPU graphs while fp16 CUDA main warms), a bundle "
           "directory, or 'none' (main loads before the port opens)"),
    Option("--fallback-device", "EMOTIVOICE_FALLBACK_DEVICE", str, "cpu", "fallback tier's device",
           ("auto", "cpu", "cuda")),
    Option("--fallback-precision", "EMOTIVOICE_FALLBACK_PRECISION", str, None,
           "fallback tier's precision (default: the device's; fp32 for the student)", ("int8", "fp32", "fp16")),
    Option("--fallback-threads", "EMOTIVOICE_FALLBACK_THREADS", _positive_int_or_auto, None,
           f"intra-op threads per fallback session ('auto', the default: {STUDENT_THREADS} for the student, whose "
           "sessions load about twice as fast with one thread as with two and leave the other cores to main, "
           "loading at the same time; --threads for any other fallback bundle)"),
]
"""The fallback tier: served by ``serve``, rendered on its own by ``synth --tier fallback``."""

SERVER = [
    Option("--host", "EMOTIVOICE_HOST", str, "0.0.0.0", "interface to listen on"),
    Option("--port", "EMOTIVOICE_PORT", _port, 8000, "TCP port (0 picks a free one and logs it)"),
    Option("--workers", "EMOTIVOICE_WORKERS", _positive_int, None,
           "concurrent syntheses (inference pool size; default: the CPU count, at most 4). "
           "Scale processes with replicas: each process holds one copy of the model"),
    Option("--queue-size", "EMOTIVOICE_QUEUE_SIZE", _non_negative_int, None,
           "requests allowed to wait for a worker before 429 (default: 4 x workers)"),
    Option("--request-timeout", "EMOTIVOICE_REQUEST_TIMEOUT", _positive_float, 60.0,
           "deadline in seconds for one synthesis, queueing included (504 when exceeded)"),
    Option("--deadline-slack", "EMOTIVOICE_DEADLINE_SLACK", _non_negative_float, 2.0,
           "a request's deadline is the larger of --request-timeout and this many times its estimated time to "
           "first byte (queue + measured rendering rate; a whole response's whole text); 0: a fixed deadline"),
    Option("--max-render-seconds", "EMOTIVOICE_MAX_RENDER_SECONDS", _positive_float, 300.0,
           "a request whose estimated time to first byte is longer is refused at once: 413 render_too_long "
           "(stream it or send less text) or 429 (work queued ahead)"),
    Option("--max-body-bytes", "EMOTIVOICE_MAX_BODY_BYTES", _positive_int, 262_144,
           "largest accepted JSON request body (413 above)"),
    Option("--max-json-depth", "EMOTIVOICE_MAX_JSON_DEPTH", _positive_int, 32,
           "deepest nesting accepted in a JSON body or form field (400 invalid_json above)"),
    Option("--rate-limit", "EMOTIVOICE_RATE_LIMIT", _rate, None,
           "API requests (/v1/*) per caller: the API key's tenant, or the client address without keys; a token "
           "bucket, e.g. 10/s or 600/min; over it: 429 rate_limited + Retry-After ('off': no limit)"),
    Option("--rate-limit-burst", "EMOTIVOICE_RATE_LIMIT_BURST", _positive_int_or_auto, None,
           "requests a caller may send at once before --rate-limit applies ('auto': one period's count)"),
    Option("--max-enrollments-per-key", "EMOTIVOICE_MAX_ENROLLMENTS_PER_KEY", _non_negative_int, 2,
           "enrollments (voice fits) one caller may have running at once; more: 429 too_many_enrollments "
           "(0: no cap)"),
    Option("--max-header-bytes", "EMOTIVOICE_MAX_HEADER_BYTES", _positive_int, 16_384,
           "request line + headers; over it 431 headers_too_large (a head still incomplete past twice it is refused by the HTTP parser)"),
    Option("--body-timeout", "EMOTIVOICE_BODY_TIMEOUT", _positive_float, 60.0,
           "seconds from a request's arrival within which its whole body must arrive (slow senders: 408 "
           "body_timeout, connection closed)"),
    Option("--formats", "EMOTIVOICE_FORMATS", parse_list, ("wav", "flac", "ogg", "opus", "mp3", "pcm"),
           "allowed response formats"),
    Option("--sample-rates", "EMOTIVOICE_SAMPLE_RATES", parse_int_list, (8000, 16000, 22050, 24000, 44100, 48000),
           "allowed response sample rates (audio is resampled from the model's 24000)"),
    Option("--default-voice", "EMOTIVOICE_DEFAULT_VOICE", str, "en_female_1",
           "voice used by the warm-up and by OpenAI requests whose voice has no alias"),
    Option("--voice-aliases", "EMOTIVOICE_VOICE_ALIASES", parse_aliases, None,
           "OpenAI voice names -> voice ids, e.g. 'alloy=en_female_1,onyx=en_male_1' "
           "(default: the OpenAI voices mapped onto the English voices by gender)"),
    Option("--api-keys", "EMOTIVOICE_API_KEYS", parse_list, (),
           "comma-separated bearer tokens, 'key' or 'tenant:key' (a bare key is its own tenant); when set, "
           "/v1/* requires 'Authorization: Bearer <key>' and enrolled voices are private to their tenant"),
    Option("--admin-keys", "EMOTIVOICE_ADMIN_KEYS", parse_list, (),
           "comma-separated bearer tokens ('key' or 'tenant:key') that may also see, use and delete every "
           "tenant's voices (addressed as tenant:id)"),
    Option("--protect-metrics", "EMOTIVOICE_PROTECT_METRICS", parse_bool, False,
           "require an API key for /metrics too (probes stay open)"),
    Option("--cors-origins", "EMOTIVOICE_CORS_ORIGINS", parse_list, (),
           "origins allowed by CORS, comma-separated ('*' for any); empty disables CORS"),
    Option("--warmup", "EMOTIVOICE_WARMUP", parse_bool, True,
           "run warm-up syntheses before the tier reports ready (on CUDA; a CPU tier has no first-run cost)"),
    Option("--warmup-delay", "EMOTIVOICE_WARMUP_DELAY", _non_negative_float, 0.0,
           "artificial pause in seconds before the warm-up (to observe /readyz=503 in tests)"),
    Option("--drain-grace", "EMOTIVOICE_DRAIN_GRACE", _non_negative_float, 30.0,
           "on SIGTERM: seconds in-flight requests get to finish before the process exits"),
    Option("--drain-delay", "EMOTIVOICE_DRAIN_DELAY", _non_negative_float, 0.0,
           "on SIGTERM: keep answering (readyz=503) at least this long so load balancers notice"),
    Option("--enroll-wait", "EMOTIVOICE_ENROLL_WAIT", _non_negative_float, 20.0,
           "seconds POST /v1/voices waits for a fit before answering 202 (the job goes on)"),
    Option("--hold-for-main-ms", "EMOTIVOICE_HOLD_FOR_MAIN_MS", _non_negative_int, 0,
           "a request arriving while main loads/warms waits up to this long for main before the fallback "
           "serves it"),
    Option("--ready-on-fallback", "EMOTIVOICE_READY_ON_FALLBACK", parse_bool, False,
           "/readyz reports ready once the fallback tier is ready (default: only when main is)"),
    Option("--concurrent-threads", "EMOTIVOICE_CONCURRENT_THREADS", _threads_or_auto, None,
           "intra-op threads of a second session set used while syntheses overlap ('auto', the default: "
           "cores / workers; 0: off). 2 cores: +24-33%% audio-s/s at concurrency >= 2 for +100-160 MiB "
           "of peak RSS with the shared session memory (two bench runs)"),
    Option("--main-start-delay", "EMOTIVOICE_MAIN_START_DELAY", _non_negative_float, 0.0,
           "artificial delay in seconds before the main tier loads (drills/tests: a slow model start)"),
    Option("--livez-max-lag", "EMOTIVOICE_LIVEZ_MAX_LAG", _positive_float, 5.0,
           "event-loop lag in seconds above which /livez fails"),
    Option("--ui", "EMOTIVOICE_UI", str, "on",
           "the web studio at / (a static page from the package: speak, stream, clone); 'off' for API-only "
           "deployments (then / is 404)", ("on", "off")),
]


def _on_off(raw: str) -> bool:
    """A boolean given as a value (`--provenance off`), not as a --flag/--no-flag pair."""
    return parse_bool(raw)


PROVENANCE = [
    Option("--provenance", "EMOTIVOICE_PROVENANCE", _on_off, True,
           "sign every audio response with C2PA Content Credentials (on|off; off: mark the audio elsewhere)"),
    Option("--provenance-cert", "EMOTIVOICE_PROVENANCE_CERT", str, None,
           "PEM certificate chain that signs manifests, signing certificate first (default: a development "
           "certificate generated once into <cache-dir>/provenance, which validates as untrusted)"),
    Option("--provenance-key", "EMOTIVOICE_PROVENANCE_KEY", str, None,
           "PEM private key of --provenance-cert (unencrypted; mount it from a Secret)"),
    Option("--provenance-manifest-ttl", "EMOTIVOICE_PROVENANCE_MANIFEST_TTL", _positive_float, 600.0,
           "seconds a detached manifest (pcm, ogg/opus, streams) stays fetchable at its Link URL"),
    Option("--provenance-manifest-entries", "EMOTIVOICE_PROVENANCE_MANIFEST_ENTRIES", _positive_int, 1024,
           "most detached manifests kept at once (the oldest are dropped first)"),
]
"""Content Credentials on synthesized audio (emotivoice_srv/provenance, docs/provenance.md)."""


def provenance_config(args: argparse.Namespace):
    """The ProvenanceConfig described by parsed PROVENANCE options."""
    from pathlib import Path

    from .provenance import ProvenanceConfig

    return ProvenanceConfig(
        enabled=args.provenance, cert=Path(args.provenance_cert) if args.provenance_cert else None,
        key=Path(args.provenance_key) if args.provenance_key else None,
        manifest_ttl_s=args.provenance_manifest_ttl, manifest_entries=args.provenance_manifest_entries,
    )


def _share(raw: str) -> float:
    value = float(raw)
    if not 0 < value <= 1:
        raise ValueError("must be in (0, 1]")
    return value


def _url_or_none(raw: str) -> str | None:
    value = raw.strip().rstrip("/")
    if value.lower() in ("", "none", "off"):
        return None
    if not value.startswith(("http://", "https://")):
        raise ValueError("must be an http:// or https:// URL")
    return value


ROUTING = [
    Option("--fast-share", "EMOTIVOICE_FAST_SHARE", _share, 0.5,
           "share of the CPU cores the fast tier's own worker pool may use (workers = cores x share, at least 1; "
           "each student session runs one intra-op thread)"),
    Option("--fast-workers", "EMOTIVOICE_FAST_WORKERS", _positive_int_or_auto, None,
           "the fast tier's workers ('auto', the default: cores x --fast-share; set it in a container, whose "
           "cpu count is the node's)"),
    Option("--fast-queue-size", "EMOTIVOICE_FAST_QUEUE_SIZE", _non_negative_int, 64,
           "requests allowed to wait for a fast-tier worker (quality fast, latency budgets, degraded overflow)"),
    Option("--overload-policy", "EMOTIVOICE_OVERLOAD_POLICY", str, "reject",
           "when main's workers and queue are full: 'reject' answers 429; 'degrade' serves the request on the "
           "fast tier while it has room (X-Route-Reason: overload) unless the client asked for quality best "
           "explicitly or sent X-Allow-Degraded: false", ("reject", "degrade")),
    Option("--upstream", "EMOTIVOICE_UPSTREAM", _url_or_none, None,
           "edge mode: another emotivoice-srv (e.g. a GPU pool's Service URL) that takes enrollments, long texts, "
           "voices only it knows and best-quality requests while local main is busy"),
    Option("--upstream-api-key", "EMOTIVOICE_UPSTREAM_API_KEY", str, None,
           "bearer token sent to the upstream (from a Secret in Kubernetes)"),
    Option("--upstream-routes", "EMOTIVOICE_UPSTREAM_ROUTES", parse_list, ("enroll", "long", "busy", "voice"),
           "which work goes upstream: enroll (POST /v1/voices), long (texts over --upstream-long-chars), busy "
           "(quality best while every local main worker is busy), voice (a voice id the edge does not have)"),
    Option("--upstream-long-chars", "EMOTIVOICE_UPSTREAM_LONG_CHARS", _positive_int, 400,
           "texts longer than this many characters go upstream (route 'long')"),
    Option("--upstream-timeout", "EMOTIVOICE_UPSTREAM_TIMEOUT", _positive_float, 5.0,
           "seconds the upstream gets to connect and send its response headers; slower counts as a failure"),
    Option("--upstream-failures", "EMOTIVOICE_UPSTREAM_FAILURES", _positive_int, 2,
           "consecutive upstream failures that open the circuit breaker (work then stays local)"),
    Option("--upstream-probe-interval", "EMOTIVOICE_UPSTREAM_PROBE_INTERVAL", _positive_float, 2.0,
           "while the breaker is open, seconds between probes of the upstream's /readyz (one 200 closes it)"),
]
"""Hybrid routing: the fast tier on request, latency budgets, the overload policy, edge -> upstream."""

BUNDLE_STORE = [
    Option("--bundle-store", "EMOTIVOICE_BUNDLE_STORE", str, None,
           "bundle store directory: versions side by side, each file stored once, an 'active' symlink "
           "(default: <cache-dir>/store; see docs/lifecycle.md)"),
    Option("--bundle-roots", "EMOTIVOICE_BUNDLE_ROOTS", parse_list, (),
           "comma-separated directories besides the store and <cache-dir>/bundles from which a bundle may be "
           "named by path (`bundle activate DIR`, BundleStore.resolve); anything else is refused (403)"),
]
"""The bundle store (bundle/store.py): the `bundle` commands, and the server's model lifecycle."""


def bundle_store(args: argparse.Namespace, cache_dir):
    """The BundleStore described by parsed BUNDLE_STORE options (``cache_dir``: the resolved --cache-dir)."""
    from pathlib import Path

    from .bundle.store import BundleStore
    from .paths import bundles_dir, store_dir

    root = Path(args.bundle_store) if args.bundle_store else store_dir(Path(cache_dir))
    return BundleStore(root, allowed_roots=(bundles_dir(Path(cache_dir)), *(Path(r) for r in args.bundle_roots)))

def parse_bytes(raw: str) -> int | None:
    """'auto' -> -1 (decided at start), 'off'/'0' -> None, '2G' / '512M' / '1500000000' -> bytes."""
    value = raw.strip().lower()
    if value == "auto":
        return -1
    if value in ("off", "none", "0"):
        return None
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
    scale, value = 1, value.removesuffix("b").removesuffix("i")
    if value[-1:] in units:
        scale, value = units[value[-1]], value[:-1]
    number = float(value)
    if not number > 0:
        raise ValueError("must be > 0 (or 'off')")
    return int(number * scale)


LIFECYCLE = [
    Option("--watch-bundle", "EMOTIVOICE_WATCH_BUNDLE", _non_negative_float, 0.0,
           "poll the configured bundle paths (or symlinks) every this many seconds and hot-swap to a new "
           "manifest found there; 0: off (SIGHUP and POST /admin/models/{role} still swap)"),
    Option("--swap-memory-limit", "EMOTIVOICE_SWAP_MEMORY_LIMIT", parse_bytes, "auto",
           "a hot swap holds two versions at once: refuse it (507) when this RSS (e.g. 3G) would be crossed; "
           "'auto' (the default): the cgroup's memory limit, else the machine's; 'off': no guard"),
    Option("--swap-keep-previous", "EMOTIVOICE_SWAP_KEEP_PREVIOUS", _non_negative_float, 0.0,
           "seconds the replaced version stays loaded for an instant rollback (0: unloaded once its requests "
           "finish; a rollback then reloads it from disk)"),
    Option("--canary-duration-tolerance", "EMOTIVOICE_CANARY_DURATION_TOLERANCE", _non_negative_float, 0.2,
           "a new version's canary sentence may last this much longer or shorter than on the serving one (0.2 = 20%%)"),
    Option("--canary-f0-tolerance", "EMOTIVOICE_CANARY_F0_TOLERANCE", _non_negative_float, 2.0,
           "semitones a new version's canary median F0 may differ from the serving one's"),
    Option("--canary-min-level", "EMOTIVOICE_CANARY_MIN_LEVEL", float, -45.0,
           "dBFS below which a canary render counts as silent"),
    Option("--max-delta-bytes", "EMOTIVOICE_MAX_DELTA_BYTES", _positive_int, 1024 * 1024 * 1024,
           "largest accepted bundle delta upload (POST /admin/bundles; 413 above)"),
]
"""Model lifecycle: hot swaps of a tier's version (server/swap/, docs/lifecycle.md)."""
