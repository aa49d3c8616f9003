"""The Kubernetes manifests as ``kubectl kustomize`` renders them (skipped without kubectl),
validated with ``kubernetes-validate`` (Kubernetes 1.31 schemas, strict) when installed."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from deploy_model import (
    AUTOSCALED,
    NAMESPACE,
    OVERLAYS,
    SERVICES,
    WORKERS,
    MeshService,
    container,
    find,
    k8s_env,
    kustomize,
)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_rendered_kustomization_is_valid_kubernetes(overlay: str) -> None:
    validator = pytest.importorskip(
        "kubernetes_validate", reason="pip install kubernetes-validate==1.37.0"
    )
    for obj in kustomize(overlay):
        validator.validate(obj, "1.31.0", strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_but_the_namespace_lands_in_the_mesh_namespace(overlay: str) -> None:
    objects = kustomize(overlay)
    assert find(objects, "Namespace", NAMESPACE)
    misplaced = [
        (o["kind"], o["metadata"]["name"])
        for o in objects
        if o["kind"] != "Namespace" and o["metadata"].get("namespace") != NAMESPACE
    ]
    assert not misplaced


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
def test_deployment_and_service_expose_the_default_port_and_probe_health(
    service: MeshService, k8s_base: list[dict[str, Any]]
) -> None:
    deployment = find(k8s_base, "Deployment", service.name)
    c = container(k8s_base, service.name)
    assert c["ports"] == [{"name": "http", "containerPort": service.port}]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        # The orchestrator's readiness is /ready: 503 while it drains (a rolling update).
        path = (
            "/ready" if probe == "readinessProbe" and service.name == "orchestrator" else "/health"
        )
        assert c[probe]["httpGet"] == {"path": path, "port": "http"}, probe
    svc = find(k8s_base, "Service", service.name)
    assert svc["spec"]["ports"] == [{"name": "http", "port": service.port, "targetPort": "http"}]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert svc["spec"]["selector"].items() <= pod_labels.items()
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    env = k8s_env(k8s_base, service.name)
    assert env[f"{service.prefix}PORT"] == str(service.port)
    assert env[f"{service.prefix}HOST"] == "0.0.0.0"
    assert env["OTEL_SERVICE_NAME"] == service.name


def test_every_container_has_resource_requests_and_limits(k8s_base: list[dict[str, Any]]) -> None:
    for deployment in (o for o in k8s_base if o["kind"] == "Deployment"):
        for c in deployment["spec"]["template"]["spec"]["containers"]:
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= c["resources"][bound].keys(), c["name"]


def test_orchestrator_and_text_workers_autoscale(k8s_base: list[dict[str, Any]]) -> None:
    hpas = [o for o in k8s_base if o["kind"] == "HorizontalPodAutoscaler"]
    assert {h["spec"]["scaleTargetRef"]["name"] for h in hpas} == AUTOSCALED
    for hpa in hpas:
        find(k8s_base, "Deployment", hpa["spec"]["scaleTargetRef"]["name"])
        assert 1 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
def test_gpu_workers_request_a_gpu_on_gpu_nodes_and_cpu_only_drops_it(
    service: MeshService, k8s_base: list[dict[str, Any]], k8s_cpu: list[dict[str, Any]]
) -> None:
    base_pod = find(k8s_base, "Deployment", service.name)["spec"]["template"]["spec"]
    gpus = container(k8s_base, service.name)["resources"]["limits"].get("nvidia.com/gpu")
    if service.gpu:
        assert gpus == 1
        assert base_pod["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
        assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in base_pod[
            "tolerations"
        ]
    else:
        assert gpus is None and "nodeSelector" not in base_pod
    cpu_pod = find(k8s_cpu, "Deployment", service.name)["spec"]["template"]["spec"]
    cpu_container = container(k8s_cpu, service.name)
    assert "nvidia.com/gpu" not in cpu_container["resources"]["limits"]
    assert "nodeSelector" not in cpu_pod and "tolerations" not in cpu_pod
    assert not cpu_container["image"].endswith("-cuda")
    claims = {
        v["persistentVolumeClaim"]["claimName"]
        for v in cpu_pod.get("volumes", [])
        if "persistentVolumeClaim" in v
    }
    assert all(
        any(
            o["kind"] == "PersistentVolumeClaim" and o["metadata"]["name"] == claim for o in k8s_cpu
        )
        for claim in claims
    ), claims


@pytest.mark.parametrize("service", WORKERS, ids=lambda s: s.name)
def test_k8s_worker_registers_its_service_dns_name_and_pod_name(
    service: MeshService, k8s_base: list[dict[str, Any]]
) -> None:
    env = k8s_env(k8s_base, service.name)
    assert env["WORKER_PUBLIC_URL"] == f"http://{service.name}.{NAMESPACE}.svc:{service.port}"
    assert env["WORKER_INSTANCE_ID"] == {"fieldRef": {"fieldPath": "metadata.name"}}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_in_cluster_url_names_a_service_port_that_exists(overlay: str) -> None:
    objects = kustomize(overlay)
    text = yaml.safe_dump_all(objects)
    urls = set(re.findall(r"https?://([a-z0-9-]+)\.([a-z0-9-]+)\.svc:(\d+)", text))
    assert urls
    for name, namespace, port in urls:
        svc = find(objects, "Service", name)
        assert svc["metadata"]["namespace"] == namespace
        assert int(port) in {p["port"] for p in svc["spec"]["ports"]}, (name, port)


def test_manifests_keep_no_credentials(k8s_base: list[dict[str, Any]]) -> None:
    assert not [o for o in k8s_base if o["kind"] == "Secret"]
    orchestrator = k8s_env(k8s_base, "orchestrator")
    assert "secretKeyRef" in orchestrator["ORCH_DATABASE_URL"]


def test_two_orchestrator_replicas_share_runs_without_affinity_and_drain_on_update(
    k8s_base: list[dict[str, Any]],
) -> None:
    deployment = find(k8s_base, "Deployment", "orchestrator")
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    pod = deployment["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] >= 20
    env = container(k8s_base, "orchestrator")["env"]
    replica = next(e for e in env if e["name"] == "ORCH_REPLICA_ID")
    assert replica["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert "secretKeyRef" in k8s_env(k8s_base, "orchestrator")["ORCH_DATABASE_URL"]
    svc = find(k8s_base, "Service", "orchestrator")
    assert svc["spec"].get("sessionAffinity", "None") == "None"
    pdb = find(k8s_base, "PodDisruptionBudget", "orchestrator")
    assert pdb["spec"]["minAvailable"] == 1
    hpa = find(k8s_base, "HorizontalPodAutoscaler", "orchestrator")
    assert hpa["spec"]["minReplicas"] >= 2
