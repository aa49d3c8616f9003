"""``free_port`` under pytest-xdist: each worker hands out only its own share of the ports."""

from __future__ import annotations

import pytest

from mesh_testkit import free_port


@pytest.mark.parametrize("worker", [0, 1])
def test_two_xdist_workers_never_hand_out_the_same_port(
    monkeypatch: pytest.MonkeyPatch, worker: int
) -> None:
    monkeypatch.setenv("PYTEST_XDIST_WORKER", f"gw{worker}")
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "2")
    ports = [free_port() for _ in range(20)]
    assert [(p // 2) % 2 for p in ports] == [worker] * 20
    assert len(set(ports)) == 20


def test_outside_xdist_any_free_port_will_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    monkeypatch.delenv("PYTEST_XDIST_WORKER_COUNT", raising=False)
    ports = [free_port() for _ in range(40)]
    assert len(set(ports)) == 40
    assert {(p // 2) % 2 for p in ports} == {0, 1}  # not one share only
