"""The synthesis engine: a bundle loaded once, then text -> 24 kHz float32 speech with emotion.

Per utterance: duration graph -> duration edits (pauses, phrase-final lengthening) -> alignment ->
prosody graph -> F0/energy edits -> decoder graph -> gain. ``stream`` yields each utterance's audio
as soon as it is rendered, so the first sentence can be played while the rest is computed.
"""
from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterator, Mapping

import numpy as np

from .bundle import Manifest
from .bundle.identity import manifest_sha256, version_label
from .errors import InvalidInput
from .graphs import KokoroGraphs, StageTimings
from .graphs.loader import load_bundle_graphs
from .prosody import (
    EmotionSpec,
    ProsodyParams,
    apply_durations,
    apply_energy,
    apply_f0,
    emotion_from_prompt,
    expand,
    parse_emotion,
    resolve_prosody,
)
from .audio import timbre_eq
from .audio.edges import trim_edges
from .prosody.transform import apply_gain
from .text.frontend import Frontend, Utterance
from .voices import Voice, VoiceLibrary

log = logging.getLogger("emotivoice_srv.engine")
CUT_PAUSE_S = 0.18
"""Silence kept after a chunk that ends mid-sentence (a comma's pause; scaled by the emotion's pause
factor and rate)."""
CUT_LEAD_S = 0.03
"""Silence kept before the chunk that continues a cut sentence."""

SPEED_RANGE = (0.5, 2.0)
PITCH_RANGE_ST = (-12.0, 12.0)
ENERGY_RANGE_DB = (-20.0, 12.0)


@dataclass(frozen=True)
class EngineConfig:
    """How to load a bundle. Every field has a CLI flag and an EMOTIVOICE_* variable (see cli.py)."""

    bundle_dir: Path
    device: str = "auto"
    """cpu (int8 graphs), cuda (fp16 graphs on the CUDA provider) or auto."""
    precision: str | None = None
    """Override the device's default precision (int8 / fp32 / fp16)."""
    threads: int | None = None
    """Intra-op threads per session; default: all cores."""
    session_memory: str = "shared"
    """``shared``: CPU sessions allocate from one process-wide arena without memory patterns (lower
    peak RSS, same speed); ``per-session``: onnxruntime's defaults (graphs/session.py)."""
    max_text_chars: int = 10_000
    """Longest accepted text, in characters."""
    sentence_gap_s: float = 0.0
    """Extra silence after a sentence-final chunk (scaled by the emotion's pause factor); the model
    already renders the final punctuation as a pause of its own."""
    clause_gap_s: float = 0.0
    """Extra silence after a chunk that ends mid-sentence."""
    verify_hashes: bool = False
    """Hash every bundle file at load (slow for big bundles; export already verified them)."""
    stream_first_clause_words: int = 2
    """Streams cut their first sentence after its first clause break when both parts keep at least
    this many words ("Hello there, | how are you today?"): the first audio then costs a clause, not a
    sentence. 0 keeps sentences whole. Whole (non-streamed) renders never cut."""


@dataclass(frozen=True)
class SynthesisOptions:
    """Per-request controls, validated before any graph runs."""

    voice: str | Voice
    """A voice id, or a Voice object (an inline clone that is not in the library)."""
    emotion: str | Mapping[str, float] | None = None
    intensity: float | None = None
    prompt: str | None = None
    speed: float = 1.0
    pitch: float = 0.0
    """Explicit pitch shift, semitones, added to the emotion's."""
    energy: float = 0.0
    """Explicit loudness change, dB, added to the emotion's."""


@dataclass
class AudioChunk:
    """One rendered utterance."""

    audio: np.ndarray
    sample_rate: int
    index: int
    text: str
    is_last: bool
    timings: StageTimings


@dataclass
class SynthesisResult:
    audio: np.ndarray
    sample_rate: int
    emotion: EmotionSpec
    prosody: ProsodyParams
    chunks: int
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        return len(self.audio) / self.sample_rate


def _check_range(name: str, value: float, bounds: tuple[float, float], unit: str = "") -> float:
    try:
        x = float(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"{name} must be a number, got {value!r}") from exc
    if math.isnan(x) or not bounds[0] <= x <= bounds[1]:
        raise InvalidInput(f"{name} must be in [{bounds[0]}, {bounds[1]}]{unit}, got {value!r}",
                           code=f"{name}_out_of_range")
    return x


class Engine:
    """Load with ``Engine.load(config)``; ``synthesize`` and ``stream`` are thread-safe."""

    def __init__(self, config: EngineConfig, manifest: Manifest, graphs: KokoroGraphs, voices: VoiceLibrary,
                 frontend: Frontend, load_seconds: dict[str, float], manifest_sha256: str = "") -> None:
        self.config = config
        self.manifest = manifest
        self.manifest_sha256 = manifest_sha256
        """The sha256 of the manifest.json it was loaded from (bundle/identity.py)."""
        self.graphs = graphs
        self.narrow: KokoroGraphs | None = None
        """Optional second set of sessions with fewer intra-op threads, used while renders overlap."""
        self._rendering = 0
        self._render_lock = threading.Lock()
        self.pressure: Callable[[], int] | None = None
        """How many syntheses are admitted right now (set by the server's pool). With more than one,
        renders take the narrow sessions even when they start alone: the next one is coming."""
        self.voices = voices
        self.frontend = frontend
        self.load_seconds = load_seconds
        self.sample_rate = manifest.sample_rate

    @classmethod
    def load(cls, config: EngineConfig, loaded: tuple[Manifest, KokoroGraphs, float] | None = None) -> "Engine":
        """Load a bundle; ``loaded`` = (manifest, graphs, seconds) from ``graphs.loader.load_bundle_graphs``
        when the sessions were created earlier (the server creates them before importing this module's
        dependencies' heavier half)."""
        if loaded is None:
            loaded = load_bundle_graphs(config.bundle_dir, config.device, config.precision, config.threads,
                                        config.verify_hashes, config.session_memory)
        manifest, graphs, graph_seconds = loaded
        digest = manifest_sha256(config.bundle_dir)
        t0 = time.perf_counter() - graph_seconds
        t1 = time.perf_counter()
        voices = VoiceLibrary.from_bundle(config.bundle_dir, manifest)
        lexicon_dir = Path(config.bundle_dir) / "frontend"
        frontend = Frontend(manifest.vocab, manifest.max_tokens, lexicon_dir if lexicon_dir.is_dir() else None)
        t2 = time.perf_counter()
        seconds = {**{f"session_{k}": v for k, v in graphs.load_seconds.items()},
                   "sessions": round(t1 - t0, 3), "voices_frontend": round(t2 - t1, 3), "total": round(t2 - t0, 3)}
        runtime = graphs.runtime
        log.info("engine loaded", extra={"bundle": str(config.bundle_dir), "device": runtime.device,
                                         "precision": runtime.precision, "seconds": seconds})
        return cls(config, manifest, graphs, voices, frontend, seconds, digest)

    def add_narrow_sessions(self, threads: int) -> float:
        """Create the stage sessions again with ``threads`` intra-op threads each; from then on an
        utterance rendered while another render runs uses them. Why: N concurrent renders on sessions
        that each spin up all cores' threads oversubscribe the CPU (2 cores: 2.9 audio-s/s at
        concurrency 2 vs 3.0 alone), while 1-thread renders side by side reach 3.8; a lone render keeps
        the wide sessions (1-thread alone: 1.9). The cost is memory: with the shared session memory the
        sets draw on one arena (server peak RSS 0.63-0.67 GB vs 0.51-0.53 GB with one set; 0.87 GB with
        an arena per session). Returns the seconds taken."""
        t0 = time.perf_counter()
        self.narrow = KokoroGraphs.load(self.config.bundle_dir, self.manifest, self.graphs.runtime, threads)
        seconds = round(time.perf_counter() - t0, 3)
        self.load_seconds["narrow_sessions"] = seconds
        return seconds

    def _graphs_for_render(self) -> KokoroGraphs:
        with self._render_lock:
            self._rendering += 1
            overlapping = self._rendering > 1 or (self.pressure is not None and self.pressure() > 1)
        return self.narrow if overlapping and self.narrow is not None else self.graphs

    def _render_done(self) -> None:
        with self._render_lock:
            self._rendering -= 1

    @property
    def precision(self) -> str:
        return self.graphs.runtime.precision

    @property
    def model_version(self) -> str:
        """The bundle's version and manifest-hash prefix, e.g. ``1.0.0+3f2a9c01b7de`` (X-Model-Version)."""
        return version_label(self.manifest.version, self.manifest_sha256)

    # -- request preparation -------------------------------------------------------------
    def resolve(self, options: SynthesisOptions) -> tuple[Voice, EmotionSpec, ProsodyParams]:
        """Validate options and turn them into a voice and prosody targets (no graph runs)."""
        voice = options.voice if isinstance(options.voice, Voice) else self.voices.get(options.voice)
        if options.prompt is not None and options.emotion is not None:
            raise InvalidInput("give either an emotion or a free-text prompt, not both")
        if options.prompt is not None:
            if not isinstance(options.prompt, str):
                raise InvalidInput("prompt must be a string")
            spec = emotion_from_prompt(options.prompt)
            if options.intensity is not None:
                spec = parse_emotion(dict(spec.mix), intensity=options.intensity)
        else:
            spec = parse_emotion(options.emotion, options.intensity)
        speed = _check_range("speed", options.speed, SPEED_RANGE)
        pitch = _check_range("pitch", options.pitch, PITCH_RANGE_ST, " semitones")
        energy = _check_range("energy", options.energy, ENERGY_RANGE_DB, " dB")
        params = resolve_prosody(spec, pitch_st=pitch + voice.pitch, rate=speed * voice.speed, energy_db=energy)
        if voice.pitch_range != 1.0:
            params = replace(params, pitch_range=params.pitch_range * voice.pitch_range)
        return voice, spec, params

    # -- rendering -------------------------------------------------------------------------
    def render(self, utt: Utterance, voice: Voice, params: ProsodyParams,
               trace: dict | None = None) -> tuple[np.ndarray, StageTimings]:
        """One utterance through the three graphs with the prosody edits between them. ``trace``, when
        given, receives every stage's inputs and outputs (the distillation corpus records them)."""
        t = StageTimings()
        style = voice.style(len(utt.phonemes))
        graphs = self._graphs_for_render()
        try:
            t0 = time.perf_counter()
            out = graphs.duration(utt.tokens, style, params.rate)
            t1 = time.perf_counter()
            frames = apply_durations(out.durations, utt.phonemes, params)
            prosody_aligned = expand(out.prosody_features, frames)
            text_aligned = expand(out.text_features, frames)
            t2 = time.perf_counter()
            f0_raw, energy_raw = graphs.prosody(prosody_aligned, style)
            t3 = time.perf_counter()
            f0 = apply_f0(f0_raw, params)
            energy = apply_energy(energy_raw, params)
            t4 = time.perf_counter()
            audio = graphs.decode(text_aligned, f0, energy, style)
            t5 = time.perf_counter()
        finally:
            self._render_done()
        if trace is not None:
            trace.update(tokens=utt.tokens, style=style, speed=params.rate, durations=out.durations, frames=frames,
                         f0_raw=f0_raw, energy_raw=energy_raw, f0=f0, energy=energy, audio=audio)
        if voice.eq_db:
            audio = timbre_eq.apply(audio, self.sample_rate, voice.eq_db)
        audio = apply_gain(audio, params.energy_db)
        t.duration, t.prosody, t.decoder = t1 - t0, t3 - t2, t5 - t4
        t.host = (t2 - t1) + (t4 - t3) + (time.perf_counter() - t5)
        return audio, t

    def _gap(self, utt: Utterance, params: ProsodyParams, last: bool) -> np.ndarray:
        if last:
            return np.zeros(0, np.float32)
        base = self.config.sentence_gap_s if utt.sentence_end else self.config.clause_gap_s
        return np.zeros(int(base * params.pause_scale / params.rate * self.sample_rate), np.float32)

    def stream(self, text: str, options: SynthesisOptions) -> Iterator[AudioChunk]:
        """Yield audio utterance by utterance (validation errors raise before the first chunk)."""
        voice, _, params = self.resolve(options)
        utterances = self.frontend.prepare(text, self.config.max_text_chars, self.config.stream_first_clause_words)
        return self._stream(utterances, voice, params)

    def _stream(self, utterances: list[Utterance], voice: Voice, params: ProsodyParams) -> Iterator[AudioChunk]:
        for i, utt in enumerate(utterances):
            audio, timings = self.render(utt, voice, params)
            # a sentence cut into chunks: no sentence-final silence inside it (see audio/edges.py)
            cut_before = i > 0 and not utterances[i - 1].sentence_end
            if cut_before or not utt.sentence_end:
                audio = trim_edges(audio, self.sample_rate, lead_s=CUT_LEAD_S if cut_before else None,
                                   tail_s=None if utt.sentence_end else CUT_PAUSE_S * params.pause_scale / params.rate)
            last = i == len(utterances) - 1
            audio = np.concatenate([audio, self._gap(utt, params, last)])
            yield AudioChunk(audio, self.sample_rate, i, utt.text, last, timings)

    def synthesize(self, text: str, options: SynthesisOptions | None = None, **kwargs) -> SynthesisResult:
        """Whole text -> one waveform. ``synthesize(text, voice="jf_alpha", emotion="happy")`` works too."""
        if options is None:
            options = SynthesisOptions(**kwargs)
        elif kwargs:
            raise TypeError("pass either options or keyword arguments")
        t0 = time.perf_counter()
        voice, spec, params = self.resolve(options)
        utterances = self.frontend.prepare(text, self.config.max_text_chars)
        t1 = time.perf_counter()
        pieces, total = [], StageTimings()
        for chunk in self._stream(utterances, voice, params):
            pieces.append(chunk.audio)
            total.add(chunk.timings)
        audio = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
        elapsed = time.perf_counter() - t0
        timings = {"frontend": t1 - t0, "duration": total.duration, "prosody": total.prosody,
                   "decoder": total.decoder, "host": total.host, "total": elapsed,
                   "rtf": elapsed / max(len(audio) / self.sample_rate, 1e-9)}
        return SynthesisResult(audio, self.sample_rate, spec, params, len(utterances),
                               {k: round(v, 4) for k, v in timings.items()})
