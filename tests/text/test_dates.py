"""dates: written dates and clock times -> spoken words; anything impossible stays as written."""
from __future__ import annotations

import pytest

from emotivoice_srv.text.dates import MONTH_ABBREVIATIONS, WEEKDAYS, say_dates, say_times


@pytest.mark.parametrize(("text", "spoken"), [
    ("Jan. 5th, 2024", "January fifth, twenty twenty-four"),
    ("Sept. 3", "September third"),
    ("5 May 2024", "May fifth, twenty twenty-four"),
    ("the 5th of May, 1999", "the fifth of May, nineteen ninety-nine"),
    ("March 2024", "March twenty twenty-four"),
])
def test_dates_with_month_names_read_the_day_as_an_ordinal(text, spoken):
    assert say_dates(text) == spoken


@pytest.mark.parametrize(("text", "spoken"), [
    ("2024-01-05", "January fifth, twenty twenty-four"),
    ("12/31/1999", "December thirty-first, nineteen ninety-nine"),
    ("1/5/24", "January fifth, twenty-four"),
])
def test_numeric_dates_are_iso_year_first_or_us_month_first(text, spoken):
    assert say_dates(text) == spoken


@pytest.mark.parametrize("text", ["13/40/2024", "2024-13-05", "May 32", "9/11", "in 2024"])
def test_impossible_or_partial_dates_stay_for_later_passes(text):
    assert say_dates(text) == text


@pytest.mark.parametrize(("text", "spoken"), [
    ("3:30 pm", "three thirty P M"),
    ("14:45", "fourteen forty-five"),
    ("12:00", "twelve o'clock"),
    ("14:00", "fourteen hundred"),
    ("7:05", "seven oh five"),
    ("12:00:01", "twelve o'clock and one second"),
    ("it is 7am", "it is seven A M"),
])
def test_clock_times_and_hours_with_am_pm(text, spoken):
    assert say_times(text) == spoken


def test_a_meridiem_period_stays_only_where_it_ends_the_sentence():
    assert say_times("7 a.m. Then") == "seven A M. Then"
    assert say_times("7 a.m. and") == "seven A M and"


@pytest.mark.parametrize("text", ["25:61", "13:00 pm", "13 pm", "7:05:60"])
def test_impossible_times_stay_as_written(text):
    assert say_times(text) == text


def test_abbreviations_name_full_months_and_weekdays():
    assert MONTH_ABBREVIATIONS["Sept"] == MONTH_ABBREVIATIONS["Sep"] == "September"
    assert WEEKDAYS["Thurs"] == "Thursday"
