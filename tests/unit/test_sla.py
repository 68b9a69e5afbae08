"""The SLA clock of a ticket: due instants, at-risk, breach, pause and resume, met, thresholds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from p2pdesk.domain.calendars import BusinessCalendar
from p2pdesk.domain.errors import InvalidValue
from p2pdesk.domain.sla import (
    EscalationAction,
    SlaPolicy,
    SlaState,
    Target,
    Threshold,
    TicketSla,
    parse_actions,
)
from p2pdesk.domain.tickets import Priority

BERLIN = ZoneInfo("Europe/Berlin")
OFFICE = BusinessCalendar("Office", "Europe/Berlin", frozenset(range(5)), 9 * 60, 17 * 60)
MONDAY_9 = datetime(2026, 11, 16, 9, 0, tzinfo=BERLIN)


def policy(**overrides: object) -> SlaPolicy:
    fields: dict[str, object] = {
        "team_id": 1,
        "priority": Priority.NORMAL,
        "calendar_id": 1,
        "first_response_minutes": 60,
        "resolution_minutes": 8 * 60,
        "id": 7,
    }
    fields.update(overrides)
    return SlaPolicy(**fields)  # type: ignore[arg-type]


def clock(at: datetime = MONDAY_9, **overrides: object) -> TicketSla:
    return policy(**overrides).start_clock(OFFICE, at)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


def test_due_instants_and_at_risk_shares_are_in_business_time() -> None:
    friday_16 = datetime(2026, 11, 20, 16, 0, tzinfo=BERLIN)
    sla = clock(friday_16)
    assert sla.first_response.due == datetime(2026, 11, 20, 17, 0, tzinfo=BERLIN)
    assert sla.first_response.at_risk_at == datetime(2026, 11, 20, 16, 48, tzinfo=BERLIN)
    assert sla.resolution.due == datetime(2026, 11, 23, 16, 0, tzinfo=BERLIN)
    assert sla.resolution.at_risk_at == datetime(2026, 11, 23, 14, 24, tzinfo=BERLIN)  # 80% of 8 h
    assert clock(friday_16, at_risk_share=0.5).resolution.at_risk_at == datetime(
        2026, 11, 23, 12, 0, tzinfo=BERLIN
    )


def test_states_go_ok_at_risk_breached_as_time_passes() -> None:
    sla = clock()
    assert sla.state(MONDAY_9 + timedelta(minutes=47)) == SlaState.OK
    assert sla.state(MONDAY_9 + timedelta(minutes=48)) == SlaState.AT_RISK
    assert sla.state(MONDAY_9 + hours(1)) == SlaState.BREACHED
    assert sla.evaluate(MONDAY_9 + hours(1)).breached == {Target.FIRST_RESPONSE}


def test_a_timely_first_reply_stops_that_target_only() -> None:
    sla = clock().responded(MONDAY_9 + timedelta(minutes=30))
    assert sla.first_responded_at == MONDAY_9 + timedelta(minutes=30)
    assert sla.state(MONDAY_9 + hours(2)) == SlaState.OK
    assert sla.state(MONDAY_9 + hours(6.4)) == SlaState.AT_RISK  # the resolution clock runs on
    assert sla.responded(MONDAY_9 + hours(3)) is sla  # later replies change nothing


def test_a_late_first_reply_is_a_breach_that_stays() -> None:
    sla = clock().responded(MONDAY_9 + hours(2))
    assert sla.breached == {Target.FIRST_RESPONSE}
    assert sla.resolve(MONDAY_9 + hours(3)).state(MONDAY_9 + hours(3)) == SlaState.BREACHED


def test_resolving_in_time_is_met_and_reopening_resumes_the_clock() -> None:
    sla = clock().responded(MONDAY_9 + timedelta(minutes=10)).resolve(MONDAY_9 + hours(2))
    assert sla.state(MONDAY_9 + hours(100)) == SlaState.MET
    assert sla.next_check_at() is None
    reopened = sla.resume(OFFICE, MONDAY_9 + hours(24))  # Tuesday 09:00: 6 business hours were left
    assert reopened.resolution.due == datetime(2026, 11, 17, 15, 0, tzinfo=BERLIN)
    assert reopened.state(MONDAY_9 + hours(24)) == SlaState.OK


def test_resolving_without_a_reply_completes_the_first_response_too() -> None:
    on_time = clock().resolve(MONDAY_9 + timedelta(minutes=20))
    assert on_time.state(MONDAY_9 + hours(5)) == SlaState.MET
    late = clock().resolve(MONDAY_9 + hours(2))
    assert late.breached == {Target.FIRST_RESPONSE}


def test_pending_pauses_and_the_reply_resumes_with_the_time_that_was_left() -> None:
    sla = clock().responded(MONDAY_9 + timedelta(minutes=5))
    paused = sla.pause(MONDAY_9 + hours(2))  # 6 business hours left on the resolution
    assert paused.state(MONDAY_9 + hours(200)) == SlaState.PAUSED
    assert paused.next_check_at() is None
    assert paused.pause(MONDAY_9 + hours(3)) is paused
    # The requester answers on Friday evening: the clock resumes Monday 09:00 with 6 hours left.
    resumed = paused.resume(OFFICE, datetime(2026, 11, 20, 19, 0, tzinfo=BERLIN))
    assert resumed.resolution.due == datetime(2026, 11, 23, 15, 0, tzinfo=BERLIN)
    assert resumed.resolution.at_risk_at == datetime(2026, 11, 23, 13, 24, tzinfo=BERLIN)
    assert resumed.first_response == sla.first_response  # completed targets do not move


def test_a_reply_while_paused_counts_when_the_clock_stopped() -> None:
    paused = clock().pause(MONDAY_9 + timedelta(minutes=30))
    replied = paused.responded(MONDAY_9 + hours(5))
    assert replied.breached == frozenset()
    assert replied.first_responded_at == MONDAY_9 + hours(5)


def test_resolving_a_paused_ticket_completes_at_the_pause() -> None:
    sla = clock().responded(MONDAY_9).pause(MONDAY_9 + hours(1)).resolve(MONDAY_9 + hours(30))
    assert sla.state(MONDAY_9 + hours(30)) == SlaState.MET
    assert sla.stopped_at == MONDAY_9 + hours(1)


def test_a_breach_before_the_pause_stays_breached() -> None:
    sla = clock().pause(MONDAY_9 + hours(2))
    assert sla.state(MONDAY_9 + hours(3)) == SlaState.BREACHED
    resumed = sla.resume(OFFICE, MONDAY_9 + hours(4))
    assert resumed.first_response.due == MONDAY_9 + hours(1)  # past dues do not move


def test_thresholds_come_in_clock_order_and_each_once() -> None:
    sla = clock()
    assert sla.next_check_at() == sla.first_response.at_risk_at
    at = MONDAY_9 + hours(7)  # first response at risk and breached, resolution at risk
    reached = sla.thresholds_reached(at)
    assert reached == [
        Threshold.FIRST_RESPONSE_AT_RISK,
        Threshold.FIRST_RESPONSE_BREACHED,
        Threshold.RESOLUTION_AT_RISK,
    ]
    for threshold in reached:
        sla = sla.mark_escalated(threshold)
    assert sla.thresholds_reached(at) == []
    assert sla.next_check_at() == sla.resolution.due


def test_policies_validate_their_numbers_and_actions() -> None:
    with pytest.raises(InvalidValue, match="at_risk_share"):
        policy(at_risk_share=1.0)
    with pytest.raises(InvalidValue, match="exceed"):
        policy(first_response_minutes=600, resolution_minutes=60)
    with pytest.raises(InvalidValue, match="minutes"):
        policy(first_response_minutes=0)
    assert parse_actions(["reassign", "reassign", "raise_priority"], field_name="x") == (
        EscalationAction.REASSIGN,
        EscalationAction.RAISE_PRIORITY,
    )
    with pytest.raises(InvalidValue, match="actions are"):
        parse_actions(["page_the_ceo"], field_name="breach_actions")
    assert policy().actions_for(Threshold.RESOLUTION_AT_RISK) == (EscalationAction.NOTIFY_TEAM_LEAD,)


@settings(max_examples=150, deadline=None)
@given(
    st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 1), timezones=st.just(UTC)),
    st.integers(0, 5 * 24 * 60),
    st.integers(0, 10 * 24 * 60),
)
def test_a_pause_never_eats_business_time(start: datetime, run_minutes: int, pause_minutes: int) -> None:
    """However long it pauses, the business time left on the resolution target is the same after."""
    sla = clock(start)
    stop = start + timedelta(minutes=run_minutes)
    resume = stop + timedelta(minutes=pause_minutes)
    left_before = OFFICE.between(stop, sla.resolution.due)
    resumed = sla.pause(stop).resume(OFFICE, resume)
    if left_before:
        assert OFFICE.between(resume, resumed.resolution.due) == left_before
    else:
        assert resumed.resolution.due == sla.resolution.due
    assert resumed.resolution.at_risk_at <= resumed.resolution.due


OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(["wait", "pause", "resume", "respond", "resolve", "escalate"]),
        st.integers(0, 3 * 24 * 60),
    ),
    max_size=12,
)


@settings(max_examples=200, deadline=None)
@given(OPERATIONS)
def test_any_lifecycle_keeps_the_clocks_invariants(operations: list[tuple[str, int]]) -> None:
    """Whatever happens in whatever order: breaches stick, stopped clocks have nothing to check,
    at-risk comes no later than due, and escalating everything reached leaves nothing reached."""
    now = MONDAY_9
    sla = clock()
    breached_before: frozenset[Target] = frozenset()
    for operation, minutes in operations:
        if operation == "wait":
            now += timedelta(minutes=minutes)
        elif operation == "pause":
            sla = sla.pause(now)
        elif operation == "resume":
            sla = sla.resume(OFFICE, now)
        elif operation == "respond":
            sla = sla.responded(now)
        elif operation == "resolve":
            sla = sla.resolve(now)
        else:
            for threshold in sla.thresholds_reached(now):
                sla = sla.mark_escalated(threshold)
            assert sla.thresholds_reached(now) == []
        state = sla.state(now)
        sla = sla.evaluate(now)
        assert breached_before <= sla.breached
        breached_before = sla.breached
        assert (state == SlaState.BREACHED) == bool(sla.breached)
        if sla.stopped_at is not None:
            assert sla.next_check_at() is None
            assert state in (SlaState.BREACHED, SlaState.PAUSED, SlaState.MET)
        for target in Target:
            assert sla.clock(target).at_risk_at <= sla.clock(target).due
        if state == SlaState.MET:
            assert sla.resolved
