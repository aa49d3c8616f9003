"""Prometheus in compose: the service mounts compose/prometheus.yml, which scrapes GET /metrics
of every mesh service at its compose name and default port."""

from __future__ import annotations

from typing import Any

import yaml
from deploy_model import REPO, SERVICES

CONFIG = REPO / "compose" / "prometheus.yml"


def scrape_targets() -> dict[str, list[str]]:
    config = yaml.safe_load(CONFIG.read_text())
    jobs: dict[str, list[str]] = {}
    for job in config["scrape_configs"]:
        assert job.get("metrics_path", "/metrics") == "/metrics", job["job_name"]
        assert job.get("scheme", "http") == "http", job["job_name"]
        jobs[job["job_name"]] = [t for sc in job["static_configs"] for t in sc["targets"]]
    return jobs


def test_prometheus_scrapes_every_mesh_service_at_its_compose_address(
    compose: dict[str, Any],
) -> None:
    jobs = scrape_targets()
    assert set(jobs) == {s.name for s in SERVICES}
    for service in SERVICES:
        want = [f"{service.name}:{service.port}"]
        if service.name == "orchestrator":  # both replicas
            want.append(f"orchestrator-b:{service.port}")
        assert jobs[service.name] == want
        for target in want:  # a container Prometheus can reach
            assert target.split(":")[0] in compose["services"]


def test_compose_runs_prometheus_with_the_scrape_config(compose: dict[str, Any]) -> None:
    spec = compose["services"]["prometheus"]
    assert spec["image"].startswith("prom/prometheus:v")  # a pinned release, not latest
    # Short syntax, relative to the compose file: SOURCE:TARGET:ro.
    mounts = [str(m).split(":") for m in spec["volumes"]]
    (config,) = [m for m in mounts if m[1] == "/etc/prometheus/prometheus.yml"]
    assert (REPO / "compose" / config[0]).resolve() == CONFIG and config[2:] == ["ro"]
    assert "--config.file=/etc/prometheus/prometheus.yml" in spec["command"]
    assert "9090:9090" in spec["ports"]
