"""The front-end turns raw text into padded token ids the model accepts."""
from __future__ import annotations

import pytest

from emotivoice_srv.errors import InvalidInput, TextEmpty, TextTooLong


@pytest.fixture(scope="module")
def frontend(engine):
    return engine.frontend


def test_tokens_are_padded_ids_of_the_phonemes(frontend):
    (utt,) = frontend.prepare("Hello world.", 100)
    assert utt.tokens[0] == 0 and utt.tokens[-1] == 0
    assert len(utt.tokens) == len(utt.phonemes) + 2
    assert all(frontend.vocab[ch] == t for ch, t in zip(utt.phonemes, utt.tokens[1:-1]))


def test_numbers_and_abbreviations_are_spoken(frontend):
    (utt,) = frontend.prepare("Dr. Smith paid $12.50.", 100)
    assert "dˈɑktəɹ" in utt.phonemes and "dˈɑləɹz" in utt.phonemes and "sˈɛnts" in utt.phonemes


def test_every_phoneme_is_in_the_vocabulary(frontend):
    for utt in frontend.prepare("Ünïcödé, «quotes», emoji 🎉 and math ∑ don't crash — right?", 1000):
        assert set(utt.phonemes) <= set(frontend.vocab)


def test_limits_and_types(frontend):
    with pytest.raises(TextTooLong):
        frontend.prepare("x" * 51, 50)
    with pytest.raises(TextEmpty):
        frontend.prepare("?!", 50)
    with pytest.raises(InvalidInput):
        frontend.prepare(None, 50)  # type: ignore[arg-type]
