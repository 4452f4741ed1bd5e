"""Prosody: emotion presets and the duration / F0 / energy edits applied between the graphs."""
from .alignment import expand, frames_from_durations
from .emotion import EMOTIONS, EmotionSpec, ProsodyParams, parse_emotion, resolve_prosody
from .prompt import emotion_from_prompt
from .transform import apply_durations, apply_energy, apply_f0

__all__ = [
    "EMOTIONS", "EmotionSpec", "ProsodyParams", "apply_durations", "apply_energy", "apply_f0",
    "emotion_from_prompt", "expand", "frames_from_durations", "parse_emotion", "resolve_prosody",
]
