"""ConsulStore pieces that need no Consul agent (the conformance suite covers the rest)."""

from __future__ import annotations

from typing import Any

import pytest

from mesh_discovery import Settings, StoreUnavailable, make_store
from mesh_discovery.consul_store import ConsulStore
from mesh_testkit import free_port


async def test_an_unreachable_consul_fails_open_naming_its_url():
    url = f"http://127.0.0.1:{free_port()}"
    store = ConsulStore(url)
    with pytest.raises(StoreUnavailable, match="unreachable") as caught:
        await store.open()
    assert url in str(caught.value)
    await store.close()


def test_settings_select_the_consul_store():
    store = make_store(Settings(store="consul", consul_url="http://consul.internal:8501"))
    assert isinstance(store, ConsulStore)
    assert store.name == "consul"
    assert (store._host, store._port) == ("consul.internal", 8501)


def _node(*statuses: str) -> dict[str, Any]:
    return {
        "Service": {"ID": "w-1", "Service": "mesh-agent"},
        "Checks": [{"CheckID": f"c{i}", "Status": s} for i, s in enumerate(statuses)],
    }


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        (("passing", "passing"), "passing"),
        (("passing", "critical"), "critical"),
        (("warning",), "critical"),
        ((), "passing"),  # a declared agent has no lease check
    ],
)
def test_an_instance_is_passing_only_when_all_its_checks_pass(
    make_descriptor, statuses: tuple[str, ...], expected: str
):
    doc = {
        "descriptor": make_descriptor("w-1").model_dump(mode="json"),
        "registered_at": 100.0,
        "source": "api",
        "ttl_seconds": 15.0,
    }
    record = ConsulStore()._record(_node(*statuses), doc)
    assert record.status == expected
    assert record.lease_expires_at == 115.0
