"""Built-in voices: the stock Kokoro packs plus blends tuned for English.

A Kokoro style row is 256 numbers: the first 128 condition the decoder (timbre), the last 128 the
prosody predictor. A blend takes each half as a weighted sum of stock packs, so it is a new voice
made only of the licensed packs. The English blends below were picked by measured Whisper WER on
English sentences (the stock packs are Japanese speakers; some read English less clearly).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TIMBRE = slice(0, 128)
PROSODY = slice(128, 256)


@dataclass(frozen=True)
class VoiceRecipe:
    id: str
    gender: str
    timbre: dict[str, float]
    prosody: dict[str, float]
    speed: float = 1.0

    @property
    def description(self) -> str:
        fmt = lambda mix: " + ".join(f"{w:g}×{k}" for k, w in mix.items())  # noqa: E731
        rate = f"; rate {self.speed:g}" if self.speed != 1.0 else ""
        return f"English blend: timbre {fmt(self.timbre)}; prosody {fmt(self.prosody)}{rate}"


RECIPES = (
    VoiceRecipe("en_female_1", "female", timbre={"jf_gongitsune": 1.0}, prosody={"jf_gongitsune": 1.0}, speed=0.85),
    VoiceRecipe("en_male_1", "male", timbre={"jm_kumo": 1.0}, prosody={"jm_kumo": 0.5, "jf_gongitsune": 0.5},
                speed=0.9),
)


def _weighted(tables: dict[str, np.ndarray], mix: dict[str, float], part: slice) -> np.ndarray:
    total = sum(mix.values())
    return sum(w / total * tables[name][:, part] for name, w in mix.items())


def blend(tables: dict[str, np.ndarray], recipe: VoiceRecipe) -> np.ndarray:
    """[510, 256] style table for a recipe."""
    out = np.concatenate([_weighted(tables, recipe.timbre, TIMBRE), _weighted(tables, recipe.prosody, PROSODY)], 1)
    return np.ascontiguousarray(out, dtype=np.float32)
