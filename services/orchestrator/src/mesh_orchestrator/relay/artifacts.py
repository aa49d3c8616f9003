"""Deleting what a mesh worker kept for a run: ``DELETE /artifacts/{name}`` on the worker
instance whose URL the run's ``artifact`` event named (retention, ``runs.retention``).

Only a mesh worker's own artifacts are deleted, with the orchestrator's token for that worker
alone (``auth_headers(agent_id)``, as every worker call), through the workers' HTTP client
(which dials only what the endpoint policy allows): the event's ``url`` must lie under
``/artifacts/`` of a registered instance of the agent that sent the event. Anything else (an
A2A agent's or an MCP server's file, a URL elsewhere, an inline-only artifact) is not the
mesh's to delete and counts as done. An instance that is not registered now, or does not
answer, leaves the artifact for the next try (one that did not answer is left alone for
``DOWN_SECONDS``).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable
from enum import StrEnum

import httpx

from mesh_contracts import AgentDescriptor
from mesh_contracts.a2a import speaks_a2a
from mesh_contracts.mcp import speaks_mcp

log = logging.getLogger(__name__)

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,199}$")
TIMEOUT = 10.0
# An instance that did not answer is not asked again for this long: a sweep with many
# artifacts on a dead host pays its timeout once, not once per artifact.
DOWN_SECONDS = 60.0


class Deletion(StrEnum):
    REMOVED = "removed"  # the worker deleted it
    GONE = "gone"  # it was not there any more (404, 410)
    NOT_OURS = "not_ours"  # no mesh worker's file: nothing to delete
    FAILED = "failed"  # the instance is not registered or did not answer: try again later


class ArtifactDeleter:
    """Deletes artifacts on the workers that made them (see the module docstring).
    ``instances``: the registered instances now; ``auth_headers(agent_id)``: the
    orchestrator's token for that worker; ``http``: the workers' client."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        instances: Callable[[], Iterable[AgentDescriptor]],
        auth_headers: Callable[[str], dict[str, str]] = lambda _agent: {},
    ) -> None:
        self.http = http
        self.instances = instances
        self.auth_headers = auth_headers
        self._down: dict[str, float] = {}  # instance id -> monotonic time it may be tried

    def mesh_worker(self, agent_id: str | None) -> bool:
        """Whether ``agent_id`` is (was) a mesh worker: False for an A2A agent or an MCP
        server still registered."""
        known = [d for d in self.instances() if d.agent_id == agent_id]
        return not any(speaks_a2a(d) or speaks_mcp(d) for d in known)

    async def delete(self, agent_id: str | None, url: str | None) -> Deletion:
        """Delete the artifact at ``url`` that ``agent_id`` reported; never raises."""
        if not agent_id or not url or not self.mesh_worker(agent_id):
            return Deletion.NOT_OURS
        try:
            target = httpx.URL(url)
        except (httpx.InvalidURL, TypeError):
            return Deletion.NOT_OURS
        if target.scheme not in ("http", "https"):
            return Deletion.NOT_OURS
        instance = self._instance(agent_id, target)
        if instance is None:
            log.info("retention: no registered %s serves %s now; again later", agent_id, url)
            return Deletion.FAILED
        if self._down.get(instance.instance_id, 0.0) > time.monotonic():
            return Deletion.FAILED
        try:
            resp = await self.http.delete(
                str(target), headers=self.auth_headers(agent_id), timeout=TIMEOUT
            )
        except httpx.HTTPError as exc:
            log.info("retention: deleting %s failed (%s); again later", url, exc)
            self._down[instance.instance_id] = time.monotonic() + DOWN_SECONDS
            return Deletion.FAILED
        self._down.pop(instance.instance_id, None)
        if resp.is_success:
            return Deletion.REMOVED
        if resp.status_code in (404, 410):
            return Deletion.GONE
        log.info("retention: deleting %s answered %d; again later", url, resp.status_code)
        return Deletion.FAILED

    def _instance(self, agent_id: str, target: httpx.URL) -> AgentDescriptor | None:
        """The registered instance of ``agent_id`` whose ``/artifacts/`` holds ``target``."""
        for d in self.instances():
            if d.agent_id != agent_id or d.endpoint is None:
                continue
            try:
                base = httpx.URL(d.url("/artifacts/"))
            except httpx.InvalidURL:
                continue
            if (base.scheme, base.host, base.port) != (target.scheme, target.host, target.port):
                continue
            path = target.path
            name = path[len(base.path) :]
            if path.startswith(base.path) and _NAME.match(name) and not target.query:
                return d
        return None
