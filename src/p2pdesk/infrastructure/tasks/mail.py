"""Polling mailboxes on schedule: beat enqueues due mailboxes, workers poll one mailbox per task.

A mailbox is polled by one worker at a time (the use case's advisory lock; a second task for it
returns at once), so mailboxes are polled in parallel and a slow one delays nobody else.

Push: the hooks queue `poll_mailbox_task` (and `renew_push_subscription_task` for Graph's lifecycle
events) by name through bootstrap's PollScheduler; beat runs `renew_push_subscriptions_task` hourly.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from celery import shared_task

from p2pdesk import bootstrap
from p2pdesk.application.use_cases.poll_mailboxes import PollMailboxes
from p2pdesk.application.use_cases.push_notifications import RenewPushSubscriptions, renewal_summary

log = structlog.get_logger(__name__)

MAX_BACKOFF_SECONDS = 15 * 60


class MailboxPollFailed(Exception):
    pass


class PushRenewalFailed(Exception):
    pass


def backoff_with_jitter(retries: int, base: float = 10.0) -> float:
    """Exponential backoff with full jitter: a mailbox outage does not make every worker retry at once."""
    return random.uniform(0, min(MAX_BACKOFF_SECONDS, base * 2**retries))  # jitter, not crypto


@shared_task(bind=True, acks_late=True, max_retries=8)
def poll_mailbox_task(self: Any, mailbox: str) -> dict[str, Any]:
    [result] = bootstrap.desk().poll_mailboxes(PollMailboxes(mailbox=mailbox))
    summary = {"mailbox": result.mailbox, "outcomes": dict(result.outcomes), "error": result.error}
    if result.error is not None and not self.request.is_eager:  # in process, the next poll is the retry
        log.warning("mailbox.poll_failed", mailbox=mailbox, error=result.error, retry=self.request.retries)
        delay = backoff_with_jitter(self.request.retries)
        raise self.retry(exc=MailboxPollFailed(result.error), countdown=delay)
    log.info("mailbox.polled", **summary)
    return summary


@shared_task(acks_late=True)
def poll_due_mailboxes_task() -> list[str]:
    """Enqueue a poll for each enabled mailbox whose interval has passed since its last poll."""
    now = datetime.now(UTC)
    due = [
        m.name
        for m in bootstrap.desk().intake_queries.mailboxes()
        if m.enabled
        and (m.last_polled_at is None or m.last_polled_at + timedelta(seconds=m.poll_interval_seconds) <= now)
    ]
    for name in due:
        poll_mailbox_task.delay(name)
    return due


@shared_task(acks_late=True)
def renew_push_subscriptions_task() -> dict[str, str]:
    """Create missing push subscriptions, renew those past half-life, stop those no longer wanted."""
    results = bootstrap.desk().renew_push_subscriptions(RenewPushSubscriptions())
    summary = renewal_summary(results)
    if summary:
        log.info("push.renewed", subscriptions=summary)
    return summary


@shared_task(bind=True, acks_late=True, max_retries=5)
def renew_push_subscription_task(self: Any, mailbox: str, recreate: bool = False) -> dict[str, str]:
    """Graph asked for it: renew now (reauthorizationRequired), or make a new one and poll
    (subscriptionRemoved: whatever arrived meanwhile was never notified)."""
    results = bootstrap.desk().renew_push_subscriptions(
        RenewPushSubscriptions(mailbox=mailbox, force=True, recreate=recreate)
    )
    if recreate:
        poll_mailbox_task.delay(mailbox)
    summary = renewal_summary(results)
    failed = [r for r in results if r.outcome == "failed"]
    if failed and not self.request.is_eager:
        log.warning("push.renewal_failed", mailbox=mailbox, error=failed[0].error, retry=self.request.retries)
        delay = backoff_with_jitter(self.request.retries)
        raise self.retry(exc=PushRenewalFailed(failed[0].error), countdown=delay)
    log.info("push.renewed", subscriptions=summary)
    return summary
