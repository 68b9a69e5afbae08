"""The web desk's SLA badge and chart geometry, on plain objects."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest

from p2pdesk.infrastructure.web.charts import daily_chart, share_chart, stacked_chart
from p2pdesk.infrastructure.web.sla import duration, sla_badge

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def ticket(**fields: object) -> SimpleNamespace:
    return SimpleNamespace(id=1, status="open", **fields)


def test_no_badge_without_sla_fields() -> None:
    assert sla_badge(ticket(), NOW) is None
    assert sla_badge(ticket(sla_state=None), NOW) is None
    assert sla_badge(ticket(sla_state="unheard_of"), NOW) is None


def test_badge_counts_down_to_the_next_deadline() -> None:
    badge = sla_badge(
        ticket(
            sla_state="at_risk",
            first_response_due=NOW + timedelta(hours=2, minutes=5),
            resolution_due=NOW + timedelta(days=2),
        ),
        NOW,
    )
    assert badge is not None
    assert (badge.state, badge.label, badge.time_left) == ("at_risk", "At risk", "2h 05m left")
    assert not badge.overdue


def test_after_the_first_response_the_resolution_deadline_counts() -> None:
    badge = sla_badge(
        ticket(
            sla_state="breached",
            first_response_due=NOW - timedelta(days=1),
            first_responded_at=NOW - timedelta(days=2),
            resolution_due=NOW - timedelta(days=1, hours=3),
        ),
        NOW,
    )
    assert badge is not None
    assert (badge.time_left, badge.overdue) == ("1d 3h overdue", True)


@pytest.mark.parametrize("state", ["met", "paused"])
def test_met_and_paused_show_no_clock(state: str) -> None:
    badge = sla_badge(ticket(sla_state=state, resolution_due=NOW + timedelta(hours=1)), NOW)
    assert badge is not None
    assert (badge.time_left, badge.due) == ("", None)


def test_durations() -> None:
    assert [duration(s) for s in (59, 45 * 60, 3 * 3600 + 5 * 60, 2 * 86400 + 4 * 3600 + 59)] == [
        "0m",
        "45m",
        "3h 05m",
        "2d 4h",
    ]


def test_daily_chart_scales_bars_to_the_shared_top() -> None:
    days = [date(2026, 11, 18), date(2026, 11, 19), date(2026, 11, 20)]
    chart = daily_chart(days, {days[0]: 4, days[2]: 2}, {days[1]: 1}, top=4)
    opened = [r for r in chart.rects if r.css == "bar-opened"]
    resolved = [r for r in chart.rects if r.css == "bar-resolved"]
    assert len(opened) == len(resolved) == 3
    assert opened[0].height == pytest.approx(2 * opened[2].height)
    assert opened[1].height == 0
    assert all(
        r.y + r.height == pytest.approx(opened[0].y + opened[0].height) for r in chart.rects
    )  # one baseline
    assert opened[0].title == "Wed 18 Nov: 4 opened"
    assert chart.summary == "6 opened and 1 resolved over 3 days"


def test_share_chart_colours_by_adherence() -> None:
    chart = share_chart([("AP", 19, 20), ("KYC", 8, 10), ("Risk", 1, 2), ("Empty", 0, 0)])
    fills = [r.css for r in chart.rects if r.css != "share-track"]
    assert fills == ["share-good", "share-warn", "share-bad", "share-bad"]
    assert chart.summary == "AP 95%; KYC 80%; Risk 50%; Empty 0%"


def test_stacked_chart_splits_each_row_by_bucket_on_one_scale() -> None:
    chart = stacked_chart([("AP", (1, 1, 0, 2)), ("KYC", (2, 0, 0, 0))], ["a", "b", "c", "d"])
    ap = [r for r in chart.rects if r.title.startswith("AP")]
    assert [r.css for r in ap] == ["age-0", "age-1", "age-3"]  # empty buckets draw nothing
    assert sum(r.width for r in ap) == pytest.approx(
        2 * next(r.width for r in chart.rects if r.title.startswith("KYC"))
    )
    assert chart.summary == "AP 4; KYC 2"
