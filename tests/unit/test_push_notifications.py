"""Push intake on in-memory adapters: notifications only queue polls; subscriptions are kept alive."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import timedelta

import pytest

from p2pdesk.application.errors import PermissionDenied, ValidationFailed
from p2pdesk.application.principal import SYSTEM
from p2pdesk.application.use_cases.manage_mailboxes import check_settings
from p2pdesk.application.use_cases.manage_teams import CreateTeam
from p2pdesk.application.use_cases.push_notifications import (
    GmailPush,
    GraphNotifications,
    RenewPushSubscriptions,
)
from p2pdesk.ports.mailboxes import StoredPushSubscription
from tests.fakes.memory import FakeDesk, FakePushChannel

GRAPH_USER = "ap@p2p.example"
GMAIL_USER = "Vendors@P2P.example"


@pytest.fixture
def fake() -> FakeDesk:
    desk = FakeDesk()
    team = desk.desk.teams.create(CreateTeam(name="Accounts Payable"), SYSTEM)
    desk.add_mailbox("ap", team, kind="graph", settings={"user": GRAPH_USER, "folder": "inbox"})
    desk.add_mailbox("ap-archive", team, kind="graph", settings={"user": "archive@p2p.example"})
    desk.add_mailbox("vendors", team, kind="gmail", settings={"user": GMAIL_USER, "label": "INBOX"})
    desk.add_mailbox("local", team, kind="maildir", settings={"path": "var/no-such-maildir"})
    return desk


def stored(fake: FakeDesk, mailbox: str, external_id: str, client_state: str) -> None:
    box = next(m for m in fake.store.mailboxes.values() if m.name == mailbox)
    at = fake.clock.now()
    fake.store.subscriptions[box.id] = StoredPushSubscription(
        mailbox_id=box.id,
        provider=box.kind,
        external_id=external_id,
        client_state=client_state,
        expires_at=at + timedelta(days=3),
        renewed_at=at,
        created_at=at,
    )


def note(subscription: str, client_state: str | None, **extra: object) -> dict[str, object]:
    item: dict[str, object] = {
        "subscriptionId": subscription,
        "changeType": "created",
        "resource": "Users/6f1c/Messages/AAMkAD",
        "tenantId": "0d5c3b1e-7c1a-4f43-9a51-2f6f1e0c8a11",
        **extra,
    }
    if client_state is not None:
        item["clientState"] = client_state
    return item


def published_outcomes(fake: FakeDesk) -> list[dict[str, object]]:
    return [e.after for e in fake.published if e.action == "push.notification"]


# -- Graph notifications ---------------------------------------------------------------------------


def test_valid_notifications_queue_one_poll_per_mailbox_per_batch(fake: FakeDesk) -> None:
    stored(fake, "ap", "sub-ap", "secret-ap")
    stored(fake, "ap-archive", "sub-archive", "secret-archive")
    batch = [note("sub-ap", "secret-ap"), note("sub-archive", "secret-archive"), note("sub-ap", "secret-ap")]

    result = fake.desk.graph_notifications(GraphNotifications({"value": batch}))

    assert fake.scheduler.polls == ["ap", "ap-archive"]
    assert result.outcomes == {"accepted": 3}
    assert published_outcomes(fake) == [{"provider": "graph", "outcomes": {"accepted": 3}}]


def test_unknown_subscriptions_and_wrong_client_states_are_ignored_but_the_batch_is_taken(
    fake: FakeDesk,
) -> None:
    stored(fake, "ap", "sub-ap", "secret-ap")
    stored(fake, "ap-archive", "sub-archive", "secret-archive")
    batch = [
        note("sub-unknown", "secret-ap"),
        note("sub-archive", "secret-ap"),  # another subscription's secret
        note("sub-ap", "secret-ap"),
    ]

    result = fake.desk.graph_notifications(GraphNotifications({"value": batch}))

    assert fake.scheduler.polls == ["ap"]
    assert result.outcomes == {"unknown_subscription": 1, "bad_client_state": 1, "accepted": 1}
    assert published_outcomes(fake)[0]["outcomes"] == result.outcomes


@pytest.mark.parametrize(
    "client_state",
    [None, "", "secret-a", "secret-ap-and-more", "SECRET-AP", 12345, ["secret-ap"], "secret-äp"],
)
def test_a_batch_of_nothing_but_invalid_notifications_is_refused_and_counted(
    fake: FakeDesk, client_state: object
) -> None:
    stored(fake, "ap", "sub-ap", "secret-ap")
    item = note("sub-ap", None)
    if client_state is not None:
        item["clientState"] = client_state

    with pytest.raises(PermissionDenied):
        fake.desk.graph_notifications(GraphNotifications({"value": [item, "not an object", {}]}))

    assert fake.scheduler.polls == []
    assert published_outcomes(fake) == [
        {"provider": "graph", "outcomes": {"bad_client_state": 1, "malformed": 2}}
    ]


def test_a_body_without_a_value_list_is_invalid_and_an_empty_one_does_nothing(fake: FakeDesk) -> None:
    with pytest.raises(ValidationFailed):
        fake.desk.graph_notifications(GraphNotifications({"values": []}))
    with pytest.raises(ValidationFailed):
        fake.desk.graph_notifications(GraphNotifications([note("sub-ap", "secret-ap")]))

    result = fake.desk.graph_notifications(GraphNotifications({"value": []}))

    assert result.outcomes == {}
    assert fake.scheduler.polls == []


def test_lifecycle_events_queue_a_renewal_a_recreation_or_a_poll(fake: FakeDesk) -> None:
    stored(fake, "ap", "sub-ap", "secret-ap")
    stored(fake, "ap-archive", "sub-archive", "secret-archive")

    fake.desk.graph_notifications(
        GraphNotifications(
            {
                "value": [
                    note("sub-ap", "secret-ap", lifecycleEvent="reauthorizationRequired"),
                    note("sub-archive", "secret-archive", lifecycleEvent="subscriptionRemoved"),
                    note("sub-archive", "secret-archive"),  # polled by the recreation already
                ]
            }
        )
    )
    assert fake.scheduler.renewals == [("ap-archive", True), ("ap", False)]
    assert fake.scheduler.polls == []

    result = fake.desk.graph_notifications(
        GraphNotifications(
            {
                "value": [
                    note("sub-ap", "secret-ap", lifecycleEvent="missed"),
                    note("sub-archive", "secret-archive", lifecycleEvent="somethingNew"),
                ]
            }
        )
    )
    assert fake.scheduler.polls == ["ap"]
    assert result.outcomes == {"accepted": 1, "unknown_lifecycle_event": 1}


def test_a_lifecycle_event_with_a_wrong_client_state_does_nothing(fake: FakeDesk) -> None:
    stored(fake, "ap", "sub-ap", "secret-ap")

    with pytest.raises(PermissionDenied):
        fake.desk.graph_notifications(
            GraphNotifications({"value": [note("sub-ap", "guess", lifecycleEvent="subscriptionRemoved")]})
        )

    assert fake.scheduler.renewals == []


def test_a_disabled_mailbox_is_not_polled_though_its_notification_is_genuine(fake: FakeDesk) -> None:
    stored(fake, "ap", "sub-ap", "secret-ap")
    ap = next(m for m in fake.store.mailboxes.values() if m.name == "ap")
    fake.store.mailboxes[ap.id] = replace(ap, enabled=False)

    result = fake.desk.graph_notifications(GraphNotifications({"value": [note("sub-ap", "secret-ap")]}))

    assert result.outcomes == {"mailbox_disabled": 1}
    assert fake.scheduler.polls == []


# -- Gmail push ------------------------------------------------------------------------------------


def push_body(address: str, *, urlsafe: bool = False, history_id: int = 9876) -> bytes:
    data = json.dumps({"emailAddress": address, "historyId": history_id}).encode()
    encoded = (base64.urlsafe_b64encode(data).rstrip(b"=") if urlsafe else base64.b64encode(data)).decode()
    return json.dumps(
        {
            "message": {
                "data": encoded,
                "messageId": "2070443601311540",
                "publishTime": "2026-11-20T09:00:00Z",
            },
            "subscription": "projects/p2pdesk-test/subscriptions/gmail-push",
        }
    ).encode()


@pytest.mark.parametrize("urlsafe", [False, True])
def test_a_verified_push_queues_a_poll_of_the_gmail_mailbox_of_that_address(
    fake: FakeDesk, urlsafe: bool
) -> None:
    fake.verifier.valid.add("good-token")
    fake.add_mailbox("ap-gmail-too", 1, kind="graph", settings={"user": "vendors@p2p.example"})

    result = fake.desk.gmail_push(GmailPush("good-token", push_body("vendors@p2p.example", urlsafe=urlsafe)))

    assert fake.scheduler.polls == ["vendors"]  # the address matched case-insensitively; not the graph one
    assert result.outcomes == {"accepted": 1}
    assert published_outcomes(fake) == [{"provider": "gmail", "outcomes": {"accepted": 1}}]


def test_a_redelivered_push_queues_another_poll_which_is_harmless(fake: FakeDesk) -> None:
    fake.verifier.valid.add("good-token")
    body = push_body(GMAIL_USER)

    fake.desk.gmail_push(GmailPush("good-token", body))
    fake.desk.gmail_push(GmailPush("good-token", body))

    assert fake.scheduler.polls == ["vendors", "vendors"]


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_a_push_without_a_valid_token_is_refused_before_its_body_is_read(
    fake: FakeDesk, token: str | None
) -> None:
    fake.verifier.valid.add("good-token")

    for body in (push_body(GMAIL_USER), b"not json"):
        with pytest.raises(PermissionDenied):
            fake.desk.gmail_push(GmailPush(token, body))

    assert fake.scheduler.polls == []
    assert published_outcomes(fake) == [{"provider": "gmail", "outcomes": {"invalid_token": 1}}] * 2


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"{}",
        b'{"message": {"data": "%%%"}}',
        json.dumps({"message": {"data": base64.b64encode(b'{"historyId": 1}').decode()}}).encode(),
        json.dumps({"message": {"data": base64.b64encode(b'{"emailAddress": 7}').decode()}}).encode(),
    ],
)
def test_an_authentic_but_unreadable_push_is_acknowledged_without_a_poll(fake: FakeDesk, body: bytes) -> None:
    fake.verifier.valid.add("good-token")

    result = fake.desk.gmail_push(GmailPush("good-token", body))

    assert result.outcomes == {"malformed": 1}
    assert fake.scheduler.polls == []


def test_a_push_for_an_unknown_or_disabled_mailbox_queues_nothing(fake: FakeDesk) -> None:
    fake.verifier.valid.add("good-token")
    vendors = next(m for m in fake.store.mailboxes.values() if m.name == "vendors")
    fake.store.mailboxes[vendors.id] = replace(vendors, enabled=False)

    assert fake.desk.gmail_push(GmailPush("good-token", push_body(GMAIL_USER))).outcomes == {
        "unknown_mailbox": 1
    }
    assert fake.desk.gmail_push(GmailPush("good-token", push_body("nobody@p2p.example"))).outcomes == {
        "unknown_mailbox": 1
    }
    assert fake.scheduler.polls == []


# -- renewing --------------------------------------------------------------------------------------


@pytest.fixture
def channels(fake: FakeDesk) -> dict[str, FakePushChannel]:
    for name in ("ap", "ap-archive", "vendors"):
        fake.push.channels[name] = FakePushChannel()
    return fake.push.channels


def renew(fake: FakeDesk, **command: object) -> dict[str, str]:
    results = fake.desk.renew_push_subscriptions(RenewPushSubscriptions(**command))  # type: ignore[arg-type]
    return {r.mailbox: r.outcome for r in results}


def subscription(fake: FakeDesk, name: str) -> StoredPushSubscription | None:
    box = next(m for m in fake.store.mailboxes.values() if m.name == name)
    return fake.store.subscriptions.get(box.id)


def test_without_push_nothing_is_subscribed(fake: FakeDesk, channels: dict[str, FakePushChannel]) -> None:
    fake.push.enabled = False

    assert renew(fake) == {}
    assert all(not channel.calls for channel in channels.values())


def test_missing_subscriptions_are_created_with_a_fresh_secret_each(
    fake: FakeDesk, channels: dict[str, FakePushChannel]
) -> None:
    now = fake.clock.at

    assert renew(fake) == {"ap": "created", "ap-archive": "created", "vendors": "created"}

    ap, archive = subscription(fake, "ap"), subscription(fake, "ap-archive")
    assert ap is not None
    assert archive is not None
    assert ap.external_id == "s1"
    assert ap.provider == "graph"
    assert channels["ap"].client_states == [ap.client_state]
    assert 32 <= len(ap.client_state) <= 128
    assert ap.client_state != archive.client_state
    assert timedelta(days=3) <= ap.expires_at - now < timedelta(days=3, seconds=1)
    assert "local" not in set(renew(fake))  # a Maildir has no push
    assert all(channel.closed >= 1 for channel in channels.values())


def test_graph_subscriptions_are_renewed_at_half_life_and_keep_their_secret(
    fake: FakeDesk, channels: dict[str, FakePushChannel]
) -> None:
    renew(fake)
    first = subscription(fake, "ap")

    fake.clock.advance(hours=35)
    assert renew(fake)["ap"] == "current"
    fake.clock.advance(hours=2)  # 37 h: past half of three days
    assert renew(fake)["ap"] == "renewed"

    after = subscription(fake, "ap")
    assert first is not None
    assert after is not None
    assert channels["ap"].calls[-1] == ("renew", "s1")
    assert after.client_state == first.client_state
    assert after.external_id == "s1"
    assert after.renewed_at > first.renewed_at
    assert after.expires_at > first.expires_at
    assert after.created_at == first.created_at


def test_gmail_watches_are_renewed_daily(fake: FakeDesk, channels: dict[str, FakePushChannel]) -> None:
    renew(fake)
    fake.clock.advance(hours=23)
    assert renew(fake)["vendors"] == "current"
    fake.clock.advance(hours=2)
    outcomes = renew(fake)
    assert outcomes["vendors"] == "renewed"
    assert outcomes["ap"] == "current"


def test_a_subscription_the_provider_lost_is_made_again(
    fake: FakeDesk, channels: dict[str, FakePushChannel]
) -> None:
    renew(fake)
    old = subscription(fake, "ap")
    channels["ap"].live.clear()  # expired or removed at Graph
    fake.clock.advance(days=2)

    assert renew(fake)["ap"] == "created"

    new = subscription(fake, "ap")
    assert old is not None
    assert new is not None
    assert new.external_id != old.external_id
    assert new.client_state != old.client_state


def test_forced_renewal_and_recreation_for_lifecycle_events(
    fake: FakeDesk, channels: dict[str, FakePushChannel]
) -> None:
    renew(fake)
    old = subscription(fake, "ap")

    assert renew(fake, mailbox="ap", force=True) == {"ap": "renewed"}
    assert renew(fake, mailbox="ap", recreate=True) == {"ap": "created"}

    new = subscription(fake, "ap")
    assert old is not None
    assert new is not None
    assert channels["ap"].calls[-3:] == [("renew", "s1"), ("delete", "s1"), ("subscribe", "")]
    assert new.client_state != old.client_state
    assert renew(fake, mailbox="local") == {"local": "skipped"}
    assert renew(fake, mailbox="nope") == {"nope": "skipped"}


def test_a_failing_mailbox_is_reported_and_the_others_go_on(
    fake: FakeDesk, channels: dict[str, FakePushChannel]
) -> None:
    channels["ap"].failure = "Graph subscription for ap@p2p.example failed: HTTP 400 ValidationError"

    results = fake.desk.renew_push_subscriptions(RenewPushSubscriptions())

    failed = next(r for r in results if r.mailbox == "ap")
    assert failed.outcome == "failed"
    assert "ValidationError" in (failed.error or "")
    assert subscription(fake, "ap") is None
    assert subscription(fake, "ap-archive") is not None


def test_subscriptions_of_mailboxes_without_push_any_more_are_stopped(
    fake: FakeDesk, channels: dict[str, FakePushChannel]
) -> None:
    renew(fake)
    archive = next(m for m in fake.store.mailboxes.values() if m.name == "ap-archive")
    fake.store.mailboxes[archive.id] = replace(archive, enabled=False)
    del channels["vendors"]  # say its topic was removed from the settings

    outcomes = renew(fake)

    assert outcomes["ap-archive"] == "removed"
    assert outcomes["vendors"] == "removed"
    assert channels["ap-archive"].calls[-1] == ("delete", "s1")
    assert subscription(fake, "ap-archive") is None
    assert subscription(fake, "vendors") is None
    assert subscription(fake, "ap") is not None


@pytest.mark.parametrize(
    "topic", ["gmail-push", "projects/p2pdesk-test/topics/", "projects/a/subscriptions/b"]
)
def test_a_gmail_topic_must_name_a_pubsub_topic(topic: str) -> None:
    settings = {"user": "x@p2p.example", "label": "INBOX"}
    check_settings("gmail", {**settings, "topic": "projects/p2pdesk-test/topics/gmail-push"})
    with pytest.raises(ValidationFailed):
        check_settings("gmail", {**settings, "topic": topic})
