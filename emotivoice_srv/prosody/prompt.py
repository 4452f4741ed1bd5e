"""Free-text emotion prompts (English and Chinese) -> an emotion mix.

A deliberately small, predictable lexicon: keywords name emotions (some name two, e.g. "excited" is
mostly happy with some surprise), degree words set the intensity, a negation just before a keyword
cancels it. A prompt with no emotion word is neutral (instructions such as "speak slowly" are not
errors), so the caller can tell by ``EmotionSpec.label``.
"""
from __future__ import annotations

import re

from .emotion import EmotionSpec, parse_emotion

# stem (English, matched at a word start) or phrase (Chinese, matched as substring) -> weights
_EN: dict[str, dict[str, float]] = {
    "happ": {"happy": 1}, "joy": {"happy": 1}, "cheer": {"happy": 1}, "glad": {"happy": 1},
    "delight": {"happy": 1}, "elat": {"happy": 1}, "pleas": {"happy": 1}, "upbeat": {"happy": 1},
    "enthusias": {"happy": 0.8, "surprised": 0.2}, "excit": {"happy": 0.7, "surprised": 0.3},
    "thrill": {"happy": 0.7, "surprised": 0.3},
    "sad": {"sad": 1}, "sorrow": {"sad": 1}, "unhapp": {"sad": 1}, "depress": {"sad": 1},
    "gloom": {"sad": 1}, "melanchol": {"sad": 1}, "grie": {"sad": 1}, "tear": {"sad": 1},
    "cry": {"sad": 1}, "heartbroken": {"sad": 1},
    "angr": {"angry": 1}, "anger": {"angry": 1}, "mad": {"angry": 1}, "furious": {"angry": 1},
    "rage": {"angry": 1}, "annoy": {"angry": 0.6}, "irritat": {"angry": 0.6}, "outrag": {"angry": 1},
    "surpris": {"surprised": 1}, "amaz": {"surprised": 1}, "astonish": {"surprised": 1},
    "shock": {"surprised": 0.8, "fearful": 0.2}, "wow": {"surprised": 1},
    "fear": {"fearful": 1}, "afraid": {"fearful": 1}, "scare": {"fearful": 1}, "frighten": {"fearful": 1},
    "terrif": {"fearful": 1}, "nervous": {"fearful": 0.6}, "anxious": {"fearful": 0.6},
    "panic": {"fearful": 1},
    "disgust": {"disgusted": 1}, "gross": {"disgusted": 1}, "revolt": {"disgusted": 1},
    "repuls": {"disgusted": 1}, "contempt": {"disgusted": 0.8, "angry": 0.2}, "yuck": {"disgusted": 1},
    "neutral": {"neutral": 1}, "calm": {"neutral": 1}, "normal": {"neutral": 1}, "plain": {"neutral": 1},
}
_ZH: dict[str, dict[str, float]] = {
    "开心": {"happy": 1}, "高兴": {"happy": 1}, "快乐": {"happy": 1}, "愉快": {"happy": 1},
    "喜悦": {"happy": 1}, "欢快": {"happy": 1}, "兴奋": {"happy": 0.7, "surprised": 0.3},
    "惊喜": {"happy": 0.5, "surprised": 0.5},
    "悲伤": {"sad": 1}, "伤心": {"sad": 1}, "难过": {"sad": 1}, "沮丧": {"sad": 1}, "哀伤": {"sad": 1},
    "忧伤": {"sad": 1}, "哭": {"sad": 1},
    "生气": {"angry": 1}, "愤怒": {"angry": 1}, "恼火": {"angry": 1}, "气愤": {"angry": 1}, "发火": {"angry": 1},
    "惊讶": {"surprised": 1}, "吃惊": {"surprised": 1}, "震惊": {"surprised": 0.8, "fearful": 0.2},
    "恐惧": {"fearful": 1}, "害怕": {"fearful": 1}, "惊恐": {"fearful": 1}, "紧张": {"fearful": 0.6},
    "担心": {"fearful": 0.5},
    "厌恶": {"disgusted": 1}, "恶心": {"disgusted": 1}, "讨厌": {"disgusted": 0.8}, "嫌弃": {"disgusted": 0.8},
    "普通": {"neutral": 1}, "平静": {"neutral": 1}, "中性": {"neutral": 1}, "正常": {"neutral": 1},
}
_STRONG_EN = {"very", "extremely", "really", "so", "super", "incredibly", "totally", "absolutely", "furiously"}
_WEAK_EN = {"slightly", "somewhat", "mildly", "bit", "little", "kind", "kinda", "sort", "faintly", "gently"}
_NEG_EN = {"not", "no", "never", "without", "don't", "isn't", "aren't"}
_STRONG_ZH = ("非常", "特别", "超级", "极其", "十分", "很", "太", "好")
_WEAK_ZH = ("有点", "有些", "稍微", "一点", "略")
_NEG_ZH = ("不", "没")

DEFAULT_INTENSITY = 0.8
STRONG_INTENSITY = 1.0
WEAK_INTENSITY = 0.4


def _degree(present, strong, weak) -> float:
    """Intensity from the degree words before a keyword; weak wins (有点 contains no strong mark)."""
    if present(weak):
        return WEAK_INTENSITY
    if present(strong):
        return STRONG_INTENSITY
    return DEFAULT_INTENSITY


def _english(prompt: str) -> tuple[dict[str, float], list[float]]:
    words = re.findall(r"[a-z']+", prompt.lower())
    weights: dict[str, float] = {}
    levels: list[float] = []
    for i, word in enumerate(words):
        stem = next((s for s in _EN if word.startswith(s)), None)
        if stem is None or (stem == "mad" and word != "mad") or (stem == "tear" and not word.startswith("tearful")):
            continue
        before = words[max(0, i - 3):i]
        if any(w in _NEG_EN for w in before):
            continue
        for emotion, w in _EN[stem].items():
            weights[emotion] = weights.get(emotion, 0.0) + w
        levels.append(_degree(lambda words: any(w in words for w in before), _STRONG_EN, _WEAK_EN))
    return weights, levels


def _chinese(prompt: str) -> tuple[dict[str, float], list[float]]:
    weights: dict[str, float] = {}
    levels: list[float] = []
    for phrase, mix in _ZH.items():
        for match in re.finditer(re.escape(phrase), prompt):
            before = prompt[max(0, match.start() - 3):match.start()]
            if before.endswith(_NEG_ZH):
                continue
            for emotion, w in mix.items():
                weights[emotion] = weights.get(emotion, 0.0) + w
            levels.append(_degree(lambda marks: any(m in before for m in marks), _STRONG_ZH, _WEAK_ZH))
    return weights, levels


def emotion_from_prompt(prompt: str) -> EmotionSpec:
    """Map a free-text prompt such as "very excited" or "有点生气" to an emotion mix."""
    weights, levels = _english(prompt)
    zh_weights, zh_levels = _chinese(prompt)
    for k, v in zh_weights.items():
        weights[k] = weights.get(k, 0.0) + v
    levels += zh_levels
    if not weights:
        return parse_emotion(None)
    total = sum(weights.values())
    return parse_emotion({k: v / total for k, v in weights.items()}, intensity=max(levels))
