"""The web desk in a real browser: an agent's day, a team lead moving work, the dashboard."""

from __future__ import annotations

import re
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from p2pdesk import bootstrap
from p2pdesk.application.principal import SYSTEM, Role
from p2pdesk.application.use_cases.create_ticket import CreateTicket
from p2pdesk.application.use_cases.ingest_message import IngestMessage
from p2pdesk.application.use_cases.manage_agents import CreateAgent
from p2pdesk.application.use_cases.manage_mailboxes import SaveMailbox
from p2pdesk.application.use_cases.manage_sla import SaveCalendar, SavePolicy
from p2pdesk.application.use_cases.manage_teams import CreateTeam
from tests.browser.conftest import screenshot, wait_for_htmx

pytestmark = pytest.mark.browser
PASSWORD = "a long demo passphrase"


def vendor_email() -> bytes:
    message = EmailMessage()
    message["From"] = "Acme Billing <billing@acme.example>"
    message["To"] = "ap@p2p.example"
    message["Subject"] = "Invoice INV-2291 not paid"
    message["Message-ID"] = "<inv-2291@acme.example>"
    message.set_content("Hello, invoice INV-2291 (EUR 4,180.00) was due on 3 Nov. Please advise.")
    message.add_alternative(
        "<p>Hello,</p><p>invoice <b>INV-2291</b> (EUR 4,180.00) was due on 3 Nov.</p><p>Please advise.</p>",
        subtype="html",
    )
    message.add_attachment(
        b"%PDF-1.4 invoice", maintype="application", subtype="pdf", filename="INV-2291.pdf"
    )
    return message.as_bytes()


@pytest.fixture
def desk(live_server: Any, settings: Any, tmp_path: Path, mailoutbox: list[Any]) -> dict[str, Any]:
    """Two teams; Ana and Ben in Accounts Payable, a lead; an emailed ticket and a few more."""
    settings.P2PDESK_FILES_DIR = tmp_path / "files"
    bootstrap.desk.cache_clear()
    desk = bootstrap.desk()
    ap = desk.teams.create(CreateTeam(name="Accounts Payable"), SYSTEM)
    kyc = desk.teams.create(CreateTeam(name="KYC"), SYSTEM)
    around_the_clock = desk.sla_settings.create_calendar(
        SaveCalendar(name="24/7", timezone="UTC", working_days=list(range(7)), start="00:00", end="24:00"),
        SYSTEM,
    )
    for priority in (1, 2, 3, 4):  # Accounts Payable's tickets run SLA clocks; KYC's do not
        policy = SavePolicy(ap, priority, around_the_clock, 60 * priority, 8 * 60 * priority)
        desk.sla_settings.create_policy(policy, SYSTEM)
    ana = desk.agents.create(CreateAgent(email="ana@p2p.example", name="Ana Agent", team_ids=[ap]), SYSTEM)
    desk.agents.create(CreateAgent(email="kim@p2p.example", name="Kim KYC", team_ids=[kyc]), SYSTEM)
    # Ana is alone in the team until the emailed ticket and her share of the rest are hers.
    mailbox = SaveMailbox(
        name="default", kind="maildir", settings={"path": str(tmp_path / "md")}, default_team_id=ap
    )
    desk.mailboxes.create(mailbox, SYSTEM)
    emailed = desk.ingest_message(IngestMessage(raw=vendor_email()))
    for n, (subject, priority) in enumerate(
        [("PO 4711 approval stuck", 1), ("GRN quantity mismatch on PO 880", 2), ("Vendor bank change", 3)]
    ):
        desk.create_ticket(
            CreateTicket(
                subject=subject,
                description="",
                team_id=ap,
                requester_email=f"v{n}@vendor.example",
                priority=priority,
            ),
            SYSTEM,
        )
    desk.create_ticket(
        CreateTicket(
            subject="KYC documents expired", description="", team_id=kyc, requester_email="kyc@vendor.example"
        ),
        SYSTEM,
    )
    ben = desk.agents.create(CreateAgent(email="ben@p2p.example", name="Ben Backup", team_ids=[ap]), SYSTEM)
    bootstrap.set_login("ana@p2p.example", Role.AGENT, PASSWORD)
    bootstrap.set_login("lead@p2p.example", Role.TEAM_LEAD, PASSWORD)
    yield {"url": live_server.url, "ana": ana, "ben": ben, "emailed": emailed.ticket_id, "outbox": mailoutbox}
    bootstrap.desk.cache_clear()


def sign_in(page: Any, base: str, email: str) -> None:
    """By keyboard: the email field has focus, Tab to the password, Enter submits."""
    page.goto(f"{base}/desk/")
    expect(page).to_have_url(re.compile(r"/desk/login/"))
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("navigation", name="Desk")).to_be_visible()


def test_agent_opens_a_ticket_from_the_queue_replies_and_resolves(page: Any, desk: dict[str, Any]) -> None:
    page.goto(f"{desk['url']}/desk/login/")
    screenshot(page, "login")
    sign_in(page, desk["url"], "ana@p2p.example")
    expect(page.get_by_role("heading", name="My queue")).to_be_visible()
    queue = page.locator("#ticket-results")
    expect(queue).to_contain_text("Invoice INV-2291 not paid")
    expect(queue).not_to_contain_text("KYC documents expired")
    expect(queue.locator(".sla-ok").first).to_contain_text("On track")
    screenshot(page, "my-queue")

    page.locator("tr", has_text="Invoice INV-2291 not paid").get_by_role("link").focus()
    page.keyboard.press("Enter")  # opened by keyboard
    expect(page.get_by_role("heading", name="Invoice INV-2291 not paid")).to_be_visible()
    expect(page.locator(".msg .body.html b")).to_have_text("INV-2291")
    expect(page.get_by_role("link", name="INV-2291.pdf")).to_be_visible()

    page.get_by_label(re.compile("Reply to billing@acme.example")).fill("Paid today; remittance to follow.")
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator(".flash")).to_contain_text("Reply sent to billing@acme.example")
    expect(page.locator(".msg-outbound")).to_contain_text("Paid today; remittance to follow.")
    [sent] = desk["outbox"]
    assert sent.extra_headers["In-Reply-To"] == "<inv-2291@acme.example>"

    page.get_by_role("button", name="Resolve").click()
    expect(page.locator(".facts")).to_contain_text("resolved")
    expect(page.locator(".history")).to_contain_text("user:ana@p2p.example")
    screenshot(page, "ticket")


def test_team_tray_filters_without_reloading(page: Any, desk: dict[str, Any]) -> None:
    sign_in(page, desk["url"], "lead@p2p.example")
    page.get_by_role("link", name="Team tray").click()
    expect(page.get_by_role("heading", name="Team tray")).to_be_visible()
    results = page.locator("#ticket-results")
    expect(results).to_contain_text("KYC documents expired")
    wait_for_htmx(page)  # the boosted page's filter form is wired
    page.get_by_label("Priority").select_option("1")  # htmx swaps the results in place
    expect(results).not_to_contain_text("KYC documents expired")
    expect(results).to_contain_text("PO 4711 approval stuck")
    expect(page).to_have_url(re.compile(r"priority=1"))
    wait_for_htmx(page)
    page.get_by_label("Priority").select_option("")
    expect(results).to_contain_text("KYC documents expired")
    screenshot(page, "team-tray")


def test_team_lead_marks_an_agent_unavailable_and_sees_the_tickets_move(
    page: Any, desk: dict[str, Any]
) -> None:
    sign_in(page, desk["url"], "lead@p2p.example")
    page.get_by_role("link", name="Team lead").click()
    expect(page.get_by_role("heading", name="Team lead")).to_be_visible()
    wait_for_htmx(page)
    ana_row = page.locator("tr[data-agent='ana@p2p.example']")
    ben_row = page.locator("tr[data-agent='ben@p2p.example']")
    expect(ana_row.locator(".count")).to_have_text("4")
    expect(ben_row.locator(".count")).to_have_text("0")
    screenshot(page, "team-lead")

    page.get_by_role("button", name="Mark Ana Agent unavailable").click()
    expect(page.locator(".flash")).to_contain_text("Ana Agent is now unavailable")
    moves = page.locator(".moves")
    expect(moves.get_by_role("heading")).to_have_text("Tickets just moved (4)")
    expect(moves.locator("tbody tr")).to_have_count(4)
    expect(moves.locator("tbody")).to_contain_text("Ben Backup")
    expect(ana_row.locator(".count")).to_have_text("0")
    expect(ana_row).to_contain_text("Unavailable")
    expect(ben_row.locator(".count")).to_have_text("4")
    screenshot(page, "team-lead-after-move")


def test_dashboard_renders_its_charts(page: Any, desk: dict[str, Any]) -> None:
    sign_in(page, desk["url"], "lead@p2p.example")
    page.get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    charts = page.locator("svg.chart")
    expect(charts).to_have_count(4)  # a daily chart per team, SLA adherence and the backlog
    expect(page.locator("svg.chart rect.bar-opened").last).to_be_visible()  # today's bar
    assert page.locator("svg.chart rect.bar-opened").count() == 2 * 14
    expect(page.locator("rect.age-0")).to_have_count(2)
    box = charts.first.bounding_box()
    assert box is not None
    assert box["width"] > 200
    assert box["height"] > 50
    expect(page.get_by_text("No SLA data yet")).to_have_count(0)  # Accounts Payable's tickets have one
    screenshot(page, "dashboard")
