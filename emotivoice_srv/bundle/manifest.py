"""The model bundle's manifest: frozen, typed, validated when read.

A bundle is a directory::

    manifest.json
    graphs/<precision>/{duration,prosody,decoder}.onnx
    voices/<id>.npy            float32 [510, 256] style table, row len(tokens)-1 per utterance

``manifest.json`` is the only thing a reader trusts: it names every file with its sha256, so a
half-copied or tampered bundle is detected instead of half-loaded.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import BundleError

FORMAT_VERSION = 1
STAGES = ("duration", "prosody", "decoder")
PRECISIONS = ("int8", "fp32", "fp16")


@dataclass(frozen=True)
class TensorSpec:
    """One graph input or output as the host sees it."""

    name: str
    dtype: str
    shape: tuple[str | int, ...]


@dataclass(frozen=True)
class GraphSpec:
    """One ONNX graph file of one stage at one precision."""

    stage: str
    precision: str
    file: str
    sha256: str
    bytes: int
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    optimized: str = ""
    """"" : onnxruntime optimizes the graph when the session is created. "basic": the file was
    already optimized at onnxruntime's basic level (constant folding, redundant-node removal: standard
    ONNX ops only, so it runs on any provider), and the session is created with optimization off.
    "extended": also onnxruntime's fusions into com.microsoft operators, likewise loaded with
    optimization off: the student's (Gelu, FusedMatMul) run on the CPU and CUDA providers; main's int8
    graphs' (DynamicQuantizeMatMul, MatMulIntegerToFloat, DynamicQuantizeLSTM, SkipLayerNormalization,
    FastGelu) are CPU kernels, as int8 graphs are the CPU provider's precision."""


OPTIMIZED_LEVELS = ("", "basic", "extended")


@dataclass(frozen=True)
class VoiceSpec:
    """A built-in voice: a style table stored as ``voices/<id>.npy``."""

    id: str
    file: str
    sha256: str
    gender: str
    language: str
    description: str = ""
    source: str = ""
    speed: float = 1.0
    """The voice's own speaking-rate factor, multiplied with every request's speed."""
    pitch: float = 0.0
    """The voice's own pitch shift in semitones, added to every request's pitch."""


@dataclass(frozen=True)
class AssetSpec:
    """Any other bundle file (front-end dictionaries), with what it is for."""

    file: str
    sha256: str
    role: str


@dataclass(frozen=True)
class Provenance:
    """Where a weight file came from and under which licence."""

    role: str
    package: str
    version: str
    sha256: str
    licence: str
    source: str


@dataclass(frozen=True)
class Manifest:
    name: str
    version: str
    sample_rate: int
    frame_samples: int
    max_tokens: int
    graphs: tuple[GraphSpec, ...]
    voices: tuple[VoiceSpec, ...]
    vocab: dict[str, int]
    provenance: tuple[Provenance, ...]
    assets: tuple[AssetSpec, ...] = ()
    build: dict[str, Any] = field(default_factory=dict)
    format: int = FORMAT_VERSION

    def asset(self, role: str) -> AssetSpec | None:
        """The first asset with this role (e.g. ``speaker_encoder``), or None."""
        return next((a for a in self.assets if a.role == role), None)

    def files(self, precisions: tuple[str, ...] | None = None) -> tuple[tuple[str, str], ...]:
        """Every file the manifest names, as (relative path, sha256): graphs (of ``precisions``, default
        all), voices, assets. ``manifest.json`` itself is not among them."""
        wanted = precisions or self.precisions
        return (tuple((g.file, g.sha256) for g in self.graphs if g.precision in wanted)
                + tuple((v.file, v.sha256) for v in self.voices) + tuple((a.file, a.sha256) for a in self.assets))

    @property
    def precisions(self) -> tuple[str, ...]:
        return tuple(p for p in PRECISIONS if any(g.precision == p for g in self.graphs))

    def graph(self, stage: str, precision: str) -> GraphSpec:
        for g in self.graphs:
            if g.stage == stage and g.precision == precision:
                return g
        raise BundleError(
            f"bundle {self.name} has no {precision} {stage} graph (has: {', '.join(self.precisions)});"
            f" run `emotivoice-srv export --precision {precision}`"
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False, sort_keys=False) + "\n"

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "Manifest":
        try:
            if raw.get("format") != FORMAT_VERSION:
                raise BundleError(f"unsupported bundle format {raw.get('format')!r} (expected {FORMAT_VERSION})")
            graphs = tuple(
                GraphSpec(
                    **{k: v for k, v in g.items() if k not in ("inputs", "outputs")},
                    inputs=tuple(_tensor(t) for t in g["inputs"]),
                    outputs=tuple(_tensor(t) for t in g["outputs"]),
                )
                for g in raw["graphs"]
            )
            manifest = cls(
                name=raw["name"],
                version=raw["version"],
                sample_rate=int(raw["sample_rate"]),
                frame_samples=int(raw["frame_samples"]),
                max_tokens=int(raw["max_tokens"]),
                graphs=graphs,
                voices=tuple(VoiceSpec(**v) for v in raw["voices"]),
                vocab={str(k): int(v) for k, v in raw["vocab"].items()},
                provenance=tuple(Provenance(**p) for p in raw["provenance"]),
                assets=tuple(AssetSpec(**a) for a in raw.get("assets", ())),
                build=dict(raw.get("build", {})),
                format=raw["format"],
            )
        except BundleError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise BundleError(f"malformed manifest: {exc!r}") from exc
        manifest.validate()
        return manifest

    def validate(self) -> None:
        """Structural checks a loader relies on; raises BundleError naming the first problem."""
        for g in self.graphs:
            if g.stage not in STAGES or g.precision not in PRECISIONS:
                raise BundleError(f"unknown graph {g.stage}/{g.precision} in manifest")
            if len(g.sha256) != 64:
                raise BundleError(f"graph {g.file} has no valid sha256")
            if g.optimized not in OPTIMIZED_LEVELS:
                raise BundleError(f"graph {g.file}: unknown offline optimization {g.optimized!r}")
        for precision in self.precisions:
            missing = [s for s in STAGES if not any(g.stage == s and g.precision == precision for g in self.graphs)]
            if missing:
                raise BundleError(f"precision {precision} lacks stages {missing}")
        if not self.voices:
            raise BundleError("bundle has no voices")
        if not self.vocab or 0 in self.vocab.values():
            raise BundleError("vocabulary is empty or uses the padding id 0")
        if not self.provenance:
            raise BundleError("bundle records no provenance for its weights")


def _tensor(raw: dict[str, Any]) -> TensorSpec:
    return TensorSpec(name=raw["name"], dtype=raw["dtype"], shape=tuple(raw["shape"]))


def read_manifest(bundle_dir: Path) -> Manifest:
    path = Path(bundle_dir) / "manifest.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise BundleError(f"no bundle at {bundle_dir} (manifest.json missing)", code="bundle_missing") from exc
    except (OSError, json.JSONDecodeError) as exc:
        raise BundleError(f"cannot read {path}: {exc}") from exc
    return Manifest.from_dict(raw)
