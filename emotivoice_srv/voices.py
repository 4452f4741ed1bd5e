"""Voices: style tables (one 256-number style per utterance length) loaded from the bundle."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .bundle import Manifest
from .errors import UnknownVoice


@dataclass(frozen=True)
class Voice:
    """A voice: ``table[n-1]`` is the style for an utterance of n phonemes."""

    id: str
    gender: str
    language: str
    description: str
    table: np.ndarray
    speed: float = 1.0

    def style(self, n_phonemes: int) -> np.ndarray:
        row = min(max(n_phonemes, 1), self.table.shape[0]) - 1
        return np.ascontiguousarray(self.table[row].reshape(1, -1), dtype=np.float32)


class VoiceLibrary:
    """The bundle's built-in voices, looked up by id."""

    def __init__(self, voices: dict[str, Voice]) -> None:
        self._voices = dict(voices)

    @classmethod
    def from_bundle(cls, bundle_dir: Path, manifest: Manifest) -> "VoiceLibrary":
        voices = {}
        for spec in manifest.voices:
            table = np.load(Path(bundle_dir) / spec.file, mmap_mode="r")
            voices[spec.id] = Voice(spec.id, spec.gender, spec.language, spec.description,
                                    np.asarray(table, dtype=np.float32), spec.speed)
        return cls(voices)

    def ids(self) -> list[str]:
        return sorted(self._voices)

    def get(self, voice_id: str) -> Voice:
        try:
            return self._voices[voice_id]
        except (KeyError, TypeError):
            raise UnknownVoice(f"unknown voice {voice_id!r}; available: {', '.join(self.ids())}") from None

    def __iter__(self):
        return iter(self._voices[k] for k in self.ids())
