"""Teacher corpus: the main bundle renders generated sentences with many voices and emotions, and
every utterance's inputs, intermediate prosody and audio are recorded for the student to learn from.

Recorded per utterance (the exact tensors the teacher's stages saw or produced):
``tokens`` [T] int64, ``style`` [256], ``speed`` (the duration graph's speed input),
``durations`` [T] float (duration graph output, already divided by speed), ``frames`` [T] int
(after the host's duration edits), ``f0_raw``/``energy_raw`` [2F] (prosody graph output),
``f0``/``energy`` [2F] (after the host's emotion edits: what the decoder saw), ``audio`` [600F]
float16 (decoder output, before the host gain).

Shards of ``SHARD`` utterances are pickled as ``shard-00000.pkl`` (``template`` sentences) or
``shard-open-00000.pkl`` (``open`` ones, see sentences.py); an existing shard is kept, so an
interrupted run resumes where it stopped. Each family's summary is ``corpus-<family>.json``;
``corpus.json`` sums the families present.
"""
from __future__ import annotations

import json
import logging
import pickle
import random
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from emotivoice_srv.engine import Engine, SynthesisOptions
from emotivoice_srv.prosody import EMOTIONS
from emotivoice_srv.voices import Voice

from .sentences import sentences

log = logging.getLogger("export.distill.corpus")
SHARD = 25


@dataclass(frozen=True)
class CorpusConfig:
    out_dir: Path
    sentences: int = 800
    seed: int = 0
    blends: int = 12
    """Random two-voice blends added to the stock voices (new timbres, like cloned voices)."""
    neutral_share: float = 0.4
    eval_file: Path | None = None
    """Sentences never to generate (the evaluation set)."""
    family: str = "template"
    """Sentence family (sentences.FAMILIES); families share a corpus directory and add up."""


def shard_name(family: str, index: int) -> str:
    return f"shard-{index:05d}.pkl" if family == "template" else f"shard-{family}-{index:05d}.pkl"


def _voices(engine: Engine, rng: random.Random, blends: int) -> list[Voice]:
    stock = [engine.voices.get(v) for v in engine.voices.ids()]
    out = list(stock)
    for i in range(blends):
        a, b = rng.sample(stock, 2)
        w = rng.uniform(0.25, 0.75)
        table = (w * a.table + (1 - w) * b.table).astype(np.float32)
        out.append(Voice(f"blend{i}", a.gender, "en", f"{w:.2f} {a.id} + {1 - w:.2f} {b.id}", table))
    return out


def _emotion(rng: random.Random, neutral_share: float) -> tuple[str, float]:
    if rng.random() < neutral_share:
        return "neutral", 1.0
    return rng.choice([e for e in EMOTIONS if e != "neutral"]), round(rng.uniform(0.4, 1.0), 2)


def render_recorded(engine: Engine, text: str, options: SynthesisOptions) -> list[dict]:
    """The engine's own render path, keeping every stage's inputs and outputs (``Engine.render``'s trace)."""
    voice, _, params = engine.resolve(options)
    records = []
    for utt in engine.frontend.prepare(text, engine.config.max_text_chars):
        trace: dict = {}
        engine.render(utt, voice, params, trace=trace)
        records.append({
            "text": utt.text, "phonemes": utt.phonemes, "tokens": trace["tokens"].astype(np.int64),
            "style": trace["style"].reshape(-1).astype(np.float32), "speed": np.float32(trace["speed"]),
            "durations": trace["durations"].astype(np.float32), "frames": trace["frames"].astype(np.int32),
            **{k: trace[k].reshape(-1).astype(np.float32) for k in ("f0_raw", "energy_raw", "f0", "energy")},
            "audio": trace["audio"].astype(np.float16),
        })
    return records


def build_corpus(engine: Engine, config: CorpusConfig) -> dict:
    """Render the corpus into ``config.out_dir`` (resuming), return its summary (also corpus.json)."""
    from tqdm import tqdm

    out = Path(config.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(config.seed)
    voices = _voices(engine, rng, config.blends)
    exclude: frozenset[str] = frozenset()
    if config.eval_file is not None:  # a named file that is missing is an error, not an empty exclusion
        exclude = frozenset(line.strip() for line in Path(config.eval_file).read_text(encoding="utf-8").splitlines()
                            if line.strip() and not line.startswith("#"))
    texts = list(sentences(config.sentences, config.seed, exclude, config.family))
    plan = []
    for text in texts:
        voice = rng.choice(voices)
        emotion, intensity = _emotion(rng, config.neutral_share)
        speed = rng.choice((1.0, 1.0, 1.0, 0.85, 1.15))
        plan.append((text, voice, emotion, intensity, speed))
    utterances, seconds = 0, 0.0
    for start in tqdm(range(0, len(plan), SHARD), desc="teacher corpus", unit="shard"):
        path = out / shard_name(config.family, start // SHARD)
        if path.exists():
            with open(path, "rb") as f:
                recs = pickle.load(f)
        else:
            recs = []
            for text, voice, emotion, intensity, speed in plan[start:start + SHARD]:
                opts = SynthesisOptions(voice=voice, emotion=emotion, intensity=intensity, speed=speed)
                for r in render_recorded(engine, text, opts):
                    r.update(voice=voice.id, emotion=emotion, intensity=intensity)
                    recs.append(r)
            tmp = path.with_suffix(".tmp")
            with open(tmp, "wb") as f:
                pickle.dump(recs, f, protocol=pickle.HIGHEST_PROTOCOL)
            tmp.rename(path)
        utterances += len(recs)
        seconds += sum(len(r["audio"]) for r in recs) / engine.sample_rate
    summary = {"config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(config).items()},
               "teacher_bundle": engine.manifest.name, "teacher_build": engine.manifest.build,
               "teacher_precision": engine.precision, "voices": [v.id for v in voices],
               "sentences": len(texts), "utterances": utterances, "audio_seconds": round(seconds, 1)}
    (out / f"corpus-{config.family}.json").write_text(json.dumps(summary, indent=2) + "\n")
    total = combined_summary(out)
    (out / "corpus.json").write_text(json.dumps(total, indent=2) + "\n")
    log.info("teacher corpus ready", extra=summary)
    return summary


def combined_summary(corpus_dir: Path) -> dict:
    """The families' summaries added up (what a student trained on the whole directory saw)."""
    parts = {p.stem.removeprefix("corpus-"): json.loads(p.read_text())
             for p in sorted(Path(corpus_dir).glob("corpus-*.json"))}
    first = next(iter(parts.values()))
    return {"teacher_bundle": first["teacher_bundle"], "teacher_build": first["teacher_build"],
            "teacher_precision": first["teacher_precision"],
            "voices": sorted({v for p in parts.values() for v in p["voices"]}),
            "sentences": sum(p["sentences"] for p in parts.values()),
            "utterances": sum(p["utterances"] for p in parts.values()),
            "audio_seconds": round(sum(p["audio_seconds"] for p in parts.values()), 1),
            "config": {name: p["config"] for name, p in parts.items()}, "families": sorted(parts),
            # each family's teacher build (the same weights may be rebuilt by a newer exporter in between)
            "teacher_builds": {name: p["teacher_build"] for name, p in parts.items()}}


def load_corpus(corpus_dir: Path) -> list[dict]:
    """Every recorded utterance of a corpus directory, in shard order."""
    records = []
    for path in sorted(Path(corpus_dir).glob("shard-*.pkl")):
        with open(path, "rb") as f:
            records.extend(pickle.load(f))
    return records
