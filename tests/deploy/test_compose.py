"""The compose model (``compose/render.py`` merges the files as ``docker compose config`` does),
validated against the Compose Specification's JSON schema when jsonschema is installed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from deploy_model import (
    COMPOSE_CPU_FILES,
    COMPOSE_FILES,
    COMPOSE_MTLS_FILES,
    REPO,
    SERVICES,
    WORKERS,
    MeshService,
    find,
    render_compose,
)


@pytest.mark.parametrize(
    "files", [COMPOSE_FILES, COMPOSE_CPU_FILES, COMPOSE_MTLS_FILES], ids=["gpu", "cpu", "mtls"]
)
def test_compose_model_is_valid_against_the_compose_specification(files: list[Path]) -> None:
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema not installed")
    schema = json.loads((REPO / "tests" / "data" / "compose-spec.json").read_text())
    validator_class = jsonschema.validators.validator_for(schema)
    validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)
    errors = [
        f"{list(e.absolute_path)}: {e.message}"
        for e in validator.iter_errors(render_compose(files))
    ]
    assert not errors


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
def test_compose_service_listens_on_its_default_port_with_a_health_check(
    service: MeshService, compose: dict[str, Any]
) -> None:
    spec = compose["services"][service.name]
    assert spec["environment"][f"{service.prefix}PORT"] == str(service.port)
    assert spec["environment"][f"{service.prefix}HOST"] == "0.0.0.0"
    if service.prefix != "WORKER_":  # workers are reached inside the compose network only
        assert f"{service.port}:{service.port}" in spec["ports"]
    assert "/usr/local/bin/mesh-healthcheck" in spec["healthcheck"]["test"]
    assert spec["environment"]["OTEL_SERVICE_NAME"] == service.name
    assert spec["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://jaeger:4318"


def test_compose_waits_only_on_health_checks_that_exist(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, spec in services.items():
        for target, rule in spec.get("depends_on", {}).items():
            assert target in services, f"{name} depends on unknown {target}"
            if rule["condition"] == "service_healthy":
                assert "healthcheck" in services[target], f"{name} waits on {target}"


@pytest.mark.parametrize("service", WORKERS, ids=lambda s: s.name)
def test_compose_worker_registers_a_url_other_containers_can_reach(
    service: MeshService, compose: dict[str, Any]
) -> None:
    env = compose["services"][service.name]["environment"]
    assert env["WORKER_PUBLIC_URL"] == f"http://{service.name}:{service.port}"
    assert env["WORKER_DISCOVERY_URL"] == "http://discovery:9000"


def test_compose_gpu_workers_reserve_a_gpu_and_the_cpu_override_releases_it(
    compose: dict[str, Any], compose_cpu: dict[str, Any]
) -> None:
    for service in SERVICES:
        gpu_spec = compose["services"][service.name]
        devices = gpu_spec.get("deploy", {}).get("resources", {}).get("reservations", {})
        cpu_spec = compose_cpu["services"][service.name]
        cpu_devices = cpu_spec.get("deploy", {}).get("resources", {}).get("reservations", {})
        assert not cpu_devices.get("devices"), service.name
        assert "cuda" not in cpu_spec["image"]
        if service.gpu:
            assert devices["devices"] == [{"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}]
        else:
            assert "devices" not in devices, service.name


def test_writer_and_lora_trainer_share_the_adapters_volume(
    compose: dict[str, Any], compose_cpu: dict[str, Any], k8s_base: list[dict[str, Any]]
) -> None:
    for model in (compose, compose_cpu):
        writer, trainer = model["services"]["writer"], model["services"]["lora-trainer"]
        mount = f"adapters:{writer['environment']['WRITER_ADAPTERS_DIR']}"
        assert mount in writer["volumes"] and mount in trainer["volumes"]
        assert (
            trainer["environment"]["LORA_ADAPTERS_DIR"]
            == writer["environment"]["WRITER_ADAPTERS_DIR"]
        )
    claims = {}
    for name in ("writer", "lora-trainer"):
        pod = find(k8s_base, "Deployment", name)["spec"]["template"]["spec"]
        claims[name] = {
            v["persistentVolumeClaim"]["claimName"]
            for v in pod["volumes"]
            if "persistentVolumeClaim" in v
        }
    assert "mesh-adapters" in claims["writer"] & claims["lora-trainer"]


def test_compose_runs_two_orchestrator_replicas_on_postgres_behind_one_address(
    compose: dict[str, Any],
) -> None:
    a, b = compose["services"]["orchestrator"], compose["services"]["orchestrator-b"]
    assert a["image"] == b["image"] and a["build"] == b["build"]
    # The intent planner is numpy only: the orchestrator's image carries no torch.
    assert a["build"]["args"].get("WITH_TORCH", "0") == "0"
    ids = {a["environment"]["ORCH_REPLICA_ID"], b["environment"]["ORCH_REPLICA_ID"]}
    assert len(ids) == 2
    assert a["environment"]["ORCH_DATABASE_URL"] == b["environment"]["ORCH_DATABASE_URL"]
    assert a["environment"]["ORCH_DATABASE_URL"].startswith("postgresql://")
    lb = compose["services"]["orchestrator-lb"]
    assert "8080:8080" in [str(p) for p in lb["ports"]] or any(
        str(p.get("published")) == "8080" for p in lb["ports"] if isinstance(p, dict)
    )
    conf = (Path(__file__).resolve().parents[2] / "compose" / "nginx-orchestrator.conf").read_text()
    assert "server orchestrator:8000" in conf and "server orchestrator-b:8000" in conf
    assert "ip_hash" not in conf and "sticky" not in conf  # no session affinity
    assert "proxy_buffering off" in conf and "http_503" in conf  # SSE through, drain aside


def test_the_mtls_overlay_gives_every_mesh_service_its_own_certificate_and_https_urls(
    compose_mtls: dict[str, Any],
) -> None:
    secrets = compose_mtls["secrets"]
    for name in [s.name for s in SERVICES] + ["orchestrator-b"]:
        spec = compose_mtls["services"][name]
        env = spec["environment"]
        assert env["MESH_TLS_CERT_FILE"] == "/run/secrets/tls_cert", name
        assert env["MESH_TLS_KEY_FILE"] == "/run/secrets/tls_key", name
        assert env["MESH_TLS_CA_FILE"] == "/run/secrets/tls_ca", name
        mounted = {
            m["target"]: secrets[m["source"]]["file"]
            for m in spec["secrets"]
            if isinstance(m, dict)
        }
        own = "orchestrator" if name.startswith("orchestrator") else name
        assert mounted == {
            "tls_ca": "./secrets/tls/ca.pem",
            "tls_cert": f"./secrets/tls/{own}.pem",
            "tls_key": f"./secrets/tls/{own}-key.pem",
        }, name
        mesh_urls = ("WORKER_PUBLIC_URL", "WORKER_DISCOVERY_URL", "ORCH_DISCOVERY_URL")
        for key in (*mesh_urls, "ORCH_LLM_BASE_URL"):
            assert env.get(key, "https://").startswith("https://"), (name, key)
    for w in WORKERS:
        assert compose_mtls["services"][w.name]["environment"]["WORKER_PUBLIC_URL"] == (
            f"https://{w.name}:{w.port}"
        )
    conf = (REPO / "compose" / "nginx-orchestrator.mtls.conf").read_text()
    assert "ssl_verify_client on;" in conf and "proxy_ssl_verify on;" in conf
    lb = compose_mtls["services"]["orchestrator-lb"]
    assert "./nginx-orchestrator.mtls.conf:/etc/nginx/conf.d/default.conf:ro" in lb["volumes"]
