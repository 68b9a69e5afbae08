"""Errors raised by domain rules. Each carries a stable machine-readable code."""

from __future__ import annotations


class DomainError(Exception):
    code = "domain_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class IllegalTransition(DomainError):
    code = "illegal_transition"


class InvalidValue(DomainError):
    code = "invalid_value"


class TeamUnavailable(DomainError):
    code = "team_unavailable"


class AgentUnavailable(DomainError):
    code = "agent_unavailable"
