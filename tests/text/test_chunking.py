"""Chunking splits at the strongest break that keeps each chunk under the token limit."""
from __future__ import annotations

from emotivoice_srv.text.chunking import chunk_text, split_sentences


def letters(text: str) -> str:  # a stand-in phonemizer: one symbol per letter or space
    return "".join(ch for ch in text.lower() if ch.isalpha() or ch in " ,.;!?")


def test_sentences_split_after_final_punctuation():
    assert split_sentences("One. Two! Three? \"Four.\" Five") == ["One.", "Two!", "Three?", "\"Four.\"", "Five"]


def test_short_sentences_stay_whole_and_end_sentences():
    chunks = chunk_text("Hello there. How are you?", letters, 100)
    assert [c.text for c in chunks] == ["Hello there.", "How are you?"]
    assert all(c.sentence_end for c in chunks)


def test_long_sentence_splits_at_clauses_first():
    sentence = "alpha beta gamma, delta epsilon zeta; eta theta iota."
    chunks = chunk_text(sentence, letters, 25)
    assert [c.text for c in chunks] == ["alpha beta gamma,", "delta epsilon zeta;", "eta theta iota."]
    assert [c.sentence_end for c in chunks] == [False, False, True]


def test_clause_too_long_splits_at_words_and_respects_the_limit():
    sentence = " ".join(["word"] * 60) + "."
    chunks = chunk_text(sentence, letters, 40)
    assert len(chunks) > 1
    assert all(len(c.phonemes) <= 40 for c in chunks)
    assert " ".join(c.text for c in chunks) == sentence


def test_a_single_enormous_word_is_cut_not_crashed():
    chunks = chunk_text("a" * 300, letters, 50)
    assert len(chunks) == 1 and len(chunks[0].phonemes) == 50
