"""Things read out character by character, or symbol by symbol, rather than as words.

``say_urls(text)`` spells URLs, bare domains and e-mail addresses ('www.example.com/a_b' ->
'example dot com slash a underscore b'); ``say_phones(text)`` reads phone numbers digit by digit
in their groups; ``say_symbols(text)`` names '&', '#5', '3x4', 'm^2', '<', '24/7', '%' and
friends. They are separate passes because the normalizer runs dates, times and amounts between
phones and symbols, and those claim the '/', ':', '%' and '$' they understand first.
"""
from __future__ import annotations

import re

from . import numbers

__all__ = ["say_phones", "say_symbols", "say_urls"]

# --------------------------------------------------------------------------- URLs, e-mails

_URL_WORDS = {".": "dot", "/": "slash", "-": "dash", "_": "underscore", ":": "colon", "@": "at",
              "?": "question mark", "=": "equals", "&": "and", "#": "hash", "%": "percent",
              "~": "tilde", "+": "plus"}
_TLDS = "com|org|net|edu|gov|io|ai|co|uk|us|de|fr|dev|app|info|biz|me|tv|ly|ca|au|eu"
_URL_RE = re.compile(r"(?<![^\s(\"'<])"  # only at the start of a token, which keeps it linear
                     r"(?:(?:https?|ftp)://[^\s<>\"'()]+|www\.[^\s<>\"'()]+"
                     r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
                     rf"|[a-z\d][a-z\d-]*(?:\.[a-z\d-]+)*\.(?:{_TLDS})\b(?:/[^\s<>\"'()]*)?)",
                     re.IGNORECASE)


def _say_url(m: re.Match) -> str:
    url = m.group(0)
    trail = re.search(r"[.,;:!?'\"]*$", url).group(0)
    url = url[: len(url) - len(trail)] if trail else url
    url = re.sub(r"^(?:[a-z]+://)?(?:www\.)?", "", url, flags=re.IGNORECASE).rstrip("/")
    words = []
    for part in re.findall(r"[^\W\d_]+|\d+|.", url):
        if part[0].isdigit():
            words.append(numbers.digits(part))
        elif part.isalpha():
            words.append(part.lower())
        elif part in _URL_WORDS:
            words.append(_URL_WORDS[part])
    return " ".join(words) + trail


def say_urls(text: str) -> str:
    """Spell URLs, bare domains and e-mail addresses; sentence punctuation after one is kept."""
    return _URL_RE.sub(_say_url, text)


# --------------------------------------------------------------------------- phones

_PHONE_RE = re.compile(r"(?<![\w+-])(?:\+\d{1,3}[\s.-]?|1-)?"
                       r"(?:\(\d{3}\)\s?\d{3}[-.\s]|\d{3}([-.])\d{3}\1)\d{4}(?![\w-])"
                       r"|(?<![\w+])\+\d{1,3}(?:[\s.-]\d{1,5}){2,5}(?![\w-])")


def _say_phone(m: re.Match) -> str:
    groups = re.findall(r"\d+", m.group(0))
    if sum(map(len, groups)) < 7:
        return m.group(0)
    return ", ".join(numbers.digits(group) for group in groups)


def say_phones(text: str) -> str:
    """Read US and international phone numbers digit by digit, a comma between groups."""
    return _PHONE_RE.sub(_say_phone, text)


# --------------------------------------------------------------------------- symbols

def _power(exponent: str) -> str:
    return {"2": " squared", "3": " cubed"}.get(exponent, " to the power of " + exponent)


_SYMBOL_RULES = (
    (re.compile(r"\b([A-Z]{1,4})&([A-Z]{1,4})\b"), lambda m: f"{' '.join(m.group(1))} and {' '.join(m.group(2))}"),
    (re.compile(r"\b([A-G])#(?!\w)"), r"\1 sharp"),
    (re.compile(r"#\s?(?=\d)"), " number "),
    (re.compile(r"(?<=\d)\s?[x×]\s?(?=\d)"), " by "),
    (re.compile(r"(?<=\d)\^(\d+)"), lambda m: _power(m.group(1))),
    (re.compile(r"(?<![\w^])([A-Za-z]{1,2})\^(\d+)"), lambda m: m.group(1) + _power(m.group(2))),
    (re.compile(r"\^\d+"), " "),  # a footnote mark
    (re.compile(r"\bw/o\b"), "without"),
    (re.compile(r"\bw/(?=\s)"), "with"),
    (re.compile(r"<\s?(?=\d)|\s<\s"), " less than "),
    (re.compile(r">\s?(?=\d)|\s>\s"), " greater than "),
    (re.compile(r"24/7"), "twenty-four seven"),
)
_SYMBOL_WORDS = {"&": "and", "+": "plus", "=": "equals", "@": "at", "×": "times", "÷": "divided by",
                 "±": "plus or minus", "→": "to", "⇒": "to", "≈": "about", "≤": "at most",
                 "≥": "at least", "§": "section", "%": "percent", "°": "degrees"}
_SYMBOL_RE = re.compile("[%s]" % re.escape("".join(_SYMBOL_WORDS)))


def say_symbols(text: str) -> str:
    """Name symbols: those that read by context first ('C#', '#5', '3x4', 'm^2'), then the rest."""
    for pattern, replacement in _SYMBOL_RULES:
        text = pattern.sub(replacement, text)
    return _SYMBOL_RE.sub(lambda m: f" {_SYMBOL_WORDS[m.group(0)]} ", text)
