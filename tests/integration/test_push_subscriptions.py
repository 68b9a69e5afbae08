"""Push adapters against fakes of the providers (no network): Graph subscriptions over respx, the Gmail
watch over httpx.MockTransport, Pub/Sub's OIDC tokens signed with a local key, the subscription
table, and the Celery scheduler, in process and through a real worker on Redis.

Payloads follow the providers' references: Graph's subscription resource (POST/PATCH/DELETE
/subscriptions, learn.microsoft.com/graph/api/resources/subscription), Gmail's users.watch/stop.
"""

from __future__ import annotations

import email.message
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from structlog.testing import capture_logs

from config import celery_app
from p2pdesk import bootstrap
from p2pdesk.application.principal import SYSTEM
from p2pdesk.application.use_cases.manage_mailboxes import SaveMailbox
from p2pdesk.application.use_cases.manage_teams import CreateTeam
from p2pdesk.infrastructure.email.gmail import (
    GmailMailboxReader,
    GmailPushChannel,
    GmailSettings,
    PubSubPushVerifier,
)
from p2pdesk.infrastructure.email.graph import GraphMailboxReader, GraphPushChannel, GraphPushUrls
from p2pdesk.infrastructure.events.scheduling import POLL_TASK, RENEW_TASK, CeleryPollScheduler
from p2pdesk.infrastructure.persistence.models import TicketRecord
from p2pdesk.infrastructure.persistence.push import DjangoPushSubscriptionRepository
from p2pdesk.ports.mailboxes import (
    InvalidPushToken,
    MailboxUnavailable,
    PushSubscriptionGone,
    StoredPushSubscription,
)
from tests.fakes.google_oidc import AUDIENCE, PUSH_ACCOUNT, FakeGoogleIssuer
from tests.integration.test_gmail_reader import ACCESS_TOKEN as GMAIL_ACCESS_TOKEN
from tests.integration.test_gmail_reader import SERVICE_ACCOUNT, FakeGmail, google_error
from tests.integration.test_gmail_reader import USER as GMAIL_USER
from tests.integration.test_graph_reader import (
    ACCESS_TOKEN,
    GRAPH,
    LOGIN,
    SECRET,
    TOKEN_URL,
    graph_error,
)
from tests.integration.test_graph_reader import settings as graph_settings

SUBSCRIPTIONS = f"{GRAPH}/subscriptions"
SUBSCRIPTION_ID = "7f105c7d-2dc5-4530-97cd-4e7ae6534c07"
URLS = GraphPushUrls(
    notification_url="https://desk.example/hooks/graph/",
    lifecycle_url="https://desk.example/hooks/graph/lifecycle/",
)
ASKED = datetime(2026, 11, 23, 9, 0, 0, 123456, tzinfo=UTC)


def graph_subscription(**fields: object) -> dict[str, object]:
    """A subscription as Graph answers POST and PATCH /subscriptions."""
    return {
        "@odata.context": f"{GRAPH}/$metadata#subscriptions/$entity",
        "id": SUBSCRIPTION_ID,
        "resource": "users/intake@contoso.example/mailFolders('inbox')/messages",
        "applicationId": "6731de76-14a6-49ae-97bc-6eba6914391e",
        "changeType": "created",
        "clientState": None,  # Graph does not echo it back
        "notificationUrl": URLS.notification_url,
        "lifecycleNotificationUrl": URLS.lifecycle_url,
        "expirationDateTime": "2026-11-23T08:59:00.9356913Z",
        "creatorId": "8ee44408-0679-472c-bc2a-692812af3437",
        "latestSupportedTlsVersion": "v1_2",
        "notificationContentType": "application/json",
        **fields,
    }


@pytest.fixture
def graph() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as mock:
        mock.get(f"{LOGIN}/v2.0/.well-known/openid-configuration").respond(
            json={
                "token_endpoint": TOKEN_URL,
                "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt"],
                "jwks_uri": f"{LOGIN}/discovery/v2.0/keys",
                "issuer": f"{LOGIN}/v2.0",
                "authorization_endpoint": f"{LOGIN}/oauth2/v2.0/authorize",
            }
        )
        mock.post(TOKEN_URL).respond(
            json={"token_type": "Bearer", "expires_in": 3599, "access_token": ACCESS_TOKEN}
        )
        yield mock


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def channel(graph: respx.MockRouter, sleeps: list[float]) -> Iterator[GraphPushChannel]:
    channel = GraphPushChannel(GraphMailboxReader(graph_settings(), sleep=sleeps.append), URLS)
    yield channel
    channel.close()


# -- Graph subscriptions ---------------------------------------------------------------------------


def test_subscribing_posts_a_created_subscription_on_the_folder_with_both_urls_and_the_secret(
    graph: respx.MockRouter, channel: GraphPushChannel
) -> None:
    route = graph.post(SUBSCRIPTIONS).respond(201, json=graph_subscription())

    granted = channel.subscribe(client_state="s3cret-client-state", expires_at=ASKED)

    request = route.calls.last.request
    assert json.loads(request.content) == {
        "changeType": "created",
        "notificationUrl": "https://desk.example/hooks/graph/",
        "lifecycleNotificationUrl": "https://desk.example/hooks/graph/lifecycle/",
        "resource": "users/intake@contoso.example/mailFolders('inbox')/messages",
        "expirationDateTime": "2026-11-23T09:00:00Z",
        "clientState": "s3cret-client-state",
    }
    assert request.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert request.headers["Prefer"] == 'IdType="ImmutableId"'
    assert granted.external_id == SUBSCRIPTION_ID
    assert granted.expires_at == datetime(2026, 11, 23, 8, 59, 0, 935691, tzinfo=UTC)  # as granted


def test_a_folder_name_with_a_quote_is_an_odata_literal(graph: respx.MockRouter, sleeps: list[float]) -> None:
    route = graph.post(SUBSCRIPTIONS).respond(201, json=graph_subscription())
    channel = GraphPushChannel(
        GraphMailboxReader(graph_settings(folder="Vendors' mail"), sleep=sleeps.append), URLS
    )

    channel.subscribe(client_state="x" * 43, expires_at=ASKED)

    body = json.loads(route.calls.last.request.content)
    assert body["resource"] == "users/intake@contoso.example/mailFolders('Vendors'' mail')/messages"


def test_renewing_patches_only_the_expiration(graph: respx.MockRouter, channel: GraphPushChannel) -> None:
    route = graph.patch(f"{SUBSCRIPTIONS}/{SUBSCRIPTION_ID}").respond(
        json=graph_subscription(expirationDateTime="2026-11-26T09:00:00Z")
    )

    granted = channel.renew(SUBSCRIPTION_ID, expires_at=datetime(2026, 11, 26, 9, tzinfo=UTC))

    assert json.loads(route.calls.last.request.content) == {"expirationDateTime": "2026-11-26T09:00:00Z"}
    assert granted.external_id == SUBSCRIPTION_ID
    assert granted.expires_at == datetime(2026, 11, 26, 9, tzinfo=UTC)


def test_renewing_a_subscription_graph_no_longer_has_says_it_is_gone(
    graph: respx.MockRouter, channel: GraphPushChannel
) -> None:
    graph.patch(f"{SUBSCRIPTIONS}/{SUBSCRIPTION_ID}").mock(
        return_value=graph_error(404, "ResourceNotFound", "The object was not found.")
    )

    with pytest.raises(PushSubscriptionGone):
        channel.renew(SUBSCRIPTION_ID, expires_at=ASKED)


def test_a_refused_subscription_names_graphs_code_and_never_the_secrets(
    graph: respx.MockRouter, channel: GraphPushChannel
) -> None:
    # What Graph answers when the validation request to notificationUrl fails.
    graph.post(SUBSCRIPTIONS).mock(
        return_value=graph_error(
            400,
            "InvalidRequest",
            "Subscription validation request failed. Notification endpoint must respond.",
        )
    )

    with pytest.raises(MailboxUnavailable) as raised:
        channel.subscribe(client_state="s3cret-client-state", expires_at=ASKED)

    text = str(raised.value)
    assert "HTTP 400 InvalidRequest" in text
    for secret in (SECRET, ACCESS_TOKEN, "s3cret-client-state"):
        assert secret not in text


def test_an_answer_without_a_subscription_id_is_refused(
    graph: respx.MockRouter, channel: GraphPushChannel
) -> None:
    graph.post(SUBSCRIPTIONS).respond(201, json=graph_subscription(id=None))

    with pytest.raises(MailboxUnavailable, match="without a subscription id"):
        channel.subscribe(client_state="x" * 43, expires_at=ASKED)


def test_throttled_subscription_calls_wait_as_told_and_try_again(
    graph: respx.MockRouter, channel: GraphPushChannel, sleeps: list[float]
) -> None:
    graph.post(SUBSCRIPTIONS).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "3"}, json={"error": {"code": "TooManyRequests"}}),
            httpx.Response(201, json=graph_subscription()),
        ]
    )

    assert channel.subscribe(client_state="x" * 43, expires_at=ASKED).external_id == SUBSCRIPTION_ID
    assert sleeps == [3.0]


def test_deleting_a_subscription_is_done_when_it_is_gone_already(
    graph: respx.MockRouter, channel: GraphPushChannel
) -> None:
    url = f"{SUBSCRIPTIONS}/{SUBSCRIPTION_ID}"
    graph.delete(url).mock(side_effect=[httpx.Response(204), graph_error(404, "ResourceNotFound")])
    channel.delete(SUBSCRIPTION_ID)
    channel.delete(SUBSCRIPTION_ID)

    graph.delete(url).mock(return_value=graph_error(403, "ErrorAccessDenied", "Access is denied."))
    with pytest.raises(MailboxUnavailable, match="HTTP 403 ErrorAccessDenied"):
        channel.delete(SUBSCRIPTION_ID)


# -- Gmail watch -----------------------------------------------------------------------------------


class WatchedGmail(FakeGmail):
    """FakeGmail with users.watch and users.stop, as the Gmail reference documents them."""

    def __init__(self) -> None:
        super().__init__()
        self.watching: dict[str, Any] | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix(f"/gmail/v1/users/{GMAIL_USER}/")
        if request.url.host == "gmail.googleapis.com" and (request.method, path) in (
            ("POST", "watch"),
            ("POST", "stop"),
        ):
            if request.headers.get("authorization") != f"Bearer {GMAIL_ACCESS_TOKEN}":
                return google_error(401, "authError", "Invalid Credentials", "UNAUTHENTICATED")
            return self._handle(f"users.{path}", request, self._watch if path == "watch" else self._stop)
        return super().__call__(request)

    def _watch(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if not body.get("topicName", "").startswith("projects/"):
            return google_error(400, "invalidArgument", "Invalid topicName", "INVALID_ARGUMENT")
        self.watching = body
        return httpx.Response(200, json={"historyId": str(self.history_id), "expiration": "1795910400000"})

    def _stop(self, request: httpx.Request) -> httpx.Response:
        self.watching = None
        return httpx.Response(204)


TOPIC = "projects/p2pdesk-test/topics/gmail-push"


@pytest.fixture
def gmail() -> WatchedGmail:
    return WatchedGmail()


def gmail_channel(gmail: WatchedGmail, **settings: Any) -> GmailPushChannel:
    values = {"user": GMAIL_USER, "service_account_info": SERVICE_ACCOUNT, **settings}
    reader = GmailMailboxReader(
        GmailSettings(**values), transport=httpx.MockTransport(gmail), sleep=lambda s: None
    )
    return GmailPushChannel(reader, TOPIC)


def test_a_gmail_watch_publishes_the_label_to_the_topic_and_expires_when_gmail_says(
    gmail: WatchedGmail,
) -> None:
    channel = gmail_channel(gmail, label="Vendors")  # a label name: the watch takes its id

    granted = channel.subscribe(client_state="ignored", expires_at=ASKED)

    assert gmail.named("users.watch") == [
        {"topicName": TOPIC, "labelIds": ["Label_1"], "labelFilterBehavior": "INCLUDE"}
    ]
    assert granted.external_id == GMAIL_USER
    assert granted.expires_at == datetime(2026, 11, 29, 0, 0, tzinfo=UTC)  # 1795910400000 ms
    channel.close()


def test_renewing_a_gmail_watch_watches_again_and_deleting_stops_it(gmail: WatchedGmail) -> None:
    channel = gmail_channel(gmail)

    channel.subscribe(client_state="", expires_at=ASKED)
    channel.renew(GMAIL_USER, expires_at=ASKED)
    channel.delete(GMAIL_USER)

    assert [name for name, _ in gmail.calls if name.startswith("users.")] == [
        "users.watch",
        "users.watch",
        "users.stop",
    ]
    assert gmail.watching is None


def test_a_refused_gmail_watch_is_a_mailbox_error(gmail: WatchedGmail) -> None:
    gmail.answer(
        "users.watch",
        google_error(403, "forbidden", "Error sending test message to Cloud PubSub", "PERMISSION_DENIED"),
    )

    with pytest.raises(MailboxUnavailable, match=r"Gmail watch for .* failed: HTTP 403"):
        gmail_channel(gmail).subscribe(client_state="", expires_at=ASKED)


def test_a_gmail_watch_answer_without_expiration_is_refused(gmail: WatchedGmail) -> None:
    gmail.answer("users.watch", httpx.Response(200, json={"historyId": "1"}))

    with pytest.raises(MailboxUnavailable, match="without an expiration"):
        gmail_channel(gmail).subscribe(client_state="", expires_at=ASKED)


# -- Pub/Sub push tokens ---------------------------------------------------------------------------

CERTS_URL = "https://www.googleapis.com/oauth2/v1/certs"


@pytest.fixture
def issuer() -> FakeGoogleIssuer:
    return FakeGoogleIssuer()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def verifier(issuer: FakeGoogleIssuer, clock: Clock | None = None, **overrides: Any) -> PubSubPushVerifier:
    values: dict[str, Any] = {"audience": AUDIENCE, "service_account_email": PUSH_ACCOUNT, **overrides}
    return PubSubPushVerifier(transport=issuer.transport(CERTS_URL), clock=clock or Clock(), **values)


def test_a_token_pubsub_signed_for_our_audience_and_push_account_is_valid(issuer: FakeGoogleIssuer) -> None:
    check = verifier(issuer)
    check.verify(issuer.token())
    check.verify(issuer.token(iss="accounts.google.com"))  # Google writes either form
    assert issuer.fetches == 1  # the certificates are kept as long as their max-age says


def bad_tokens(issuer: FakeGoogleIssuer) -> dict[str, str]:
    now = int(time.time())
    stranger = FakeGoogleIssuer()
    return {
        "wrong audience": issuer.token(aud="https://desk.example/hooks/graph/"),
        "no audience": issuer.token(aud=None),
        "wrong email": issuer.token(email="someone@p2pdesk-test.iam.gserviceaccount.com"),
        "no email": issuer.token(email=None),
        "unverified email": issuer.token(email_verified=False),
        "email_verified as text": issuer.token(email_verified="true"),
        "expired": issuer.token(iat=now - 7200, exp=now - 3600),
        "issued in the future": issuer.token(iat=now + 3600, exp=now + 7200),
        "unsigned": issuer.unsigned_token(),
        "signed with another key": issuer.token(key_pem=stranger.private_pem),
        "unknown key id": stranger.token(),
        "another issuer": issuer.token(iss="https://evil.example"),
        "not a JWT": "not-a-token",
        "tampered payload": _tampered(issuer.token()),
    }


def _tampered(token: str) -> str:
    header, _, signature = token.split(".")
    other = FakeGoogleIssuer().token(email="attacker@evil.example").split(".")[1]
    return f"{header}.{other}.{signature}"


@pytest.mark.parametrize(
    "case",
    [
        "wrong audience",
        "no audience",
        "wrong email",
        "no email",
        "unverified email",
        "email_verified as text",
        "expired",
        "issued in the future",
        "unsigned",
        "signed with another key",
        "unknown key id",
        "another issuer",
        "not a JWT",
        "tampered payload",
    ],
)
def test_tokens_that_do_not_prove_a_pubsub_push_for_us_are_refused(
    issuer: FakeGoogleIssuer, case: str
) -> None:
    token = bad_tokens(issuer)[case]

    with pytest.raises(InvalidPushToken) as refused:
        verifier(issuer).verify(token)

    assert token not in str(refused.value)
    assert all(part not in str(refused.value) for part in token.split(".") if len(part) >= 4)


@pytest.mark.parametrize("missing", ["audience", "service_account_email"])
def test_without_an_audience_and_push_account_every_token_is_refused(
    issuer: FakeGoogleIssuer, missing: str
) -> None:
    with pytest.raises(InvalidPushToken, match="Gmail push is off"):
        verifier(issuer, **{missing: ""}).verify(issuer.token())
    assert issuer.fetches == 0


def test_certificates_are_fetched_again_after_max_age_and_once_when_a_key_is_unknown(
    issuer: FakeGoogleIssuer,
) -> None:
    clock = Clock()
    issuer.max_age = 600
    check = verifier(issuer, clock)
    check.verify(issuer.token())

    clock.now += 601
    check.verify(issuer.token())
    assert issuer.fetches == 2

    # Google rotates its keys: a token signed with a key the cached answer does not have yet.
    rotated = FakeGoogleIssuer(key_id="b1d2e3f4")
    issuer.served[rotated.key_id] = rotated.cert_pem
    with pytest.raises(InvalidPushToken):
        check.verify(rotated.token())  # cached for less than a minute: no refetch for every bad token
    assert issuer.fetches == 2
    clock.now += 61
    check.verify(rotated.token())
    assert issuer.fetches == 3


def test_certificates_that_cannot_be_fetched_refuse_the_token(issuer: FakeGoogleIssuer) -> None:
    down = PubSubPushVerifier(
        audience=AUDIENCE,
        service_account_email=PUSH_ACCOUNT,
        transport=httpx.MockTransport(lambda request: httpx.Response(503)),
    )
    with pytest.raises(InvalidPushToken, match="cannot be fetched"):
        down.verify(issuer.token())


def test_certificates_from_a_real_http_server_on_loopback(issuer: FakeGoogleIssuer) -> None:
    with issuer.serve() as certs_url:
        check = PubSubPushVerifier(audience=AUDIENCE, service_account_email=PUSH_ACCOUNT, certs_url=certs_url)
        check.verify(issuer.token())
        with pytest.raises(InvalidPushToken):
            check.verify(issuer.token(aud="https://elsewhere.example/"))


# -- the subscription table ------------------------------------------------------------------------


@pytest.fixture
def mailbox_ids(tmp_path: Path, settings: Any) -> Iterator[dict[str, int]]:
    settings.P2PDESK_FILES_DIR = tmp_path / "files"
    bootstrap.desk.cache_clear()
    desk = bootstrap.desk()
    team = desk.teams.create(CreateTeam(name="Payments"), SYSTEM)
    ids = {}
    for name in ("payments", "vendors"):
        ids[name] = desk.mailboxes.create(
            SaveMailbox(
                name=name, kind="maildir", settings={"path": str(tmp_path / name)}, default_team_id=team
            ),
            SYSTEM,
        )
    yield ids
    bootstrap.desk.cache_clear()


@pytest.mark.django_db
def test_one_subscription_per_mailbox_is_kept_and_found_by_provider_and_id(
    mailbox_ids: dict[str, int],
) -> None:
    repository = DjangoPushSubscriptionRepository()
    at = datetime(2026, 11, 20, 9, tzinfo=UTC)
    first = StoredPushSubscription(
        mailbox_ids["payments"], "graph", SUBSCRIPTION_ID, "c" * 43, at + timedelta(days=3), at, at
    )
    repository.save(first)
    repository.save(StoredPushSubscription(mailbox_ids["vendors"], "gmail", "v@p2p.example", "", at, at, at))

    renewed = StoredPushSubscription(
        first.mailbox_id,
        "graph",
        SUBSCRIPTION_ID,
        first.client_state,
        at + timedelta(days=4),
        at + timedelta(days=1),
        at,
    )
    repository.save(renewed)

    assert repository.for_mailbox(mailbox_ids["payments"]) == renewed
    assert repository.by_external_ids("graph", [SUBSCRIPTION_ID, "unknown", "x" * 300]) == {
        SUBSCRIPTION_ID: renewed
    }
    assert repository.by_external_ids("gmail", [SUBSCRIPTION_ID]) == {}
    assert len(repository.all()) == 2
    assert "c" * 43 not in repr(renewed)  # the secret stays out of logs

    repository.remove(mailbox_ids["payments"])
    assert repository.for_mailbox(mailbox_ids["payments"]) is None
    assert [s.provider for s in repository.all()] == ["gmail"]


# -- queuing polls through Celery ------------------------------------------------------------------


def write_mail(folder: Path, n: int) -> None:
    message = email.message.EmailMessage()
    message["From"] = "ap@acme.example"
    message["To"] = "ap@p2p.example"
    message["Subject"] = f"Remittance for INV-{n}"
    message["Message-ID"] = f"<push-{n}@acme.example>"
    message.set_content(f"Hello, INV-{n} was paid.")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{n}.eml").write_bytes(message.as_bytes())


def test_the_scheduler_names_tasks_that_exist() -> None:
    celery_app.loader.import_default_modules()
    assert POLL_TASK in celery_app.tasks
    assert RENEW_TASK in celery_app.tasks


@pytest.mark.django_db
def test_without_a_broker_a_scheduled_poll_runs_in_process(
    mailbox_ids: dict[str, int], tmp_path: Path
) -> None:
    write_mail(tmp_path / "payments", 1)

    CeleryPollScheduler().schedule("payments")

    assert TicketRecord.objects.filter(source="email").count() == 1


@pytest.mark.django_db
def test_without_a_broker_a_failing_task_is_logged_not_raised(mailbox_ids: dict[str, int]) -> None:
    with capture_logs() as logs:
        CeleryPollScheduler().schedule("no-such-mailbox")
    assert "push.task_failed_in_process" in [entry["event"] for entry in logs]


def test_with_a_broker_the_task_is_sent_by_name() -> None:
    class Conf:
        task_always_eager = False

    class App:
        conf = Conf()
        sent: list[tuple[str, list[Any]]] = []

        def send_task(self, name: str, args: list[Any]) -> None:
            self.sent.append((name, args))

    app = App()
    scheduler = CeleryPollScheduler(app)  # type: ignore[arg-type]
    scheduler.schedule("payments")
    scheduler.schedule_renewal("payments", recreate=True)

    assert app.sent == [(POLL_TASK, ["payments"]), (RENEW_TASK, ["payments", True])]


@pytest.mark.django_db(transaction=True)
def test_a_poll_queued_by_name_is_run_by_a_real_worker_on_redis(
    mailbox_ids: dict[str, int], tmp_path: Path, redis_worker: str
) -> None:
    for n in (1, 2):
        write_mail(tmp_path / "vendors", n)

    CeleryPollScheduler().schedule("vendors")  # returns once Redis has the message

    deadline = time.monotonic() + 60
    while TicketRecord.objects.filter(source="email").count() < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert TicketRecord.objects.filter(source="email").count() == 2
