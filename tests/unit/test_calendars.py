"""Business calendars: adding and measuring business time, holidays, DST, and their laws."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from p2pdesk.domain.calendars import BusinessCalendar, format_clock, parse_clock
from p2pdesk.domain.errors import InvalidValue

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def office(tz: str = "Europe/Berlin", holidays: frozenset[date] = frozenset()) -> BusinessCalendar:
    """Monday to Friday, 09:00-17:00."""
    return BusinessCalendar("Office", tz, frozenset(range(5)), 9 * 60, 17 * 60, holidays)


def local(tz: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=tz)  # type: ignore[misc]


def test_time_inside_the_window_adds_directly() -> None:
    start = local(BERLIN, 2026, 11, 18, 10, 0)  # Wednesday
    assert office().add_minutes(start, 90) == local(BERLIN, 2026, 11, 18, 11, 30)


def test_time_runs_over_the_evening_and_the_weekend() -> None:
    friday_afternoon = local(BERLIN, 2026, 11, 20, 16, 0)
    assert office().add_minutes(friday_afternoon, 120) == local(BERLIN, 2026, 11, 23, 10, 0)


def test_a_start_outside_hours_counts_from_the_next_opening() -> None:
    saturday = local(BERLIN, 2026, 11, 21, 12, 0)
    assert office().add_minutes(saturday, 30) == local(BERLIN, 2026, 11, 23, 9, 30)
    evening = local(BERLIN, 2026, 11, 18, 20, 0)
    assert office().add_minutes(evening, 8 * 60) == local(BERLIN, 2026, 11, 19, 17, 0)


def test_holidays_are_skipped() -> None:
    calendar = office(holidays=frozenset({date(2026, 12, 24), date(2026, 12, 25)}))
    wednesday = local(BERLIN, 2026, 12, 23, 16, 0)
    assert calendar.add_minutes(wednesday, 120) == local(BERLIN, 2026, 12, 28, 10, 0)
    assert calendar.minutes_between(wednesday, local(BERLIN, 2026, 12, 28, 10, 0)) == 120


def test_an_office_day_keeps_eight_hours_across_the_spring_dst_change() -> None:
    # Europe/Berlin went to summer time on Sunday 2026-03-29; Friday 16:00 + 2 h is Monday 10:00 local,
    # 64 real hours minus the lost hour later.
    friday = local(BERLIN, 2026, 3, 27, 16, 0)
    due = office().add_minutes(friday, 120)
    assert due == local(BERLIN, 2026, 3, 30, 10, 0)
    assert due.astimezone(UTC) - friday.astimezone(UTC) == timedelta(hours=65)


def test_a_24h_calendar_counts_23_and_25_hour_days_on_dst_changes() -> None:
    berlin = BusinessCalendar.around_the_clock(timezone="Europe/Berlin")
    assert berlin.between(local(BERLIN, 2026, 3, 29, 0, 0), local(BERLIN, 2026, 3, 30, 0, 0)) == timedelta(
        hours=23
    )
    assert berlin.between(local(BERLIN, 2026, 10, 25, 0, 0), local(BERLIN, 2026, 10, 26, 0, 0)) == timedelta(
        hours=25
    )
    # Adding a business day's worth of time on the short day lands an hour later on the wall clock.
    assert berlin.add(local(BERLIN, 2026, 3, 29, 0, 0), timedelta(hours=24)) == local(
        BERLIN, 2026, 3, 30, 1, 0
    )


def test_a_window_opening_inside_the_dst_gap_still_counts_what_is_left() -> None:
    night = BusinessCalendar("Night", "America/New_York", frozenset(range(7)), 2 * 60 + 30, 4 * 60)
    # 2026-03-08 02:30 does not exist in New York: the window runs from 03:00 EDT (its UTC reading)
    spring = local(NEW_YORK, 2026, 3, 8, 0, 0)
    assert night.between(spring, spring + timedelta(hours=12)) == timedelta(minutes=30)


def test_instants_in_other_zones_mean_the_same_moment() -> None:
    start = local(BERLIN, 2026, 11, 18, 16, 30)
    assert office().add_minutes(start.astimezone(UTC), 60) == office().add_minutes(start, 60)


def test_naive_instants_and_bad_definitions_are_refused() -> None:
    with pytest.raises(InvalidValue):
        office().add_minutes(datetime(2026, 11, 18, 10, 0), 10)
    with pytest.raises(InvalidValue, match="timezone"):
        office(tz="Mars/Olympus")
    with pytest.raises(InvalidValue, match="open before"):
        BusinessCalendar("x", "UTC", frozenset({0}), 17 * 60, 9 * 60)
    with pytest.raises(InvalidValue, match="weekday"):
        BusinessCalendar("x", "UTC", frozenset(), 0, 60)
    with pytest.raises(InvalidValue, match="negative"):
        office().add(local(BERLIN, 2026, 11, 18, 10, 0), timedelta(minutes=-1))


def test_a_calendar_with_no_working_time_left_says_so() -> None:
    all_holidays = frozenset(date(2026, 1, 1) + timedelta(days=n) for n in range(4 * 366))
    calendar = BusinessCalendar("Closed", "UTC", frozenset({0}), 0, 60, all_holidays)
    with pytest.raises(InvalidValue, match="no working time"):
        calendar.add_minutes(datetime(2026, 1, 1, tzinfo=UTC), 1)


def test_clock_texts() -> None:
    assert parse_clock("09:30") == 570
    assert parse_clock("24:00") == 1440
    assert format_clock(570) == "09:30"
    for bad in ("9", "25:00", "24:01", "09:60", "ab:cd", "9:5"):
        with pytest.raises(InvalidValue):
            parse_clock(bad)


# -- laws, on random calendars and instants around DST changes ------------------------------------

ZONES = st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"])


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    # Windows of an hour or more: a calendar with one minute a week takes years to finish a target.
    start = draw(st.integers(0, 23 * 60))
    end = draw(st.integers(start + 60, 24 * 60))
    days = draw(st.frozensets(st.integers(0, 6), min_size=1))
    holidays = draw(st.frozensets(st.dates(date(2026, 3, 1), date(2026, 4, 30)), max_size=5))
    return BusinessCalendar("Random", draw(ZONES), days, start, end, holidays)


instants = st.datetimes(
    min_value=datetime(2026, 3, 1), max_value=datetime(2026, 11, 30), timezones=st.just(UTC)
)
durations = st.integers(0, 3 * 24 * 60 * 60).map(lambda s: timedelta(seconds=s))


@settings(max_examples=200, deadline=None)
@given(calendars(), instants, durations)
def test_measuring_what_was_added_gives_it_back(
    calendar: BusinessCalendar, start: datetime, duration: timedelta
) -> None:
    end = calendar.add(start, duration)
    assert end >= start
    assert calendar.between(start, end) == duration


@settings(max_examples=200, deadline=None)
@given(calendars(), instants, durations, durations)
def test_business_time_adds_up_and_only_grows(
    calendar: BusinessCalendar, start: datetime, first: timedelta, second: timedelta
) -> None:
    middle = calendar.add(start, first)
    assert calendar.add(middle, second) == calendar.add(start, first + second) or second == timedelta(0)
    end = middle + second  # real time this time, not business time
    assert calendar.between(start, end) == calendar.between(start, middle) + calendar.between(middle, end)
    assert calendar.between(start, end) <= end - start


@settings(max_examples=100, deadline=None)
@given(calendars(), instants, st.integers(1, 3 * 24 * 60))
def test_a_due_instant_lies_in_working_time(
    calendar: BusinessCalendar, start: datetime, minutes: int
) -> None:
    due = calendar.add_minutes(start, minutes)
    local_day = due.astimezone(ZoneInfo(calendar.timezone)).date()
    windows = [calendar.window(local_day + timedelta(days=d)) for d in (-1, 0)]
    working = [calendar.is_working_day(local_day + timedelta(days=d)) for d in (-1, 0)]
    assert any(ok and opens < due <= closes for ok, (opens, closes) in zip(working, windows, strict=True))
