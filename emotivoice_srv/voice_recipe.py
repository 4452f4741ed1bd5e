"""Voices as recipes over the stock Kokoro packs (pure numpy, shared by export and cloning).

A Kokoro style row is 256 numbers: the first 128 condition the decoder (timbre), the last 128 the
prosody predictor. A recipe takes each half as a weighted sum of stock packs, optionally moves the
timbre half by a fixed offset and shifts the pitch, so every voice — built-in blend or cloned — is
described by a few numbers over licensed packs and can be rebuilt exactly from them.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

TIMBRE = slice(0, 128)
PROSODY = slice(128, 256)

EQ_POINTS = 65
"""Length of a recipe's ``eq_db`` (the grid of ``audio.timbre_eq``)."""
EQ_LIMIT_DB = 24.0
PITCH_RANGE_LIMITS = (0.5, 2.0)

ENGLISH_PROSODY = {
    "female": {"jf_gongitsune": 1.0},
    "male": {"jm_kumo": 0.5, "jf_gongitsune": 0.5},
}
"""Prosody halves that read English most clearly (picked by measured Whisper WER)."""
ENGLISH_SPEED = {"female": 0.85, "male": 0.9}
ENGLISH_TIMBRE = {"female": "jf_gongitsune", "male": "jm_kumo"}
"""The stock timbre of each register's built-in English voice (a fit's first candidate)."""


@dataclass(frozen=True)
class VoiceRecipe:
    """A voice as weights over stock packs; ``timbre_offset`` (128 numbers) is added to every row."""

    id: str
    gender: str
    timbre: Mapping[str, float]
    prosody: Mapping[str, float]
    speed: float = 1.0
    pitch: float = 0.0
    """Semitones added to every request's pitch."""
    timbre_offset: tuple[float, ...] = field(default=())
    eq_db: tuple[float, ...] = field(default=())
    """Post-decoder equalizer gains in dB on ``audio.timbre_eq.GRID_HZ`` (empty = none)."""
    pitch_range: float = 1.0
    """Factor on the F0 range around each utterance's median (the reference speaker's liveliness)."""

    @property
    def description(self) -> str:
        fmt = lambda mix: " + ".join(f"{w:g}×{k}" for k, w in mix.items())
        rate = f"; rate {self.speed:g}" if self.speed != 1.0 else ""
        return f"English blend: timbre {fmt(self.timbre)}; prosody {fmt(self.prosody)}{rate}"

    def packs(self) -> set[str]:
        return set(self.timbre) | set(self.prosody)

    def to_dict(self) -> dict[str, Any]:
        return {"timbre": dict(self.timbre), "prosody": dict(self.prosody), "speed": self.speed,
                "pitch": self.pitch, "timbre_offset": [round(float(x), 6) for x in self.timbre_offset],
                **({"eq_db": [round(float(x), 3) for x in self.eq_db]} if self.eq_db else {}),
                **({"pitch_range": self.pitch_range} if self.pitch_range != 1.0 else {})}

    @classmethod
    def from_dict(cls, voice_id: str, gender: str, raw: Mapping[str, Any]) -> VoiceRecipe:
        offset = tuple(float(x) for x in raw.get("timbre_offset", ()))
        if offset and len(offset) != TIMBRE.stop - TIMBRE.start:
            raise ValueError(f"timbre_offset must have 128 numbers, got {len(offset)}")
        eq = tuple(float(x) for x in raw.get("eq_db", ()))
        if eq and len(eq) != EQ_POINTS:
            raise ValueError(f"eq_db must have {EQ_POINTS} numbers, got {len(eq)}")
        if any(not np.isfinite(x) or abs(x) > EQ_LIMIT_DB for x in eq):
            raise ValueError(f"eq_db gains must be finite and within ±{EQ_LIMIT_DB:g} dB")
        return cls(voice_id, gender, {str(k): float(v) for k, v in raw["timbre"].items()},
                   {str(k): float(v) for k, v in raw["prosody"].items()}, float(raw.get("speed", 1.0)),
                   float(raw.get("pitch", 0.0)), offset, eq, _pitch_range(raw.get("pitch_range", 1.0)))


def _pitch_range(raw: Any) -> float:
    value = float(raw)
    if not PITCH_RANGE_LIMITS[0] <= value <= PITCH_RANGE_LIMITS[1]:
        raise ValueError(f"pitch_range must be within {PITCH_RANGE_LIMITS}, got {value}")
    return value


def _weighted(tables: Mapping[str, np.ndarray], mix: Mapping[str, float], part: slice) -> np.ndarray:
    total = sum(mix.values())
    if not mix or total == 0:
        raise ValueError("a mix needs at least one pack and weights that do not sum to 0")
    missing = sorted(set(mix) - set(tables))
    if missing:
        raise KeyError(f"stock pack(s) {', '.join(missing)} not available")
    return sum(w / total * np.asarray(tables[name])[:, part] for name, w in mix.items())


def blend(tables: Mapping[str, np.ndarray], recipe: VoiceRecipe) -> np.ndarray:
    """[510, 256] style table for a recipe."""
    timbre = _weighted(tables, recipe.timbre, TIMBRE)
    if recipe.timbre_offset:
        timbre = timbre + np.asarray(recipe.timbre_offset, dtype=np.float32)[None, :]
    out = np.concatenate([timbre, _weighted(tables, recipe.prosody, PROSODY)], 1)
    return np.ascontiguousarray(out, dtype=np.float32)
