"""The distilled fallback student against the main bundle, measured in one run on this machine.

``python -m bench distill``: parameters, session/module load time, RTF on the development
sentences (same texts, voice and thread count for both), intelligibility (Whisper tiny.en, two
voices), speaker similarity of student vs teacher renditions (GE2E and the d-vector, with the
teacher's two voices against each other as the different-speaker reference), and what each emotion
preset does to median F0, speech duration and loudness on both models.
"""
from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from export.distill.evaluate import EVAL_VOICES, wer_by_voice

EMOTION_SENTENCES = 6
SR = 24_000


def onnx_parameters(bundle: Path, precision: str) -> int:
    """Weight elements in a bundle's stage graphs (initializers of 16+ elements: weights, not scales)."""
    import onnx

    from emotivoice_srv.bundle import STAGES, read_manifest

    manifest = read_manifest(bundle)
    total = 0
    for stage in STAGES:
        model = onnx.load(str(bundle / manifest.graph(stage, precision).file))
        total += sum(int(np.prod(t.dims)) for t in model.graph.initializer if np.prod(t.dims) >= 16)
    return total


LOAD_ROUNDS = 15
"""Session-creation rounds; loads are short and this VM's noise is not (single loads vary +-30 %)."""


def _interleaved_loads(systems: dict[str, tuple[Path, str, int]], rounds: int = LOAD_ROUNDS) -> dict:
    """{name: {median_s, min_s, max_s}} for each (bundle, precision, threads), loaded in turn round after
    round so every system sees the same machine state (a burst of noise hits all of them)."""
    from emotivoice_srv.bundle import read_manifest
    from emotivoice_srv.graphs import KokoroGraphs
    from emotivoice_srv.graphs.session import choose_runtime

    prepared = {name: (bundle, read_manifest(bundle), choose_runtime("cpu", precision), threads)
                for name, (bundle, precision, threads) in systems.items()}
    seconds: dict[str, list[float]] = {name: [] for name in systems}
    for _ in range(rounds):
        for name, (bundle, manifest, runtime, threads) in prepared.items():
            t0 = time.perf_counter()
            KokoroGraphs.load(bundle, manifest, runtime, threads=threads)
            seconds[name].append(time.perf_counter() - t0)
    return {name: {"median_s": round(statistics.median(x), 4), "min_s": round(min(x), 4), "max_s": round(max(x), 4)}
            for name, x in seconds.items()}


def _torchscript_load(student_dir: Path, repeats: int) -> dict | None:
    try:
        import torch
    except ImportError:
        return None
    seconds = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for stage in ("duration", "prosody", "decoder"):
            torch.jit.load(str(student_dir / f"{stage}.ts"))
        seconds.append(time.perf_counter() - t0)
    return {"median_s": round(statistics.median(seconds), 4), "min_s": round(min(seconds), 4)}


def _rtf(engine, sentences: list[str], voice: str) -> float:
    engine.synthesize(sentences[0], voice=voice)  # first run: allocations
    compute, audio = 0.0, 0.0
    for s in sentences:
        t0 = time.perf_counter()
        out = engine.synthesize(s, voice=voice).audio
        compute += time.perf_counter() - t0
        audio += len(out) / SR
    return round(compute / audio, 4)


def vocoder_ceiling(main, sentences: list[str], asr) -> dict | None:
    """WER of the student's source-filter synthesis driven by *oracle* envelopes: the teacher's own
    spectrum reduced to the student's 80 mel bands (least squares) at its envelope rate, applied to
    the student's harmonic (voiced) or noise (unvoiced) source with the teacher's F0. It separates
    what the vocoder design allows from what the trained network has learned so far."""
    try:
        import torch
    except ImportError:
        return None
    from emotivoice_srv import SynthesisOptions
    from emotivoice_srv.quality import word_error_rate
    from export.distill.corpus import render_recorded
    from export.distill.student import Student, StudentConfig, dft_basis

    decoder = Student(StudentConfig()).decoder.eval()
    fwd, inv = dft_basis(600)
    bands = decoder.mel.float()
    project = torch.linalg.pinv(bands)
    refs, hyps = [], []
    with torch.no_grad():
        for voice in EVAL_VOICES:
            for text in sentences:
                rec = render_recorded(main, text, SynthesisOptions(voice=voice))[0]
                audio = torch.from_numpy(rec["audio"].astype(np.float32)).reshape(1, 1, -1)
                tr, ti = decoder.stft(audio, fwd)
                magnitude = torch.sqrt(tr ** 2 + ti ** 2)
                env = torch.clamp((magnitude.transpose(1, 2) @ project), min=0) @ bands
                env = env.transpose(1, 2)
                hr, hi = decoder.stft(decoder.excitation(torch.from_numpy(rec["f0"]).reshape(1, -1)), fwd)
                nr, ni = decoder.noise_spectrum(hr.shape[2], 1)
                h_mag, n_mag = torch.sqrt(hr ** 2 + hi ** 2), torch.sqrt(nr ** 2 + ni ** 2) + 1e-8
                voiced = (h_mag.sum(1, keepdim=True) > 1e-3).float()
                h_mag = h_mag + 1e-8
                re = env * (voiced * hr / h_mag + (1 - voiced) * nr / n_mag)
                im = env * (voiced * hi / h_mag + (1 - voiced) * ni / n_mag)
                out = decoder.istft(re, im, audio.shape[-1], inv)[0].numpy()
                refs.append(text)
                hyps.append(asr.transcribe(out, SR))
    return {"wer": round(word_error_rate(refs, hyps), 4), "clips": len(refs)}


def run(repeats: int = 5) -> dict:
    from export import build_bundle
    from emotivoice_srv.bundle.student import STUDENT_DIR, student_meta
    from export.fallback import build_fallback_bundle

    from emotivoice_srv import Engine, EngineConfig
    from emotivoice_srv.settings import STUDENT_THREADS
    from emotivoice_srv.quality import (SpeakerEncoder, Transcriber, active_rms_db, cosine, median_f0_hz,
                                        speech_duration_s)

    from .ge2e import GE2E
    from .texts import eval_sentences

    sentences = eval_sentences()
    with tempfile.TemporaryDirectory() as tmp:
        main_dir, student_dir = Path(tmp) / "kokoro-82m", Path(tmp) / "student"
        build_bundle(main_dir, ("int8",), progress=False)
        build_fallback_bundle(main_dir, student_dir)
        meta = student_meta()
        size = {"main_parameters": onnx_parameters(main_dir, "int8"),
                "student_parameters": meta["parameters"]["total"],
                "student_onnx_parameters": onnx_parameters(student_dir, "fp32"),
                "student_files_mb": round(sum(f["bytes"] for f in meta["files"].values()) / 1e6, 2)}
        size["ratio"] = round(size["student_parameters"] / size["main_parameters"], 4)
        # each tier as the server loads it: main with all (2) cores, the student with STUDENT_THREADS
        load = _interleaved_loads({"main_int8": (main_dir, "int8", 2),
                                   "student_fp32": (student_dir, "fp32", STUDENT_THREADS),
                                   "student_fp32_2_threads": (student_dir, "fp32", 2)})
        load.update(student_threads=STUDENT_THREADS, rounds=LOAD_ROUNDS,
                    student_torchscript=_torchscript_load(STUDENT_DIR, repeats))
        load["ratio"] = round(load["student_fp32"]["median_s"] / load["main_int8"]["median_s"], 4)
        main = Engine.load(EngineConfig(bundle_dir=main_dir, device="cpu", precision="int8", threads=2))
        student = Engine.load(EngineConfig(bundle_dir=student_dir, device="cpu", precision="fp32",
                                           threads=STUDENT_THREADS))
        rtf = {"main_int8": _rtf(main, sentences, EVAL_VOICES[0]), "student_fp32": _rtf(student, sentences, EVAL_VOICES[0])}
        rtf["ratio"] = round(rtf["student_fp32"] / rtf["main_int8"], 4)

        cache: dict[tuple, np.ndarray] = {}

        def render(engine, text: str, voice: str, emotion: str = "neutral") -> np.ndarray:
            key = (id(engine), text, voice, emotion)
            if key not in cache:
                cache[key] = engine.synthesize(text, voice=voice, emotion=emotion).audio
            return cache[key]

        asr = Transcriber()
        wer = {}
        for name, engine in (("main", main), ("student", student)):
            wer[name] = wer_by_voice(lambda text, voice, engine=engine: render(engine, text, voice), sentences, asr, SR)
            wer[name]["errors"] = wer[name]["errors"][:12]

        ceiling = vocoder_ceiling(main, sentences, asr)
        judges = {"ge2e": GE2E().embed, "dvector": SpeakerEncoder().embed}
        similarity = {}
        for judge, embed in judges.items():
            same = {v: [cosine(embed(render(student, s, v), SR), embed(render(main, s, v), SR)) for s in sentences]
                    for v in EVAL_VOICES}
            other = [cosine(embed(render(main, s, EVAL_VOICES[0]), SR), embed(render(main, s, EVAL_VOICES[1]), SR))
                     for s in sentences]
            similarity[judge] = {
                "student_vs_teacher": {v: round(float(np.mean(x)), 3) for v, x in same.items()},
                "student_vs_teacher_min": round(float(min(min(x) for x in same.values())), 3),
                "teacher_voice_a_vs_b": round(float(np.mean(other)), 3),
            }

        sample = sentences[:EMOTION_SENTENCES]
        emotion = {}
        for name, engine in (("main", main), ("student", student)):
            rows = {}
            for emo in ("happy", "sad", "angry", "surprised", "fearful", "disgusted"):
                f0, dur, rms = [], [], []
                for v in EVAL_VOICES:
                    for s in sample:
                        a, n = render(engine, s, v, emo), render(engine, s, v)
                        f0.append(12 * np.log2(median_f0_hz(a, SR) / median_f0_hz(n, SR)))
                        dur.append(speech_duration_s(a, SR) / speech_duration_s(n, SR))
                        rms.append(active_rms_db(a, SR) - active_rms_db(n, SR))
                rows[emo] = {"f0_shift_st": round(float(np.median(f0)), 2),
                             "duration_ratio": round(float(np.median(dur)), 3),
                             "rms_gain_db": round(float(np.median(rms)), 2)}
            emotion[name] = rows
    return {"size": size, "load": load, "rtf": rtf, "wer": wer, "vocoder_ceiling": ceiling,
            "similarity": similarity, "emotion": emotion,
            "student": {k: meta[k] for k in ("teacher", "corpus", "training", "parameters")},
            "sentences": len(sentences), "voices": list(EVAL_VOICES)}


def to_markdown(report: dict) -> str:
    r = report["results"]
    m = report["machine"]
    s, ld, rtf, wer, sim = r["size"], r["load"], r["rtf"], r["wer"], r["similarity"]
    tr = r["student"]["training"]
    corpus = r["student"]["corpus"]
    lines = [f"# Distilled fallback student vs main ({report['date']})", "",
             f"Machine: {m.get('cpu')}, {m.get('cores')} cores, {m.get('memory_gib')} GiB RAM, GPU: {m.get('gpu') or 'none'}. "
             f"Command: `python -m bench distill`.", "",
             f"Student: {corpus.get('utterances')} teacher utterances ({corpus.get('audio_seconds')} s of audio), "
             f"{tr.get('steps')} steps in {tr.get('train_seconds')} s; final losses {tr.get('final_losses')}.", "",
             "| | main (int8) | student (fp32) | student / main | target |", "|---|---|---|---|---|",
             f"| parameters | {s['main_parameters']:,} | {s['student_parameters']:,} | {s['ratio']} | <= 0.125 |",
             f"| session load (3 graphs as served: main 2 threads, student {ld.get('student_threads', 2)}; median of "
             f"{ld.get('rounds', 5)} interleaved rounds) | "
             f"{ld['main_int8']['median_s']} s | {ld['student_fp32']['median_s']} s | {ld['ratio']} | <= 0.1 |",
             f"| RTF ({r['sentences']} sentences, {r['voices'][0]}) | {rtf['main_int8']} | {rtf['student_fp32']} | "
             f"{rtf['ratio']} | <= 0.25 |",
             f"| WER, Whisper tiny.en, {len(r['voices'])} voices | {wer['main']['pooled']:.1%} | "
             f"{wer['student']['pooled']:.1%} | | student <= 10% |", ""]
    if r.get("vocoder_ceiling"):
        lines += [f"Vocoder ceiling: the student's source-filter synthesis driven by the teacher's own spectrum "
                  f"(reduced to its 80 bands) instead of the network's envelopes: WER "
                  f"{r['vocoder_ceiling']['wer']:.1%} over the same {r['vocoder_ceiling']['clips']} clips -- what more "
                  f"training or capacity can reach without changing the design.", ""]
    if ld.get("student_fp32_2_threads"):
        lines += [f"Student load with 2 threads per session instead: {ld['student_fp32_2_threads']['median_s']} s "
                  f"(the server's default is {ld.get('student_threads')}: `--fallback-threads`).", ""]
    if ld.get("student_torchscript"):
        lines += [f"TorchScript load of the student (torch.jit.load, 3 modules): {ld['student_torchscript']['median_s']} s. "
                  f"Student files (TorchScript + ONNX): {s['student_files_mb']} MB.", ""]
    lines += ["Speaker similarity, student vs teacher rendition of the same sentence and voice (mean cosine):", "",
              "| judge | " + " | ".join(r["voices"]) + " | min | teacher voice A vs B (different speakers) |",
              "|---|" + "---|" * (len(r["voices"]) + 2)]
    for judge, x in sim.items():
        lines.append(f"| {judge} | " + " | ".join(str(x["student_vs_teacher"][v]) for v in r["voices"])
                     + f" | {x['student_vs_teacher_min']} | {x['teacher_voice_a_vs_b']} |")
    lines += ["", "Emotion presets vs neutral (median over sentences and both voices):", "",
              "| emotion | main F0 st | student F0 st | main duration x | student duration x | main RMS dB | student RMS dB |",
              "|---|---|---|---|---|---|---|"]
    for emo, row in r["emotion"]["student"].items():
        mrow = r["emotion"]["main"][emo]
        lines.append(f"| {emo} | {mrow['f0_shift_st']} | {row['f0_shift_st']} | {mrow['duration_ratio']} | "
                     f"{row['duration_ratio']} | {mrow['rms_gain_db']} | {row['rms_gain_db']} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
