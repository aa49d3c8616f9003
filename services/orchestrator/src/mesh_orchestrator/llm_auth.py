"""The token on the orchestrator's calls to its LLM when that LLM is the mesh's own writer.

The writer's OpenAI routes take a token for that worker alone (``worker:<agent id>``), which
the orchestrator mints per worker (``AudienceTokens``). Which agent serves the LLM's URL is
read from the registry first; but until the writer has registered, and until this replica's
view of the registry has caught up, the registry names nobody, and the orchestrator's own
token (for discovery alone, in a deployment with a delegated key) was refused with a 401. So
when the registry names nobody, the worker at that origin is asked who it is (``GET
/descriptor``, public on every worker): its agent id names the audience, kept for that
origin. An origin whose answer is not a descriptor (an LLM that is not a mesh worker) gets
the orchestrator's own token, as before; one that cannot be reached is asked again next time.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import AsyncGenerator, Callable

import httpx

from mesh_auth import AudienceTokens, TokenSource, worker_audience
from mesh_auth.tokens import valid_audience

log = logging.getLogger(__name__)

Origin = tuple[str, str, int | None]


class LLMAuth(httpx.Auth):
    """A token per LLM call: ``tokens``' for the worker serving the URL (``registry`` names
    it, else the origin's ``/descriptor`` does), else ``fallback``'s. It replaces any
    ``Authorization`` the caller set (the OpenAI SDK's API key). ``verify``: the TLS
    context of the descriptor's request (this service's certificate under mTLS)."""

    def __init__(
        self,
        tokens: AudienceTokens,
        registry: Callable[[httpx.URL], str | None],
        fallback: TokenSource,
        *,
        verify: ssl.SSLContext | bool = True,
        timeout: float = 5.0,
    ) -> None:
        self.tokens = tokens
        self.registry = registry
        self.fallback = fallback
        self.verify = verify
        self.timeout = timeout
        # origin -> the audience its descriptor named (None: it is no mesh worker)
        self.learned: dict[Origin, str | None] = {}

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        audience = await self.audience(request.url) if self.tokens.minting else None
        token = self.tokens.token(audience) if audience else self.fallback.token()
        if token:
            request.headers["Authorization"] = f"Bearer {token}"
        yield request

    async def audience(self, url: httpx.URL) -> str | None:
        """``worker:<agent id>`` of the worker serving ``url``, or None when none is known."""
        named = self.registry(url)
        if named is not None:
            return named
        origin: Origin = (url.scheme, url.host, url.port)
        if origin in self.learned:
            return self.learned[origin]
        where = f"{url.scheme}://{url.netloc.decode()}"
        try:
            async with httpx.AsyncClient(verify=self.verify, timeout=self.timeout) as c:
                resp = await c.get(f"{where}/descriptor")
        except httpx.HTTPError as exc:
            log.warning(
                "LLM at %s: not in the registry and its /descriptor did not answer (%r); "
                "calling it with the orchestrator's own token, asking again next call",
                where,
                exc,
            )
            return None
        agent = _agent_id(resp)
        self.learned[origin] = worker_audience(agent) if agent else None
        if agent:
            log.info(
                "LLM at %s is worker %r (its /descriptor; not in the registry yet): "
                "calling it with a token for worker:%s",
                where,
                agent,
                agent,
            )
        else:
            log.info("LLM at %s is no mesh worker: calling it with the orchestrator's token", where)
        return self.learned[origin]


def _agent_id(resp: httpx.Response) -> str | None:
    """The agent id of a worker's ``/descriptor`` answer; None for anything else."""
    if resp.status_code != 200:
        return None
    try:
        agent = resp.json().get("agent_id")
    except (ValueError, AttributeError):
        return None
    if not isinstance(agent, str) or not valid_audience(worker_audience(agent)):
        return None
    return agent


__all__ = ["LLMAuth"]
