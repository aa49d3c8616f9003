"""Retention's deletion of a removed run's files on the workers (``relay.artifacts``): only
a mesh worker's own ``/artifacts/`` URL, on a registered instance of the agent that reported
it, gets the ``DELETE`` with that worker's token; nothing goes anywhere else."""

from __future__ import annotations

import httpx

from mesh_contracts import AgentDescriptor
from mesh_contracts.a2a import A2A, PROTOCOL_KEY
from mesh_orchestrator.relay.artifacts import ArtifactDeleter, Deletion

WORKER = AgentDescriptor(
    agent_id="image-gen", instance_id="image-gen-1", name="image-gen",
    endpoint="http://10.0.0.5:8004", capabilities=["image_generation"],
)  # fmt: skip
AGENT = AgentDescriptor(
    agent_id="painter", instance_id="painter-1", name="painter",
    endpoint="http://10.0.0.9:9999", capabilities=["image_generation"],
    metadata={PROTOCOL_KEY: A2A},
)  # fmt: skip


class FakeWorkerHost:
    """A fake worker host behind httpx.MockTransport (unit tests only): answers ``status``
    to every request and records each one."""

    def __init__(self, status: int = 204) -> None:
        self.status = status
        self.seen: list[httpx.Request] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        return httpx.Response(self.status)


def deleter(host: FakeWorkerHost) -> ArtifactDeleter:
    http = httpx.AsyncClient(transport=httpx.MockTransport(host.handle))
    return ArtifactDeleter(
        http, lambda: [WORKER, AGENT], auth_headers=lambda agent: {"Authorization": f"t-{agent}"}
    )


async def test_a_workers_own_artifact_is_deleted_with_that_workers_token() -> None:
    host = FakeWorkerHost()
    url = "http://10.0.0.5:8004/artifacts/a1.png"
    assert await deleter(host).delete("image-gen", url) is Deletion.REMOVED
    [sent] = host.seen
    assert (sent.method, str(sent.url), sent.headers["authorization"]) == (
        "DELETE", url, "t-image-gen",
    )  # fmt: skip
    host.status = 404  # gone already: done
    assert await deleter(host).delete("image-gen", url) is Deletion.GONE
    host.status = 503  # the worker cannot now: again at the next sweep
    assert await deleter(host).delete("image-gen", url) is Deletion.FAILED


async def test_no_token_goes_to_a_url_that_is_not_the_reporting_workers_artifact() -> None:
    """Attack: a worker (or an A2A agent) reports an artifact URL elsewhere, hoping the
    orchestrator sends its token there, or deletes another route of the worker."""
    host = FakeWorkerHost()
    d = deleter(host)
    elsewhere = [
        ("image-gen", "http://169.254.169.254/artifacts/a1.png"),  # another host
        ("image-gen", "http://10.0.0.5:8005/artifacts/a1.png"),  # another port
        ("image-gen", "http://10.0.0.5:8004/executions/k"),  # not an artifact
        ("image-gen", "http://10.0.0.5:8004/artifacts/a/../../invoke"),
        ("image-gen", "http://10.0.0.5:8004/artifacts/a1.png?x=1"),
        ("lookup", "http://10.0.0.5:8004/artifacts/a1.png"),  # not the reporter's
    ]
    for agent, url in elsewhere:
        assert await d.delete(agent, url) is Deletion.FAILED, url
    for agent, url in [
        ("painter", "http://10.0.0.9:9999/artifacts/p.png"),  # an A2A agent's file
        ("image-gen", "javascript:alert(1)"),
        ("image-gen", None),  # inline only
    ]:
        assert await d.delete(agent, url) is Deletion.NOT_OURS, url
    assert host.seen == []


async def test_an_instance_that_does_not_answer_is_left_alone_for_a_while() -> None:
    """A dead host costs one failed call per ``DOWN_SECONDS``, not one per artifact."""
    calls = []

    def refuse(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ConnectError("refused", request=request)

    http = httpx.AsyncClient(transport=httpx.MockTransport(refuse))
    d = ArtifactDeleter(http, lambda: [WORKER])
    for name in ("a.png", "b.png", "c.png"):
        url = f"http://10.0.0.5:8004/artifacts/{name}"
        assert await d.delete("image-gen", url) is Deletion.FAILED
    assert len(calls) == 1
