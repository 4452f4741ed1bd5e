"""The three stage graphs of a bundle, loaded once and run in order with host steps between.

duration(tokens, style, speed) -> per-token durations + features; the caller edits durations and
expands features to frames; prosody(aligned, style) -> F0 + energy; the caller edits those;
decoder(text_aligned, f0, energy, style) -> audio.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..bundle import STAGES, Manifest
from .session import RuntimeChoice, create_session


@dataclass
class StageTimings:
    """Seconds spent in each stage of one utterance (host steps included in ``host``)."""

    duration: float = 0.0
    prosody: float = 0.0
    decoder: float = 0.0
    host: float = 0.0

    def add(self, other: "StageTimings") -> None:
        self.duration += other.duration
        self.prosody += other.prosody
        self.decoder += other.decoder
        self.host += other.host


@dataclass(frozen=True)
class DurationOutputs:
    durations: np.ndarray         # [T] float frames (already divided by speed)
    prosody_features: np.ndarray  # [1, 640, T] (transposed for expansion)
    text_features: np.ndarray     # [1, 512, T]


@dataclass
class KokoroGraphs:
    """Sessions for one precision of a bundle; create with ``load``."""

    runtime: RuntimeChoice
    sessions: dict
    load_seconds: dict[str, float] = field(default_factory=dict)

    @classmethod
    def load(cls, bundle_dir: Path, manifest: Manifest, runtime: RuntimeChoice,
             threads: int | None = None) -> "KokoroGraphs":
        """Create all stage sessions, in parallel (session creation releases the GIL)."""
        specs = {stage: manifest.graph(stage, runtime.precision) for stage in STAGES}
        seconds: dict[str, float] = {}

        def make(stage: str):
            t0 = time.perf_counter()
            s = create_session(Path(bundle_dir) / specs[stage].file, runtime.providers, threads,
                               preoptimized=bool(specs[stage].optimized), memory=runtime.memory)
            seconds[stage] = round(time.perf_counter() - t0, 3)
            return stage, s

        with ThreadPoolExecutor(max_workers=len(STAGES)) as pool:
            sessions = dict(pool.map(make, STAGES))
        return cls(runtime, sessions, seconds)

    def duration(self, tokens: np.ndarray, style: np.ndarray, speed: float) -> DurationOutputs:
        dur, feats, text = self.sessions["duration"].run(None, {
            "tokens": tokens.reshape(1, -1).astype(np.int64),
            "style": style.reshape(1, -1).astype(np.float32),
            "speed": np.array([speed], dtype=np.float32),
        })
        return DurationOutputs(dur.reshape(-1), np.ascontiguousarray(feats.transpose(0, 2, 1)), text)

    def prosody(self, prosody_aligned: np.ndarray, style: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        f0, energy = self.sessions["prosody"].run(None, {
            "prosody_aligned": prosody_aligned, "style": style.reshape(1, -1).astype(np.float32),
        })
        return f0, energy

    def decode(self, text_aligned: np.ndarray, f0: np.ndarray, energy: np.ndarray, style: np.ndarray) -> np.ndarray:
        (audio,) = self.sessions["decoder"].run(None, {
            "text_aligned": text_aligned, "f0": f0.astype(np.float32), "energy": energy.astype(np.float32),
            "style": style.reshape(1, -1).astype(np.float32),
        })
        return audio.reshape(-1).astype(np.float32, copy=False)
