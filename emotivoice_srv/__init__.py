"""emotivoice-srv: emotional, voice-cloning text-to-speech on exported Kokoro-82M graphs.

    from emotivoice_srv import Engine, EngineConfig
    engine = Engine.load(EngineConfig(bundle_dir=Path("cache/bundles/kokoro-82m"), device="cpu"))
    result = engine.synthesize("Hello there!", voice="jf_alpha", emotion="happy:0.8")
"""
from .engine import AudioChunk, Engine, EngineConfig, SynthesisOptions, SynthesisResult
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
from .prosody import EMOTIONS

__all__ = [
    "EMOTIONS", "AudioChunk", "BundleError", "EmotivoiceError", "Engine", "EngineConfig", "InvalidInput",
    "SourceError", "SynthesisOptions", "SynthesisResult", "TextEmpty", "TextTooLong", "UnknownEmotion",
    "UnknownVoice",
]
__version__ = "0.1.0"
