"""Trained student checkpoint -> the committed student: TorchScript and ONNX stage graphs + student.json.

The three stages keep the teacher's stage names, tensor names and layouts, so a fallback bundle
built from them (``export/fallback.py``) loads in the unchanged engine. Both formats are written
from the same weights; ``student.json`` records sizes, hashes and provenance (teacher bundle,
corpus, steps, losses).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch

from .student import Student, parameter_count
from .train import student_from_state, summary_at

STAGES = ("duration", "prosody", "decoder")
NAMES = {
    "duration": (("tokens", "style", "speed"), ("durations", "prosody_features", "text_features")),
    "prosody": (("prosody_aligned", "style"), ("f0", "energy")),
    "decoder": (("text_aligned", "f0", "energy", "style"), ("audio",)),
}
DYNAMIC = {
    "duration": {"tokens": {1: "tokens"}, "durations": {1: "tokens"}, "prosody_features": {1: "tokens"},
                 "text_features": {2: "tokens"}},
    "prosody": {"prosody_aligned": {2: "frames"}, "f0": {1: "f0_frames"}, "energy": {1: "f0_frames"}},
    "decoder": {"text_aligned": {2: "frames"}, "f0": {1: "f0_frames"}, "energy": {1: "f0_frames"},
                "audio": {0: "samples"}},
}
ONNX_OPSET = 17
ONNX_IR_VERSION = 9  # onnxruntime 1.31 reads IR <= 13; torch may write newer


def example_inputs(model: Student, tokens: int = 12, frames: int = 30) -> dict[str, tuple[torch.Tensor, ...]]:
    c = model.config
    style = torch.randn(1, c.style_dim)
    return {
        "duration": (torch.randint(1, c.vocab_size, (1, tokens)), style, torch.ones(1)),
        "prosody": (torch.randn(1, c.prosody_dim, frames), style),
        "decoder": (torch.randn(1, c.text_dim, frames), torch.full((1, 2 * frames), 150.0),
                    torch.zeros(1, 2 * frames), style),
    }


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _strip_debug_info(path: Path) -> None:
    """Drop TorchScript's ``*.debug_pkl`` entries (source ranges for error messages only; ~100 KB of the
    student's 20 MB budget). The module loads and computes identically without them (tested)."""
    import zipfile

    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            if not info.filename.endswith(".debug_pkl"):
                zout.writestr(info, zin.read(info.filename))
    tmp.replace(path)


def export_graphs(model: Student, out_dir: Path) -> dict[str, dict[str, str | int]]:
    """Write ``<stage>.ts`` (TorchScript, scripted) and ``<stage>.onnx`` for each stage."""
    import onnx

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model = model.eval()
    examples = example_inputs(model)
    files: dict[str, dict[str, str | int]] = {}
    for stage in STAGES:
        module = getattr(model, stage)
        ts_path = out_dir / f"{stage}.ts"
        torch.jit.script(module).save(str(ts_path))
        _strip_debug_info(ts_path)
        onnx_path = out_dir / f"{stage}.onnx"
        inputs, outputs = NAMES[stage]
        with torch.no_grad():
            torch.onnx.export(module, examples[stage], str(onnx_path), dynamo=False, input_names=list(inputs),
                              output_names=list(outputs), dynamic_axes=DYNAMIC[stage], opset_version=ONNX_OPSET,
                              do_constant_folding=False)
        proto = onnx.load(str(onnx_path))
        proto.ir_version = ONNX_IR_VERSION
        onnx.save(proto, str(onnx_path))
        for path in (ts_path, onnx_path):
            files[path.name] = {"sha256": _sha256(path), "bytes": path.stat().st_size}
    return files


def export_student(checkpoint: Path, work_dir: Path, out_dir: Path, run: str = "student") -> dict:
    """Checkpoint -> graphs in ``out_dir`` + ``student.json`` (with the corpus and training summaries
    found in ``work_dir``)."""
    state = torch.load(checkpoint, weights_only=False, map_location="cpu")
    model = student_from_state(state, checkpoint)
    files = export_graphs(model, out_dir)
    work_dir = Path(work_dir)

    def read(rel: str) -> dict:
        path = work_dir / rel
        return json.loads(path.read_text()) if path.exists() else {}

    corpus = read("corpus/corpus.json")
    training = summary_at(state, read(f"{run}/train.json"))
    meta = {
        "name": "kokoro-82m-student",
        "description": "distilled fallback: duration/prosody predictors + source-filter STFT vocoder, "
                       "trained on renditions of the Kokoro-82M int8 bundle",
        "parameters": {stage: parameter_count(getattr(model, stage)) for stage in STAGES}
        | {"total": parameter_count(model)},
        "config": dict(model.config.__dict__),
        "teacher": {"bundle": corpus.get("teacher_bundle"), "build": corpus.get("teacher_build"),
                    "precision": corpus.get("teacher_precision"),
                    "builds_by_family": corpus.get("teacher_builds")},
        "corpus": {k: corpus.get(k) for k in ("sentences", "utterances", "audio_seconds", "voices", "config", "families")},
        "training": training,
        "licence": "Apache-2.0",
        "source": "trained by emotivoice-srv (python -m export.distill) on audio rendered by Kokoro-82M "
                  "(hexgrad, Apache-2.0); no other data",
        "files": files,
        "torch": torch.__version__,
    }
    (Path(out_dir) / "student.json").write_text(json.dumps(meta, indent=2) + "\n")
    return meta
