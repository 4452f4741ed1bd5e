"""The canary check: fixed sentences rendered on the new version before it takes any request.

Each render must be finite and not silent, and its duration and median F0 must be within the
configured tolerance of the version serving now on the same sentences: a graph that loads but
outputs silence, noise or garbage, a voice table that moved, or a duration model that went wrong is
caught here, while the old version is still the one serving. The measures are the project's own
(emotivoice_srv/quality: active level, YIN median F0).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .config import CanaryConfig

CANARY_SENTENCES = (
    "Hello there, how are you today?",
    "Is it ready?",
)
"""Short and voiced, a statement and a question (~4.5 s of audio): rendering them on the new version is
most of a swap's time to switch (~1-2 s of one core here), while the serving version's renders are
made once, ahead (``ModelManager.prepare``)."""


@dataclass(frozen=True)
class CanaryRender:
    text: str
    duration_s: float
    level_db: float
    f0_hz: float
    """NaN when no frame is voiced."""
    finite: bool


def measure(text: str, audio: np.ndarray, sample_rate: int) -> CanaryRender:
    """The canary's measures of one render (pure)."""
    from ...quality import active_rms_db, median_f0_hz

    finite = bool(np.isfinite(audio).all())
    if not finite or audio.size == 0:
        return CanaryRender(text, audio.size / sample_rate, -math.inf, math.nan, finite)
    level = active_rms_db(audio, sample_rate)
    try:
        f0 = median_f0_hz(audio, sample_rate)
    except ValueError:  # no voiced frame
        f0 = math.nan
    return CanaryRender(text, audio.size / sample_rate, level, f0, finite)


def render(synthesize: Callable[[str], tuple[np.ndarray, int]]) -> list[CanaryRender]:
    """Render and measure every canary sentence with ``synthesize(text) -> (audio, sample_rate)``."""
    out = []
    for text in CANARY_SENTENCES:
        audio, sample_rate = synthesize(text)
        out.append(measure(text, np.asarray(audio, dtype=np.float32), sample_rate))
    return out


def judge(old: list[CanaryRender], new: list[CanaryRender], config: CanaryConfig) -> str | None:
    """None when the new renders pass, else the first reason they do not (pure)."""
    for before, after in zip(old, new):
        quoted = f"canary {after.text!r}"
        if not after.finite:
            return f"{quoted}: the new version's audio has NaN/inf samples"
        if not after.level_db >= config.min_level_db:
            return (f"{quoted}: the new version is silent (active level {after.level_db:.1f} dBFS < "
                    f"{config.min_level_db:g})")
        ratio = after.duration_s / before.duration_s if before.duration_s > 0 else math.inf
        if abs(ratio - 1.0) > config.duration_tolerance:
            return (f"{quoted}: duration {after.duration_s:.2f} s vs {before.duration_s:.2f} s on the serving "
                    f"version ({(ratio - 1) * 100:+.0f} %, tolerance {config.duration_tolerance * 100:.0f} %)")
        if math.isnan(after.f0_hz) and not math.isnan(before.f0_hz):
            return f"{quoted}: the new version's audio has no voiced frame"
        if not math.isnan(before.f0_hz) and not math.isnan(after.f0_hz):
            shift = 12.0 * math.log2(after.f0_hz / before.f0_hz)
            if abs(shift) > config.f0_tolerance_st:
                return (f"{quoted}: median F0 {after.f0_hz:.0f} Hz vs {before.f0_hz:.0f} Hz on the serving "
                        f"version ({shift:+.1f} semitones, tolerance {config.f0_tolerance_st:g})")
    return None


def summary(renders: list[CanaryRender]) -> list[dict]:
    """The renders as JSON-able dicts for the swap record."""
    return [{"text": r.text, "duration_s": round(r.duration_s, 3),
             "level_db": round(r.level_db, 1) if math.isfinite(r.level_db) else None,
             "f0_hz": round(r.f0_hz, 1) if math.isfinite(r.f0_hz) else None} for r in renders]
