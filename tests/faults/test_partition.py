"""A network partition: a replica in its own network namespace whose link is cut mid-run.

The namespace gets one end of a veth pair; the host keeps the other. The two ends hold the
only addresses of a private /30 (``PARTITION_SUBNET``), so traffic goes between the host and the
namespace and nowhere else. The replica is registered with a long lease: after the cut it
stays "passing" in discovery, and only the orchestrator's own detection keeps runs off it:
the open stream is cut as a stall, new calls wait out ``ORCH_CONNECT_TIMEOUT_SECONDS``
(the link drops packets, nothing refuses them) until the breaker ejects the instance.
Skipped where the suite is not root or ``ip netns`` is unavailable; the namespace and the
veth are always deleted.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fault_mesh import (
    BREAKER_FAILURES,
    PARTITION_SUBNET,
    ROOT,
    WORKER_ENV,
    FaultMesh,
    lookup_task,
    plan,
    text_task,
)

from mesh_contracts import RunStatus
from mesh_testkit import free_port, wait_until

HOST_ADDR, NS_ADDR = "10.237.91.1", "10.237.91.2"
TAG = f"{os.getpid() % 100_000}"
NS, HOST_IF, NS_IF = f"meshflt{TAG}", f"mflh{TAG}", f"mfln{TAG}"


def ip(*args: str, ns: str | None = None) -> str:
    cmd = ["ip", "netns", "exec", ns, "ip", *args] if ns else ["ip", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    if done.returncode:
        raise RuntimeError(f"{' '.join(cmd)}: {done.stderr.strip()}")
    return done.stdout


def why_not() -> str | None:
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "the ip command (iproute2) is not installed"
    if "10.237.91." in ip("-o", "addr"):
        return f"{PARTITION_SUBNET} is already in use on this host"
    return None


@pytest.fixture
def namespace() -> Iterator[str]:
    """The namespace and its veth pair, up, with the /30's two addresses."""
    reason = why_not()
    if reason:
        pytest.skip(reason)
    try:
        ip("netns", "add", NS)
    except RuntimeError as exc:
        pytest.skip(f"ip netns is unavailable here: {exc}")
    try:
        ip("link", "add", HOST_IF, "type", "veth", "peer", "name", NS_IF, "netns", NS)
        ip("addr", "add", f"{HOST_ADDR}/30", "dev", HOST_IF)
        ip("link", "set", HOST_IF, "up")
        ip("addr", "add", f"{NS_ADDR}/30", "dev", NS_IF, ns=NS)
        ip("link", "set", NS_IF, "up", ns=NS)
        ip("link", "set", "lo", "up", ns=NS)
        yield NS
    finally:
        subprocess.run(["ip", "link", "del", HOST_IF], capture_output=True, timeout=10)
        subprocess.run(["ip", "netns", "del", NS], capture_output=True, timeout=10)


@pytest.fixture
def partitioned_replica(namespace: str, mesh: FaultMesh) -> Iterator[str]:
    """A fault worker serving on the namespace's address, registered by the test (it cannot
    reach discovery on the host's loopback) with a 300 s lease; its base URL."""
    port = free_port()
    env = {**os.environ, **WORKER_ENV, "WORKER_HOST": NS_ADDR, "WORKER_PORT": str(port),
           "WORKER_DISCOVERY_URL": "", "WORKER_INSTANCE_ID": "fault-i-1",
           "FAULT_AGENT_ID": "fault-i", "FAULT_PRIORITY": "1",
           # open on the veth address only this host reaches (the mesh here runs open)
           "FAULT_UNGUARDED": "1"}  # fmt: skip
    log = tempfile.NamedTemporaryFile(prefix="fault-i-", suffix=".log", delete=False)  # noqa: SIM115
    proc = subprocess.Popen(
        ["ip", "netns", "exec", namespace, sys.executable, "-m", "bench.fault_worker"],
        env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    url = f"http://{NS_ADDR}:{port}"
    try:
        wait_until(lambda: httpx.get(url + "/health", timeout=1).status_code == 200,
                   timeout=30, what="the namespaced worker")  # fmt: skip
        descriptor = httpx.get(url + "/descriptor", timeout=5).json()
        lease = {"descriptor": descriptor, "ttl_seconds": 300}
        httpx.post(mesh.discovery.url + "/v1/agents", json=lease, timeout=5).raise_for_status()
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)
        log.close()
        httpx.delete(mesh.discovery.url + "/v1/agents/fault-i-1", timeout=5)


async def test_a_cut_link_is_a_stall_then_connect_timeouts_until_the_breaker_ejects_it(
    mesh: FaultMesh, replicas: Any, partitioned_replica: str
) -> None:
    replicas.start(mesh.replica("fault-i", 2))
    wait_until(lambda: "fault-i-1" in mesh.agents(), timeout=10, what="fault-i-1 routed")
    body = plan(text_task("fault-i", tokens=20, rate=20), lookup_task())
    cut: list[bool] = []

    async def cut_after_three_tokens(e: dict[str, Any]) -> None:
        if e["type"] == "token" and e["data"]["token"] == "fault-i-1:2 " and not cut:
            ip("link", "set", NS_IF, "down", ns=NS)
            cut.append(True)

    run = await mesh.stream(body, cut_after_three_tokens)

    assert cut, [(e["type"], e["task_id"], e["data"]) for e in run.events]
    [retry] = run.retries("text")
    assert (retry.failed_instance, retry.next_instance) == ("fault-i-1", "fault-i-2")
    assert "stalled" in retry.reason
    answer = run.assert_kept()
    assert answer.status == RunStatus.COMPLETED
    assert answer.results["text"].output == "".join(f"fault-i-2:{i} " for i in range(20))

    # Still registered and passing, so each run tries it first and waits out the connect
    # timeout (the link drops the SYN), until the breaker has seen enough failures.
    runs = []
    for _ in range(BREAKER_FAILURES):
        if mesh.breaker("fault-i-1")["state"] == "open":
            break
        runs.append(await mesh.stream(body))
    runs.append(await mesh.stream(body))  # the ejected instance is not tried
    for r in runs:
        assert r.assert_kept().status == RunStatus.COMPLETED
        assert not r.retries("text")
    snapshot = mesh.breaker("fault-i-1")
    assert snapshot["state"] == "open" and snapshot["failures"] == BREAKER_FAILURES
    assert f"cannot connect to http://{NS_ADDR}" in snapshot["last_failure"]
    assert "TimeoutError" in snapshot["last_failure"]
    assert mesh.agents()["fault-i-1"]["status"] == "passing"
