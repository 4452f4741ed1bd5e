"""Voice cloning: reference audio -> a fitted voice recipe, cached on disk, kept in a registry."""
from .cache import CacheKey, FitCache
from .fit import FIT_VERSION, FitConfig, FitResult
from .intake import IntakeLimits, ReferenceAudio, prepare
from .registry import EnrolledVoice, VoiceRegistry, voice_id_for
from .service import CloningConfig, VoiceCloner, run_inline

__all__ = [
    "FIT_VERSION", "CacheKey", "CloningConfig", "EnrolledVoice", "FitCache", "FitConfig", "FitResult",
    "IntakeLimits", "ReferenceAudio", "VoiceCloner", "VoiceRegistry", "prepare", "run_inline", "voice_id_for",
]
