"""Users, roles and API tokens: who a request is, in the application's terms."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from rest_framework.authtoken.models import Token

from p2pdesk.application.principal import Principal, Role
from p2pdesk.infrastructure.persistence.models import AgentRecord, MembershipRecord, UserRoleRecord


def principal_for(user: AbstractBaseUser | AnonymousUser) -> Principal | None:
    """The principal of an authenticated user, or None when the user has no role here."""
    if not user.is_authenticated:
        return None
    email = (getattr(user, "email", "") or user.get_username()).lower()
    role_row = UserRoleRecord.objects.filter(user_id=user.pk).first()
    if role_row is not None:
        role = Role(role_row.role)
    elif getattr(user, "is_superuser", False):
        role = Role.ADMIN
    else:
        return None
    team_ids: frozenset[int] = frozenset()
    if role in (Role.AGENT, Role.TEAM_LEAD):
        agent = AgentRecord.objects.filter(email__iexact=email, deleted_at__isnull=True).first()
        if agent is not None:
            team_ids = frozenset(
                MembershipRecord.objects.filter(agent_id=agent.id, team__deleted_at__isnull=True).values_list(
                    "team_id", flat=True
                )
            )
    return Principal(actor=f"user:{email}", role=role, team_ids=team_ids)


@transaction.atomic
def issue_api_token(email: str, role: Role) -> str:
    """Create the user if needed, set its role, and return its API token (one per user)."""
    email = email.strip().lower()
    user_model = get_user_model()
    user, _ = user_model.objects.get_or_create(username=email, defaults={"email": email})
    UserRoleRecord.objects.update_or_create(user=user, defaults={"role": role.value})
    token, _ = Token.objects.get_or_create(user=user)
    return token.key


@transaction.atomic
def set_login(email: str, role: Role, password: str) -> None:
    """Create or update a web login: username = the lower-cased email, with this role and password."""
    email = email.strip().lower()
    user_model = get_user_model()
    user, _ = user_model.objects.get_or_create(username=email, defaults={"email": email})
    user.set_password(password)
    user.save(update_fields=["password"])
    UserRoleRecord.objects.update_or_create(user=user, defaults={"role": role.value})
