"""The fallback bundle: the committed distilled student's graphs + the main bundle's voices and front-end.

The student (``emotivoice_srv/data/student/``, made by ``python -m export.distill``) ships inside the
package, so building its bundle needs neither torch nor training: the ONNX stage graphs are copied
as the bundle's fp32 graphs, the voices, vocabulary and front-end dictionaries come from the main
bundle (the student speaks the same voices), and the manifest records the student's provenance.
Idempotent (keyed by the student's and the main bundle's hashes) and atomic like ``build_bundle``.
"""
from __future__ import annotations

import hashlib
import logging
import os
import shutil
import time
from pathlib import Path

from emotivoice_srv.bundle import STAGES, GraphSpec, Manifest, Provenance, read_manifest, sha256_file, verify_files
from emotivoice_srv.bundle.student import (FALLBACK_NAME, OPTIMIZATION, PRECISION, STUDENT_DIR, input_key, student_meta,
                                          up_to_date)
from emotivoice_srv.errors import BundleError

from .build import _swap_into_place, _tensor_specs
from .optimize import optimize_offline

log = logging.getLogger("export.fallback")


def build_fallback_bundle(main_dir: Path, out_dir: Path, student_dir: Path = STUDENT_DIR) -> bool:
    """Build (or keep, if up to date) the fallback bundle at ``out_dir``; True if it was (re)built."""
    import onnx

    main_dir, out_dir = Path(main_dir), Path(out_dir)
    meta = student_meta(student_dir)
    main = read_manifest(main_dir)
    key = input_key(meta, main)
    if up_to_date(out_dir, key):
        return False
    staging = out_dir.parent / f".staging-{out_dir.name}-{os.getpid()}-{int(time.time() * 1000)}"
    try:
        graphs = []
        for stage in STAGES:
            src = Path(student_dir) / f"{stage}.onnx"
            if sha256_file(src) != meta["files"][src.name]["sha256"]:
                raise BundleError(f"student graph {src} does not match student.json")
            rel = f"graphs/{PRECISION}/{stage}.onnx"
            (staging / rel).parent.mkdir(parents=True, exist_ok=True)
            optimize_offline(src, staging / rel, OPTIMIZATION)
            proto = onnx.load(str(src), load_external_data=False)
            graphs.append(GraphSpec(stage=stage, precision=PRECISION, file=rel, sha256=sha256_file(staging / rel),
                                    bytes=(staging / rel).stat().st_size, inputs=_tensor_specs(proto.graph.input),
                                    outputs=_tensor_specs(proto.graph.output), optimized=OPTIMIZATION))
        for rel in [v.file for v in main.voices] + [a.file for a in main.assets]:
            (staging / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(main_dir / rel, staging / rel)
        student_graphs = "".join(meta["files"][f"{s}.onnx"]["sha256"] for s in STAGES)
        provenance = (Provenance(
            role="fallback acoustic + vocoder graphs (distilled student)", package="emotivoice-srv",
            version=str(meta.get("torch", "")), sha256=hashlib.sha256(student_graphs.encode()).hexdigest(),
            licence=meta["licence"], source=meta["source"]),) + main.provenance
        manifest = Manifest(
            name=FALLBACK_NAME, version=main.version, sample_rate=main.sample_rate,
            frame_samples=main.frame_samples, max_tokens=main.max_tokens, graphs=tuple(graphs),
            voices=main.voices, vocab=main.vocab, provenance=provenance, assets=main.assets,
            build={"input_key": key, "teacher": meta["teacher"], "main_bundle": main.name,
                   "parameters": meta["parameters"], "corpus": {k: meta["corpus"].get(k) for k in
                                                                 ("sentences", "utterances", "audio_seconds")},
                   "training": meta["training"], "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
        )
        manifest.validate()
        (staging / "manifest.json").write_text(manifest.to_json(), encoding="utf-8")
        verify_files(staging, manifest)
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        _swap_into_place(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    log.info("fallback bundle built", extra={"bundle": str(out_dir), "student": meta["name"]})
    return True


__all__ = ["build_fallback_bundle"]
