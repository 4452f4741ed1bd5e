"""Numbers -> US English words: cardinals, ordinals, years, decimals, digit strings, fractions.

Pure functions on ints and numeral strings, no "and" after hundred: ``cardinal(1234)`` ->
"one thousand two hundred thirty-four", ``ordinal(22)`` -> "twenty-second", ``year(1905)`` ->
"nineteen oh five", ``numeral("-3.14")`` -> "minus three point one four". ``NUMERAL_PATTERN``
matches the numerals ``numeral`` spells, for callers that find numbers in text.

Spelled here rather than with num2words: importing num2words loads every language (~20 ms), more
than the whole normalizer costs, and US English needs only a few dozen lines.
"""
from __future__ import annotations

import re

__all__ = ["MAX_DIGITS", "NUMERAL_PATTERN", "SIGN_PATTERN", "cardinal", "digits", "fraction", "numeral",
           "ordinal", "plural", "two_digit_year", "year"]

_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
         "fifteen sixteen seventeen eighteen nineteen").split()
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_SCALES = ("", "thousand", "million", "billion", "trillion", "quadrillion", "quintillion",
           "sextillion", "septillion", "octillion", "nonillion", "decillion")
MAX_DIGITS = 3 * len(_SCALES)
"""The longest integer spelled as a number; longer ones are read digit by digit."""
_ORDINAL_WORDS = {"one": "first", "two": "second", "three": "third", "five": "fifth",
                  "eight": "eighth", "nine": "ninth", "twelve": "twelfth"}

# A numeral: grouped thousands, plain, or a bare decimal. It only starts where a digit run starts:
# trying every position of a long run would make a pass over the text quadratic.
NUMERAL_PATTERN = r"(?<!\d)(?:\d{1,3}(?:,\d{3})+(?!\d)(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)"
SIGN_PATTERN = r"(?:(?<![^\s(\[\"'~])(-))?"  # an optional minus (group 1), only at the start of a word


def cardinal(n: int) -> str:
    """US style, no "and": 1234 -> one thousand two hundred thirty-four."""
    if n < 0:
        return "minus " + cardinal(-n)
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("-" + _ONES[n % 10] if n % 10 else "")
    if n < 1000:
        return _ONES[n // 100] + " hundred" + (" " + cardinal(n % 100) if n % 100 else "")
    groups, scale = [], 0
    while n:
        n, group = divmod(n, 1000)
        if group:
            groups.append(cardinal(group) + (" " + _SCALES[scale] if scale else ""))
        scale += 1
    return " ".join(reversed(groups))


def ordinal(n: int) -> str:
    """22 -> twenty-second, 103 -> one hundred third."""
    head, last = re.match(r"(.*?)([a-z]+)$", cardinal(n)).groups()
    if last in _ORDINAL_WORDS:
        return head + _ORDINAL_WORDS[last]
    return head + (last[:-1] + "ieth" if last.endswith("y") else last + "th")


def year(n: int) -> str:
    """1999 -> nineteen ninety-nine, 1905 -> nineteen oh five, 2000/2008 -> two thousand (eight)."""
    if not 1000 <= n <= 9999 or n % 1000 < 10:
        return cardinal(n)
    high, low = divmod(n, 100)
    if low == 0:
        return cardinal(high) + " hundred"
    return cardinal(high) + (" oh " if low < 10 else " ") + cardinal(low)


def two_digit_year(digits: str) -> str:
    """'24' -> twenty-four, '05' -> oh five, '00' -> zero."""
    n = int(digits)
    return ("oh " if digits.startswith("0") and n else "") + cardinal(n)


def digits(text: str) -> str:
    """'007' -> zero zero seven; anything but ASCII digits is skipped."""
    return " ".join(_ONES[int(d)] for d in text if "0" <= d <= "9")


def plural(words: str) -> str:
    """nineteen ninety -> nineteen nineties, six -> sixes, hundred -> hundreds."""
    if words.endswith("y"):
        return words[:-1] + "ies"
    return words + ("es" if words.endswith("x") else "s")


def numeral(token: str, quantity: bool = False) -> str:
    """Any numeral NUMERAL_PATTERN matches, signed or not: '-1,234.56', '3.14', '.5', '007', '5551234'.

    Seven or more ungrouped digits read digit by digit (an id, a phone number) unless ``quantity``
    says the context (money, a unit) makes it an amount; so do leading zeros and integers longer
    than MAX_DIGITS. Decimals read their fraction digit by digit: 3.14 -> three point one four.
    """
    sign = ""
    if token[:1] in "-−":
        sign, token = "minus ", token[1:]
    whole, _, fraction_digits = token.partition(".")
    grouped = "," in whole
    whole = whole.replace(",", "")
    if not whole:
        words = ""
    elif (len(whole) > MAX_DIGITS or (not grouped and not quantity and len(whole) >= 7)
          or (len(whole) > 1 and whole[0] == "0")):
        words = digits(whole)
    else:
        words = cardinal(int(whole))
    if fraction_digits:
        words = (words + " point " if words else "point ") + digits(fraction_digits)
    return sign + words


def fraction(numerator: int, denominator: int) -> str | None:
    """3, 4 -> three quarters, 1, 2 -> one half; None for improper fractions and unusual denominators."""
    if not (0 < numerator < denominator and (denominator <= 10 or denominator in (12, 16, 32, 64, 100))):
        return None
    if denominator == 2:
        return "one half"
    name = "quarter" if denominator == 4 else ordinal(denominator)
    return f"{cardinal(numerator)} {name if numerator == 1 else plural(name)}"
