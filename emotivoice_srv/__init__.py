"""emotivoice-srv: emotional, voice-cloning text-to-speech on exported Kokoro-82M graphs.

    from emotivoice_srv import Engine, EngineConfig
    engine = Engine.load(EngineConfig(bundle_dir=Path("cache/bundles/kokoro-82m"), device="cpu"))
    result = engine.synthesize("Hello there!", voice="jf_alpha", emotion="happy:0.8")
"""
from .errors import (
    BundleError,
    EmotivoiceError,
    InvalidInput,
    SourceError,
    TextEmpty,
    TextTooLong,
    UnknownEmotion,
    UnknownVoice,
)

_LAZY = {"AudioChunk": "engine", "Engine": "engine", "EngineConfig": "engine", "SynthesisOptions": "engine",
         "SynthesisResult": "engine", "EMOTIONS": "prosody"}
"""Imported on first use, so ``emotivoice-srv serve`` can start creating graph sessions before numpy and
the text front-end are imported (see server/run.py)."""


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "EMOTIONS", "AudioChunk", "BundleError", "EmotivoiceError", "Engine", "EngineConfig", "InvalidInput",
    "SourceError", "SynthesisOptions", "SynthesisResult", "TextEmpty", "TextTooLong", "UnknownEmotion",
    "UnknownVoice",
]
__version__ = "0.1.0"
