from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from p2pdesk.domain.assignment import AgentLoad, choose_agent, plan_distribution
from p2pdesk.domain.business_day import business_day, start_of_business_day

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def test_fewest_assigned_today_wins() -> None:
    loads = [AgentLoad(1, 3, T0), AgentLoad(2, 1, T0 + timedelta(hours=1)), AgentLoad(3, 2, T0)]
    assert choose_agent(loads) == loads[1]


def test_ties_go_to_the_least_recently_assigned_and_never_assigned_first() -> None:
    loads = [AgentLoad(1, 0, T0), AgentLoad(2, 0, None), AgentLoad(3, 0, T0 - timedelta(minutes=5))]
    assert choose_agent(loads) == loads[1]
    assert choose_agent(loads[::2]) == loads[2]


def test_full_ties_are_broken_by_id_so_the_choice_is_deterministic() -> None:
    assert choose_agent([AgentLoad(9, 1, T0), AgentLoad(4, 1, T0)]) == AgentLoad(4, 1, T0)


def test_nobody_available_means_no_choice() -> None:
    assert choose_agent([]) is None
    assert plan_distribution(["t1"], [], at=T0) == []


def test_distribution_fills_the_least_loaded_first() -> None:
    loads = [AgentLoad(1, 5, T0), AgentLoad(2, 0, T0), AgentLoad(3, 2, T0)]
    plan = plan_distribution(list(range(5)), loads, at=T0 + timedelta(hours=1))
    assert [agent for _, agent in plan] == [2, 2, 3, 2, 3]


loads_strategy = st.lists(
    st.builds(
        AgentLoad,
        agent_id=st.integers(1, 10_000),
        assigned_today=st.integers(0, 30),
        last_assigned_at=st.one_of(
            st.none(), st.integers(0, 10_000).map(lambda s: T0 + timedelta(seconds=s))
        ),
    ),
    min_size=1,
    max_size=25,
    unique_by=lambda load: load.agent_id,
)


@given(loads=loads_strategy, extra=st.integers(0, 200))
def test_enough_tickets_level_every_load_to_within_one(loads: list[AgentLoad], extra: int) -> None:
    top = max(load.assigned_today for load in loads)
    needed = sum(top - load.assigned_today for load in loads)
    plan = plan_distribution(list(range(needed + extra)), loads, at=T0 + timedelta(days=1))
    received = Counter(agent for _, agent in plan)
    final = [load.assigned_today + received[load.agent_id] for load in loads]
    assert len(plan) == needed + extra
    assert max(final) - min(final) <= 1


@given(loads=loads_strategy, count=st.integers(0, 60))
def test_each_ticket_goes_to_whoever_the_rule_picks_next(loads: list[AgentLoad], count: int) -> None:
    at = T0 + timedelta(days=1)
    plan = plan_distribution(list(range(count)), loads, at=at)
    current = {load.agent_id: load for load in loads}
    for step, (_, agent) in enumerate(plan):
        expected = choose_agent(current.values())
        assert expected is not None
        assert agent == expected.agent_id
        previous = current[agent]
        # Dealt in this plan: counts as assigned at `at`, a little later for each step.
        current[agent] = AgentLoad(agent, previous.assigned_today + 1, at + timedelta(microseconds=step))


def test_business_day_follows_the_team_timezone() -> None:
    late_evening_utc = datetime(2026, 11, 20, 23, 30, tzinfo=UTC)
    assert business_day("UTC", late_evening_utc).day == 20
    assert business_day("Asia/Kolkata", late_evening_utc).day == 21
    start = start_of_business_day("Asia/Kolkata", late_evening_utc)
    assert start.astimezone(UTC) == datetime(2026, 11, 20, 18, 30, tzinfo=UTC)
