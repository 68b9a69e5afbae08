"""A team's business day: the calendar date in the team's timezone."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from p2pdesk.domain.errors import InvalidValue


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidValue(f"unknown timezone {name!r}") from exc


def business_day(timezone: str, at: datetime) -> date:
    return at.astimezone(zone(timezone)).date()


def start_of_business_day(timezone: str, at: datetime) -> datetime:
    """The aware instant at which `at`'s business day began in `timezone`."""
    tz = zone(timezone)
    return datetime.combine(at.astimezone(tz).date(), time.min, tzinfo=tz)
