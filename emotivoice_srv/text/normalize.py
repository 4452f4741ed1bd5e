"""Written English -> the words a speaker would say, before grapheme-to-phoneme conversion.

``normalize(text)`` is pure (no I/O, no state) and never raises. The output holds only letters,
spaces and the punctuation later stages use (``. , ! ? ; : … — " ' ( ) -``); every digit is spelled.

Passes run in a fixed order, most specific first, and each consumes the digits it understands:
Unicode clean-up -> URLs and e-mails -> phone numbers -> dates -> ranges -> times -> money ->
measures and percentages -> symbols -> abbreviations -> ordinals, decades, fractions -> plain
numbers -> acronyms -> tidy. The last number pass therefore only sees what nothing else claimed.

Numbers are spelled here rather than with num2words: importing num2words loads every language
(~20 ms), more than this whole module costs, and US English needs only a few dozen lines.
"""
from __future__ import annotations

import re
import unicodedata

__all__ = ["normalize"]

# --------------------------------------------------------------------------- number words

_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
         "fifteen sixteen seventeen eighteen nineteen").split()
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_SCALES = ("", "thousand", "million", "billion", "trillion", "quadrillion", "quintillion",
           "sextillion", "septillion", "octillion", "nonillion", "decillion")
_MAX_DIGITS = 3 * len(_SCALES)  # longer integers are read digit by digit
_ORDINAL_WORDS = {"one": "first", "two": "second", "three": "third", "five": "fifth",
                  "eight": "eighth", "nine": "ninth", "twelve": "twelfth"}


def _cardinal(n: int) -> str:
    """US style, no "and": 1234 -> one thousand two hundred thirty-four."""
    if n < 0:
        return "minus " + _cardinal(-n)
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("-" + _ONES[n % 10] if n % 10 else "")
    if n < 1000:
        return _ONES[n // 100] + " hundred" + (" " + _cardinal(n % 100) if n % 100 else "")
    groups, scale = [], 0
    while n:
        n, group = divmod(n, 1000)
        if group:
            groups.append(_cardinal(group) + (" " + _SCALES[scale] if scale else ""))
        scale += 1
    return " ".join(reversed(groups))


def _ordinal(n: int) -> str:
    head, last = re.match(r"(.*?)([a-z]+)$", _cardinal(n)).groups()
    if last in _ORDINAL_WORDS:
        return head + _ORDINAL_WORDS[last]
    return head + (last[:-1] + "ieth" if last.endswith("y") else last + "th")


def _year(n: int) -> str:
    """1999 -> nineteen ninety-nine, 1905 -> nineteen oh five, 2000/2008 -> two thousand (eight)."""
    if not 1000 <= n <= 9999 or n % 1000 < 10:
        return _cardinal(n)
    high, low = divmod(n, 100)
    if low == 0:
        return _cardinal(high) + " hundred"
    return _cardinal(high) + (" oh " if low < 10 else " ") + _cardinal(low)


def _two_digit_year(digits: str) -> str:
    n = int(digits)
    return ("oh " if digits.startswith("0") and n else "") + _cardinal(n)


def _digits(digits: str) -> str:
    return " ".join(_ONES[int(d)] for d in digits if "0" <= d <= "9")


def _plural(words: str) -> str:
    """nineteen ninety -> nineteen nineties, six -> sixes, hundred -> hundreds."""
    if words.endswith("y"):
        return words[:-1] + "ies"
    return words + ("es" if words.endswith("x") else "s")


def _number(token: str, quantity: bool = False) -> str:
    """Any numeral this module matches: '-1,234.56', '3.14', '.5', '007', '5551234'.

    Seven or more ungrouped digits read digit by digit (an id, a phone number) unless ``quantity``
    says the context (money, a unit) makes it an amount.
    """
    sign = ""
    if token[:1] in "-−":
        sign, token = "minus ", token[1:]
    whole, _, fraction = token.partition(".")
    grouped = "," in whole
    whole = whole.replace(",", "")
    if not whole:
        words = ""
    elif (len(whole) > _MAX_DIGITS or (not grouped and not quantity and len(whole) >= 7)
          or (len(whole) > 1 and whole[0] == "0")):
        words = _digits(whole)
    else:
        words = _cardinal(int(whole))
    if fraction:
        words = (words + " point " if words else "point ") + _digits(fraction)
    return sign + words


def _is_one(token: str) -> bool:
    return token.lstrip("-−") == "1"


# Regex building blocks. _NUM is a numeral: grouped thousands, plain, or a bare decimal.
_NUM = r"(?:\d{1,3}(?:,\d{3})+(?!\d)(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)"
_SIGN = r"(?:(?<![^\s(\[\"'~])(-))?"  # a minus only at the start of a word
_MONTHS = ("January February March April May June July August September October November "
           "December").split()
_MONTH_ABBREVIATIONS = {m[:3]: m for m in _MONTHS} | {"Sept": "September"}
_MONTH_RE = r"(%s|%s)\b\.?" % ("|".join(_MONTHS), "|".join(sorted(_MONTH_ABBREVIATIONS, key=len)[::-1]))
_WEEKDAYS = {"Mon": "Monday", "Tue": "Tuesday", "Tues": "Tuesday", "Wed": "Wednesday",
             "Thu": "Thursday", "Thur": "Thursday", "Thurs": "Thursday", "Fri": "Friday",
             "Sat": "Saturday", "Sun": "Sunday"}
_SENTENCE_GOES_ON = re.compile(r"\s*$|\s+[\"'(]?[A-Z]")


def _keep_period(m: re.Match) -> str:
    """'.' when an abbreviation's period also ends the sentence (end of text or a capital next)."""
    return "." if m.group(0).endswith(".") and _SENTENCE_GOES_ON.match(m.string, m.end()) else ""


def _month(name: str) -> str:
    return _MONTH_ABBREVIATIONS.get(name, name)


# --------------------------------------------------------------------------- 1. Unicode

_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "«": '"', "»": '"', "‘": "'", "’": "'",
                         "‚": "'", "‹": "'", "›": "'", "´": "'", "`": "'", "′": "'", "″": '"',
                         "‐": "-", "‑": "-", "−": "-", "‒": "-", "―": "—", "º": "°",
                         "[": "(", "]": ")", "{": "(", "}": ")", "™": " ", "®": " ", "℠": " "})
_SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹"
_VULGAR_FRACTION_RE = re.compile("[\u00bc-\u00be\u2150-\u215e\u2189]")


def _prepare(text: str) -> str:
    # Before NFKC: keep '1½' from becoming '11⁄2' and 'm²' from becoming 'm2'; '№' -> 'No.'.
    text = _VULGAR_FRACTION_RE.sub(lambda m: " %s " % unicodedata.normalize("NFKC", m.group(0)).replace("⁄", "/"),
                                   text.replace("№", " No. "))
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
    # Digits of any script -> ASCII, so that every later pass sees them.
    text = re.sub(r"\d", lambda m: str(unicodedata.decimal(m.group(0), 0)), text)
    text = re.sub(r"~\s?(?=\d)", " about ", text.replace("⁄", "/"))
    text = re.sub(r"\.{3,}|\.\s\.\s\.", "…", text)
    text = re.sub(r"(?<=\d)\s?–\s?(?=\d)", "-", text)  # an en dash between numbers is a range
    text = re.sub(r"\s*(?:[–—]|--+)\s*|(?<!\d)\s+-\s+|\s+-\s+(?!\d)", " — ", text)
    return text


# --------------------------------------------------------------------------- 2. URLs, e-mails

_URL_WORDS = {".": "dot", "/": "slash", "-": "dash", "_": "underscore", ":": "colon", "@": "at",
              "?": "question mark", "=": "equals", "&": "and", "#": "hash", "%": "percent",
              "~": "tilde", "+": "plus"}
_TLDS = "com|org|net|edu|gov|io|ai|co|uk|us|de|fr|dev|app|info|biz|me|tv|ly|ca|au|eu"
_URL_RE = re.compile(r"(?:\b(?:https?|ftp)://|\bwww\.)[^\s<>\"'()]+"
                     r"|\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
                     rf"|\b[a-z\d][a-z\d-]*(?:\.[a-z\d-]+)*\.(?:{_TLDS})\b(?:/[^\s<>\"'()]*)?",
                     re.IGNORECASE)


def _say_url(m: re.Match) -> str:
    url = m.group(0)
    trail = re.search(r"[.,;:!?'\"]*$", url).group(0)
    url = url[: len(url) - len(trail)] if trail else url
    url = re.sub(r"^(?:[a-z]+://)?(?:www\.)?", "", url, flags=re.IGNORECASE).rstrip("/")
    words = []
    for part in re.findall(r"[^\W\d_]+|\d+|.", url):
        if part[0].isdigit():
            words.append(_digits(part))
        elif part.isalpha():
            words.append(part.lower())
        elif part in _URL_WORDS:
            words.append(_URL_WORDS[part])
    return " ".join(words) + trail


# --------------------------------------------------------------------------- 3-4. phones, dates

_PHONE_RE = re.compile(r"(?<![\w+-])(?:\+\d{1,3}[\s.-]?|1-)?(?:\(\d{3}\)\s?\d{3}[-.\s]|\d{3}([-.])\d{3}\1)\d{4}(?![\w-])"
                       r"|(?<![\w+])\+\d{1,3}(?:[\s.-]\d{1,5}){2,5}(?![\w-])")


def _say_phone(m: re.Match) -> str:
    groups = re.findall(r"\d+", m.group(0))
    if sum(map(len, groups)) < 7:
        return m.group(0)
    return ", ".join(_digits(group) for group in groups)


def _say_date(month: int, day: int, year: str | None) -> str:
    spoken = f"{_MONTHS[month - 1]} {_ordinal(day)}"
    if year:
        spoken += ", " + (_year(int(year)) if len(year) == 4 else _two_digit_year(year))
    return spoken


def _numeric_date(m: re.Match) -> str:
    """2024-01-05 (ISO, year first) or 1/5/2024 (US, month first)."""
    if m.group("y1"):
        year, month, day = m.group("y1"), int(m.group("m1")), int(m.group("d1"))
    else:
        year, month, day = m.group("y2"), int(m.group("m2")), int(m.group("d2"))
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return m.group(0)
    return _say_date(month, day, year)


def _month_date(m: re.Match) -> str:
    day = int(m.group("day"))
    if not 1 <= day <= 31:
        return m.group(0)
    month = _MONTHS.index(_month(m.group("month"))) + 1
    if m.groupdict().get("of"):  # 'the 5th of May' keeps its word order
        spoken = f"{_ordinal(day)} of {_MONTHS[month - 1]}"
        return spoken + (", " + _year(int(m.group("year"))) if m.group("year") else "")
    return _say_date(month, day, m.group("year"))


_DATE_RULES = (
    (re.compile(r"\b(?P<y1>\d{4})([-/])(?P<m1>\d{1,2})\2(?P<d1>\d{1,2})\b"
                r"|\b(?P<m2>\d{1,2})/(?P<d2>\d{1,2})/(?P<y2>\d{4}|\d{2})\b"), _numeric_date),
    (re.compile(rf"\b{_MONTH_RE.replace('(', '(?P<month>', 1)}\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\b"
                r"(?:,?\s+(?P<year>\d{4})\b)?"), _month_date),
    (re.compile(rf"\b(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\s+(?P<of>of\s+)?{_MONTH_RE.replace('(', '(?P<month>', 1)}"
                r"(?:,?\s+(?P<year>\d{4})\b)?"), _month_date),
    (re.compile(rf"\b{_MONTH_RE}\s+(\d{{4}})\b"),
     lambda m: f"{_month(m.group(1))} {_year(int(m.group(2)))}"),
)

# --------------------------------------------------------------------------- 5-6. ranges, times

_CURRENCY_SYMBOLS = "$£€¥₹"
_RANGE_RE = re.compile(rf"(?<![\w.,:/-])([{_CURRENCY_SYMBOLS}]?)(\d+(?:[.,:]\d+)*%?)\s?-\s?"
                       rf"([{_CURRENCY_SYMBOLS}]?)(?=\d)(\d+(?:[.,:]\d+)*)?")


def _range(m: re.Match) -> str:
    symbol, first, second_symbol, second = m.groups()
    if (second and not symbol and re.fullmatch(r"\d{4}", first) and re.fullmatch(r"\d{4}", second)
            and 1000 <= int(first) < int(second) <= 2099):
        return f"{_year(int(first))} to {_year(int(second))}"
    return f"{symbol}{first} to {second_symbol or symbol}{second or ''}"


_AMPM = r"(?:\s?([AaPp])\.?\s?[Mm]\b\.?)"
_CLOCK_RE = re.compile(rf"(?<![\d:.])(\d{{1,2}}):(\d{{2}})(?::(\d{{2}}))?{_AMPM}?(?![\d:])")
_HOUR_RE = re.compile(rf"(?<![\d:.,])(\d{{1,2}}){_AMPM}(?!\w)")


def _meridiem(m: re.Match, letter: str | None) -> str:
    return f" {letter.upper()} M{_keep_period(m)}" if letter else ""


def _clock(m: re.Match) -> str:
    hour, minute = int(m.group(1)), int(m.group(2))
    second, letter = m.group(3), m.group(4)
    if hour > 24 or minute > 59 or (letter and not 1 <= hour <= 12) or (second and int(second) > 59):
        return m.group(0)
    spoken = _cardinal(hour)
    if minute:
        spoken += (" oh " if minute < 10 else " ") + _cardinal(minute)
    elif not letter:
        spoken += " o'clock" if 1 <= hour <= 12 else " hundred"
    if second and int(second):
        spoken += f" and {_cardinal(int(second))} second{'' if int(second) == 1 else 's'}"
    return spoken + _meridiem(m, letter)


def _hour(m: re.Match) -> str:
    hour = int(m.group(1))
    return _cardinal(hour) + _meridiem(m, m.group(2)) if 1 <= hour <= 12 else m.group(0)


# --------------------------------------------------------------------------- 7-8. money, measures

_MONEY = {"$": ("dollar", "dollars", "cent", "cents"), "£": ("pound", "pounds", "penny", "pence"),
          "€": ("euro", "euros", "cent", "cents"), "¥": ("yen", "yen", None, None),
          "₹": ("rupee", "rupees", "paisa", "paise")}
_SCALE_WORDS = {"k": "thousand", "K": "thousand", "m": "million", "M": "million", "mn": "million",
                "b": "billion", "B": "billion", "bn": "billion", "tn": "trillion"}
_MONEY_RE = re.compile(rf"{_SIGN}([{_CURRENCY_SYMBOLS}])\s?({_NUM})"
                       r"(?:\s?(thousand|million|billion|trillion|bn|mn|tn)\b|([kKmMbB])(?![^\W_]))?"
                       rf"|{_SIGN}({_NUM})\s?([€£])(?![^\W_])")


def _money(m: re.Match) -> str:
    if m.group(7):  # amount before the symbol: 5€, 20 £
        sign, amount, symbol, scale = m.group(6), m.group(7), m.group(8), None
    else:
        sign, symbol, amount = m.group(1), m.group(2), m.group(3)
        scale = m.group(4) or m.group(5)
    one, many, sub_one, sub_many = _MONEY[symbol]
    sign = "minus " if sign else ""
    if scale:
        return f"{sign}{_number(amount, quantity=True)} {_SCALE_WORDS.get(scale, scale)} {many}"
    whole, _, fraction = amount.partition(".")
    if fraction and (len(fraction) > 2 or sub_one is None):
        return f"{sign}{_number(amount, quantity=True)} {many}"
    cents = int(fraction.ljust(2, "0")) if fraction else 0
    whole_n = int(whole.replace(",", "") or "0")
    parts = []
    if whole_n or not cents:
        parts.append(f"{_number(whole or '0', quantity=True)} {one if whole_n == 1 else many}")
    if cents:
        parts.append(f"{_cardinal(cents)} {sub_one if cents == 1 else sub_many}")
    return sign + " and ".join(parts)


_UNITS = {
    "%": ("percent", "percent"), "‰": ("per mille", "per mille"),
    "km": ("kilometer", "kilometers"), "m": ("meter", "meters"), "cm": ("centimeter", "centimeters"),
    "mm": ("millimeter", "millimeters"), "μm": ("micrometer", "micrometers"),
    "nm": ("nanometer", "nanometers"), "mi": ("mile", "miles"), "ft": ("foot", "feet"),
    "yd": ("yard", "yards"), "sq ft": ("square foot", "square feet"),
    "kg": ("kilogram", "kilograms"), "g": ("gram", "grams"), "mg": ("milligram", "milligrams"),
    "lb": ("pound", "pounds"), "lbs": ("pound", "pounds"), "oz": ("ounce", "ounces"),
    "L": ("liter", "liters"), "ml": ("milliliter", "milliliters"), "mL": ("milliliter", "milliliters"),
    "gal": ("gallon", "gallons"), "mph": ("mile per hour", "miles per hour"),
    "km/h": ("kilometer per hour", "kilometers per hour"), "kph": ("kilometer per hour", "kilometers per hour"),
    "m/s": ("meter per second", "meters per second"), "°C": ("degree Celsius", "degrees Celsius"),
    "°F": ("degree Fahrenheit", "degrees Fahrenheit"), "°": ("degree", "degrees"),
    "KB": ("kilobyte", "kilobytes"), "kB": ("kilobyte", "kilobytes"), "MB": ("megabyte", "megabytes"),
    "GB": ("gigabyte", "gigabytes"), "TB": ("terabyte", "terabytes"),
    "Mbps": ("megabit per second", "megabits per second"), "Gbps": ("gigabit per second", "gigabits per second"),
    "Hz": ("hertz", "hertz"), "kHz": ("kilohertz", "kilohertz"), "MHz": ("megahertz", "megahertz"),
    "GHz": ("gigahertz", "gigahertz"), "W": ("watt", "watts"), "kW": ("kilowatt", "kilowatts"),
    "kWh": ("kilowatt hour", "kilowatt hours"), "V": ("volt", "volts"), "mAh": ("milliamp hour", "milliamp hours"),
    "h": ("hour", "hours"), "hr": ("hour", "hours"), "hrs": ("hour", "hours"),
    "min": ("minute", "minutes"), "mins": ("minute", "minutes"), "s": ("second", "seconds"),
    "sec": ("second", "seconds"), "secs": ("second", "seconds"), "ms": ("millisecond", "milliseconds"),
    "yr": ("year", "years"), "yrs": ("year", "years"), "x": ("times", "times"),
    "k": ("thousand", "thousand"), "K": ("thousand", "thousand"), "M": ("million", "million"),
    "bn": ("billion", "billion"),
}
_ATTACHED_ONLY = {"x", "k", "K", "M", "bn"}  # '3x', '5k': never with a space in between
_SPACED_ONLY = {"s"}  # '5 s' is seconds, '5s' may be anything
_UNIT_RE = re.compile(rf"{_SIGN}({_NUM})(\s?)({'|'.join(map(re.escape, sorted(_UNITS, key=len, reverse=True)))})"
                      r"(\^[23])?(?![^\W_])")


def _measure(m: re.Match) -> str:
    sign, amount, space, unit, power = m.groups()
    if (space and unit in _ATTACHED_ONLY) or (not space and unit in _SPACED_ONLY):
        return m.group(0)
    one, many = _UNITS[unit]
    name = one if _is_one(amount) else many
    if power:
        name = ("square " if power == "^2" else "cubic ") + name
    return ("minus " if sign else "") + _number(amount, quantity=True) + " " + name


# --------------------------------------------------------------------------- 9. symbols

_SYMBOL_RULES = (
    (re.compile(r"\b([A-Z]{1,4})&([A-Z]{1,4})\b"), lambda m: f"{' '.join(m.group(1))} and {' '.join(m.group(2))}"),
    (re.compile(r"\b([A-G])#(?!\w)"), r"\1 sharp"),
    (re.compile(r"#\s?(?=\d)"), " number "),
    (re.compile(r"(?<=\d)\s?[x×]\s?(?=\d)"), " by "),
    (re.compile(r"(?<=\d)\^(\d+)"), lambda m: {"2": " squared", "3": " cubed"}.get(m.group(1), " to the power of " + m.group(1))),
    (re.compile(r"(?<![\w^])([A-Za-z]{1,2})\^(\d+)"), lambda m: m.group(1) + {"2": " squared", "3": " cubed"}.get(m.group(2), " to the power of " + m.group(2))),
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

# --------------------------------------------------------------------------- 10. abbreviations

_LATIN = {"e.g.": "for example", "i.e.": "that is", "etc.": "et cetera", "vs.": "versus",
          "vs": "versus", "approx.": "approximately", "a.k.a.": "also known as", "cf.": "compare"}
_LATIN_RE = re.compile(r"(?<![\w.])(e\.g\.?|i\.e\.?|etc\.|vs\.?|approx\.|a\.k\.a\.?|cf\.)(?!\w)", re.IGNORECASE)
_TITLES = {"Mr": "Mister", "Mrs": "Missus", "Ms": "Miz", "Prof": "Professor", "Rev": "Reverend",
           "Capt": "Captain", "Lt": "Lieutenant", "Sgt": "Sergeant", "Gov": "Governor", "Sen": "Senator",
           "Gen": "General", "Mt": "Mount", "Ft": "Fort"}
_TITLE_RE = re.compile(r"\b(%s)\.(?=\s+[A-Z])|\b(Mrs|Mr|Ms)\b(?=\s+[A-Z])" % "|".join(_TITLES))
_TRAILING = {"Jr": "Junior", "Sr": "Senior", "Inc": "Incorporated", "Ltd": "Limited", "Co": "Company",
             "Corp": "Corporation", "Ave": "Avenue", "Rd": "Road", "Blvd": "Boulevard", "Ln": "Lane",
             "Hwy": "Highway", "Dept": "Department"} | _MONTH_ABBREVIATIONS | _WEEKDAYS
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
        return ("Street" if m.group(1) == "St" else "Drive") + _keep_period(m)
    end = "." if m.group(0).endswith(".") and not m.string[m.end():].strip() else ""
    return ("Saint" if m.group(1) == "St" else "Doctor") + end


def _initial(m: re.Match) -> str:
    """'John F. Kennedy' -> 'John F Kennedy': the period of an initial is no sentence end."""
    before = m.string[max(0, m.start() - 20):m.start()]
    return m.group(1) if re.search(r"(?:^|[A-Z][a-z][\w'-]*\s|[A-Z]\.\s)$", before) else m.group(0)


def _capitalized_like(source: str, words: str) -> str:
    return words[0].upper() + words[1:] if source[:1].isupper() else words


_ABBREVIATION_RULES = (
    (_LATIN_RE, lambda m: _capitalized_like(m.group(1), _LATIN.get(m.group(1).lower().rstrip(".") + ".", "versus"))
     + (_keep_period(m) if m.group(1).lower() == "etc." else "")),
    (re.compile(r"(?<![\w.])((?:[A-Za-z]\.){2,})"),
     lambda m: " ".join(m.group(1).replace(".", "").upper()) + ("." if not m.string[m.end():].strip() else "")),
    (re.compile(r"\b(St|Dr)\.?(?=\s|$)"), _saint_or_street),
    (_TITLE_RE, lambda m: _TITLES[m.group(1) or m.group(2)]),
    (_TRAILING_RE, lambda m: _TRAILING[m.group(1)] + _keep_period(m)),
    (_BEFORE_NUMBER_RE, lambda m: _BEFORE_NUMBER[m.group(1)] + " "),
    (re.compile(r"(?<![\w.])([A-Z])\.(?=\s+[A-Z][a-z.])"), _initial),
)

# --------------------------------------------------------------------------- 11. numbers

_YEAR_CUES = {"in", "since", "by", "from", "until", "till", "during", "before", "after", "circa", "c",
              "ca", "year", "of", "around", "early", "late", "mid", "summer", "winter", "spring", "autumn",
              "fall", "class"} | {m.lower() for m in _MONTHS}
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
        return _year(int(token))
    return _number((sign or "") + token)


def _fraction(numerator: int, denominator: int) -> str | None:
    if not (0 < numerator < denominator and (denominator <= 10 or denominator in (12, 16, 32, 64, 100))):
        return None
    if denominator == 2:
        name = "half"
    elif denominator == 4:
        name = "quarter"
    else:
        name = _ordinal(denominator)
    return f"{_cardinal(numerator)} {name if numerator == 1 else _plural(name) if denominator != 2 else 'halves'}"


def _say_fraction(m: re.Match) -> str:
    whole, numerator, denominator = m.group(1), m.group(2), m.group(3)
    if len(numerator) > 3 or len(denominator) > 3:
        return m.group(0).replace("/", " slash ")
    spoken = _fraction(int(numerator), int(denominator))
    if spoken is None:
        return (f"{_number(whole)} " if whole else "") + f"{_number(numerator)} over {_number(denominator)}"
    return f"{_number(whole)} and {spoken}" if whole else spoken


def _decade(m: re.Match) -> str:
    digits = m.group(1)
    return _plural(_year(int(digits)) if len(digits) == 4 else _cardinal(int(digits)))


def _say_ordinal(m: re.Match) -> str:
    digits = m.group(1).replace(",", "")
    return _ordinal(int(digits)) if len(digits) <= _MAX_DIGITS else _digits(digits)


_COUNTING_RULES = (  # before ranges and units, which would read '1990s' as seconds
    (re.compile(r"(?<![\w'])'?(\d{1,3}0)'?s\b"), _decade),
    (re.compile(r"\b(\d{1,3}(?:,\d{3})+|\d+)(?:st|nd|rd|th|ST|ND|RD|TH)\b"), _say_ordinal),
)


_NUMBER_RULES = (
    (re.compile(r"(?<![\w.])\d+(?:\.\d+){2,}(?![\w.]?\d)"),
     lambda m: " point ".join(_number(p) for p in m.group(0).split("."))),
    (re.compile(r"(?<![\w/.,])(?:(\d+)\s)?(\d+)/(\d+)(?![\w/]|[.,]\d)"), _say_fraction),
    (re.compile(r"(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])"), " "),
    (re.compile(rf"{_SIGN}({_NUM})"), _plain_number),
    (re.compile(r"\d+"), lambda m: _digits(m.group(0))),  # anything left, e.g. '1,2' fragments
)

# --------------------------------------------------------------------------- 12. acronyms

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
        return _cardinal(value) if previous.group(1) in _COUNTED_BEFORE_ROMAN else "the " + _ordinal(value)
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


# --------------------------------------------------------------------------- 13. tidy

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
    text = _URL_RE.sub(_say_url, text)
    text = _PHONE_RE.sub(_say_phone, text)
    text = _apply(_DATE_RULES, text)
    text = _apply(_COUNTING_RULES, text)
    text = _RANGE_RE.sub(_range, text)
    text = _CLOCK_RE.sub(_clock, text)
    text = _HOUR_RE.sub(_hour, text)
    text = _MONEY_RE.sub(_money, text)
    text = re.sub(rf"({_NUM})\s?¢", lambda m: f"{_number(m.group(1))} {'cent' if _is_one(m.group(1)) else 'cents'}", text)
    text = _UNIT_RE.sub(_measure, text)
    text = _apply(_SYMBOL_RULES, text)
    text = _SYMBOL_RE.sub(lambda m: f" {_SYMBOL_WORDS[m.group(0)]} ", text)
    text = _apply(_ABBREVIATION_RULES, text)
    text = re.sub(r"(?<=[a-z])\.(?=[a-z])", " dot ", text)  # file.txt, Node.js
    text = _apply(_NUMBER_RULES, text)
    text = _acronyms(text)
    return _tidy(text)
