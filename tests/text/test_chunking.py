"""Chunking splits at the strongest break that keeps each chunk under the token limit."""
from __future__ import annotations

from emotivoice_srv.text.chunking import Chunk, chunk_text, split_first_clause, split_sentences


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


def test_first_clause_becomes_its_own_chunk_when_both_sides_keep_enough_words():
    chunks = chunk_text("Hello there, how are you today? Fine, thanks.", letters, 100)
    split = split_first_clause(chunks, letters, 2)
    assert [c.text for c in split] == ["Hello there,", "how are you today?", "Fine, thanks."]
    assert [c.sentence_end for c in split] == [False, True, True]
    assert split[0].phonemes == letters("Hello there,")


def test_first_clause_split_skips_breaks_that_leave_a_lone_word():
    chunks = chunk_text("Well, I think so, said the old man.", letters, 100)
    assert [c.text for c in split_first_clause(chunks, letters, 2)] == ["Well, I think so,", "said the old man."]
    assert split_first_clause(chunks, letters, 5) == chunks  # no break leaves 5 words on both sides
    assert split_first_clause(chunk_text("No clause break here.", letters, 100), letters, 2) == \
        [Chunk("No clause break here.", letters("No clause break here."), True)]
    assert split_first_clause(chunks, letters, 0) == chunks and split_first_clause([], letters, 2) == []
