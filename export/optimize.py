"""Graphs optimized offline by onnxruntime, so sessions are created with optimization off.

Which bundle graphs are stored optimized, and at which level, each measured:
* the main bundle's int8 graphs (the CPU provider's precision) at the *extended* level: main's three
  sessions are created in 0.157 s instead of 0.227 s on 2 cores (`python -m bench engine`), and they
  compute the same samples (the same fusions onnxruntime's online default applies);
* the student's fallback graphs, likewise (export/fallback.py).
fp32 and fp16 graphs stay as exported: they are derived from the int8 graph's quantization patterns,
and the CUDA provider applies fusions of its own.
"""
from __future__ import annotations

from pathlib import Path

LEVELS = ("basic", "extended")
MAIN_OPTIMIZATION = {"int8": "extended"}
"""precision -> the level its main-bundle graphs are stored at (absent: not optimized offline)."""


def optimize_offline(src: Path, dst: Path, level: str) -> None:
    """Write ``src`` optimized at onnxruntime's ``level`` ("basic" or "extended") to ``dst``; the CPU
    provider does the folding and fusing."""
    import onnxruntime as ort

    if level not in LEVELS:
        raise ValueError(f"unknown optimization level {level!r}; expected one of {LEVELS}")
    levels = {"basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
              "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED}
    opts = ort.SessionOptions()
    opts.graph_optimization_level = levels[level]
    opts.optimized_model_filepath = str(dst)
    opts.log_severity_level = 3
    ort.InferenceSession(str(src), sess_options=opts, providers=["CPUExecutionProvider"])
