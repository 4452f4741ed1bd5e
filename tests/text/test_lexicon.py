"""The compact lexicon answers exactly like the dictionary it was written from."""
from __future__ import annotations

import pytest

from emotivoice_srv.text.lexicon import CompactLexicon, write_lexicon

ENTRIES = {"hello": "həlˈO", "Hello": "həlˈO", "read": {"DEFAULT": "ɹˈid", "VBD": "ɹˈɛd"}, "naïve": "nɑˈiv",
           "a": "ə", "zebra": "zˈibɹə"}


@pytest.fixture()
def lexicon(tmp_path):
    write_lexicon(ENTRIES, tmp_path / "lex")
    return CompactLexicon(tmp_path / "lex")


def test_lookups_match_the_source(lexicon):
    for key, value in ENTRIES.items():
        assert key in lexicon and lexicon[key] == value and lexicon.get(key) == value
    assert len(lexicon) == len(ENTRIES) and set(lexicon) == set(ENTRIES)


@pytest.mark.parametrize("missing", ["hell", "helloo", "", "HELLO", "x" * 500, "a\0", None, 3])
def test_absent_keys_are_absent(lexicon, missing):
    assert missing not in lexicon and lexicon.get(missing) is None
    if isinstance(missing, str):
        with pytest.raises(KeyError):
            lexicon[missing]


def test_bundle_lexicon_gives_the_same_phonemes_as_the_json_dictionaries(bundle_dir, eval_sentences):
    from emotivoice_srv.text.g2p import G2P

    compact, reference = G2P(bundle_dir / "frontend"), G2P(None)
    for sentence in eval_sentences + ["Dr. Smith read the naïve zebra's résumé in twenty twenty-four."]:
        assert compact.phonemize(sentence) == reference.phonemize(sentence)
