"""How long a synthesis may take, decided before it is queued, so that limits agree with each other.

A request within every advertised limit must render, and one that cannot must be refused at once
with the reason and the way out, never answered 504 after burning its deadline. So the deadline is
derived from the request's own estimate rather than fixed::

    estimate = wait for a worker (jobs ahead, in rounds of workers, at the mean job time)
             + characters rendered before the first byte x measured seconds per character
               (a whole response: all of its text; a stream: its first chunk)
    deadline = max(--request-timeout, --deadline-slack x estimate)

    render part alone over --max-render-seconds   -> 413 render_too_long (stream it, or fewer characters)
    wait + render over --max-render-seconds        -> 429 overloaded + Retry-After (it fits on a quieter server)

A stream's deadline bounds its first audio only: after that it is paced by playback and stops when its
client leaves. Pure arithmetic on ``routing.Load``: no clock, no I/O.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import Overloaded, RenderTooLong
from .routing import Load, estimate_ttfa_s

STREAM_HINTS = {
    "/v1/tts": 'send "stream": true (format wav or pcm): a stream plays while it renders and has no length limit '
               "but --max-text-chars",
    "/v1/audio/speech": 'ask for response_format "wav" or "pcm", which this server streams while it renders',
}


@dataclass(frozen=True)
class DeadlinePolicy:
    request_timeout_s: float = 60.0
    """The shortest deadline any request gets (queueing included)."""
    slack: float = 2.0
    """Deadline = this many times the request's estimate when that is longer than request_timeout_s
    (0: every request gets exactly request_timeout_s, the fixed deadline of old)."""
    max_render_s: float = 300.0
    """Longest estimated time to a response's first byte that is accepted (a whole response's render)."""


@dataclass(frozen=True)
class Budget:
    estimate_s: float
    deadline_s: float
    """Seconds from arrival."""


def render_seconds(load: Load, chars: int) -> float:
    return chars * load.s_per_char


def budget(policy: DeadlinePolicy, load: Load, chars: int) -> Budget:
    """The estimate and deadline of a request whose first byte needs ``chars`` characters rendered."""
    estimate = estimate_ttfa_s(load, chars)
    return Budget(estimate, max(policy.request_timeout_s, policy.slack * estimate))


def fits(policy: DeadlinePolicy, load: Load, chars: int) -> bool:
    return estimate_ttfa_s(load, chars) <= policy.max_render_s


def refusal(policy: DeadlinePolicy, load: Load, chars: int, *, stream: bool, route: str) -> Exception:
    """Why a request that fits no pool is refused: its own length (413) or the work ahead of it (429)."""
    render = render_seconds(load, chars)
    if render > policy.max_render_s:
        max_chars = max(1, math.floor(policy.max_render_s / load.s_per_char))
        way_out = (f"send at most {max_chars} characters per request"
                   if stream else f"{STREAM_HINTS.get(route, STREAM_HINTS['/v1/tts'])}, or send at most "
                                  f"{max_chars} characters per request")
        what = "the first chunk of this stream" if stream else f"a whole response for {chars} characters"
        return RenderTooLong(
            f"{what} needs about {render:.0f} s of rendering on this server ({load.s_per_char * 1000:.1f} ms per "
            f"character measured), over its {policy.max_render_s:g} s limit (--max-render-seconds); {way_out}")
    wait = estimate_ttfa_s(load, chars) - render
    return Overloaded(f"about {wait:.0f} s of work is queued ahead of this request; with its {render:.0f} s of "
                      f"rendering that is over the {policy.max_render_s:g} s limit (--max-render-seconds); retry "
                      "later", retry_after=max(1, min(600, math.ceil(wait))))
