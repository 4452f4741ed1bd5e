"""Voices: style tables (one 256-number style per utterance length) by id — built-in and enrolled."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .bundle import Manifest
from .errors import UnknownVoice, VoiceConflict


@dataclass(frozen=True)
class Voice:
    """A voice: ``table[n-1]`` is the style for an utterance of n phonemes."""

    id: str
    gender: str
    language: str
    description: str
    table: np.ndarray | None
    """None only in a voice header (an enrolled voice as listings describe it, never rendered)."""
    speed: float = 1.0
    pitch: float = 0.0
    """Semitones added to every request's pitch (cloned voices match their speaker's register)."""
    kind: str = "builtin"
    """builtin (from the bundle) or enrolled (cloned from reference audio)."""
    eq_db: tuple[float, ...] = ()
    """Post-decoder timbre equalizer gains (dB on ``audio.timbre_eq.GRID_HZ``); empty = none."""
    pitch_range: float = 1.0
    """Factor on every request's F0 range (cloned voices: the speaker's own liveliness)."""

    def style(self, n_phonemes: int) -> np.ndarray:
        row = min(max(n_phonemes, 1), self.table.shape[0]) - 1
        return np.ascontiguousarray(self.table[row].reshape(1, -1), dtype=np.float32)


class VoiceLibrary:
    """Voices looked up by id: the bundle's, plus enrolled ones added (and removed) at run time.
    An id can be marked pending while its voice is being enrolled; using it is then a 409."""

    def __init__(self, voices: dict[str, Voice]) -> None:
        self._voices = dict(voices)
        self._pending: set[str] = set()
        self._lock = threading.Lock()

    @classmethod
    def from_bundle(cls, bundle_dir: Path, manifest: Manifest) -> VoiceLibrary:
        voices = {}
        for spec in manifest.voices:
            table = np.load(Path(bundle_dir) / spec.file, mmap_mode="r")
            voices[spec.id] = Voice(spec.id, spec.gender, spec.language, spec.description,
                                    np.asarray(table, dtype=np.float32), spec.speed, spec.pitch)
        return cls(voices)

    def ids(self) -> list[str]:
        return sorted(self._voices)

    def get(self, voice_id: str) -> Voice:
        try:
            return self._voices[voice_id]
        except (KeyError, TypeError):
            if voice_id in self._pending:
                raise VoiceConflict(f"voice {voice_id!r} is still being enrolled; poll GET /v1/voices/{voice_id} "
                                    "until its status is ready", code="voice_pending") from None
            raise UnknownVoice(f"unknown voice {voice_id!r}; available: {', '.join(self.ids())}") from None

    def __contains__(self, voice_id: object) -> bool:
        return voice_id in self._voices

    def add(self, voice: Voice) -> None:
        with self._lock:
            self._voices = {**self._voices, voice.id: voice}
            self._pending.discard(voice.id)

    def absorb(self, other: VoiceLibrary) -> None:
        """Add the voices of ``other`` this library lacks (a second tier's bundle joining the first's)."""
        with self._lock:
            self._voices = {**{k: v for k, v in other._voices.items() if k not in self._voices}, **self._voices}

    def remove(self, voice_id: str) -> None:
        with self._lock:
            self._voices = {k: v for k, v in self._voices.items() if k != voice_id}

    def set_pending(self, voice_id: str, pending: bool) -> None:
        with self._lock:
            (self._pending.add if pending else self._pending.discard)(voice_id)

    def __iter__(self):
        voices = self._voices
        return iter(voices[k] for k in sorted(voices))
