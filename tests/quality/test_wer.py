"""Transcript normalization and word error rate."""

from __future__ import annotations

import pytest

from emotivoice_srv.quality import edit_distance, normalize_transcript, word_error_rate


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("The birch canoe slid.", ["the", "birch", "canoe", "slid"]),
        ("  Hello,   WORLD!?  ", ["hello", "world"]),
        (
            '"Quoted," she said; (aside) \u2026 done.',
            ["quoted", "she", "said", "aside", "done"],
        ),
        ("5 hours", ["five", "hours"]),
        ("It is 21.", ["it", "is", "twenty", "one"]),
        ("1,000 times", ["one", "thousand", "times"]),
        ("2.5 kilos", ["two", "point", "five", "kilos"]),
        ("the 3rd time", ["the", "third", "time"]),
        ("50% off", ["fifty", "percent", "off"]),
        ("fifty percent off", ["fifty", "percent", "off"]),
        ("$20 now", ["twenty", "dollars", "now"]),
        ("a well-known state-of-the-art idea", ["a", "well", "known", "state", "of", "the", "art", "idea"]),
        ("yes\u2014no", ["yes", "no"]),
        ("It's the man's fall, isn't it?", ["it's", "the", "man's", "fall", "isn't", "it"]),
        ("It\u2019s fine", ["it's", "fine"]),
        ("'quoted'", ["quoted"]),
        ("", []),
        ("?!.", []),
    ],
)
def test_normalize_transcript(text: str, words: list[str]) -> None:
    assert normalize_transcript(text) == words


def test_digits_and_words_normalize_alike() -> None:
    spoken = normalize_transcript("Four hours of steady work.")
    assert spoken == normalize_transcript("4 hours of steady work")
    assert normalize_transcript("5%") == normalize_transcript("five percent")


@pytest.mark.parametrize(
    ("ref", "hyp", "distance"),
    [
        ([], [], 0),
        (["a", "b"], [], 2),
        ([], ["a", "b", "c"], 3),
        (["the", "cat", "sat"], ["the", "cat", "sat"], 0),
        (["the", "cat", "sat"], ["the", "hat", "sat"], 1),
        (["the", "cat", "sat"], ["the", "cat", "sat", "down"], 1),
        (["the", "cat", "sat"], ["cat", "sat"], 1),
        (list("kitten"), list("sitting"), 3),
        (["a", "b", "c", "d"], ["b", "a", "d", "c"], 3),
    ],
)
def test_edit_distance(ref: list[str], hyp: list[str], distance: int) -> None:
    assert edit_distance(ref, hyp) == distance
    assert edit_distance(hyp, ref) == distance


def test_perfect_transcripts_have_zero_wer() -> None:
    assert word_error_rate(["It's 5% off."], ["it's five percent off"]) == 0.0


def test_wer_is_corpus_level_not_a_mean_of_sentences() -> None:
    refs = ["one two three four five six seven eight nine ten", "alpha beta"]
    hyps = ["one two three four five six seven eight nine ten", "alpha gamma"]
    # 1 error over 12 reference words; the mean of sentence rates would be 0.25
    assert word_error_rate(refs, hyps) == pytest.approx(1 / 12)


def test_wer_counts_insertions_and_can_exceed_one() -> None:
    assert word_error_rate(["hi"], ["oh hi there friend"]) == pytest.approx(3.0)


def test_wer_rejects_mismatched_lists() -> None:
    with pytest.raises(ValueError, match="references"):
        word_error_rate(["a", "b"], ["a"])


def test_wer_rejects_references_without_words() -> None:
    with pytest.raises(ValueError, match="no words"):
        word_error_rate(["...", ""], ["a", ""])
