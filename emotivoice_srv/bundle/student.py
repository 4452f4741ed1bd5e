"""Where the distilled student lives and whether its fallback bundle is up to date (stdlib only).

The student's graphs ship as package data (``emotivoice_srv/data/student``); its fallback bundle is
assembled next to the main bundle on first use by ``export.fallback``. This module answers the
cheap questions -- which directory, and is it current? -- without importing onnx or the exporter,
so a server start with an up-to-date fallback bundle pays nothing for them.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ..errors import BundleError
from .manifest import Manifest, read_manifest

STUDENT_DIR = Path(__file__).resolve().parent.parent / "data" / "student"
FALLBACK_NAME = "kokoro-82m-student"
PRECISION = "fp32"
"""The student ships fp32 graphs only: it is small enough that int8 would buy nothing measurable."""
OPTIMIZATION = "extended"
"""The fallback bundle stores the student's graphs optimized at onnxruntime's extended level (manifest
``optimized``): the in-graph DFT tables and shape arithmetic are folded once, at build (the basic
level: half the session creation time of the raw export), and the decoder's GELUs and transposed
matmuls fused (extended: 325 -> 288 decoder nodes, its session created in ~23 ms instead of ~30-45 ms
on one thread). The fused nodes are com.microsoft Gelu/FusedMatMul, which onnxruntime's CPU and CUDA
providers both implement."""


def student_meta(student_dir: Path = STUDENT_DIR) -> dict:
    path = Path(student_dir) / "student.json"
    try:
        return json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise BundleError(f"no distilled student at {student_dir} (student.json missing)",
                          code="bundle_missing") from exc


def input_key(meta: dict, main: Manifest) -> str:
    """Identity of a fallback bundle's inputs: the student's graphs, how they are stored, and the main
    bundle it speaks with."""
    graphs = {name: f["sha256"] for name, f in sorted(meta["files"].items()) if name.endswith(".onnx")}
    blob = json.dumps({"student": graphs, "main": main.build, "voices": [v.sha256 for v in main.voices],
                       "optimized": OPTIMIZATION}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def is_student_bundle(bundle_dir: Path) -> bool:
    """Whether a bundle holds a distilled student (its build records the teacher it learned from)."""
    try:
        return "teacher" in (read_manifest(Path(bundle_dir)).build or {})
    except BundleError:
        return False


def bundle_dir_for(key: str, bundles: Path) -> Path:
    """One fallback bundle per (student, main) pair, so a custom ``--bundle`` never overwrites the default's."""
    return Path(bundles) / f"{FALLBACK_NAME}-{key[:12]}"


def up_to_date(bundle_dir: Path, key: str) -> bool:
    try:
        return read_manifest(bundle_dir).build.get("input_key") == key
    except BundleError:
        return False
