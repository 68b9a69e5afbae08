"""The operations dashboard: opened and resolved per team per day, SLA adherence, backlog by age."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from p2pdesk import bootstrap
from p2pdesk.application.principal import Principal
from p2pdesk.infrastructure.web.access import desk_view
from p2pdesk.infrastructure.web.charts import daily_chart, share_chart, stacked_chart
from p2pdesk.infrastructure.web.directory import desk_page, visible_teams
from p2pdesk.ports.reports import AGE_BUCKETS, DailyTeamCount

DAYS = 14
SLA_WINDOW = timedelta(days=30)


def _by_team_and_day(rows: list[DailyTeamCount]) -> dict[int, dict[date, int]]:
    counts: dict[int, dict[date, int]] = defaultdict(dict)
    for row in rows:
        counts[row.team_id][row.day] = row.count
    return counts


@desk_view
def dashboard(request: HttpRequest, principal: Principal) -> HttpResponse:
    reports, scope = bootstrap.reports(), principal.scope
    now = timezone.now()
    today = now.astimezone(ZoneInfo(settings.P2PDESK_TIME_ZONE)).date()
    days = [today - timedelta(days=n) for n in range(DAYS - 1, -1, -1)]
    start = datetime.combine(days[0], datetime.min.time(), tzinfo=ZoneInfo(settings.P2PDESK_TIME_ZONE))
    opened = _by_team_and_day(reports.opened_per_day(since=start, scope=scope))
    resolved = _by_team_and_day(reports.resolved_per_day(since=start, scope=scope))
    teams = visible_teams(principal)
    top = max([n for per_day in (*opened.values(), *resolved.values()) for n in per_day.values()], default=0)
    flow = [
        (team, daily_chart(days, opened.get(team.id, {}), resolved.get(team.id, {}), top)) for team in teams
    ]

    names = {t.id: t.name for t in teams}
    sla_rows = [
        (names[r.team_id], r.kept, r.total)
        for r in reports.sla_adherence(since=now - SLA_WINDOW, scope=scope)
        if r.team_id in names
    ]
    backlog = {b.team_id: b.counts for b in reports.backlog_by_age(now=now, scope=scope)}
    backlog_rows = [(t.name, backlog.get(t.id, (0,) * len(AGE_BUCKETS))) for t in teams]
    return desk_page(
        request,
        principal,
        "web/dashboard.html",
        {
            "nav": "dashboard",
            "days": DAYS,
            "flow": flow,
            "sla_chart": share_chart(sla_rows) if sla_rows else None,
            "backlog_chart": stacked_chart(backlog_rows, [label for label, _ in AGE_BUCKETS]),
            "age_buckets": [label for label, _ in AGE_BUCKETS],
        },
    )
