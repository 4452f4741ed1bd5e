"""numbers: integers and numerals -> US English words, the way the normalizer says them."""
from __future__ import annotations

import pytest

from emotivoice_srv.text.numbers import MAX_DIGITS, cardinal, fraction, numeral, ordinal, year


@pytest.mark.parametrize(("n", "words"), [
    (0, "zero"), (13, "thirteen"), (40, "forty"), (99, "ninety-nine"), (100, "one hundred"),
    (1234, "one thousand two hundred thirty-four"), (1_000_005, "one million five"), (-7, "minus seven"),
])
def test_cardinals_are_us_style_without_and(n, words):
    assert cardinal(n) == words


@pytest.mark.parametrize(("n", "words"), [
    (1, "first"), (2, "second"), (3, "third"), (5, "fifth"), (12, "twelfth"), (20, "twentieth"),
    (22, "twenty-second"), (103, "one hundred third"), (1000, "one thousandth"),
])
def test_ordinals_change_only_the_last_word(n, words):
    assert ordinal(n) == words


@pytest.mark.parametrize(("n", "words"), [
    (1999, "nineteen ninety-nine"), (1905, "nineteen oh five"), (1900, "nineteen hundred"),
    (2000, "two thousand"), (2008, "two thousand eight"), (2024, "twenty twenty-four"),
    (999, "nine hundred ninety-nine"),
])
def test_years_are_read_in_pairs_of_digits(n, words):
    assert year(n) == words


@pytest.mark.parametrize(("token", "words"), [
    ("3.14", "three point one four"), ("0.5", "zero point five"), (".5", "point five"),
    ("-2.05", "minus two point zero five"),
    ("1,234.5", "one thousand two hundred thirty-four point five"),
])
def test_decimals_read_the_fraction_digit_by_digit(token, words):
    assert numeral(token) == words


def test_ids_leading_zeros_and_huge_integers_are_read_digit_by_digit():
    assert numeral("007") == "zero zero seven"
    assert numeral("5551234") == "five five five one two three four"
    assert numeral("5551234", quantity=True) == (
        "five million five hundred fifty-one thousand two hundred thirty-four")
    assert numeral("1" * (MAX_DIGITS + 1)) == " ".join(["one"] * (MAX_DIGITS + 1))


def test_common_fractions_are_named_and_others_are_not():
    assert fraction(1, 2) == "one half"
    assert fraction(3, 4) == "three quarters"
    assert fraction(2, 3) == "two thirds"
    assert fraction(5, 4) is None
    assert fraction(1, 11) is None
