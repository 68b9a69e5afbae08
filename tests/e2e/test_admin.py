"""The Django admin lists every model of the desk, and refuses edits that would skip the audit."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(tmp_path: Any, settings: Any) -> Client:
    settings.P2PDESK_DATA_DIR = tmp_path
    settings.P2PDESK_FILES_DIR = tmp_path / "files"
    from p2pdesk import bootstrap

    bootstrap.desk.cache_clear()
    call_command("demo")
    user = get_user_model().objects.create_superuser("root@p2pdesk.example", "root@p2pdesk.example", "pw")
    client = Client()
    client.force_login(user)
    yield client
    bootstrap.desk.cache_clear()


def test_every_desk_model_has_a_working_admin_page(staff: Client) -> None:
    desk_models = [m for m in admin.site._registry if m._meta.app_label == "p2pdesk"]
    assert len(desk_models) >= 12
    for model in desk_models:
        url = f"/admin/p2pdesk/{model._meta.model_name}/"
        response = staff.get(url)
        assert response.status_code == 200, url
        first = model.objects.first()
        if first is not None:
            assert staff.get(f"{url}{first.pk}/change/").status_code == 200, url


@pytest.mark.parametrize("model_name", ["ticketrecord", "teamrecord", "agentrecord", "auditeventrecord"])
def test_audited_models_cannot_be_added_or_deleted_in_the_admin(staff: Client, model_name: str) -> None:
    assert staff.get(f"/admin/p2pdesk/{model_name}/add/").status_code == 403
