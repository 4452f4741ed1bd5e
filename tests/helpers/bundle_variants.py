"""Other versions of a real bundle, for hot-swap tests: a version bump, and three broken builds.

Files are hard links to the source bundle's (no copy of ~100 MB per variant) except the ones a variant
changes, which are written as new files; the manifest is always rewritten, so every variant has its
own manifest hash and ``X-Model-Version``.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from bench.bundle_copies import bumped, write_manifest


def _replace_file(dst: Path, manifest: dict, rel: str, data: bytes) -> None:
    """Write ``data`` as a new file at ``rel`` and record its true sha256 and size in the manifest."""
    path = dst / rel
    path.unlink()
    path.write_bytes(data)
    for graph in manifest["graphs"]:
        if graph["file"] == rel:
            graph["sha256"], graph["bytes"] = hashlib.sha256(data).hexdigest(), len(data)


def _decoder(manifest: dict, precision: str = "int8") -> str:
    return next(g["file"] for g in manifest["graphs"] if g["stage"] == "decoder" and g["precision"] == precision)


def hash_mismatch(src: Path, dst: Path) -> Path:
    """A manifest whose decoder sha256 does not match the file (a tampered or half-copied bundle)."""
    bumped(src, dst, "hash-mismatch")
    manifest = json.loads((dst / "manifest.json").read_text(encoding="utf-8"))
    rel = _decoder(manifest)
    for graph in manifest["graphs"]:
        if graph["file"] == rel:
            graph["sha256"] = "0" * 64
    write_manifest(dst, manifest)
    return dst


def truncated(src: Path, dst: Path) -> Path:
    """A decoder graph cut in half whose manifest records the truncated file's hash: it verifies, and
    fails to load."""
    bumped(src, dst, "truncated")
    manifest = json.loads((dst / "manifest.json").read_text(encoding="utf-8"))
    rel = _decoder(manifest)
    data = (dst / rel).read_bytes()
    _replace_file(dst, manifest, rel, data[: len(data) // 2])
    write_manifest(dst, manifest)
    return dst


def silent(src: Path, dst: Path) -> Path:
    """A decoder whose audio output is multiplied by zero: it verifies, loads and runs, and is silent."""
    import onnx
    from onnx import helper, numpy_helper
    import numpy as np

    bumped(src, dst, "silent")
    manifest = json.loads((dst / "manifest.json").read_text(encoding="utf-8"))
    rel = _decoder(manifest)
    model = onnx.load(str(src / rel))
    graph = model.graph
    out = graph.output[0].name
    inner = out + "_before_silence"
    for node in graph.node:
        node.output[:] = [inner if name == out else name for name in node.output]
    graph.initializer.append(numpy_helper.from_array(np.zeros((), np.float32), "silence_zero"))
    graph.node.append(helper.make_node("Mul", [inner, "silence_zero"], [out], name="silence"))
    _replace_file(dst, manifest, rel, model.SerializeToString())
    write_manifest(dst, manifest)
    return dst
