"""A trained run's intelligibility, measured the way ``bench distill`` measures the committed student.

The run's checkpoint is exported into a scratch directory, assembled into a fallback bundle next to
the main bundle, and rendered over a sentence set with the benchmark's two voices; Whisper tiny.en
transcribes each clip. Choose between runs and checkpoints on the dev sentences (choosing by the
evaluation sentences would fit the choice to them); the full picture (load, RTF, similarity,
emotions) stays with ``python -m bench distill``.
"""
from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

EVAL_VOICES = ("en_female_1", "en_male_1")
"""The voices ``bench distill`` and tests/test_student_quality.py score."""
DEV_FILE = Path(__file__).with_name("dev_sentences.txt")


def dev_sentences() -> list[str]:
    """Sentences for choosing between students: disjoint from the evaluation set, which would stop
    measuring anything once checkpoints were picked by it."""
    return [ln.strip() for ln in DEV_FILE.read_text().splitlines() if ln.strip() and not ln.startswith("#")]


def wer_by_voice(render: Callable[[str, str], np.ndarray], sentences: list[str], asr, sample_rate: int,
                 voices: tuple[str, ...] = EVAL_VOICES) -> dict:
    """{"pooled": WER, "per_voice": {...}, "errors": [(reference, hypothesis), ...]}: every sentence
    rendered in every voice by ``render(text, voice)``, each clip transcribed on its own by ``asr``."""
    from emotivoice_srv.quality import word_error_rate

    refs, hyps, per_voice = [], [], {}
    for voice in voices:
        heard = [asr.transcribe(render(s, voice), sample_rate) for s in sentences]
        per_voice[voice] = round(word_error_rate(sentences, heard), 4)
        refs += sentences
        hyps += heard
    return {"pooled": round(word_error_rate(refs, hyps), 4), "per_voice": per_voice,
            "errors": [(r, h) for r, h in zip(refs, hyps) if word_error_rate([r], [h]) > 0]}


def evaluate_run(checkpoint: Path, work_dir: Path, main_dir: Path, sentences: list[str]) -> dict:
    """{"pooled": WER, "per_voice": {...}, "errors": [(reference, hypothesis), ...]} for ``checkpoint``."""
    from emotivoice_srv import Engine, EngineConfig
    from emotivoice_srv.bundle.student import FALLBACK_NAME
    from emotivoice_srv.quality import Transcriber
    from export.fallback import build_fallback_bundle

    from .graphs import export_student

    with tempfile.TemporaryDirectory() as tmp:
        student_dir, bundle = Path(tmp) / "student", Path(tmp) / FALLBACK_NAME
        student_dir.mkdir()
        export_student(checkpoint, work_dir, student_dir, Path(checkpoint).parent.name)
        build_fallback_bundle(main_dir, bundle, student_dir)
        engine = Engine.load(EngineConfig(bundle_dir=bundle, device="cpu", precision="fp32", threads=2))
        return wer_by_voice(lambda text, voice: engine.synthesize(text, voice=voice).audio, sentences,
                            Transcriber(), engine.sample_rate)
