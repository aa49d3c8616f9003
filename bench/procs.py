"""The mesh under test: discovery, the fast worker and the orchestrator as real processes.

``Mesh`` starts them on free loopback ports with state in a temporary folder, points the
orchestrator at that discovery, and waits until the orchestrator's resolver sees the
worker. ``rss_bytes``/``cpu_seconds`` read a process's figures from ``/proc`` (psutil
where there is no ``/proc``).
"""

from __future__ import annotations

import os
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType

import httpx

from bench.fast_worker import AGENT_ID
from mesh_testkit import ServiceProcess, free_port, wait_until

ROOT = Path(__file__).resolve().parent.parent


def rss_bytes(pid: int) -> int:
    """Resident set size of ``pid`` now."""
    status = Path(f"/proc/{pid}/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    import psutil

    return int(psutil.Process(pid).memory_info().rss)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time ``pid`` has used so far."""
    stat = Path(f"/proc/{pid}/stat")
    if stat.exists():
        # Fields after the parenthesised command name; utime and stime are 14th and 15th.
        fields = stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    import psutil

    t = psutil.Process(pid).cpu_times()
    return float(t.user + t.system)


def wait_idle(pid: int, timeout: float = 5.0) -> None:
    """Wait (at most ``timeout`` s) until ``pid``'s CPU time stops moving: its background
    work (event-log flushes, cancelled runs) is done before the next reading."""
    deadline = time.monotonic() + timeout
    last = cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = cpu_seconds(pid)
        if now - last < 0.01:
            return
        last = now


def pid_of(svc: ServiceProcess | None) -> int:
    """The process id of a started service."""
    assert svc is not None and svc.proc is not None
    return svc.proc.pid


class Mesh:
    """The three processes; a context manager that always stops them."""

    def __init__(self, *, max_streams: int) -> None:
        self._stack = ExitStack()
        self.tmp = Path(
            self._stack.enter_context(tempfile.TemporaryDirectory(prefix="mesh-bench-"))
        )
        self.max_streams = max_streams
        self.discovery: ServiceProcess | None = None
        self.worker: ServiceProcess | None = None
        self.orchestrator: ServiceProcess | None = None
        # A second orchestrator reading worker streams with httpx (ORCH_STREAM_CLIENT), to
        # weigh the httptools stream client against the library it stands in for.
        self.orchestrator_httpx: ServiceProcess | None = None
        # A third that reads discovery at every run's start (ORCH_REGISTRY_READ=always; the
        # default reads only when its cache falls short, or in a traced run), to weigh what
        # a read costs a run's first token and CPU.
        self.orchestrator_reads: ServiceProcess | None = None

    def __enter__(self) -> Mesh:
        try:
            self._boot()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _boot(self) -> None:
        quiet = "warning"  # access logs would cost the relay more than the relay itself
        dport = free_port()
        self.discovery = ServiceProcess(
            "mesh_discovery",
            dport,
            {"DISCOVERY_PORT": str(dport), "DISCOVERY_DB_PATH": str(self.tmp / "discovery.sqlite3"),
             "DISCOVERY_LOG_LEVEL": quiet},
            cwd=ROOT,
        ).start()  # fmt: skip
        wport = free_port()
        slots = str(self.max_streams + 64)
        self.worker = ServiceProcess(
            "bench.fast_worker",
            wport,
            {"WORKER_PORT": str(wport), "WORKER_DISCOVERY_URL": self.discovery.url,
             "WORKER_INSTANCE_ID": "bench-fast-1", "WORKER_MAX_CONCURRENCY": slots,
             "WORKER_LOG_LEVEL": quiet},
            cwd=ROOT,
        ).launch()  # fmt: skip
        # The worker and the orchestrators start side by side (each orchestrator watches
        # discovery for the worker); the measurements wait until all of them are ready.
        self.orchestrator = self._orchestrator(slots, quiet, "httptools")
        self.orchestrator_httpx = self._orchestrator(slots, quiet, "httpx")
        self.orchestrator_reads = self._orchestrator(
            slots, quiet, "httptools", name="reads", env={"ORCH_REGISTRY_READ": "always"}
        )
        for svc in (self.worker, self.orchestrator, self.orchestrator_httpx,
                    self.orchestrator_reads):  # fmt: skip
            svc.wait_ready()

        for orch in (self.orchestrator, self.orchestrator_httpx, self.orchestrator_reads):

            def sees_worker(orch: ServiceProcess = orch) -> bool:
                # ...and has loaded its planner's model (a thread that holds the GIL for
                # seconds at start-up: measuring during it would measure the load).
                health = httpx.get(orch.url + "/health", timeout=2).json()
                agents = httpx.get(orch.url + "/v1/agents", timeout=2).json()
                seen = any(a["descriptor"]["agent_id"] == AGENT_ID for a in agents)
                return seen and bool(health.get("planner_ready", True))

            wait_until(sees_worker, timeout=60, what="the orchestrators to be ready")

    def _orchestrator(
        self, slots: str, quiet: str, stream_client: str, *, name: str = "",
        env: dict[str, str] | None = None,
    ) -> ServiceProcess:  # fmt: skip
        assert self.discovery is not None
        oport = free_port()
        return ServiceProcess(
            "mesh_orchestrator",
            oport,
            {"ORCH_PORT": str(oport), "ORCH_DISCOVERY_URL": self.discovery.url,
             "ORCH_DB_PATH": str(self.tmp / f"orchestrator-{name or stream_client}.sqlite3"),
             "ORCH_LOG_LEVEL": quiet, "ORCH_STREAM_CLIENT": stream_client,
             # The default pool (256) would queue the 1,000-stream measurement.
             "ORCH_MAX_CONNECTIONS": slots, **(env or {})},
            cwd=ROOT,
        ).launch()  # fmt: skip

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        for svc in (
            self.orchestrator_reads, self.orchestrator_httpx, self.orchestrator, self.worker,
            self.discovery,
        ):  # fmt: skip
            if svc is not None:
                svc.stop(grace=5)
        self._stack.close()

    @property
    def orchestrator_pid(self) -> int:
        return pid_of(self.orchestrator)

    @property
    def discovery_pid(self) -> int:
        return pid_of(self.discovery)

    @property
    def orchestrator_reads_pid(self) -> int:
        return pid_of(self.orchestrator_reads)

    @property
    def orchestrator_httpx_pid(self) -> int:
        return pid_of(self.orchestrator_httpx)

    @property
    def worker_pid(self) -> int:
        return pid_of(self.worker)

    def settle(self, timeout: float = 5.0) -> None:
        """Wait until the orchestrator is idle (its CPU time stops moving: event-log flushes
        and cancelled runs are done) before a memory reading or the next measurement."""
        wait_idle(self.orchestrator_pid, timeout)
