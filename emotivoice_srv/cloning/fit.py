"""Fit a voice recipe to reference speech: the style whose speech a speaker encoder finds closest.

Search space, chosen so that a fit transfers to sentences the reference never said:
- prosody half: the English prosody of the reference's register (female/male by its median F0), so
  cloned voices read English as clearly as the built-in ones; never fitted to the clip's own melody;
- pitch: set analytically so the probe speech's median F0 equals the reference's;
- timbre half: the best stock pack of the register, scored by cosine between speaker embeddings on
  one short probe sentence (optionally a 50/50 blend of the two best and a (1+1) evolution strategy
  over a timbre offset: measured to add ~0.006 held-out similarity for 5x the time, so off by default);
- post-decoder equalizer: the long-term spectrum of the winner's probe speech is moved toward the
  reference's (``audio.timbre_eq``), which reaches timbres the five stock packs cannot.
The prosody half and the pitch curve do not depend on the timbre, so durations and F0/energy curves
are computed once per fit and every candidate costs one decoder run per probe. The search is bounded
by work (a fixed number of renders), never by time, so the same reference gives the same voice on
any machine under any load; it is a generator (one step per render) so the server's scheduler can
interleave it with synthesis requests.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field

import numpy as np

from ..audio import timbre_eq
from ..audio.timbre_eq import EqConfig
from ..prosody import apply_durations, expand, parse_emotion, resolve_prosody
from ..prosody.transform import apply_f0
from ..voice_recipe import ENGLISH_PROSODY, ENGLISH_SPEED, ENGLISH_TIMBRE, PROSODY, TIMBRE, VoiceRecipe
from ..voices import Voice

FIT_VERSION = "2"
PROBE_TEXTS = ("Please call Stella.", "We walked home along the river.")
"""The first is short (every search candidate renders it); the winner also renders the rest, so the
equalizer measures its long-term spectrum over ~3 s of speech."""
PROBE_SPEED = 1.15
"""Probes are read a little fast: speaker embeddings hardly depend on rate, decoder time does."""
MALE_BELOW_HZ = 165.0
PITCH_LIMIT_ST = 12.0


@dataclass(frozen=True)
class FitConfig:
    """Search shape, bounded by work: ``search_probes`` probe sentences per stock candidate,
    ``evaluations`` refinement candidates (each one render). The same audio and config always give
    the same recipe (the random seed is the audio hash; nothing depends on the clock)."""

    evaluations: int = 0
    search_probes: int = 1
    """Probe sentences rendered per search candidate (the winner is rendered with all of them for
    the equalizer's spectrum)."""
    blend_top2: bool = False
    step: float = 0.6
    """Initial mutation size, in units of the spread between stock packs in each timbre dimension."""
    pitch_step_st: float = 1.0
    offset_penalty: float = 0.004
    """Fitness = cosine - penalty x mean squared offset (in spread units)."""
    eq: EqConfig = field(default_factory=EqConfig)
    pitch_range_limits: tuple[float, float] = (1.0, 1.0)
    """The voice's F0-range factor (reference spread / probe spread) is clipped to this; (1, 1) = off,
    the default: fitting it (0.7-1.5) lowered held-out similarity on the Flite tuning speakers."""


def f0_spread_st(f0_hz: np.ndarray) -> float:
    """Robust F0 spread in semitones (10th to 90th percentile of the voiced frames)."""
    voiced = np.asarray(f0_hz, dtype=np.float64).reshape(-1)
    voiced = voiced[voiced > 40.0]
    if voiced.size < 10:
        return 0.0
    st = 12 * np.log2(voiced)
    return float(np.percentile(st, 90) - np.percentile(st, 10))


@dataclass(frozen=True)
class FitResult:
    recipe: VoiceRecipe
    similarity: float
    """Cosine between the fitted voice's probe speech and the reference (the fit's own encoder)."""
    reference_f0_hz: float
    evaluations: int
    seconds: float
    history: tuple[float, ...] = field(default=())
    initial_pitch: float = 0.0
    """The analytic F0-matched pitch the search started from."""
    spectra: tuple[np.ndarray, np.ndarray] | None = field(default=None, compare=False, repr=False)
    """(reference, winner's probe speech) long-term spectra in dB; not stored (bench ablations)."""

    def to_dict(self) -> dict:
        return {"recipe": self.recipe.to_dict(), "gender": self.recipe.gender,
                "similarity": round(self.similarity, 4), "reference_f0_hz": round(self.reference_f0_hz, 1),
                "evaluations": self.evaluations, "seconds": round(self.seconds, 3),
                "history": [round(h, 4) for h in self.history], "initial_pitch": round(self.initial_pitch, 3)}

    @classmethod
    def from_dict(cls, raw: Mapping) -> FitResult:
        recipe = VoiceRecipe.from_dict("", str(raw["gender"]), raw["recipe"])
        return cls(recipe, float(raw["similarity"]), float(raw["reference_f0_hz"]), int(raw["evaluations"]),
                   float(raw["seconds"]), tuple(float(h) for h in raw.get("history", ())),
                   float(raw.get("initial_pitch", 0.0)))


class ProbeRenderer:
    """Probe sentences prepared up to the decoder for one prosody choice; ``render`` runs the decoder."""

    def __init__(self, engine, prosody_table: np.ndarray, speed: float, texts: tuple[str, ...] = PROBE_TEXTS):
        self._engine = engine
        self._prosody = prosody_table
        params = resolve_prosody(parse_emotion(None), rate=speed)
        self._items = []
        for text in texts:
            for utt in engine.frontend.prepare(text, engine.config.max_text_chars):
                row = min(max(len(utt.phonemes), 1), prosody_table.shape[0]) - 1
                style = np.ascontiguousarray(prosody_table[row].reshape(1, -1), dtype=np.float32)
                out = engine.graphs.duration(utt.tokens, style, params.rate)
                frames = apply_durations(out.durations, utt.phonemes, params)
                f0, energy = engine.graphs.prosody(expand(out.prosody_features, frames), style)
                self._items.append((row, expand(out.text_features, frames), f0, energy))

    def f0_spread_st(self) -> float:
        return f0_spread_st(np.concatenate([item[2].reshape(-1) for item in self._items]))

    def median_f0_hz(self) -> float:
        f0 = np.concatenate([item[2].reshape(-1) for item in self._items])
        voiced = f0[f0 > 40.0]
        return float(np.median(voiced)) if voiced.size else 200.0

    def __len__(self) -> int:
        return len(self._items)

    def render(self, timbre: np.ndarray, pitch_st: float, items: slice = slice(None)) -> np.ndarray:
        """Probe speech with timbre table ``timbre`` [rows, 128] and the pitch shifted by ``pitch_st``
        (the probe utterances ``items`` only)."""
        params = resolve_prosody(parse_emotion(None), pitch_st=pitch_st)
        pieces = []
        for row, text_aligned, f0, energy in self._items[items]:
            style = np.concatenate([timbre[row], self._prosody[row, PROSODY]])[None, :].astype(np.float32)
            pieces.append(self._engine.graphs.decode(text_aligned, apply_f0(f0, params), energy, style))
        return np.concatenate(pieces)


def _mix_table(tables: Mapping[str, np.ndarray], mix: Mapping[str, float]) -> np.ndarray:
    total = sum(mix.values())
    return sum(w / total * np.asarray(tables[k], dtype=np.float32) for k, w in mix.items())


def fit_steps(engine, embed: Callable[[np.ndarray, int], np.ndarray], reference: np.ndarray,
              reference_f0_hz: float, stock: Mapping[str, Voice], config: FitConfig = FitConfig(),
              seed: int = 0, reference_spectrum_db: np.ndarray | None = None,
              reference_f0_spread_st: float = 0.0) -> Generator[float, None, FitResult]:
    """Yield 0.0 after each render; return the best recipe. ``reference`` is the reference's unit
    embedding; ``stock`` the stock voices (packs) the recipe may use; ``reference_spectrum_db`` its
    long-term spectrum (``timbre_eq.long_term_spectrum_db``; None: no equalizer);
    ``reference_f0_spread_st`` its ``f0_spread_st`` (0: keep the register's F0 range)."""
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    gender = "male" if reference_f0_hz < MALE_BELOW_HZ else "female"
    prosody_mix = ENGLISH_PROSODY[gender]
    speed = ENGLISH_SPEED[gender]
    probes = ProbeRenderer(engine, _mix_table({k: v.table for k, v in stock.items()}, prosody_mix), PROBE_SPEED)
    pitch0 = float(np.clip(12 * math.log2(reference_f0_hz / probes.median_f0_hz()), -PITCH_LIMIT_ST, PITCH_LIMIT_ST))
    search = slice(0, max(1, min(config.search_probes, len(probes))))
    probe_spread = probes.f0_spread_st()
    pitch_range = 1.0
    if reference_f0_spread_st > 0 and probe_spread > 0:
        low, high = config.pitch_range_limits
        pitch_range = round(float(np.clip(reference_f0_spread_st / probe_spread, low, high)), 3)
    yield 0.0

    timbres = {k: np.asarray(v.table[:, TIMBRE], dtype=np.float32) for k, v in stock.items()}
    spread = np.std(np.stack([t.mean(0) for t in timbres.values()]), axis=0)
    spread = np.maximum(spread, 0.3 * float(spread.mean()))
    history: list[float] = []
    renders: dict[int, np.ndarray] = {}

    def score(timbre: np.ndarray, pitch: float) -> float:
        audio = probes.render(timbre, pitch, search)
        sim = float(embed(audio, engine.sample_rate) @ reference)
        renders[len(history)] = audio
        history.append(sim)
        return sim

    candidates: dict[tuple[tuple[str, float], ...], tuple[float, int]] = {}
    same_register = sorted(n for n in timbres if stock[n].gender == gender) or sorted(timbres)
    first = ENGLISH_TIMBRE[gender]
    for name in ([first] if first in timbres else []) + [n for n in same_register if n != first]:
        candidates[((name, 1.0),)] = (score(timbres[name], pitch0), len(history) - 1)
        yield 0.0
    ranked = sorted(candidates, key=lambda k: candidates[k][0], reverse=True)
    # a register with one stock timbre (male) blends it with the female built-in voice's timbre
    partner = ranked[1][0][0] if len(ranked) > 1 else ENGLISH_TIMBRE["female"]
    if config.blend_top2 and partner != ranked[0][0][0] and partner in timbres:
        pair = ((ranked[0][0][0], 0.5), (partner, 0.5))
        candidates[pair] = (score(_mix_table(timbres, dict(pair)), pitch0), len(history) - 1)
        yield 0.0
    best_key = max(candidates, key=lambda k: candidates[k][0])
    base_mix = dict(best_key)
    base = _mix_table(timbres, base_mix)
    best_sim, best_index = candidates[best_key]

    offset, pitch, sigma = np.zeros(base.shape[1], np.float32), pitch0, config.step
    best_fit = best_sim
    for _ in range(config.evaluations):
        trial = offset + (sigma * spread * rng.standard_normal(offset.size)).astype(np.float32)
        trial_pitch = float(np.clip(pitch + sigma / config.step * config.pitch_step_st * rng.standard_normal(),
                                    -PITCH_LIMIT_ST, PITCH_LIMIT_ST))
        sim = score(base + trial, trial_pitch)
        fit = sim - config.offset_penalty * float(np.mean((trial / spread) ** 2))
        if fit > best_fit:
            offset, pitch, best_fit, best_sim, sigma = trial, trial_pitch, fit, sim, sigma * 1.5
            best_index = len(history) - 1
        else:
            sigma *= 0.82
        yield 0.0

    eq_db: tuple[float, ...] = ()
    spectra = None
    if reference_spectrum_db is not None and config.eq.strength > 0:
        speech = renders[best_index]
        if search.stop < len(probes):  # the winner's remaining probes: a steadier long-term spectrum
            speech = np.concatenate([speech, probes.render(base + offset, pitch, slice(search.stop, None))])
            yield 0.0
        clone_db = timbre_eq.long_term_spectrum_db(speech, engine.sample_rate)
        eq_db = timbre_eq.design(reference_spectrum_db, clone_db, config.eq)
        spectra = (np.asarray(reference_spectrum_db), clone_db)
    recipe = VoiceRecipe("", gender, base_mix, prosody_mix, speed, round(pitch, 3),
                         tuple(float(x) for x in offset) if np.any(offset) else (), eq_db, pitch_range)
    return FitResult(recipe, best_sim, reference_f0_hz, len(history), time.perf_counter() - t0, tuple(history),
                     pitch0, spectra)
