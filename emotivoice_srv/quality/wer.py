"""Word error rate for intelligibility checks.

Transcripts are normalized before scoring so that spelling choices of the ASR model are not counted
as errors: case, punctuation, digits ("5" == "five"), "%" == "percent", hyphenated words. Contractions
are kept as single words ("it's" stays "it's").
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})
_DASHES = re.compile(r"[-\u2010-\u2015\u2212]")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")
_PERCENT = re.compile(r"\s*%")
_CURRENCY = re.compile(r"\$\s*(\d+(?:\.\d+)?)")
_ORDINAL = re.compile(r"\b(\d+)(st|nd|rd|th)\b")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_NON_WORD = re.compile(r"[^a-z0-9' ]+")


def _spell_number(match: re.Match[str]) -> str:
    from num2words import num2words

    text = match.group(0)
    value: int | float = float(text) if "." in text else int(text)
    return f" {num2words(value)} "


def _spell_ordinal(match: re.Match[str]) -> str:
    from num2words import num2words

    return f" {num2words(int(match.group(1)), to='ordinal')} "


def normalize_transcript(text: str) -> list[str]:
    """Lowercase words with punctuation removed, numbers spelled out and hyphens split."""
    text = text.lower().translate(_APOSTROPHES)
    text = _THOUSANDS.sub("", text)
    text = _CURRENCY.sub(r"\1 dollars", text)
    text = _PERCENT.sub(" percent ", text)
    text = _ORDINAL.sub(_spell_ordinal, text)
    text = _NUMBER.sub(_spell_number, text)
    text = _DASHES.sub(" ", text.replace(",", " "))
    text = _NON_WORD.sub(" ", text)
    words = (word.strip("'") for word in text.split())
    return [word for word in words if word]


def edit_distance(ref: Sequence[str], hyp: Sequence[str]) -> int:
    """Levenshtein distance between two word sequences (substitutions, insertions, deletions cost 1)."""
    previous = list(range(len(hyp) + 1))
    for i, ref_word in enumerate(ref, start=1):
        current = [i]
        for j, hyp_word in enumerate(hyp, start=1):
            current.append(
                min(
                    previous[j] + 1,  # deletion
                    current[j - 1] + 1,  # insertion
                    previous[j - 1] + (ref_word != hyp_word),  # substitution or match
                )
            )
        previous = current
    return previous[-1]


def word_error_rate(refs: list[str], hyps: list[str]) -> float:
    """Corpus WER: total word edit distance over total reference words, after normalization."""
    if len(refs) != len(hyps):
        raise ValueError(f"got {len(refs)} references but {len(hyps)} hypotheses")
    errors = 0
    words = 0
    for ref, hyp in zip(refs, hyps):
        ref_words = normalize_transcript(ref)
        errors += edit_distance(ref_words, normalize_transcript(hyp))
        words += len(ref_words)
    if words == 0:
        raise ValueError("references contain no words")
    return errors / words
