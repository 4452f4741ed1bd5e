"""Free-text prompts in English and Chinese map to emotion mixes."""
from __future__ import annotations

import pytest

from emotivoice_srv.prosody import emotion_from_prompt


@pytest.mark.parametrize("prompt,label", [
    ("very excited", "happy"), ("happy", "happy"), ("speak sadly, almost crying", "sad"),
    ("furious!", "angry"), ("amazed", "surprised"), ("terrified", "fearful"), ("disgusted", "disgusted"),
    ("开心", "happy"), ("生气", "angry"), ("悲伤", "sad"), ("惊讶", "surprised"), ("恐惧", "fearful"),
    ("厌恶", "disgusted"), ("普通", "neutral"), ("calm and neutral", "neutral"),
])
def test_prompt_maps_to_the_named_emotion(prompt, label):
    assert emotion_from_prompt(prompt).label == label


def test_degree_words_set_intensity():
    assert emotion_from_prompt("very angry").intensity == 1.0
    assert emotion_from_prompt("slightly angry").intensity == pytest.approx(0.4)
    assert emotion_from_prompt("非常开心").intensity == 1.0
    assert emotion_from_prompt("有点生气").intensity == pytest.approx(0.4)


def test_excited_is_happy_with_some_surprise():
    mix = dict(emotion_from_prompt("very excited").mix)
    assert mix["happy"] > mix["surprised"] > 0


def test_negation_cancels_a_keyword():
    assert emotion_from_prompt("not angry, just calm").label == "neutral"
    assert emotion_from_prompt("不开心").label == "neutral"


def test_prompt_without_emotion_words_is_neutral():
    assert emotion_from_prompt("Speak clearly into the microphone").label == "neutral"
