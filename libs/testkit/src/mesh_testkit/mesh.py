"""A whole mesh as real processes on loopback: discovery, workers registered with it, and
orchestrators on it, for the root end-to-end tests (auth, tracing, the dashboard, the
orchestrator with every worker).

``process_mesh`` starts discovery (its embedded SQLite store in ``tmp``), each worker, one
orchestrator, and waits until that orchestrator's registry cache shows every worker's
agent; on exit (or ``ProcessMesh.stop``, for a test that must stop the processes before
its checks, as the tracing test does) each process gets SIGTERM, the last started first.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from mesh_auth.dialing import default_ssl_context
from mesh_testkit import ServiceProcess, free_port, wait_until

# A worker is its module, or its module and the environment only it gets.
Worker = str | tuple[str, Mapping[str, str]]


@dataclass
class ProcessMesh:
    """The started processes: ``workers`` by agent id, ``orchestrators`` by name,
    ``orchestrator`` the first one."""

    tmp: Path
    env: dict[str, str]
    discovery: ServiceProcess
    tls: ssl.SSLContext | None = None
    workers: dict[str, ServiceProcess] = field(default_factory=dict)
    orchestrator: ServiceProcess | None = None
    orchestrators: dict[str, ServiceProcess] = field(default_factory=dict)
    started: list[ServiceProcess] = field(default_factory=list)

    @property
    def orch(self) -> ServiceProcess:
        assert self.orchestrator is not None
        return self.orchestrator

    @property
    def url(self) -> str:
        """The first orchestrator's base URL."""
        return self.orch.url

    def add_orchestrator(
        self, name: str, env: Mapping[str, str] | None = None, *, startup_timeout: float = 180
    ) -> ServiceProcess:
        """Another orchestrator on the same discovery (its run store ``<tmp>/<name>.sqlite3``),
        stopped with the rest."""
        return self.launch_orchestrator(name, env, startup_timeout=startup_timeout).wait_ready()

    def launch_orchestrator(
        self, name: str, env: Mapping[str, str] | None = None, *, startup_timeout: float = 180
    ) -> ServiceProcess:
        """``add_orchestrator`` without waiting for its health (``wait_ready()`` does)."""
        port = free_port()
        self.orchestrators[name] = self.launch(
            ServiceProcess(
                "mesh_orchestrator",
                port,
                {
                    **self.env,
                    "ORCH_PORT": str(port),
                    "ORCH_DISCOVERY_URL": self.discovery.url,
                    "ORCH_DB_PATH": str(self.tmp / f"{name}.sqlite3"),
                    **(env or {}),
                },
                startup_timeout=startup_timeout,
                tls=self.tls,
            )
        )
        return self.orchestrators[name]

    def start(self, svc: ServiceProcess) -> ServiceProcess:
        return self.launch(svc).wait_ready()

    def launch(self, svc: ServiceProcess) -> ServiceProcess:
        """Start ``svc`` (stopped with the rest) without waiting for its health."""
        self.started.append(svc)
        return svc.launch()

    def stop(self) -> None:
        """SIGTERM to every process, the last started first (idempotent)."""
        for svc in reversed(self.started):
            svc.stop()


@contextmanager
def process_mesh(
    tmp: Path,
    workers: Mapping[str, Worker],
    *,
    env: Mapping[str, str] | None = None,
    discovery_env: Mapping[str, str] | None = None,
    worker_env: Mapping[str, str] | None = None,
    orchestrator_env: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    startup_timeout: float = 180,
    ready_timeout: float = 60,
    tls: ssl.SSLContext | None = None,
    more_orchestrators: Mapping[str, Callable[[ProcessMesh], Mapping[str, str]]] | None = None,
) -> Iterator[ProcessMesh]:
    """Discovery, ``workers`` (agent id -> module, or module and its own env) and one
    orchestrator, with ``env`` for all of them and ``*_env`` for each kind; ready once the
    orchestrator's ``GET /v1/agents`` (sent with ``headers``: a token where auth is on)
    lists every worker's agent id. ``tls``: the processes serve mTLS (``env`` names their
    certificates; a worker's ``own`` env its own); the checks present this context's.
    ``more_orchestrators``: more orchestrators by name (``mesh.orchestrators``), each with
    ``orchestrator_env`` and the env its function returns, given the mesh with the workers
    launched (their URLs known)."""
    base = dict(env or {})
    dport = free_port()
    disc = ServiceProcess(
        "mesh_discovery",
        dport,
        {
            **base,
            "DISCOVERY_PORT": str(dport),
            "DISCOVERY_DB_PATH": str(tmp / "discovery.sqlite3"),
            **(discovery_env or {}),
        },
        tls=tls,
    )
    mesh = ProcessMesh(tmp, base, disc, tls=tls)
    try:
        mesh.start(disc)
        # The workers and the orchestrator start side by side (their imports and model loads
        # overlap); each registers with discovery or watches it, so none waits for another.
        for agent_id, worker in workers.items():
            module, own = (worker, {}) if isinstance(worker, str) else worker
            port = free_port()
            wenv = {
                **base,
                "WORKER_PORT": str(port),
                "WORKER_DISCOVERY_URL": disc.url,
                **(worker_env or {}),
                **own,
            }
            if tls is not None:  # what discovery hands the orchestrator: an https endpoint
                wenv.setdefault("WORKER_PUBLIC_URL", f"https://127.0.0.1:{port}")
            svc = ServiceProcess(module, port, wenv, startup_timeout=startup_timeout, tls=tls)
            mesh.workers[agent_id] = mesh.launch(svc)
        mesh.orchestrator = mesh.launch_orchestrator(
            "orchestrator", orchestrator_env, startup_timeout=startup_timeout
        )
        for name, more_env in (more_orchestrators or {}).items():
            oenv = {**(orchestrator_env or {}), **more_env(mesh)}
            mesh.launch_orchestrator(name, oenv, startup_timeout=startup_timeout)
        for svc in mesh.started:
            svc.wait_ready()

        def visible() -> bool:
            r = httpx.get(
                mesh.url + "/v1/agents",
                headers=dict(headers or {}),
                timeout=2,
                verify=tls or default_ssl_context(),
            )
            return {a["descriptor"]["agent_id"] for a in r.json()} >= set(workers)

        wait_until(visible, timeout=ready_timeout, what="every worker visible to the orchestrator")
        yield mesh
    finally:
        mesh.stop()
