"""Money, measures and percentages: an amount with its currency or unit -> spoken words.

``say_amounts(text)`` spells '$12.50' (twelve dollars and fifty cents), '99¢', '5€', '$1.2B', '3 kg',
'42%', '5 m^2' and leaves every other digit to later passes. A unit only counts right after a
number, so 'the km zone' stays as written.
"""
from __future__ import annotations

import re

from .numbers import NUMERAL_PATTERN, SIGN_PATTERN, cardinal, numeral

__all__ = ["CURRENCY_SYMBOLS", "say_amounts"]

CURRENCY_SYMBOLS = "$£€¥₹"
_MONEY = {"$": ("dollar", "dollars", "cent", "cents"), "£": ("pound", "pounds", "penny", "pence"),
          "€": ("euro", "euros", "cent", "cents"), "¥": ("yen", "yen", None, None),
          "₹": ("rupee", "rupees", "paisa", "paise")}
_SCALE_WORDS = {"k": "thousand", "K": "thousand", "m": "million", "M": "million", "mn": "million",
                "b": "billion", "B": "billion", "bn": "billion", "tn": "trillion"}
_MONEY_RE = re.compile(rf"{SIGN_PATTERN}([{CURRENCY_SYMBOLS}])\s?({NUMERAL_PATTERN})"
                       r"(?:\s?(thousand|million|billion|trillion|bn|mn|tn)\b|([kKmMbB])(?![^\W_]))?"
                       rf"|{SIGN_PATTERN}({NUMERAL_PATTERN})\s?([€£])(?![^\W_])")


def _money(m: re.Match) -> str:
    if m.group(7):  # amount before the symbol: 5€, 20 £
        sign, amount, symbol, scale = m.group(6), m.group(7), m.group(8), None
    else:
        sign, symbol, amount = m.group(1), m.group(2), m.group(3)
        scale = m.group(4) or m.group(5)
    one, many, sub_one, sub_many = _MONEY[symbol]
    sign = "minus " if sign else ""
    if scale:
        return f"{sign}{numeral(amount, quantity=True)} {_SCALE_WORDS.get(scale, scale)} {many}"
    whole, _, fraction = amount.partition(".")
    if fraction and (len(fraction) > 2 or sub_one is None):
        return f"{sign}{numeral(amount, quantity=True)} {many}"
    cents = int(fraction.ljust(2, "0")) if fraction else 0
    whole_n = int(whole.replace(",", "") or "0")
    parts = []
    if whole_n or not cents:
        parts.append(f"{numeral(whole or '0', quantity=True)} {one if whole_n == 1 else many}")
    if cents:
        parts.append(f"{cardinal(cents)} {sub_one if cents == 1 else sub_many}")
    return sign + " and ".join(parts)


_CENTS_RE = re.compile(rf"({NUMERAL_PATTERN})\s?¢")
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
_UNIT_NAMES = "|".join(map(re.escape, sorted(_UNITS, key=len, reverse=True)))
_UNIT_RE = re.compile(rf"{SIGN_PATTERN}({NUMERAL_PATTERN})(\s?)({_UNIT_NAMES})(\^[23])?(?![^\W_])")


def _measure(m: re.Match) -> str:
    sign, amount, space, unit, power = m.groups()
    if (space and unit in _ATTACHED_ONLY) or (not space and unit in _SPACED_ONLY):
        return m.group(0)
    one, many = _UNITS[unit]
    name = one if _is_one(amount) else many
    if power:
        name = ("square " if power == "^2" else "cubic ") + name
    return ("minus " if sign else "") + numeral(amount, quantity=True) + " " + name


def _is_one(token: str) -> bool:
    return token.lstrip("-−") == "1"


def _cents(m: re.Match) -> str:
    return numeral(m.group(1)) + (" cent" if _is_one(m.group(1)) else " cents")


def say_amounts(text: str) -> str:
    """Spell money (symbol before or after the amount), cents, then measures and percentages."""
    text = _MONEY_RE.sub(_money, text)
    text = _CENTS_RE.sub(_cents, text)
    return _UNIT_RE.sub(_measure, text)
