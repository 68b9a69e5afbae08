"""Business calendars: when a team works, and business time counted in it.

A calendar has a timezone, working weekdays, one daily window of working hours (wall-clock time in
that zone) and holidays. Business time is real elapsed time inside working windows: each day's
window is placed on the wall clock of its own date and converted to UTC, so a window on a DST
change day is as long as the clock says (09:00-17:00 is 8 hours either side of a change; a 24-hour
window is 23 or 25 hours on the change day).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from p2pdesk.domain.business_day import zone
from p2pdesk.domain.errors import InvalidValue

MINUTES_PER_DAY = 24 * 60
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# A calendar whose working windows are all holidays for this long cannot finish any target.
MAX_SCAN_DAYS = 3 * 366
NAME_MAX = 100


def parse_clock(text: str) -> int:
    """'HH:MM' as minutes after midnight; '24:00' is the end of the day."""
    hours, sep, minutes = text.partition(":")
    if not sep or not hours.isdigit() or not minutes.isdigit() or len(minutes) != 2:
        raise InvalidValue(f"time must be HH:MM, got {text!r}")
    value = int(hours) * 60 + int(minutes)
    if int(minutes) > 59 or value > MINUTES_PER_DAY:
        raise InvalidValue(f"time must be between 00:00 and 24:00, got {text!r}")
    return value


def format_clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True)
class BusinessCalendar:
    name: str
    timezone: str
    working_days: frozenset[int]  # 0 = Monday ... 6 = Sunday
    start_minute: int  # minutes after local midnight the working window opens
    end_minute: int  # minutes after local midnight it closes; 1440 = midnight at the day's end
    holidays: frozenset[date] = frozenset()
    id: int | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        name = " ".join(self.name.split())
        if not name or len(name) > NAME_MAX:
            raise InvalidValue(f"calendar name must be 1 to {NAME_MAX} characters")
        object.__setattr__(self, "name", name)
        zone(self.timezone)
        if not self.working_days or not self.working_days <= set(range(7)):
            raise InvalidValue("working_days must name at least one weekday, 0 (Monday) to 6 (Sunday)")
        if not 0 <= self.start_minute < self.end_minute <= MINUTES_PER_DAY:
            raise InvalidValue("working hours must open before they close, within 00:00-24:00")

    @classmethod
    def around_the_clock(cls, name: str = "24/7", timezone: str = "UTC") -> BusinessCalendar:
        return cls(name, timezone, frozenset(range(7)), 0, MINUTES_PER_DAY)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() in self.working_days and day not in self.holidays

    def window(self, day: date) -> tuple[datetime, datetime]:
        """The day's working window as UTC instants (whether or not the day is a working day)."""
        tz = zone(self.timezone)
        midnight = datetime.combine(day, time.min)
        opens = (midnight + timedelta(minutes=self.start_minute)).replace(tzinfo=tz)
        closes = (midnight + timedelta(minutes=self.end_minute)).replace(tzinfo=tz)
        # A wall time inside a DST gap is read with the offset before the change, so its UTC instant
        # can land past the other end of a very short window; never let a window run backwards.
        opens_utc, closes_utc = opens.astimezone(UTC), closes.astimezone(UTC)
        return opens_utc, max(opens_utc, closes_utc)

    def _windows_from(self, at: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working windows that end after `at`, in order, clipped to start no earlier than `at`."""
        _require_aware(at)
        day = at.astimezone(zone(self.timezone)).date() - timedelta(days=1)  # a window may span midnight UTC
        for offset in range(MAX_SCAN_DAYS):
            current = day + timedelta(days=offset)
            if not self.is_working_day(current):
                continue
            opens, closes = self.window(current)
            if closes > at:
                yield max(opens, at.astimezone(UTC)), closes
        raise InvalidValue(f"calendar {self.name!r} has no working time in {MAX_SCAN_DAYS} days")

    def add(self, at: datetime, duration: timedelta) -> datetime:
        """The instant at which `duration` of business time has passed since `at`.

        Zero duration returns `at` itself, even outside working hours; otherwise the result always
        lies inside (or at the close of) a working window.
        """
        if duration < timedelta(0):
            raise InvalidValue("business time to add must not be negative")
        if duration == timedelta(0):
            return at
        remaining = duration
        for opens, closes in self._windows_from(at):
            available = closes - opens
            if remaining <= available:
                return opens + remaining
            remaining -= available
        raise AssertionError("unreachable: _windows_from raises when it runs out")

    def add_minutes(self, at: datetime, minutes: float) -> datetime:
        return self.add(at, timedelta(minutes=minutes))

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Business time from `start` to `end`; zero when `end` is not after `start`."""
        _require_aware(start)
        _require_aware(end)
        total = timedelta(0)
        if end <= start:
            return total
        for opens, closes in self._windows_from(start):
            if opens >= end:
                break
            total += min(closes, end) - opens
        return total

    def minutes_between(self, start: datetime, end: datetime) -> float:
        return self.between(start, end) / timedelta(minutes=1)


def _require_aware(at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise InvalidValue("instants must be timezone-aware")
