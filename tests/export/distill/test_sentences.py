"""The teacher corpus's sentence generator: reproducible, varied, and never the evaluation set."""
from __future__ import annotations

import re

from export.distill.sentences import sentences


def test_same_seed_same_sentences_other_seed_others():
    assert list(sentences(50, seed=3)) == list(sentences(50, seed=3))
    assert list(sentences(50, seed=3)) != list(sentences(50, seed=4))


def test_sentences_are_distinct_and_exclude_the_evaluation_set():
    first = list(sentences(300, seed=0))
    assert len(set(first)) == 300
    excluded = frozenset(first[:40])
    again = list(sentences(300, seed=0, exclude=excluded))
    assert not excluded & set(again) and len(set(again)) == 300


def test_corpus_covers_questions_exclamations_numbers_quotes_and_lengths():
    text = list(sentences(400, seed=0))
    assert any(s.endswith("?") for s in text) and any(s.endswith("!") for s in text)
    assert sum(bool(re.search(r"\d", s)) for s in text) >= 30
    assert any("$" in s for s in text) and any("%" in s for s in text) and any('"' in s for s in text)
    words = [len(s.split()) for s in text]
    assert min(words) <= 2 and max(words) >= 20
