"""Splitting text into utterances the model can take, at the strongest break that fits.

Sentences first (so streaming can start after the first one), then clauses (; : , —), then words.
Length is measured in phonemes, because that is what the model's token limit counts.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterator

_SENTENCE_END = re.compile(r"(?:(?<=[.!?…])|(?<=[.!?…][\"”')\]]))\s+")
_CLAUSE_END = re.compile(r"(?<=[;:,—])\s*")


@dataclass(frozen=True)
class Chunk:
    """One utterance: its text, its phonemes, and whether it ends a sentence."""

    text: str
    phonemes: str
    sentence_end: bool


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def _pack(pieces: list[str], phonemize: Callable[[str], str], limit: int) -> Iterator[tuple[str, str]]:
    """Greedily join pieces while their phonemes fit; a piece that alone is too long is split further."""
    current, current_ps = "", ""
    for piece in pieces:
        candidate = f"{current} {piece}".strip()
        ps = phonemize(candidate)
        if len(ps) <= limit:
            current, current_ps = candidate, ps
            continue
        if current:
            yield current, current_ps
        ps = phonemize(piece)
        if len(ps) <= limit:
            current, current_ps = piece, ps
            continue
        words = piece.split()
        if len(words) == 1:  # one enormous "word": cut its phonemes
            yield piece, ps[:limit]
            current, current_ps = "", ""
            continue
        *head, last = list(_pack(words, phonemize, limit))
        yield from head
        current, current_ps = last
    if current and current_ps:
        yield current, current_ps


def chunk_text(text: str, phonemize: Callable[[str], str], limit: int) -> list[Chunk]:
    """Normalized text -> chunks whose phoneme strings are at most ``limit`` symbols long."""
    chunks: list[Chunk] = []
    for sentence in split_sentences(text):
        ps = phonemize(sentence)
        if not ps:
            continue
        if len(ps) <= limit:
            chunks.append(Chunk(sentence, ps, True))
            continue
        clauses = [c for c in _CLAUSE_END.split(sentence) if c.strip()]
        parts = list(_pack(clauses, phonemize, limit))
        for i, (part, part_ps) in enumerate(parts):
            chunks.append(Chunk(part, part_ps, i == len(parts) - 1))
    return chunks


def split_first_clause(chunks: list[Chunk], phonemize: Callable[[str], str], min_words: int) -> list[Chunk]:
    """Cut the first chunk at its first clause break (; : , —) that leaves at least ``min_words`` words
    on each side: a stream's first audio then waits for a clause, not a whole sentence. The model
    renders the comma as the pause it would have made inside the sentence. ``min_words`` 0: unchanged."""
    if not chunks or min_words <= 0:
        return chunks
    first = chunks[0]
    pieces = [c.strip() for c in _CLAUSE_END.split(first.text) if c.strip()]
    for k in range(1, len(pieces)):
        head, tail = " ".join(pieces[:k]), " ".join(pieces[k:])
        if len(head.split()) >= min_words and len(tail.split()) >= min_words:
            head_ps, tail_ps = phonemize(head), phonemize(tail)
            if head_ps and tail_ps:
                return [Chunk(head, head_ps, False), Chunk(tail, tail_ps, first.sentence_end), *chunks[1:]]
            break
    return chunks
