"""The Kubernetes manifests, rendered by kustomize and validated offline: every built-in kind against
the Kubernetes OpenAPI schemas bundled in kubernetes-validate (strict: unknown fields fail), KEDA's
ScaledObject against deploy/k8s/schemas/, then the properties the deployment relies on."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = sorted(p for p in (K8S / "overlays").iterdir() if p.is_dir())
# The oldest Kubernetes the manifests promise to work on (preStop `sleep` needs 1.30) and the newest
# whose schemas kubernetes-validate bundles.
KUBERNETES_VERSIONS = ["1.30.0", kubernetes_validate.latest_version()]
CUSTOM_SCHEMAS = {
    ("keda.sh/v1alpha1", "ScaledObject"): K8S / "schemas" / "keda.sh-v1alpha1-scaledobject.json"
}
SECRET_ENV = {"SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL", "P2PDESK_ENCRYPTION_KEY", "SENTRY_DSN"}


def render(path: Path) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI renders the manifests with `kubectl kustomize`; kubectl is missing")
        pytest.skip("needs kubectl (its built-in kustomize) to render the manifests")
    out = subprocess.run(  # noqa: S603 (kubectl from PATH, fixed arguments)
        [kubectl, "kustomize", str(path)], capture_output=True, text=True, check=True, timeout=120
    )
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


@pytest.fixture(scope="module", params=OVERLAYS, ids=lambda p: p.name)
def resources(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return render(request.param)


def by_kind(resources: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {r["metadata"]["name"]: r for r in resources if r["kind"] == kind}


def pod_spec(resource: dict[str, Any]) -> dict[str, Any]:
    return resource["spec"]["template"]["spec"]


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_resource_is_valid_against_the_kubernetes_schemas(
    resources: list[dict[str, Any]], version: str
) -> None:
    for resource in resources:
        custom = CUSTOM_SCHEMAS.get((resource["apiVersion"], resource["kind"]))
        if custom is not None:
            jsonschema.validate(resource, json.loads(custom.read_text()))
        else:
            kubernetes_validate.validate(resource, version, strict=True)


def test_the_custom_schema_catches_a_typo(resources: list[dict[str, Any]]) -> None:
    scaled = dict(by_kind(resources, "ScaledObject")["p2pdesk-worker"])
    scaled["spec"] = {**scaled["spec"], "maxReplicas": 3}  # the HPA's name, not KEDA's maxReplicaCount
    schema = json.loads(CUSTOM_SCHEMAS[("keda.sh/v1alpha1", "ScaledObject")].read_text())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(scaled, schema)


def test_web_worker_and_beat_run_the_same_image_with_probes_on_web(resources: list[dict[str, Any]]) -> None:
    deployments = by_kind(resources, "Deployment")
    assert set(deployments) == {"p2pdesk-web", "p2pdesk-worker", "p2pdesk-beat"}
    images = {c["image"] for d in deployments.values() for c in pod_spec(d)["containers"]}
    job = by_kind(resources, "Job")["p2pdesk-migrate"]
    assert images == {pod_spec(job)["containers"][0]["image"]}
    web = pod_spec(deployments["p2pdesk-web"])["containers"][0]
    assert web["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert web["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert pod_spec(job)["containers"][0]["command"][:2] == ["p2pdesk", "migrate"]


def test_beat_is_a_single_replica_replaced_not_rolled(resources: list[dict[str, Any]]) -> None:
    beat = by_kind(resources, "Deployment")["p2pdesk-beat"]
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"]["type"] == "Recreate"
    scaled_targets = {
        s["spec"]["scaleTargetRef"]["name"] for s in by_kind(resources, "ScaledObject").values()
    }
    hpa_targets = {
        h["spec"]["scaleTargetRef"]["name"] for h in by_kind(resources, "HorizontalPodAutoscaler").values()
    }
    assert "p2pdesk-beat" not in scaled_targets | hpa_targets


def test_web_scales_on_cpu_and_workers_on_the_celery_queue(resources: list[dict[str, Any]]) -> None:
    hpa = by_kind(resources, "HorizontalPodAutoscaler")["p2pdesk-web"]
    assert hpa["spec"]["scaleTargetRef"]["name"] == "p2pdesk-web"
    assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"]
    scaled = by_kind(resources, "ScaledObject")["p2pdesk-worker"]
    assert scaled["spec"]["scaleTargetRef"]["name"] == "p2pdesk-worker"
    [trigger] = scaled["spec"]["triggers"]
    assert (trigger["type"], trigger["metadata"]["listName"]) == ("redis", "celery")
    # KEDA reads the Redis address and password from the worker container's env, i.e. the Secret.
    worker_env = {
        e["name"]: e
        for e in pod_spec(by_kind(resources, "Deployment")["p2pdesk-worker"])["containers"][0]["env"]
    }
    for key in ("addressFromEnv", "passwordFromEnv"):
        assert "secretKeyRef" in worker_env[trigger["metadata"][key]]["valueFrom"]


def test_web_and_workers_have_disruption_budgets(resources: list[dict[str, Any]]) -> None:
    budgets = by_kind(resources, "PodDisruptionBudget")
    deployments = by_kind(resources, "Deployment")
    for name in ("p2pdesk-web", "p2pdesk-worker"):
        selector = budgets[name]["spec"]["selector"]["matchLabels"]
        labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= labels.items()


def test_secrets_are_referenced_never_written(resources: list[dict[str, Any]]) -> None:
    assert by_kind(resources, "Secret") == {}
    workloads = [*by_kind(resources, "Deployment").values(), *by_kind(resources, "Job").values()]
    for workload in workloads:
        spec = pod_spec(workload)
        for container in spec["containers"] + spec.get("initContainers", []):
            for env in container.get("env", []):
                if env["name"] in SECRET_ENV:
                    assert "value" not in env, (workload["metadata"]["name"], env["name"])
                    assert env["valueFrom"]["secretKeyRef"]["name"] == "p2pdesk-secrets"
    for config in by_kind(resources, "ConfigMap").values():
        assert not SECRET_ENV & set(config["data"])


def test_pods_run_as_non_root_without_privileges(resources: list[dict[str, Any]]) -> None:
    workloads = [*by_kind(resources, "Deployment").values(), *by_kind(resources, "Job").values()]
    for workload in workloads:
        spec = pod_spec(workload)
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["runAsUser"] != 0
        for container in spec["containers"] + spec.get("initContainers", []):
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]


def test_web_drains_before_it_is_killed(resources: list[dict[str, Any]]) -> None:
    """Kubernetes' grace period must cover the preStop pause plus gunicorn's graceful timeout."""
    web = by_kind(resources, "Deployment")["p2pdesk-web"]
    config = by_kind(resources, "ConfigMap")["p2pdesk-config"]["data"]
    container = pod_spec(web)["containers"][0]
    pause = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert pod_spec(web)["terminationGracePeriodSeconds"] > pause + int(config["GUNICORN_GRACEFUL_TIMEOUT"])
