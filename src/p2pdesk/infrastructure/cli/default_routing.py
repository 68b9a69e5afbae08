"""The shipped routing rule set (default_routing.json) and loading it into a desk."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from p2pdesk.application.principal import Principal
from p2pdesk.application.use_cases.load_default_routing import (
    DefaultRouting,
    LoadedRouting,
    parse_default_routing,
)
from p2pdesk.bootstrap import Desk

DEFAULT_ROUTING_FILE = Path(__file__).with_name("default_routing.json")


def default_routing_data() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DEFAULT_ROUTING_FILE.read_text(encoding="utf-8"))
    return data


def default_routing() -> DefaultRouting:
    return parse_default_routing(default_routing_data())


def load_default_routing(desk: Desk, actor: Principal, *, update: bool = False) -> LoadedRouting:
    """Add the shipped teams and rules that are missing; with `update`, also bring shipped rules
    that exist by name to this version and disable retired ones (see LoadDefaultRoutingHandler)."""
    return desk.load_default_routing(default_routing(), actor, update=update)
