"""Built-in voices: the stock Kokoro packs plus blends tuned for English.

The recipe type and the blending live in ``emotivoice_srv.voice_recipe`` (cloned voices use them at
run time); this module only names the English blends the bundle ships. The stock packs are Japanese
speakers; the blends below were picked by measured Whisper WER on English sentences.
"""
from __future__ import annotations

from emotivoice_srv.voice_recipe import (
    ENGLISH_PROSODY,
    ENGLISH_SPEED,
    ENGLISH_TIMBRE,
    PROSODY,
    TIMBRE,
    VoiceRecipe,
    blend,
)

__all__ = ["PROSODY", "RECIPES", "TIMBRE", "VoiceRecipe", "blend"]

RECIPES = (
    VoiceRecipe("en_female_1", "female", timbre={ENGLISH_TIMBRE["female"]: 1.0}, prosody=ENGLISH_PROSODY["female"],
                speed=ENGLISH_SPEED["female"]),
    VoiceRecipe("en_male_1", "male", timbre={ENGLISH_TIMBRE["male"]: 1.0}, prosody=ENGLISH_PROSODY["male"],
                speed=ENGLISH_SPEED["male"]),
)
