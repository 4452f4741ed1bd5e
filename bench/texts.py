"""The evaluation sentences (``bench/data/eval_sentences_en.txt``; its ``#`` lines are comments).

One file inside the repository serves the tests, the benchmarks and the distillation pipeline's
evaluation, so a clone of the repository alone can run all three."""
from __future__ import annotations

from pathlib import Path

EVAL_FILE = Path(__file__).resolve().parent / "data" / "eval_sentences_en.txt"
UNSEEN_FILE = EVAL_FILE.with_name("unseen_sentences_en.txt")
"""Harvard lists 6-10: never used to select or tune anything (``python -m bench wer``)."""


def read_sentences(path: Path) -> list[str]:
    """Non-empty, non-comment lines of a sentence file, stripped."""
    return [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip() and not ln.startswith("#")]


def eval_sentences() -> list[str]:
    return read_sentences(EVAL_FILE)


def unseen_sentences() -> list[str]:
    return read_sentences(UNSEEN_FILE)
