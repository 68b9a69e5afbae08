"""ORM models: private to the persistence adapter (import-linter enforces it)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

# Memberships of agents never assigned sort first on this instead of NULL, so one plain b-tree
# index serves the "least recently assigned" order on every database.
NEVER_ASSIGNED = datetime(1970, 1, 1, tzinfo=UTC)

ACTIVE_STATUSES = ("new", "open", "pending")


class TeamRecord(models.Model):
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True, default="")
    timezone = models.CharField(max_length=64, default="UTC")
    is_active = models.BooleanField(default=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "p2pdesk_team"
        verbose_name = "team"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                Lower("name"), condition=Q(deleted_at__isnull=True), name="team_live_name_unique"
            )
        ]

    def __str__(self) -> str:
        return self.name


class AgentRecord(models.Model):
    email = models.EmailField(max_length=254)
    name = models.CharField(max_length=200)
    is_active = models.BooleanField(default=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    teams = models.ManyToManyField(TeamRecord, through="MembershipRecord", related_name="agents")
    # Counters: "today" is the desk's business day (P2PDESK_TIME_ZONE), kept in counters_day.
    counters_day = models.DateField(null=True, blank=True)
    assigned_today = models.PositiveIntegerField(default=0)
    resolved_today = models.PositiveIntegerField(default=0)
    total_assigned = models.PositiveIntegerField(default=0)
    total_resolved = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "p2pdesk_agent"
        verbose_name = "agent"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                Lower("email"), condition=Q(deleted_at__isnull=True), name="agent_live_email_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


class MembershipRecord(models.Model):
    """An agent in a team, with the agent's load in that team's business day (the assignment pool).

    `assigned_on_day` counts assignments since the start of the team's current business day only
    while `last_assigned_at` falls in that day; older rows mean "nothing assigned today".
    """

    team = models.ForeignKey(TeamRecord, on_delete=models.PROTECT, related_name="memberships")
    agent = models.ForeignKey(AgentRecord, on_delete=models.PROTECT, related_name="memberships")
    available = models.BooleanField(default=True)
    assigned_on_day = models.PositiveIntegerField(default=0)
    last_assigned_at = models.DateTimeField(default=NEVER_ASSIGNED)

    class Meta:
        db_table = "p2pdesk_membership"
        constraints = [models.UniqueConstraint(fields=["team", "agent"], name="membership_unique")]
        indexes = [
            models.Index(
                fields=["team", "last_assigned_at", "agent"],
                condition=Q(available=True),
                name="pool_idle_order",
            ),
            models.Index(
                fields=["team", "assigned_on_day", "last_assigned_at", "agent"],
                condition=Q(available=True),
                name="pool_load_order",
            ),
            models.Index(fields=["agent"], name="membership_agent"),
        ]

    def __str__(self) -> str:
        return f"agent {self.agent_id} in team {self.team_id}"


class TicketRecord(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    number = models.BigIntegerField(unique=True)
    subject = models.CharField(max_length=500)
    description = models.TextField(blank=True, default="")
    # No single-column indexes: the composite (team, ...) and (agent, ...) indexes below serve the
    # foreign keys too, and every index is one more write when 100,000 tickets change hands.
    team = models.ForeignKey(TeamRecord, on_delete=models.PROTECT, related_name="tickets", db_index=False)
    agent = models.ForeignKey(
        AgentRecord, on_delete=models.PROTECT, related_name="tickets", null=True, blank=True, db_index=False
    )
    status = models.CharField(max_length=10, default="new")
    priority = models.PositiveSmallIntegerField(default=3)
    requester_email = models.CharField(max_length=254, blank=True, default="")
    source = models.CharField(max_length=10, default="api")
    reference_type = models.CharField(max_length=50, blank=True, default="")
    reference_id = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    # SLA (domain.sla.TicketSla); all empty when no policy covered the ticket when it opened.
    sla_policy = models.ForeignKey(
        "SlaPolicyRecord", on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    sla_state = models.CharField(max_length=10, blank=True, default="")  # "" without SLA
    first_response_due = models.DateTimeField(null=True, blank=True)
    first_response_at_risk_at = models.DateTimeField(null=True, blank=True)
    first_responded_at = models.DateTimeField(null=True, blank=True)
    resolution_due = models.DateTimeField(null=True, blank=True)
    resolution_at_risk_at = models.DateTimeField(null=True, blank=True)
    sla_stopped_at = models.DateTimeField(null=True, blank=True)  # paused (pending) or stopped (resolved)
    sla_resolved = models.BooleanField(default=False)
    sla_breached = models.JSONField(default=list, blank=True)  # targets missed
    sla_escalated = models.JSONField(default=list, blank=True)  # thresholds already escalated
    sla_next_check_at = models.DateTimeField(null=True, blank=True)  # when the escalation task looks next

    class Meta:
        db_table = "p2pdesk_ticket"
        verbose_name = "ticket"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(priority__gte=1, priority__lte=4), name="ticket_priority_1_4"),
            models.CheckConstraint(
                condition=Q(status__in=["new", "open", "pending", "resolved", "closed"]),
                name="ticket_status_known",
            ),
        ]
        # Lists are ordered newest first and paged by (created_at, id); each filter has an index that
        # serves that order, so a page costs the same at 1,000 or 1,000,000 tickets.
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="ticket_recent"),
            models.Index(fields=["team", "-created_at", "-id"], name="ticket_team_recent"),
            models.Index(fields=["team", "status", "-created_at", "-id"], name="ticket_team_status_recent"),
            models.Index(fields=["agent", "-created_at", "-id"], name="ticket_agent_recent"),
            models.Index(fields=["status", "-created_at", "-id"], name="ticket_status_recent"),
            models.Index(fields=["priority", "-created_at", "-id"], name="ticket_priority_recent"),
            models.Index(fields=["requester_email", "-created_at", "-id"], name="ticket_requester_recent"),
            models.Index(fields=["reference_type", "reference_id"], name="ticket_reference"),
            models.Index(
                fields=["agent", "priority", "created_at"],
                condition=Q(status__in=ACTIVE_STATUSES),
                name="ticket_active_by_agent",
            ),
            models.Index(
                fields=["team", "priority", "created_at"],
                condition=Q(status__in=ACTIVE_STATUSES, agent__isnull=True),
                name="ticket_backlog",
            ),
            # The sla_state filter, alone and in a team's tray; tickets without SLA are left out.
            models.Index(
                fields=["sla_state", "-created_at", "-id"],
                condition=~Q(sla_state=""),
                name="ticket_sla_state_recent",
            ),
            models.Index(
                fields=["team", "sla_state", "-created_at", "-id"],
                condition=~Q(sla_state=""),
                name="ticket_team_sla_recent",
            ),
            # The escalation task's "whose next threshold has come": only running clocks are in it.
            models.Index(
                fields=["sla_next_check_at"],
                condition=Q(sla_next_check_at__isnull=False),
                name="ticket_sla_next_check",
            ),
        ]

    def __str__(self) -> str:
        return f"P2P-{self.number:06d} {self.subject}"


class TicketNumberRecord(models.Model):
    """Hands out ticket numbers: each insert takes the next id (gaps after rollbacks are fine)."""

    class Meta:
        db_table = "p2pdesk_ticket_number"

    def __str__(self) -> str:
        return str(self.id)


class AuditEventRecord(models.Model):
    """Append-only: on PostgreSQL a trigger rejects UPDATE, DELETE and TRUNCATE."""

    at = models.DateTimeField()
    actor = models.CharField(max_length=200)
    action = models.CharField(max_length=50)
    entity_type = models.CharField(max_length=20)
    entity_id = models.CharField(max_length=64)
    before = models.JSONField(default=dict)
    after = models.JSONField(default=dict)

    class Meta:
        db_table = "p2pdesk_audit_event"
        verbose_name = "audit event"
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["entity_type", "entity_id", "-id"], name="audit_entity"),
            models.Index(fields=["actor", "-id"], name="audit_actor"),
            models.Index(fields=["at"], name="audit_at"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action} {self.entity_type}:{self.entity_id}"


class IdempotencyKeyRecord(models.Model):
    scope = models.CharField(max_length=200)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    ticket = models.ForeignKey(TicketRecord, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "p2pdesk_idempotency_key"
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="idempotency_scope_key")]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}"


class UserRoleRecord(models.Model):
    """The role of an API or web user: admin, team_lead, agent or integration."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="p2pdesk_role"
    )
    role = models.CharField(
        max_length=20,
        choices=[
            ("admin", "admin"),
            ("team_lead", "team lead"),
            ("agent", "agent"),
            ("integration", "integration"),
        ],
    )

    class Meta:
        db_table = "p2pdesk_user_role"
        verbose_name = "user role"

    def __str__(self) -> str:
        return f"{self.user} ({self.role})"


class MailboxRecord(models.Model):
    KINDS = [("imap", "IMAP"), ("graph", "Microsoft Graph"), ("gmail", "Gmail API"), ("maildir", "Maildir")]

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=10, choices=KINDS)
    address = models.CharField(max_length=254, blank=True, default="")
    settings = models.JSONField(default=dict, blank=True)
    secret_encrypted = models.TextField(blank=True, default="")  # Fernet token; never returned by the API
    default_team = models.ForeignKey(TeamRecord, on_delete=models.PROTECT, related_name="mailboxes")
    enabled = models.BooleanField(default=True)
    acknowledge = models.BooleanField(default=False)
    poll_interval_seconds = models.PositiveIntegerField(default=60)
    cursor = models.JSONField(default=dict, blank=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "p2pdesk_mailbox"
        verbose_name = "mailbox"
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"


class InboundMessageRecord(models.Model):
    """Every message taken in, whatever became of it. Unique per mailbox and key: exactly once."""

    mailbox = models.ForeignKey(MailboxRecord, on_delete=models.PROTECT, related_name="inbound")
    key_sha256 = models.CharField(max_length=64)  # digest of the Message-ID (or of the raw bytes)
    message_id = models.TextField(blank=True, default="")
    raw_sha256 = models.CharField(max_length=64)
    raw_key = models.CharField(max_length=200, blank=True, default="")
    outcome = models.CharField(max_length=12)
    reason = models.TextField(blank=True, default="")
    ticket = models.ForeignKey(
        TicketRecord, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    received_at = models.DateTimeField()

    class Meta:
        db_table = "p2pdesk_inbound_message"
        constraints = [
            models.UniqueConstraint(fields=["mailbox", "key_sha256"], name="inbound_once_per_mailbox")
        ]
        indexes = [models.Index(fields=["outcome", "-received_at"], name="inbound_outcome_recent")]

    def __str__(self) -> str:
        return f"{self.outcome} {self.message_id or self.raw_sha256}"


class TicketMessageRecord(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    ticket = models.ForeignKey(TicketRecord, on_delete=models.PROTECT, related_name="messages")
    direction = models.CharField(max_length=10)
    message_id = models.TextField(blank=True, default="")
    message_id_sha256 = models.CharField(max_length=64, blank=True, default="", db_index=True)
    in_reply_to = models.TextField(blank=True, default="")
    from_address = models.CharField(max_length=254, blank=True, default="")
    to = models.JSONField(default=list)
    cc = models.JSONField(default=list)
    subject = models.TextField(blank=True, default="")
    text = models.TextField(blank=True, default="")
    html = models.TextField(blank=True, default="")  # sanitised; "" when the message had no HTML
    author = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField()

    class Meta:
        db_table = "p2pdesk_ticket_message"
        verbose_name = "ticket message"
        indexes = [models.Index(fields=["ticket", "created_at"], name="thread_order")]

    def __str__(self) -> str:
        return f"{self.direction} {self.subject[:60]}"


class AttachmentRecord(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    message = models.ForeignKey(TicketMessageRecord, on_delete=models.PROTECT, related_name="attachments")
    position = models.PositiveSmallIntegerField(default=0)
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=255)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    storage_key = models.CharField(max_length=200, blank=True, default="")  # "" when not stored
    inline = models.BooleanField(default=False)
    content_id = models.CharField(max_length=255, blank=True, default="")
    skipped_reason = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        db_table = "p2pdesk_attachment"
        ordering = ["message", "position"]

    def __str__(self) -> str:
        return self.filename


class QuarantineRecord(models.Model):
    """A message that could not be parsed or processed, kept raw with the reason, to retry."""

    mailbox = models.ForeignKey(MailboxRecord, on_delete=models.PROTECT, related_name="quarantine")
    raw_key = models.CharField(max_length=200)
    raw_sha256 = models.CharField(max_length=64)
    reason = models.TextField()
    attempts = models.PositiveIntegerField(default=1)
    resolved_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=12, blank=True, default="")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        db_table = "p2pdesk_quarantine"
        verbose_name = "quarantined message"
        constraints = [
            models.UniqueConstraint(fields=["mailbox", "raw_sha256"], name="quarantine_once_per_message")
        ]

    def __str__(self) -> str:
        return f"{self.raw_sha256[:12]}: {self.reason[:60]}"


class MailboxSubscriptionRecord(models.Model):
    """A mailbox's push subscription at its provider (a Graph subscription, a Gmail watch)."""

    mailbox = models.ForeignKey(MailboxRecord, on_delete=models.CASCADE, related_name="push_subscriptions")
    provider = models.CharField(max_length=10)  # the mailbox kind it was made for: graph, gmail
    external_id = models.CharField(max_length=255)  # Graph's subscription id; the address for Gmail
    # The secret Graph echoes in each notification ("" for Gmail). Not encrypted: all it can do is
    # make the desk poll a mailbox early.
    client_state = models.CharField(max_length=128, blank=True, default="")
    expires_at = models.DateTimeField()
    renewed_at = models.DateTimeField()
    created_at = models.DateTimeField()

    class Meta:
        db_table = "p2pdesk_mailbox_subscription"
        verbose_name = "mailbox push subscription"
        constraints = [models.UniqueConstraint(fields=["mailbox"], name="one_push_subscription_per_mailbox")]
        indexes = [models.Index(fields=["provider", "external_id"], name="push_subscription_lookup")]

    def __str__(self) -> str:
        return f"{self.provider} {self.external_id}"


class RoutingRuleRecord(models.Model):
    """A routing rule (domain.routing_rules); conditions and actions kept as the API shows them."""

    name = models.CharField(max_length=100)
    position = models.PositiveIntegerField(default=0)
    enabled = models.BooleanField(default=True)
    match = models.CharField(max_length=3, default="all")
    conditions = models.JSONField(default=list)
    actions = models.JSONField(default=dict)
    stop = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "p2pdesk_routing_rule"
        verbose_name = "routing rule"
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(Lower("name"), name="routing_rule_name_unique")]

    def __str__(self) -> str:
        return f"{self.position}: {self.name}"


class TicketRoutingRecord(models.Model):
    """How a routed ticket's team was decided; tickets opened with a team have none."""

    ticket = models.OneToOneField(
        TicketRecord, on_delete=models.PROTECT, primary_key=True, related_name="routing"
    )
    decided_by = models.CharField(max_length=120)
    confidence = models.FloatField(null=True, blank=True)
    tags = models.JSONField(default=list, blank=True)

    class Meta:
        db_table = "p2pdesk_ticket_routing"
        verbose_name = "ticket routing"

    def __str__(self) -> str:
        return self.decided_by


class TicketReferenceRecord(models.Model):
    """A reference found in a ticket's message (PO, invoice, vendor, GRN, amount, masked bank details)."""

    ticket = models.ForeignKey(TicketRecord, on_delete=models.PROTECT, related_name="references")
    type = models.CharField(max_length=50)
    value = models.CharField(max_length=200)

    class Meta:
        db_table = "p2pdesk_ticket_reference"
        verbose_name = "ticket reference"
        ordering = ["ticket", "id"]
        constraints = [
            models.UniqueConstraint(fields=["ticket", "type", "value"], name="ticket_reference_once")
        ]
        indexes = [
            models.Index(fields=["type", "value"], name="ticket_reference_lookup"),
            models.Index(fields=["value"], name="ticket_reference_value"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.value}"


class RoutingCorrectionRecord(models.Model):
    """A person moved a routed ticket to another team: a misroute, and a training example."""

    ticket = models.ForeignKey(TicketRecord, on_delete=models.PROTECT, related_name="+")
    from_team = models.ForeignKey(TeamRecord, on_delete=models.PROTECT, related_name="+")
    to_team = models.ForeignKey(TeamRecord, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()

    class Meta:
        db_table = "p2pdesk_routing_correction"
        verbose_name = "routing correction"
        indexes = [models.Index(fields=["at"], name="routing_correction_at")]

    def __str__(self) -> str:
        return f"{self.ticket_id}: {self.from_team_id} -> {self.to_team_id}"


class ImportedRoutingExampleRecord(models.Model):
    """Labelled mail from before the desk (`train_router --import`): training data kept for every
    later training, like resolved tickets. `digest` makes importing the same file again a no-op."""

    subject = models.TextField()
    body = models.TextField()
    team = models.ForeignKey(TeamRecord, on_delete=models.CASCADE, related_name="+")
    digest = models.CharField(max_length=64, unique=True)  # sha256 of subject, body and team id
    source = models.CharField(max_length=255)  # the file's name, for whoever wonders later
    imported_at = models.DateTimeField()

    class Meta:
        db_table = "p2pdesk_imported_routing_example"
        verbose_name = "imported routing example"

    def __str__(self) -> str:
        return f"{self.source}: {self.subject[:60]}"


class RouterModelRecord(models.Model):
    """A trained routing classifier, versioned; at most one is active."""

    version = models.PositiveIntegerField(unique=True)
    created_at = models.DateTimeField()
    is_active = models.BooleanField(default=False)
    # The pickled model and its HMAC under the desk's key: a blob changed by anyone without the
    # key (e.g. through the database alone) is refused before it is unpickled.
    blob = models.BinaryField()
    signature = models.CharField(max_length=64)
    examples = models.PositiveIntegerField(default=0)
    metrics = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "p2pdesk_router_model"
        verbose_name = "router model"
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"], condition=Q(is_active=True), name="one_active_router_model"
            )
        ]

    def __str__(self) -> str:
        return f"v{self.version}{' (active)' if self.is_active else ''}"


class CalendarRecord(models.Model):
    """A business calendar (domain.calendars.BusinessCalendar)."""

    name = models.CharField(max_length=100)
    timezone = models.CharField(max_length=64)
    working_days = models.JSONField(default=list)  # weekday numbers, 0 = Monday
    start_minute = models.PositiveSmallIntegerField()
    end_minute = models.PositiveSmallIntegerField()
    holidays = models.JSONField(default=list, blank=True)  # ISO dates
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "p2pdesk_sla_calendar"
        verbose_name = "business calendar"
        ordering = ["name"]
        constraints = [models.UniqueConstraint(Lower("name"), name="calendar_name_unique")]

    def __str__(self) -> str:
        return self.name


class SlaPolicyRecord(models.Model):
    """A team's SLA targets for one priority (domain.sla.SlaPolicy); deactivated, never deleted."""

    team = models.ForeignKey(TeamRecord, on_delete=models.PROTECT, related_name="sla_policies")
    priority = models.PositiveSmallIntegerField()
    calendar = models.ForeignKey(CalendarRecord, on_delete=models.PROTECT, related_name="policies")
    first_response_minutes = models.PositiveIntegerField()
    resolution_minutes = models.PositiveIntegerField()
    at_risk_share = models.FloatField(default=0.8)
    at_risk_actions = models.JSONField(default=list, blank=True)
    breach_actions = models.JSONField(default=list, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "p2pdesk_sla_policy"
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"
        ordering = ["team", "priority"]
        constraints = [
            models.UniqueConstraint(fields=["team", "priority"], name="sla_policy_per_team_priority"),
            models.CheckConstraint(
                condition=Q(priority__gte=1, priority__lte=4), name="sla_policy_priority_1_4"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.team} P{self.priority}"


class SlaEscalationRecord(models.Model):
    """One escalation of one ticket at one threshold: the unique key makes it happen once."""

    ticket = models.ForeignKey(TicketRecord, on_delete=models.PROTECT, related_name="+")
    threshold = models.CharField(max_length=32)  # e.g. "resolution.breached"
    at = models.DateTimeField()

    class Meta:
        db_table = "p2pdesk_sla_escalation"
        verbose_name = "SLA escalation"
        constraints = [
            models.UniqueConstraint(fields=["ticket", "threshold"], name="sla_escalation_once_per_threshold")
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.threshold}"
