"""The shared development sentences (``../shared/eval/sentences_en.txt``; its ``#`` lines are comments)."""
from __future__ import annotations

from pathlib import Path

EVAL_FILE = Path(__file__).resolve().parents[2] / "shared" / "eval" / "sentences_en.txt"


def eval_sentences() -> list[str]:
    return [ln.strip() for ln in EVAL_FILE.read_text().splitlines() if ln.strip() and not ln.startswith("#")]
