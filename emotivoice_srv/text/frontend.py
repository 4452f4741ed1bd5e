"""Text -> model-ready utterances: normalize, phonemize, chunk, map to token ids."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InvalidInput, TextEmpty, TextTooLong
from .chunking import chunk_text, split_first_clause
from .g2p import G2P
from .normalize import normalize

_SPEAKABLE_MIN = 1  # phonemes other than spaces/punctuation needed to say anything
_PUNCTUATION = frozenset(";:,.!?—…\"()“” ")


@dataclass(frozen=True)
class Utterance:
    """One chunk ready for the graphs: ``tokens`` are zero-padded ids, one per phoneme plus 2."""

    text: str
    phonemes: str
    tokens: np.ndarray
    sentence_end: bool


class Frontend:
    """English front-end bound to one bundle's phoneme vocabulary."""

    def __init__(self, vocab: dict[str, int], max_tokens: int, lexicon_dir: Path | None = None) -> None:
        self.vocab = vocab
        self.max_tokens = max_tokens
        self.g2p = G2P(lexicon_dir)

    def phonemize(self, text: str) -> str:
        """Normalized text -> phonemes restricted to the model's vocabulary."""
        ps = self.g2p.phonemize(text)
        return "".join(ch for ch in ps if ch in self.vocab)

    def prepare(self, text: str, max_chars: int, first_clause_words: int = 0) -> list[Utterance]:
        """Text -> utterances the model can take. ``first_clause_words`` > 0 cuts the first sentence at
        its first clause break (streams use it for an earlier first chunk; see chunking.split_first_clause)."""
        if not isinstance(text, str):
            raise InvalidInput(f"text must be a string, got {type(text).__name__}")
        if len(text) > max_chars:
            raise TextTooLong(f"text has {len(text)} characters; the limit is {max_chars}")
        if not text.strip():
            raise TextEmpty("text is empty")
        normalized = normalize(text)
        utterances = []
        chunks = chunk_text(normalized, self.phonemize, self.max_tokens)
        for chunk in split_first_clause(chunks, self.phonemize, first_clause_words):
            ps = chunk.phonemes.strip()
            if sum(ch not in _PUNCTUATION for ch in ps) < _SPEAKABLE_MIN:
                continue
            ids = np.array([0, *(self.vocab[ch] for ch in ps), 0], dtype=np.int64)
            utterances.append(Utterance(chunk.text, ps, ids, chunk.sentence_end))
        if not utterances:
            raise TextEmpty(f"nothing speakable in the text (after normalization: {normalized[:80]!r})")
        return utterances
