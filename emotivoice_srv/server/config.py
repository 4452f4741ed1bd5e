"""Server settings as one frozen dataclass (filled from CLI flags / EMOTIVOICE_* variables)."""
from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field

from .abuse import AbuseLimits
from .render_budget import DeadlinePolicy
from .routing import RoutingConfig
from .swap.config import SwapConfig

OPENAI_VOICES_FEMALE = ("alloy", "coral", "nova", "sage", "shimmer")
OPENAI_VOICES_MALE = ("ash", "ballad", "echo", "fable", "onyx", "verse")
DEFAULT_ALIASES = {**{v: "en_female_1" for v in OPENAI_VOICES_FEMALE}, **{v: "en_male_1" for v in OPENAI_VOICES_MALE}}


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 4))


@dataclass(frozen=True)
class ServerConfig:
    host: str = "0.0.0.0"
    port: int = 8000
    workers: int = field(default_factory=default_workers)
    """Syntheses that run at once, each on its own pool thread."""
    queue_size: int | None = None
    """Requests that may wait for a worker; beyond workers + queue_size the answer is 429."""
    request_timeout_s: float = 60.0
    deadline_slack: float = 2.0
    """A request's deadline is max(request_timeout_s, this x its estimate) (server/render_budget.py)."""
    max_render_s: float = 300.0
    """Estimated seconds to a response's first byte above which it is refused at once (413/429)."""
    max_body_bytes: int = 262_144
    max_json_depth: int = 32
    """Deepest nesting accepted in a JSON body (server/json_body.py); 400 invalid_json above."""
    formats: tuple[str, ...] = ("wav", "flac", "ogg", "opus", "mp3", "pcm")
    sample_rates: tuple[int, ...] = (8000, 16000, 22050, 24000, 44100, 48000)
    default_voice: str = "en_female_1"
    voice_aliases: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_ALIASES))
    api_keys: tuple[str, ...] = ()
    """``key`` or ``tenant:key`` entries (tenancy.py); none: single-tenant, no authentication."""
    admin_keys: tuple[str, ...] = ()
    """Keys (same forms) that also see and manage every tenant's voices."""
    protect_metrics: bool = False
    cors_origins: tuple[str, ...] = ()
    warmup: bool = True
    warmup_delay_s: float = 0.0
    drain_grace_s: float = 30.0
    drain_delay_s: float = 0.0
    livez_max_lag_s: float = 5.0
    enroll_wait_s: float = 20.0
    """How long POST /v1/voices waits for a fit before answering 202 (the fit goes on)."""
    hold_for_main_s: float = 0.0
    """How long a request waits for the main tier before the fallback serves it (0: never waits)."""
    ready_on_fallback: bool = False
    """/readyz answers 200 once the fallback tier is ready, not only main."""
    concurrent_threads: int | None = None
    """Intra-op threads of the extra sessions used while syntheses overlap. None (auto, the default):
    cores / workers when that is fewer than the main sessions'; 0: none. On 2 cores they give +24-33%
    audio-s/s at concurrency >= 2 for +100-160 MiB of peak RSS, the session sets sharing one arena
    (two runs of bench throughput; +320-330 MiB with per-session arenas)."""
    main_start_delay_s: float = 0.0
    """Artificial delay before main starts loading (tests and drills: a slow GPU start)."""
    ui: bool = True
    """Serve the web studio at / (server/studio.py); off: API only."""
    routing: RoutingConfig = field(default_factory=RoutingConfig)
    abuse: AbuseLimits = field(default_factory=AbuseLimits)
    """Per-caller rate limit, concurrent enrollments per caller, header size, body arrival time (server/abuse.py)."""
    """The fast tier's pool, latency budgets, the overload policy and the upstream (server/routing.py)."""
    swap: SwapConfig = field(default_factory=SwapConfig)
    """Hot swaps of a tier's model version: watch, memory guard, rollback, canary (server/swap/)."""

    @property
    def deadline_policy(self) -> DeadlinePolicy:
        return DeadlinePolicy(self.request_timeout_s, self.deadline_slack, self.max_render_s)

    @property
    def queue_capacity(self) -> int:
        return 4 * self.workers if self.queue_size is None else self.queue_size

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ServerConfig:
        return cls(
            host=args.host, port=args.port, workers=args.workers or default_workers(), queue_size=args.queue_size,
            request_timeout_s=args.request_timeout, deadline_slack=args.deadline_slack,
            max_render_s=args.max_render_seconds, max_body_bytes=args.max_body_bytes,
            max_json_depth=getattr(args, "max_json_depth", 32),
            formats=tuple(args.formats), sample_rates=tuple(args.sample_rates), default_voice=args.default_voice,
            voice_aliases=dict(DEFAULT_ALIASES if args.voice_aliases is None else args.voice_aliases),
            api_keys=tuple(args.api_keys), admin_keys=tuple(getattr(args, "admin_keys", ())),
            protect_metrics=args.protect_metrics,
            cors_origins=tuple(args.cors_origins), warmup=args.warmup, warmup_delay_s=args.warmup_delay,
            drain_grace_s=args.drain_grace, drain_delay_s=args.drain_delay, livez_max_lag_s=args.livez_max_lag,
            enroll_wait_s=args.enroll_wait, hold_for_main_s=args.hold_for_main_ms / 1000.0,
            ready_on_fallback=args.ready_on_fallback, main_start_delay_s=args.main_start_delay,
            concurrent_threads=args.concurrent_threads, ui=args.ui == "on", routing=RoutingConfig.from_args(args),
            abuse=AbuseLimits(rate=args.rate_limit, burst=args.rate_limit_burst,
                              max_enrollments_per_key=args.max_enrollments_per_key,
                              max_header_bytes=args.max_header_bytes, body_timeout_s=args.body_timeout),
            swap=SwapConfig.from_args(args),
        )


def narrow_threads(config: ServerConfig, session_threads: int, cores: int | None = None) -> int:
    """Threads per session for overlapping syntheses, or 0 when a second session set would not help."""
    if config.concurrent_threads is not None:
        return config.concurrent_threads if config.concurrent_threads < session_threads else 0
    if config.workers < 2:
        return 0
    per_worker = max(1, (cores or os.cpu_count() or 1) // config.workers)
    return per_worker if per_worker < session_threads else 0
