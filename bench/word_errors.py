"""Where recognition errors fall: which reference words a voice's transcripts miss, and why.

Pure logic (no audio, no model). A transcript is aligned to its reference word by word (the same
normalizer as the WER, ``emotivoice_srv.quality.normalize_transcript``); every reference word is then
either heard or missed (substituted or deleted), and insertions are counted apart. A voice's missed
words are split three ways against a yardstick voice that read the same sentences:

- *shared*: the yardstick missed the same word of the same sentence too -- the sentence and the ASR's
  limit (rare words, compound spellings), not the voice;
- *rare*: only ours missed it, and the word is rare (Zipf frequency below ``RARE_ZIPF``);
- *common*: only ours missed a common word the yardstick got right -- the voice's accent or
  articulation.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

RARE_ZIPF = 3.5
"""Zipf frequency (log10 of occurrences per billion words) under which a word counts as rare:
3.5 is ~3 per million words ("slush" 2.9, "droopy" 2.4; "sugar" 4.6, "field" 5.0)."""


@dataclass(frozen=True)
class Miss:
    """One reference word not heard: its sentence, its position in it, and what was heard instead
    (``""`` for a deletion)."""

    sentence: int
    position: int
    word: str
    heard: str


def align(ref: Sequence[str], hyp: Sequence[str]) -> tuple[list[tuple[int, str]], int]:
    """Levenshtein alignment: ([(reference index, word heard there or "" if deleted)] for every
    reference word not matched, insertions). Of equal-cost alignments the one whose extra heard words
    come last ("canoe" -> "can use": canoe heard as *can*, *use* inserted)."""
    n, m = len(ref), len(hyp)
    cost = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        cost[i][0] = i
    for j in range(m + 1):
        cost[0][j] = j
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            cost[i][j] = min(cost[i - 1][j - 1] + (ref[i - 1] != hyp[j - 1]), cost[i - 1][j] + 1, cost[i][j - 1] + 1)
    misses: list[tuple[int, str]] = []
    insertions = 0
    i, j = n, m
    while i > 0 or j > 0:
        if i > 0 and j > 0 and ref[i - 1] == hyp[j - 1] and cost[i][j] == cost[i - 1][j - 1]:
            i, j = i - 1, j - 1
        elif j > 0 and cost[i][j] == cost[i][j - 1] + 1:
            insertions += 1
            j -= 1
        elif i > 0 and j > 0 and cost[i][j] == cost[i - 1][j - 1] + 1:
            misses.append((i - 1, hyp[j - 1]))
            i, j = i - 1, j - 1
        else:
            misses.append((i - 1, ""))
            i -= 1
    return sorted(misses), insertions


def misses_in_group(sentences: Sequence[Sequence[str]], indices: Sequence[int],
                    heard: Sequence[str]) -> tuple[list[Miss], int]:
    """Misses of one transcript that covers several sentences read back to back (a packed ASR
    window): the joined reference is aligned with the words heard, and each miss is mapped back to
    its sentence. ``sentences``: every sentence's normalized words; ``indices``: those in the window."""
    owners = [(s, k) for s in indices for k in range(len(sentences[s]))]
    joined = [sentences[s][k] for s, k in owners]
    misses, insertions = align(joined, heard)
    return [Miss(owners[i][0], owners[i][1], joined[i], h) for i, h in misses], insertions


def classify(ours: Sequence[Miss], yardstick: Sequence[Miss],
             zipf: Callable[[str], float], rare_zipf: float = RARE_ZIPF) -> dict:
    """Counts of our missed words that are shared with the yardstick, rare, or common (see the module
    docstring), and how many of ours are rare at all."""
    theirs = {(m.sentence, m.position) for m in yardstick}
    shared = [m for m in ours if (m.sentence, m.position) in theirs]
    alone = [m for m in ours if (m.sentence, m.position) not in theirs]
    rare = [m for m in alone if zipf(m.word) < rare_zipf]
    common = [m for m in alone if zipf(m.word) >= rare_zipf]
    return {"missed": len(ours), "shared_with_yardstick": len(shared), "rare_ours_only": len(rare),
            "common_ours_only": len(common),
            "rare_total": sum(zipf(m.word) < rare_zipf for m in ours)}


def top_misses(misses: Sequence[Miss], limit: int = 8) -> list[dict]:
    """The words missed most often, each with what was heard instead (most common first)."""
    by_word: dict[str, Counter] = {}
    for m in misses:
        by_word.setdefault(m.word, Counter())[m.heard or "(nothing)"] += 1
    ranked = sorted(by_word.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))[:limit]
    return [{"word": w, "missed": sum(c.values()), "heard_as": dict(c.most_common(3))} for w, c in ranked]
