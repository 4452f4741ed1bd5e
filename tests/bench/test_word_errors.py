"""Word-level error attribution for the intelligibility yardstick (bench/word_errors.py, bench/wer_bench.py)."""
from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # bench/ is a source folder, not an installed package
    sys.path.insert(0, str(REPO))

from bench.wer_bench import rotation, score  # noqa: E402
from bench.word_errors import Miss, align, classify, misses_in_group, top_misses  # noqa: E402

from emotivoice_srv.quality import edit_distance  # noqa: E402


def test_alignment_names_substitutions_and_deletions_and_counts_insertions():
    misses, insertions = align("the birch canoe slid".split(), "the birch can use slid".split())
    assert misses == [(2, "can")] and insertions == 1
    misses, insertions = align("a b c".split(), "a c".split())
    assert misses == [(1, "")] and insertions == 0


def test_alignment_cost_equals_the_wer_edit_distance():
    cases = [("a b c d e", "a x c e f g"), ("", "a b"), ("a b", ""), ("one two three", "one two three")]
    for ref, hyp in cases:
        misses, insertions = align(ref.split(), hyp.split())
        assert len(misses) + insertions == edit_distance(ref.split(), hyp.split())


def test_packed_window_misses_map_back_to_their_sentences():
    sentences = [["the", "cat", "sat"], ["a", "dog", "ran"], ["unused"]]
    misses, insertions = misses_in_group(sentences, [0, 1], "the cat sat a hog ran fast".split())
    assert misses == [Miss(1, 1, "dog", "hog")] and insertions == 1


def test_classify_splits_shared_rare_and_common_misses():
    zipf = {"slush": 2.9, "street": 5.1, "fudge": 3.0, "sugar": 4.6}.get
    ours = [Miss(0, 1, "slush", "slash"), Miss(1, 4, "fudge", "judge"), Miss(2, 2, "sugar", "shook")]
    yard = [Miss(0, 1, "slush", "flush"), Miss(3, 0, "street", "")]
    assert classify(ours, yard, zipf) == {"missed": 3, "shared_with_yardstick": 1, "rare_ours_only": 1,
                                          "common_ours_only": 1, "rare_total": 2}


def test_top_misses_rank_words_by_count_with_what_was_heard():
    ms = [Miss(0, 0, "slush", "slash"), Miss(1, 0, "slush", "slash"), Miss(2, 0, "slush", ""), Miss(3, 0, "pie", "by")]
    assert top_misses(ms, 1) == [{"word": "slush", "missed": 3, "heard_as": {"slash": 2, "(nothing)": 1}}]


def test_rotation_reads_every_sentence_about_equally_often():
    counts = [0] * 50
    for speaker in range(21):
        picked = rotation(speaker, 20, 50)
        assert len(set(picked)) == 20
        for i in picked:
            counts[i] += 1
    assert min(counts) >= 8 and max(counts) <= 9
    assert rotation(0, 80, 50) == list(range(50))


def test_score_uses_the_product_normalizer_on_packed_windows():
    sentences = ["Four hours of steady work faced us.", "The slush lay deep along the street."]
    heard = "4 hours of steady work faced us. The slash lay deep along the street!"
    row, misses = score(sentences, {"sentences": [0, 1], "windows": [[[0, 1], heard]]})
    assert row == {"sentences": 2, "words": 14, "errors": 1, "insertions": 0, "wer": round(1 / 14, 4)}
    assert misses == [Miss(1, 1, "slush", "slash")]
