"""While the database or the broker is down the service answers 503 with a JSON body, within its
connect timeouts, and recovers by itself once the dependency is back: real refused and silent
connections on loopback, no mocks."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection
from kombu.exceptions import OperationalError as BrokerOperationalError
from rest_framework.test import APIClient

from config import celery_app
from p2pdesk import bootstrap
from p2pdesk.application.principal import Role
from p2pdesk.infrastructure.api.errors import exception_handler
from p2pdesk.infrastructure.events.scheduling import CeleryPollScheduler
from tests.integration.conftest import redis_test_url


@pytest.fixture
def closed_port() -> int:
    """A loopback port nobody listens on: connections are refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts TCP connections and never says a word (a hung server)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(64)
        yield int(s.getsockname()[1])


def finishes(call: Callable[[], Any], within: float = 30.0) -> Any:
    """Run `call`, failing the test instead of hanging it if it does not return (the bound is far
    above the connect timeouts; it guards against a hang, it does not measure speed)."""
    outcome: list[tuple[bool, Any]] = []

    def run() -> None:
        try:
            outcome.append((True, call()))
        except Exception as error:
            outcome.append((False, error))

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(within)
    assert outcome, f"no answer within {within} s: the call hangs"
    returned, value = outcome[0]
    if not returned:
        raise value
    return value


@pytest.fixture
def database_moved() -> Iterator[Callable[[str], None]]:
    """Point this process's database connection at another port; put it back afterwards."""
    original = {**connection.settings_dict, "OPTIONS": dict(connection.settings_dict["OPTIONS"])}

    def move(port: str) -> None:
        connection.close()
        connection.settings_dict["PORT"] = port
        connection.settings_dict["OPTIONS"]["connect_timeout"] = 1

    yield move
    connection.close()
    connection.settings_dict.update(original)


@pytest.fixture
def token(transactional_db: None) -> str:
    return bootstrap.issue_api_token("ops@p2pdesk.example", Role.ADMIN)


def authorized(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


@pytest.mark.postgres
@pytest.mark.parametrize("outage", ["refused", "silent"])
def test_database_down_is_503_json_then_recovers(
    token: str, database_moved: Callable[[str], None], closed_port: int, silent_port: int, outage: str
) -> None:
    client = authorized(token)
    assert client.get("/api/v1/teams/").status_code == 200
    port = connection.settings_dict["PORT"]

    database_moved(str(closed_port if outage == "refused" else silent_port))
    ready = finishes(lambda: client.get("/readyz"))
    assert ready.status_code == 503
    assert ready.json()["status"] == "unavailable"
    assert ready.json()["checks"]["database"] == "OperationalError"
    assert ready["Retry-After"] == "5"
    api = finishes(lambda: client.get("/api/v1/teams/"))
    assert (api.status_code, api.json()["code"]) == (503, "database_unavailable")
    assert client.get("/healthz").status_code == 200  # liveness never depends on the database

    database_moved(port)  # back: the next request reconnects by itself
    assert client.get("/readyz").status_code == 200
    assert client.get("/api/v1/teams/").status_code == 200


@pytest.fixture
def broker_at() -> Iterator[Callable[[str], None]]:
    previous = {k: celery_app.conf[k] for k in ("broker_url", "task_always_eager")}

    def point(url: str) -> None:
        celery_app.conf.update(broker_url=url, task_always_eager=False)
        celery_app._after_fork()  # drop producer connections made for the previous broker

    yield point
    celery_app.conf.update(previous)
    celery_app._after_fork()


@pytest.mark.django_db
def test_broker_down_makes_readyz_503_and_publishing_a_503_error(
    broker_at: Callable[[str], None], closed_port: int
) -> None:
    client = APIClient()
    broker_at(redis_test_url())
    ready = client.get("/readyz")
    assert (ready.status_code, ready.json()["checks"]["broker"]) == (200, "ok")

    broker_at(f"redis://127.0.0.1:{closed_port}/0")
    ready = finishes(lambda: client.get("/readyz"))
    assert ready.status_code == 503
    assert ready.json()["checks"] == {"database": "ok", "broker": "OperationalError"}

    with pytest.raises(BrokerOperationalError) as raised:
        finishes(lambda: CeleryPollScheduler(celery_app).schedule("payments"))
    response = exception_handler(raised.value, {})
    assert (response.status_code, response.data["code"]) == (503, "broker_unavailable")

    broker_at(redis_test_url())
    assert client.get("/readyz").status_code == 200
