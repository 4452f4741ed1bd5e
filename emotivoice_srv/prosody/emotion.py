"""The seven emotions as prosody presets, and how intensity, mixes and overrides combine them.

Each preset is a set of acoustic targets at intensity 1.0 (sources and reasoning: docs/emotion.md).
A mix {"happy": 0.7, "surprised": 0.3} is the weighted combination of presets, computed in the
domain where each parameter is perceived linearly (semitones and dB add; rates and scales
multiply, so they are combined as logarithms). Intensity scales the whole mix towards neutral.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Mapping

from ..errors import InvalidInput, UnknownEmotion

EMOTIONS = ("neutral", "happy", "sad", "angry", "surprised", "fearful", "disgusted")


@dataclass(frozen=True)
class ProsodyParams:
    """Acoustic targets relative to the model's neutral rendition."""

    pitch_shift_st: float = 0.0
    """Shift of the whole F0 curve, semitones."""
    pitch_range: float = 1.0
    """Scale of F0 excursions around the utterance median (log domain); >1 livelier, <1 flatter."""
    rate: float = 1.0
    """Speaking-rate factor (>1 faster); divides every duration."""
    energy_db: float = 0.0
    """Loudness change, dB, applied as gain on the rendered audio."""
    effort: float = 0.0
    """Vocal effort: offset of the decoder's energy curve (model units); >0 tenser, brighter voice."""
    pause_scale: float = 1.0
    """Factor on pauses at punctuation."""
    final_lengthening: float = 1.0
    """Factor on the durations of the last word before a sentence/clause end."""
    final_contour_st: float = 0.0
    """F0 movement over the final stretch of each chunk, semitones (+ rise, - fall)."""
    tremor_st: float = 0.0
    """Depth of a slow F0 tremor (about 6 Hz), semitones peak."""

    def is_neutral(self) -> bool:
        return self == NEUTRAL


NEUTRAL = ProsodyParams()

# Multiplicative parameters are combined in the log domain, the others linearly.
_MULTIPLICATIVE = {"pitch_range", "rate", "pause_scale", "final_lengthening"}

PRESETS: dict[str, ProsodyParams] = {
    "neutral": NEUTRAL,
    "happy": ProsodyParams(pitch_shift_st=3.0, pitch_range=1.35, rate=1.0, energy_db=2.0,
                           pause_scale=0.85, final_contour_st=1.0),
    "sad": ProsodyParams(pitch_shift_st=-2.0, pitch_range=0.7, rate=0.85, energy_db=-4.0, effort=-0.5,
                         pause_scale=1.4, final_lengthening=1.15, final_contour_st=-1.5),
    "angry": ProsodyParams(pitch_shift_st=1.5, pitch_range=1.3, rate=1.03, energy_db=5.0, effort=1.0,
                           pause_scale=0.8),
    "surprised": ProsodyParams(pitch_shift_st=3.5, pitch_range=1.5, rate=1.0, energy_db=2.0,
                               final_lengthening=1.15, final_contour_st=4.0),
    "fearful": ProsodyParams(pitch_shift_st=2.5, pitch_range=1.1, rate=1.08, energy_db=-1.0,
                             pause_scale=0.8, tremor_st=0.35),
    "disgusted": ProsodyParams(pitch_shift_st=-1.5, pitch_range=1.15, rate=0.85, energy_db=-1.0,
                               final_lengthening=1.25, final_contour_st=-2.5),
}


@dataclass(frozen=True)
class EmotionSpec:
    """A normalized emotion request: weights over EMOTIONS (summing to at most 1) and an intensity."""

    mix: tuple[tuple[str, float], ...] = (("neutral", 1.0),)
    intensity: float = 1.0

    @property
    def label(self) -> str:
        """The dominant emotion's name (what logs and headers report)."""
        return max(self.mix, key=lambda kv: kv[1])[0] if self.mix else "neutral"


def _check_name(name: str) -> str:
    key = name.strip().lower()
    if key not in PRESETS:
        raise UnknownEmotion(f"unknown emotion {name!r}; choose from {', '.join(EMOTIONS)}")
    return key


def _check_intensity(value: float) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"intensity must be a number in [0, 1], got {value!r}") from exc
    if not (0.0 <= x <= 1.0) or math.isnan(x):
        raise InvalidInput(f"intensity must be in [0, 1], got {value!r}", code="intensity_out_of_range")
    return x


def parse_emotion(emotion: str | Mapping[str, float] | None = None, intensity: float | None = None) -> EmotionSpec:
    """Accept "happy", "happy:0.8", or a mix mapping {"happy": 0.7, "surprised": 0.3}.

    Mix weights must be >= 0; if they sum to more than 1 they are normalized to sum to 1; a mix whose
    weights are all 0 is neutral (a slider set to nothing, not an error).
    """
    if emotion is None or (isinstance(emotion, str) and not emotion.strip()):
        return EmotionSpec(intensity=_check_intensity(1.0 if intensity is None else intensity))
    if isinstance(emotion, str):
        name, _, level = emotion.partition(":")
        if level and intensity is not None:
            raise InvalidInput("give the intensity either as 'emotion:level' or separately, not both")
        inten = _check_intensity(level if level else (1.0 if intensity is None else intensity))
        return EmotionSpec(((_check_name(name), 1.0),), inten)
    if not isinstance(emotion, Mapping) or not emotion:
        raise InvalidInput("emotion mix must be a non-empty mapping of emotion name -> weight")
    weights: dict[str, float] = {}
    for name, w in emotion.items():
        key = _check_name(str(name))
        try:
            wf = float(w)
        except (TypeError, ValueError) as exc:
            raise InvalidInput(f"weight of {name!r} must be a number, got {w!r}") from exc
        if wf < 0 or math.isnan(wf) or math.isinf(wf):
            raise InvalidInput(f"weight of {name!r} must be >= 0, got {w!r}")
        weights[key] = weights.get(key, 0.0) + wf
    total = sum(weights.values())
    if total <= 0:
        return EmotionSpec(intensity=_check_intensity(1.0 if intensity is None else intensity))
    if total > 1:
        weights = {k: v / total for k, v in weights.items()}
    mix = tuple(sorted(((k, round(v, 6)) for k, v in weights.items() if v > 0), key=lambda kv: -kv[1]))
    return EmotionSpec(mix, _check_intensity(1.0 if intensity is None else intensity))


def blend(spec: EmotionSpec) -> ProsodyParams:
    """The prosody targets of a mix at its intensity."""
    values = {}
    for f in fields(ProsodyParams):
        acc = 0.0
        for name, weight in spec.mix:
            v = getattr(PRESETS[name], f.name)
            acc += weight * (math.log(v) if f.name in _MULTIPLICATIVE else v)
        acc *= spec.intensity
        values[f.name] = math.exp(acc) if f.name in _MULTIPLICATIVE else acc
    return ProsodyParams(**values)


def resolve_prosody(spec: EmotionSpec, *, pitch_st: float = 0.0, rate: float = 1.0,
                    energy_db: float = 0.0) -> ProsodyParams:
    """Emotion targets plus explicit overrides (added semitones, a rate factor, added dB)."""
    base = blend(spec)
    return replace(base, pitch_shift_st=base.pitch_shift_st + pitch_st, rate=base.rate * rate,
                   energy_db=base.energy_db + energy_db)
