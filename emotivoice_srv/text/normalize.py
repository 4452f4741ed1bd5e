"""Written English -> the words a speaker would say, before grapheme-to-phoneme conversion.

``normalize(text)`` is pure (no I/O, no state) and never raises. The output holds only letters,
spaces and the punctuation later stages use (``. , ! ? ; : … — " ' ( ) -``); every digit is spelled.

Passes run in a fixed order, most specific first, and each consumes the digits it understands:
Unicode clean-up -> URLs and e-mails -> phone numbers -> dates -> decades and ordinals -> ranges ->
times -> money -> measures and percentages -> symbols -> abbreviations -> fractions and plain
numbers -> acronyms -> tidy. The plain-number pass therefore only sees what nothing else claimed.
Every pattern starts matching only at the start of a token or digit run, so a pass stays linear
in the length of the text, whatever the text.

Numbers are spelled by ``numbers``, money, measures and percentages by ``amounts``, dates and times
by ``dates``, and URLs, phone numbers and symbols by ``spelling``; this module holds the remaining
passes and their order.
"""
from __future__ import annotations

import re
import unicodedata

from . import numbers
from .amounts import CURRENCY_SYMBOLS, say_amounts
from .dates import MONTH_ABBREVIATIONS, MONTHS, WEEKDAYS, keep_period, say_dates, say_times
from .spelling import say_phones, say_symbols, say_urls

__all__ = ["normalize"]

# --------------------------------------------------------------------------- Unicode

_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "«": '"', "»": '"', "‘": "'", "’": "'",
                         "‚": "'", "‹": "'", "›": "'", "´": "'", "`": "'", "′": "'", "″": '"',
                         "‐": "-", "‑": "-", "−": "-", "‒": "-", "―": "—", "º": "°",
                         "[": "(", "]": ")", "{": "(", "}": ")", "™": " ", "®": " ", "℠": " "})
_SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹"
_VULGAR_FRACTION_RE = re.compile("[\u00bc-\u00be\u2150-\u215e\u2189]")


def _prepare(text: str) -> str:
    # Before NFKC: keep '1½' from becoming '11⁄2' and 'm²' from becoming 'm2'; '№' -> 'No.'.
    text = _VULGAR_FRACTION_RE.sub(
        lambda m: " %s " % unicodedata.normalize("NFKC", m.group(0)).replace("⁄", "/"), text.replace("№", " No. "))
    text = re.sub(f"[{_SUPERSCRIPTS}]+",
                  lambda m: "^" + "".join(str(_SUPERSCRIPTS.index(c)) for c in m.group(0)), text)
    kept = []
    for ch in text:
        category = unicodedata.category(ch)
        if category in ("Cc", "Zl", "Zp"):
            kept.append(" ")  # newlines, tabs and other controls are word breaks
        elif category[0] != "C":  # Cf (zero-width, BOM), Cs, Co and Cn are dropped
            kept.append(ch)
    text = unicodedata.normalize("NFKC", "".join(kept)).translate(_QUOTES)
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r"(?<=\d) - (?=\d+(?:\.\d+)? ?=)", " minus ", text)  # 10 - 5 = 5 is no range
    # Digits of any script -> ASCII, so that every later pass sees them.
    text = re.sub(r"\d", lambda m: str(unicodedata.decimal(m.group(0), 0)), text)
    text = re.sub(r"~\s?(?=\d)", " about ", text.replace("⁄", "/"))
    text = re.sub(r"\.{3,}|\.\s\.\s\.", "…", text)
    text = re.sub(r"(?<=\d)\s?–\s?(?=\d)", "-", text)  # an en dash between numbers is a range
    text = re.sub(r"\s*(?:[–—]|--+)\s*|(?<!\d)\s+-\s+|\s+-\s+(?!\d)", " — ", text)
    return text


# --------------------------------------------------------------------------- ranges

_RANGE_RE = re.compile(rf"(?<![\w.,:/-])([{CURRENCY_SYMBOLS}]?)(\d+(?:[.,:]\d+)*%?)\s?-\s?"
                       rf"([{CURRENCY_SYMBOLS}]?)(?=\d)(\d+(?:[.,:]\d+)*)?")


def _range(m: re.Match) -> str:
    symbol, first, second_symbol, second = m.groups()
    to = " and " if re.search(r"\bbetween\s+$", m.string[max(0, m.start() - 12):m.start()]) else " to "
    if (second and not symbol and re.fullmatch(r"\d{4}", first) and re.fullmatch(r"\d{4}", second)
            and 1000 <= int(first) < int(second) <= 2099):
        return numbers.year(int(first)) + to + numbers.year(int(second))
    return f"{symbol}{first}{to}{second_symbol or symbol}{second or ''}"


# --------------------------------------------------------------------------- abbreviations

_LATIN = {"eg": "for example", "ie": "that is", "etc": "et cetera", "vs": "versus",
          "approx": "approximately", "aka": "also known as", "cf": "compare"}
_LATIN_RE = re.compile(r"(?<![\w.])(e\.g\.?|i\.e\.?|etc\.|vs\.?|approx\.|a\.k\.a\.?|cf\.)(?!\w)", re.IGNORECASE)
_TITLES = {"Mr": "Mister", "Mrs": "Missus", "Ms": "Miz", "Prof": "Professor", "Rev": "Reverend",
           "Capt": "Captain", "Lt": "Lieutenant", "Sgt": "Sergeant", "Gov": "Governor", "Sen": "Senator",
           "Gen": "General", "Mt": "Mount", "Ft": "Fort"}
_TITLE_RE = re.compile(r"\b(Mrs|Mr|Ms|Prof|Rev|Capt|Lt|Sgt)\.|\b(Gov|Sen|Gen|Mt|Ft)\.(?=\s+[A-Z])"
                       r"|\b(Mrs|Mr|Ms)\b(?=\s+[A-Z])")  # the last five are words too, or want a name
_TRAILING = {"Jr": "Junior", "Sr": "Senior", "Inc": "Incorporated", "Ltd": "Limited", "Co": "Company",
             "Corp": "Corporation", "Ave": "Avenue", "Rd": "Road", "Blvd": "Boulevard", "Ln": "Lane",
             "Hwy": "Highway", "Dept": "Department"} | MONTH_ABBREVIATIONS | WEEKDAYS
_TRAILING_RE = re.compile(r"\b(%s)\." % "|".join(sorted(_TRAILING, key=len, reverse=True)))
_BEFORE_NUMBER = {"No": "number", "no": "number", "Fig": "figure", "fig": "figure", "Vol": "volume",
                  "vol": "volume", "Ch": "chapter", "ch": "chapter", "p": "page", "pp": "pages"}
_BEFORE_NUMBER_RE = re.compile(r"\b(%s)\.\s?(?=\d)" % "|".join(_BEFORE_NUMBER))
_PLACE_BEFORE = re.compile(r"(?:\d+(?:st|nd|rd|th)?|[A-Z][\w'-]*)\s+$")
_NUMBERED_PLACE_BEFORE = re.compile(r"\d+(?:st|nd|rd|th)?\s+[A-Z][\w'-]*\s+$")


def _saint_or_street(m: re.Match) -> str:
    """St./Dr. name a saint or a doctor before a name, a street or a drive after one."""
    before = m.string[max(0, m.start() - 40):m.start()]
    name_follows = re.match(r"\s+[A-Z]", m.string[m.end():]) is not None
    place = _PLACE_BEFORE.search(before) and (not name_follows or _NUMBERED_PLACE_BEFORE.search(before))
    if place:
        return ("Street" if m.group(1) == "St" else "Drive") + keep_period(m)
    end = "." if m.group(0).endswith(".") and not m.string[m.end():].strip() else ""
    return ("Saint" if m.group(1) == "St" else "Doctor") + end


def _initial(m: re.Match) -> str:
    """'John F. Kennedy' -> 'John F Kennedy': the period of an initial is no sentence end."""
    before = m.string[max(0, m.start() - 20):m.start()]
    return m.group(1) if re.search(r"(?:^|[A-Z][a-z][\w'-]*\s|[A-Z]\.\s)$", before) else m.group(0)


def _capitalized_like(source: str, words: str) -> str:
    return words[0].upper() + words[1:] if source[:1].isupper() else words


def _latin(m: re.Match) -> str:
    """e.g. -> for example; only 'etc.' may also end a sentence."""
    key = m.group(1).lower().replace(".", "")
    return _capitalized_like(m.group(1), _LATIN[key]) + (keep_period(m) if key == "etc" else "")


_ABBREVIATION_RULES = (
    (_LATIN_RE, _latin),
    (re.compile(r"(?<![\w.])((?:[A-Za-z]\.){2,})"),
     lambda m: " ".join(m.group(1).replace(".", "").upper()) + ("." if not m.string[m.end():].strip() else "")),
    (re.compile(r"\b(St|Dr)\.?(?=\s|$)"), _saint_or_street),
    (_TITLE_RE, lambda m: _TITLES[m.group(m.lastindex)] + ("." if not m.string[m.end():].strip() else "")),
    (_TRAILING_RE, lambda m: _TRAILING[m.group(1)] + keep_period(m)),
    (_BEFORE_NUMBER_RE, lambda m: _capitalized_like(m.group(1), _BEFORE_NUMBER[m.group(1)]) + " "),
    (re.compile(r"(?<![\w.])([A-Z])\.(?=\s+[A-Z][a-z.])"), _initial),
)

# --------------------------------------------------------------------------- counting words, numbers

_YEAR_CUES = {"in", "since", "by", "from", "until", "till", "during", "before", "after", "circa", "c",
              "ca", "year", "of", "around", "early", "late", "mid", "summer", "winter", "spring", "autumn",
              "fall", "class"} | {m.lower() for m in MONTHS}
_YEAR_FOLLOWERS = {"ad", "bc", "bce", "ce", "was", "is", "will", "and", "or", "to", "through", "when",
                   "saw", "had", "has", "were", "marked", "brought"}


def _looks_like_year(m: re.Match) -> bool:
    previous = re.search(r"([A-Za-z]+)\.?[\s(]+$", m.string[max(0, m.start() - 24):m.start()])
    if previous and previous.group(1).lower() in _YEAR_CUES:
        return True
    following = re.match(r"\s*(?:([A-Za-z]+)|[^\w]|$)", m.string[m.end():])
    return following is not None and (following.group(1) is None or following.group(1).lower() in _YEAR_FOLLOWERS)


def _plain_number(m: re.Match) -> str:
    sign, token = m.group(1), m.group(2)
    if not sign and len(token) == 4 and token.isdigit() and 1000 <= int(token) <= 2099 and _looks_like_year(m):
        return numbers.year(int(token))
    return numbers.numeral((sign or "") + token)


def _say_fraction(m: re.Match) -> str:
    whole, numerator, denominator = m.group(1), m.group(2), m.group(3)
    if len(numerator) > 3 or len(denominator) > 3:
        return m.group(0).replace("/", " slash ")
    spoken = numbers.fraction(int(numerator), int(denominator))
    if spoken is None:
        over = f"{numbers.numeral(numerator)} over {numbers.numeral(denominator)}"
        return (f"{numbers.numeral(whole)} " if whole else "") + over
    return f"{numbers.numeral(whole)} and {spoken}" if whole else spoken


def _decade(m: re.Match) -> str:
    digits = m.group(1)
    return numbers.plural(numbers.year(int(digits)) if len(digits) == 4 else numbers.cardinal(int(digits)))


def _say_ordinal(m: re.Match) -> str:
    digits = m.group(1).replace(",", "")
    return numbers.ordinal(int(digits)) if len(digits) <= numbers.MAX_DIGITS else numbers.digits(digits)


_COUNTING_RULES = (  # before ranges and units, which would read '1990s' as seconds
    (re.compile(r"(?<![\w'])'?(\d{1,3}0)'?s\b"), _decade),
    (re.compile(r"\b(\d{1,3}(?:,\d{3})+|\d+)(?:st|nd|rd|th|ST|ND|RD|TH)\b"), _say_ordinal),
)


_NUMBER_RULES = (
    (re.compile(r"(?<![\w.])\d+(?:\.\d+){2,}(?![\w.]?\d)"),
     lambda m: " point ".join(numbers.numeral(p) for p in m.group(0).split("."))),
    (re.compile(r"(?<![\w/.,])(?:(\d+)\s)?(\d+)/(\d+)(?![\w/]|[.,]\d)"), _say_fraction),
    (re.compile(r"(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])"), " "),
    (re.compile(rf"{numbers.SIGN_PATTERN}({numbers.NUMERAL_PATTERN})"), _plain_number),
    (re.compile(r"\d+"), lambda m: numbers.digits(m.group(0))),  # anything left, e.g. '1,2' fragments
)

# --------------------------------------------------------------------------- acronyms

_SAID_AS_WORDS = {"NASA", "NATO", "SCUBA", "LASER", "RADAR", "SONAR", "FIFA", "UEFA", "OPEC", "AIDS",
                  "COVID", "GIF", "JPEG", "PIN", "RAM", "ROM", "SIM", "NAFTA", "IKEA", "LEGO", "UNIX",
                  "FEMA", "SWAT", "AWOL", "ASCII", "RAID", "ZIP", "TED", "POTUS", "YOLO", "NASDAQ"}
_CAPITALIZED_WORDS = {"A", "I", "AN", "AND", "ARE", "AS", "AT", "BE", "BUT", "BY", "DO", "FOR", "GO", "HE",
                      "IF", "IN", "IS", "IT", "ME", "MY", "NO", "NOT", "OF", "ON", "OR", "SO", "THE", "TO",
                      "UP", "WE", "YOU", "YES", "ALL", "NEW", "NOW", "OUT", "HOW", "WHY", "WHAT", "STOP",
                      "HELP", "FREE", "NOTE", "SALE", "WARNING", "HELLO", "WOW", "OH", "HEY", "THIS", "THAT"}
_ROMAN = {"I": 1, "V": 5, "X": 10}
_COUNTED_BEFORE_ROMAN = {"War", "Part", "Chapter", "Volume", "Act", "Phase", "Book", "Season", "Episode",
                         "Type", "Class", "Level", "Stage", "Grade", "Apollo", "Rocky", "Star"}
_ACRONYM_RE = re.compile(r"(?<![\w'-])([A-Z]{2,5})(s)?(?![\w])")


def _roman(letters: str) -> int | None:
    if not re.fullmatch(r"X{0,3}(?:IX|IV|V?I{0,3})", letters):
        return None
    values = [_ROMAN[c] for c in letters]
    return sum(-v if i + 1 < len(values) and v < values[i + 1] else v for i, v in enumerate(values))


def _acronym(m: re.Match) -> str:
    letters, plural = m.group(1), m.group(2)
    previous = re.search(r"([A-Z][a-z]+)\s+$", m.string[max(0, m.start() - 24):m.start()])
    value = _roman(letters) if previous and not plural else None
    if value:
        counted = previous.group(1) in _COUNTED_BEFORE_ROMAN
        return numbers.cardinal(value) if counted else "the " + numbers.ordinal(value)
    if letters == "OK" and not plural:
        return "okay"
    if letters in _SAID_AS_WORDS or letters in _CAPITALIZED_WORDS:
        return m.group(0)
    return " ".join(letters) + ("'s" if plural else "")


def _acronyms(text: str) -> str:
    words = re.findall(r"[^\W\d_]{2,}", text)
    shouted = sum(w.isupper() for w in words)
    if shouted >= 4 and shouted * 3 >= len(words) * 2:  # a shouted text, not a text with acronyms
        return text
    return _ACRONYM_RE.sub(_acronym, text)


# --------------------------------------------------------------------------- tidy

_KEPT_PUNCTUATION = frozenset(".,!?;:…—\"'()-")


def _tidy(text: str) -> str:
    kept, previous = [], " "
    for ch in text:
        category = unicodedata.category(ch)
        if category[0] == "L" or ch in _KEPT_PUNCTUATION or ch == " ":
            previous = ch
        elif category[0] == "M" and unicodedata.category(previous)[0] in "LM":
            previous = ch  # a combining accent on a letter
        else:
            ch = " "  # symbols, emoji, stray digits of other kinds, anything unsayable
            previous = ch
        kept.append(ch)
    text = "".join(kept)
    text = re.sub(r"(?<![^\W\d_])-|-(?![^\W\d_])", " ", text)  # hyphens only inside words
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r"\s+([,.!?;:…)])", r"\1", text)
    text = re.sub(r"\(\s+", "(", text)
    text = re.sub(r"([,.;:!?])\1+", r"\1", text)
    text = re.sub(r"([,;:])(?=[^\W\d_])", r"\1 ", text)
    text = re.sub(r"[,;:]+(?=[.!?…])", "", text)
    text = re.sub(r"\(\s*\)", "", text)
    return re.sub(r"\s+", " ", text).strip()


# --------------------------------------------------------------------------- pipeline


def _apply(rules, text: str) -> str:
    for pattern, replacement in rules:
        text = pattern.sub(replacement, text)
    return text


def normalize(text: str) -> str:
    """Spell out written English as spoken words; keeps sentence punctuation, drops the unsayable."""
    text = _prepare(text)
    text = say_urls(text)
    text = say_phones(text)
    text = say_dates(text)
    text = _apply(_COUNTING_RULES, text)
    text = _RANGE_RE.sub(_range, text)
    text = say_times(text)
    text = say_amounts(text)
    text = say_symbols(text)
    text = _apply(_ABBREVIATION_RULES, text)
    text = re.sub(r"(?<=[a-z])\.(?=[a-z])", " dot ", text)  # file.txt, Node.js
    text = _apply(_NUMBER_RULES, text)
    text = _acronyms(text)
    return _tidy(text)
