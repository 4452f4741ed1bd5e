"""Which tier answers a request: main, the fast tier (the fallback slot's student), or an upstream.

A request states what it wants (``Wants``: quality best|fast, whether "best" was explicit, whether a
degraded answer is acceptable, an optional latency budget); the server adds what it knows now
(``Load`` of each pool: busy, workers, capacity, measured seconds of work per character). ``plan``
turns both into an ordered list of ``Attempt``s: the first pool with room takes the request, and each
attempt carries the reason the response reports in ``X-Route-Reason``::

    quality fast / the student's model id      -> [fast: requested]
    budget main cannot meet, fast can          -> [fast: latency_budget]
    budget neither can meet                    -> Overloaded (429 + Retry-After)
    otherwise                                  -> [main: default] (+ [fast: overload] with --overload-policy
                                                  degrade, when degraded answers are allowed)

Pure logic: no I/O, no clock, no model; estimates are plain arithmetic on the numbers passed in.
"""
from __future__ import annotations

import argparse
import math
import re
from dataclasses import dataclass, field

from ..errors import InvalidInput, Overloaded

QUALITIES = ("best", "fast")
POLICIES = ("reject", "degrade")
UPSTREAM_ROUTES = ("enroll", "long", "busy", "voice")
MAIN, FAST, UPSTREAM = "main", "fallback", "upstream"
"""Route names: the local tiers keep their slot roles (``X-Model-Tier``), plus the upstream."""
PRIOR_S_PER_CHAR = {MAIN: 0.025, FAST: 0.001}
"""Work seconds per text character before any request was measured (2-core CPU: main RTF ~0.31,
student ~0.007, ~0.07 s of speech per character), replaced by measured rates as requests finish."""
_SENTENCE_END = re.compile(r"[.!?;:](\s|$)")


@dataclass(frozen=True)
class RoutingConfig:
    fast_share: float = 0.5
    """Share of the cores the fast tier's pool may occupy (workers = cores x share, at least 1)."""
    fast_workers_n: int | None = None
    """An explicit worker count instead of the share (a pod sees the node's cores, not its request)."""
    fast_queue_size: int = 64
    overload_policy: str = "reject"
    upstream: str | None = None
    upstream_api_key: str | None = field(default=None, repr=False)
    upstream_routes: tuple[str, ...] = UPSTREAM_ROUTES
    upstream_long_chars: int = 400
    upstream_timeout_s: float = 5.0
    upstream_failures: int = 2
    upstream_probe_interval_s: float = 2.0

    def __post_init__(self) -> None:
        if self.overload_policy not in POLICIES:
            raise InvalidInput(f"overload policy must be one of {', '.join(POLICIES)}")
        unknown = sorted(set(self.upstream_routes) - set(UPSTREAM_ROUTES))
        if unknown:
            raise InvalidInput(f"unknown upstream route(s) {', '.join(unknown)}; choose from {', '.join(UPSTREAM_ROUTES)}")

    def fast_workers(self, cores: int) -> int:
        if self.fast_workers_n is not None:
            return self.fast_workers_n
        return max(1, math.floor(cores * self.fast_share))

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> RoutingConfig:
        return cls(fast_share=args.fast_share, fast_workers_n=args.fast_workers, fast_queue_size=args.fast_queue_size,
                   overload_policy=args.overload_policy, upstream=args.upstream,
                   upstream_api_key=args.upstream_api_key, upstream_routes=tuple(args.upstream_routes),
                   upstream_long_chars=args.upstream_long_chars, upstream_timeout_s=args.upstream_timeout,
                   upstream_failures=args.upstream_failures,
                   upstream_probe_interval_s=args.upstream_probe_interval)


@dataclass(frozen=True)
class Wants:
    """What the client asked for."""

    quality: str = "best"
    explicit: bool = False
    """quality was given (an explicit "best" never degrades)."""
    allow_degraded: bool = True
    budget_s: float | None = None

    @property
    def degradable(self) -> bool:
        return self.allow_degraded and not (self.explicit and self.quality == "best")


def wants_from(quality: str | None, budget_ms: int | None, headers: dict[str, str]) -> Wants:
    """Body fields + ``X-Latency-Budget-Ms`` / ``X-Allow-Degraded`` headers -> Wants (422 on bad headers).
    Budget from both places: the smaller one binds."""
    from ..settings import parse_bool

    raw_budget = headers.get("x-latency-budget-ms")
    budgets = [budget_ms] if budget_ms is not None else []
    if raw_budget is not None:
        if not raw_budget.strip().isascii() or not raw_budget.strip().isdigit() or int(raw_budget) < 1:
            raise InvalidInput(f"X-Latency-Budget-Ms must be a positive integer, got {raw_budget!r}",
                               code="invalid_request")
        budgets.append(int(raw_budget))
    raw_allow = headers.get("x-allow-degraded")
    try:
        allow = True if raw_allow is None else parse_bool(raw_allow)
    except ValueError:
        raise InvalidInput(f"X-Allow-Degraded must be true or false, got {raw_allow!r}",
                           code="invalid_request") from None
    return Wants(quality=quality or "best", explicit=quality is not None, allow_degraded=allow,
                 budget_s=min(budgets) / 1000.0 if budgets else None)


@dataclass(frozen=True)
class Load:
    """A pool's state when the request arrives."""

    busy: int
    workers: int
    capacity: int
    mean_job_s: float
    s_per_char: float

    @property
    def full(self) -> bool:
        return self.busy >= self.capacity

    @property
    def idle_worker(self) -> bool:
        return self.busy < self.workers


def first_chunk_chars(text: str, stream: bool) -> int:
    """Characters rendered before the first audio byte: the first sentence of a stream, all of a
    whole response."""
    if not stream:
        return len(text)
    match = _SENTENCE_END.search(text)
    return match.end() if match else len(text)


def estimate_ttfa_s(load: Load, chars: int) -> float:
    """Time to first audio: the wait for a worker (the jobs ahead, in rounds of ``workers``, at the
    mean job time) plus rendering ``chars`` at the measured rate."""
    ahead = load.busy - load.workers + 1
    wait = 0.0 if ahead <= 0 else math.ceil(ahead / load.workers) * load.mean_job_s
    return wait + chars * load.s_per_char


@dataclass(frozen=True)
class Attempt:
    route: str
    reason: str


def plan(wants: Wants, chars: int, main: Load, fast: Load | None, policy: str) -> list[Attempt]:
    """Ordered attempts for a request whose first audio needs ``chars`` characters rendered.
    ``fast`` is None when no fast tier can serve. Raises Overloaded when a budget cannot be met."""
    if wants.quality == "fast":
        return [Attempt(FAST, "requested")] if fast is not None else [Attempt(MAIN, "fast_tier_unavailable")]
    attempts = [Attempt(MAIN, "default")]
    if wants.budget_s is not None:
        main_s = estimate_ttfa_s(main, chars)
        if main_s > wants.budget_s:
            fast_s = estimate_ttfa_s(fast, chars) if fast is not None else math.inf
            if wants.degradable and fast is not None and fast_s <= wants.budget_s and not fast.full:
                return [Attempt(FAST, "latency_budget")]
            raise Overloaded(f"no tier can send first audio within {wants.budget_s * 1000:.0f} ms "
                             f"(main's estimate {main_s * 1000:.0f} ms"
                             + (f", the fast tier's {fast_s * 1000:.0f} ms)" if fast is not None else ")"),
                             code="budget_unmeetable", retry_after=max(1, math.ceil(main_s - wants.budget_s)))
        attempts = [Attempt(MAIN, "latency_budget_met")]
    if policy == "degrade" and wants.degradable and fast is not None:
        attempts.append(Attempt(FAST, "overload"))
    return attempts


def upstream_reason(routes: tuple[str, ...], *, text_chars: int, long_chars: int, wants: Wants,
                    main: Load, voice_known: bool) -> str | None:
    """Why this synthesis should go upstream, or None to keep it local (a request for the fast tier
    stays local unless only the upstream has its voice)."""
    if "voice" in routes and not voice_known:
        return "remote_voice"
    if wants.quality == "fast":
        return None
    if "long" in routes and text_chars > long_chars:
        return "long_text"
    if "busy" in routes and wants.quality == "best" and not main.idle_worker:
        return "main_busy"
    return None


class RateTracker:
    """Measured work seconds per character, per route (exponentially weighted; starts at the prior)."""

    def __init__(self, alpha: float = 0.2) -> None:
        self.alpha = alpha
        self._rates = dict(PRIOR_S_PER_CHAR)
        self._measured: set[str] = set()
        """Routes with a measurement: the first one replaces the prior (a loaded or faster machine is
        believed at once), later ones are averaged in."""

    MIN_CHARS = 40
    """Shorter renders do not update the rate: their time is mostly fixed cost (the model pads "Hi." to
    1.6 s of audio), which would multiply the per-character rate and refuse long texts (render_budget.py)."""

    def observe(self, route: str, work_s: float, chars: int) -> None:
        if chars < self.MIN_CHARS or work_s <= 0:
            return
        rate = work_s / chars
        if route not in self._measured:
            self._measured.add(route)
            self._rates[route] = rate
            return
        self._rates[route] = (1 - self.alpha) * self._rates[route] + self.alpha * rate

    def s_per_char(self, route: str) -> float:
        return self._rates[route]
