"""The teacher corpus's sentence generator: reproducible, varied, and never the evaluation set."""
from __future__ import annotations

import re

import pytest

from export.distill.sentences import FUNCTION_WORDS, frequent_words, sentences


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


def test_open_family_is_reproducible_and_draws_on_thousands_of_dictionary_words():
    first = list(sentences(300, seed=1, family="open"))
    assert first == list(sentences(300, seed=1, family="open")) and len(set(first)) == 300
    assert not set(first) & set(sentences(300, seed=1))  # a family of its own
    vocabulary = set(frequent_words())
    assert len(vocabulary) > 10_000
    used = {w.strip(",.?!").lower() for s in first for w in s.split()}
    assert used <= vocabulary | {"i"} and len(used) > 1_000
    content = set(frequent_words()[FUNCTION_WORDS:])
    assert len(used & content) > 900  # not just the glue words
    assert any(s.endswith("?") for s in first) and any("," in s for s in first)


def test_open_family_excludes_too_and_unknown_families_are_refused():
    first = list(sentences(50, seed=2, family="open"))
    again = list(sentences(50, seed=2, exclude=frozenset(first[:10]), family="open"))
    assert not set(first[:10]) & set(again)
    with pytest.raises(ValueError, match="unknown sentence family"):
        next(sentences(1, family="poetry"))
