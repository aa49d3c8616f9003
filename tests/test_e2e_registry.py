"""The registry over real processes: a worker registers itself, a killed worker goes critical
when its lease lapses, a restarted one comes back, and discovery keeps registrations across its
own restart."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mesh_testkit import ServiceProcess, free_port, wait_until

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("mesh_worker_analyst") is None
    or importlib.util.find_spec("mesh_discovery") is None,
    reason="needs the discovery service and the analyst worker installed",
)


@pytest.fixture
def discovery(tmp_path: Path) -> Iterator[ServiceProcess]:
    port = free_port()
    svc = ServiceProcess(
        "mesh_discovery",
        port,
        {
            "DISCOVERY_PORT": str(port),
            "DISCOVERY_DB_PATH": str(tmp_path / "registry.sqlite3"),
            "DISCOVERY_SWEEP_INTERVAL_SECONDS": "0.1",
        },
    ).start()
    yield svc
    svc.stop()


def _analyst(discovery_url: str, port: int) -> ServiceProcess:
    return ServiceProcess(
        "mesh_worker_analyst",
        port,
        {
            "WORKER_PORT": str(port),
            "WORKER_DISCOVERY_URL": discovery_url,
            "WORKER_LEASE_TTL_SECONDS": "1",
            "WORKER_INSTANCE_ID": "analyst-e2e",
        },
    )


def _record(discovery_url: str) -> dict[str, Any] | None:
    resp = httpx.get(f"{discovery_url}/v1/agents/analyst-e2e", timeout=2)
    return resp.json() if resp.status_code == 200 else None


def _status_is(discovery_url: str, status: str) -> bool:
    rec = _record(discovery_url)
    return rec is not None and rec["status"] == status


def test_worker_lifecycle_is_reflected_in_the_registry(discovery: ServiceProcess) -> None:
    port = free_port()
    worker = _analyst(discovery.url, port).start()
    try:
        wait_until(lambda: _status_is(discovery.url, "passing"), timeout=15, what="registration")
        healthy = httpx.get(
            f"{discovery.url}/v1/agents", params={"capability": "data_analysis", "healthy": "true"}
        ).json()
        assert [r["descriptor"]["instance_id"] for r in healthy] == ["analyst-e2e"]
        assert healthy[0]["descriptor"]["endpoint"] == f"http://127.0.0.1:{port}"

        worker.kill()  # no deregistration: only the lapsing lease can tell discovery
        wait_until(lambda: _status_is(discovery.url, "critical"), timeout=15, what="lease lapse")
        healthy = httpx.get(f"{discovery.url}/v1/agents", params={"healthy": "true"}).json()
        assert healthy == []

        worker = _analyst(discovery.url, port).start()
        wait_until(lambda: _status_is(discovery.url, "passing"), timeout=15, what="re-registration")
    finally:
        worker.stop()
    # a clean shutdown deregisters
    wait_until(lambda: _record(discovery.url) is None, timeout=15, what="deregistration")


def test_discovery_restart_keeps_registrations(discovery: ServiceProcess) -> None:
    worker = _analyst(discovery.url, free_port()).start()
    try:
        wait_until(lambda: _status_is(discovery.url, "passing"), timeout=15, what="registration")
        before = _record(discovery.url)
        discovery.stop()
        discovery.start()
        after = _record(discovery.url)
        assert after is not None and before is not None
        assert after["descriptor"] == before["descriptor"]
        # the worker keeps heartbeating to the restarted discovery: still passing
        wait_until(lambda: _status_is(discovery.url, "passing"), timeout=15, what="still passing")
    finally:
        worker.stop()
