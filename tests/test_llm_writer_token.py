"""The orchestrator calling a mesh worker as its LLM (the writer's OpenAI routes) before that
worker has registered (issue 19): its calls carry a token the worker takes from the first.

Real processes: a worker (the bench's fast worker, on the worker SDK, auth on with the
mesh's public keys) that does not register (no discovery URL), and the orchestrator's LLM
client auth as the orchestrator builds it: its own token for discovery alone (a deployment
with a delegated key), per-worker tokens minted with the delegated key, and a registry that
does not name the worker yet.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mesh_auth import AudienceTokens, Issuer, TokenSource
from mesh_auth.bearer import AudienceAuth
from mesh_testkit import ServiceProcess, free_port
from mesh_testkit.trust import Credentials, credentials

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("mesh_orchestrator") is None,
    reason="needs the orchestrator installed",
)


def nobody(url: httpx.URL) -> str | None:
    """The registry as the orchestrator sees it before the worker registered: no record."""
    return None


@pytest.fixture
def unregistered(tmp_path: Path) -> Iterator[tuple[ServiceProcess, Credentials, Path]]:
    creds = credentials(tmp_path / "keys")
    delegated = creds.delegated_key()  # added to the JWKS the worker reads
    port = free_port()
    env = {
        **creds.env(),
        "MESH_TOKEN_FILE": str(creds.token_file("fast", "agent:bench-fast", caps=["bench"])),
        "WORKER_PORT": str(port),
        "WORKER_DISCOVERY_URL": "",
    }
    worker = ServiceProcess("bench.fast_worker", port, env).start()
    try:
        yield worker, creds, delegated
    finally:
        worker.stop()


async def test_the_llm_worker_takes_the_orchestrators_token_before_it_registers(
    unregistered: tuple[ServiceProcess, Credentials, Path],
) -> None:
    from mesh_orchestrator.llm_auth import LLMAuth

    worker, creds, delegated = unregistered
    own = TokenSource(static=creds.token("orchestrator", audience=["discovery"]))
    tokens = AudienceTokens("orchestrator", signer=Issuer.from_file(delegated), fallback=own)
    # What the orchestrator sent before: its own token, refused until the registry knew the
    # worker (the window of issue 19).
    async with httpx.AsyncClient(auth=AudienceAuth(tokens, nobody, own)) as c:
        before = await c.get(worker.url + "/metrics", headers={"Authorization": "Bearer k"})
    assert before.status_code == 401
    auth = LLMAuth(tokens, nobody, own)
    async with httpx.AsyncClient(auth=auth) as c:
        first = await c.get(worker.url + "/metrics", headers={"Authorization": "Bearer k"})
        again = await c.get(worker.url + "/metrics")
    assert first.status_code == 200 and again.status_code == 200
    # learned from the worker's own descriptor, once for its origin
    assert list(auth.learned.values()) == ["worker:bench-fast"]
