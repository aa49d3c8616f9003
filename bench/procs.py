"""The mesh under test: discovery, the fast worker and the orchestrator as real processes.

``Mesh`` starts them on free loopback ports with state in a temporary folder, points the
orchestrator at that discovery, and waits until the orchestrator's resolver sees the
worker. ``SideBySide`` starts one discovery and one fast worker with an orchestrator per
side, each side a source tree (``extract``: a commit's, from ``git archive``) or this
working tree: what ``bench.relay_ab`` and ``bench.runs_ab`` compare. ``rss_bytes``/
``cpu_seconds`` read a process's figures from ``/proc`` (psutil where there is no
``/proc``).
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Mapping
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType

import httpx

from bench.fast_worker import AGENT_ID
from mesh_testkit import ServiceProcess, free_port, wait_until

ROOT = Path(__file__).resolve().parent.parent
# What a side's orchestrator imports from its own tree (first on its PYTHONPATH).
SOURCES = (
    "services/orchestrator/src",
    "libs/contracts/src",
    "libs/auth/src",
    "libs/telemetry/src",
    "libs/worker_sdk/src",
)
QUIET = "warning"  # access logs would cost the relay more than the relay itself


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


def cpu_seconds_fine(pid: int) -> float:
    """``cpu_seconds`` to the nanosecond: the sum of ``pid``'s threads' on-CPU time
    (``/proc/<pid>/task/*/schedstat``, the scheduler's own count) where ``/proc/<pid>/stat``
    counts 10 ms ticks (a load of 128 runs at ~1 ms each read in steps of 6%). A thread that
    ended between two readings takes its time with it: for a process whose threads stay
    (the orchestrator's loop, aiosqlite's thread, the executor's pool). ``cpu_seconds``
    where there is no ``schedstat``."""
    total = 0
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                total += int((task / "schedstat").read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return cpu_seconds(pid)
    return total / 1e9


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
        # A fourth, the main one's settings, that serves only the memory figure first: RSS
        # growth in a fresh process (the main one's, late, comes after phases that freed
        # heap, which its streams fill before RSS grows: 29-34 KB for unchanged code).
        self.orchestrator_fresh: ServiceProcess | None = None

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
        self.orchestrator_fresh = self._orchestrator(slots, quiet, "httptools", name="fresh")
        for svc in (self.worker, self.orchestrator, self.orchestrator_httpx,
                    self.orchestrator_reads, self.orchestrator_fresh):  # fmt: skip
            svc.wait_ready()

        for orch in (self.orchestrator, self.orchestrator_httpx, self.orchestrator_reads,
                     self.orchestrator_fresh):  # fmt: skip

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
            self.orchestrator_fresh, self.orchestrator_reads, self.orchestrator_httpx,
            self.orchestrator, self.worker, self.discovery,
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

    def fresh(self) -> Pids:
        """The fresh orchestrator, as ``bench.measure.memory`` reads a mesh."""
        return Pids(pid_of(self.orchestrator_fresh), self.worker_pid)

    def settle(self, timeout: float = 5.0) -> None:
        """Wait until the orchestrator is idle (its CPU time stops moving: event-log flushes
        and cancelled runs are done) before a memory reading or the next measurement."""
        wait_idle(self.orchestrator_pid, timeout)


class Pids:
    """What ``bench.measure``'s ``memory`` reads of a mesh: one orchestrator and the worker."""

    def __init__(self, orchestrator_pid: int, worker_pid: int) -> None:
        self.orchestrator_pid = orchestrator_pid
        self.worker_pid = worker_pid

    def settle(self, timeout: float = 5.0) -> None:
        wait_idle(self.orchestrator_pid, timeout)


def extract(rev: str, into: Path) -> str:
    """``rev``'s ``SOURCES`` under ``into``; returns the full commit id."""
    sha = subprocess.run(
        ["git", "rev-parse", rev], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    tar = subprocess.run(
        ["git", "archive", "--format=tar", sha, *SOURCES], cwd=ROOT, capture_output=True,
        check=True,
    ).stdout  # fmt: skip
    with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
        archive.extractall(into, filter="data")
    return sha


class Side:
    """One orchestrator of a side-by-side run: ``tree`` (from ``extract``) first on its
    ``PYTHONPATH``, or None for this working tree; ``env`` adds to its settings."""

    def __init__(
        self, name: str, tree: Path | None, discovery: str, tmp: Path, env: Mapping[str, str]
    ) -> None:
        port = free_port()
        self.name = name
        self.env = {
            "ORCH_PORT": str(port), "ORCH_DISCOVERY_URL": discovery,
            "ORCH_DB_PATH": str(tmp / f"orchestrator-{name}.sqlite3"), "ORCH_LOG_LEVEL": QUIET,
            **env,
        }  # fmt: skip
        if tree is not None:
            self.env["PYTHONPATH"] = os.pathsep.join(str(tree / s) for s in SOURCES)
        self.proc = ServiceProcess("mesh_orchestrator", port, self.env, cwd=ROOT)
        self.url = self.proc.url

    @property
    def pid(self) -> int:
        return pid_of(self.proc)

    def imported_from(self) -> str:
        """Where this side's process imports ``mesh_orchestrator`` from."""
        out = subprocess.run(
            [sys.executable, "-c", "import mesh_orchestrator; print(mesh_orchestrator.__file__)"],
            env={**os.environ, **self.env}, cwd=ROOT, capture_output=True, text=True,
            check=True, timeout=120,
        )  # fmt: skip
        return out.stdout.strip()

    def ready(self) -> bool:
        """The orchestrator sees the fast worker and has its planner loaded."""
        health = httpx.get(self.url + "/health", timeout=2).json()
        agents = httpx.get(self.url + "/v1/agents", timeout=2).json()
        seen = any(a["descriptor"]["agent_id"] == AGENT_ID for a in agents)
        return seen and bool(health.get("planner_ready", True))


class SideBySide:
    """Discovery and the fast worker (this tree), and one orchestrator per side on them,
    on free loopback ports with state under ``tmp``; a context manager that waits until
    every side is ``ready`` and always stops every process it started.

    ``trees``: side name -> source tree or None (this working tree); ``side_env``: each
    side's extra settings (a store's URL); ``slots``: the worker's and each
    orchestrator's bound on concurrent streams (``WORKER_MAX_CONCURRENCY``,
    ``ORCH_MAX_CONNECTIONS``), unset: their defaults; ``worker_env``: the worker's extra
    settings (``BENCH_FAST_TOKENS``)."""

    def __init__(
        self,
        tmp: Path,
        trees: Mapping[str, Path | None],
        *,
        instance_id: str,
        side_env: Mapping[str, Mapping[str, str]] | None = None,
        slots: int | None = None,
        ready_timeout: float = 180.0,
        worker_env: Mapping[str, str] | None = None,
    ) -> None:
        self.tmp = tmp
        self.worker_extra = dict(worker_env or {})
        self.trees = dict(trees)
        self.instance_id = instance_id
        self.side_env = side_env or {}
        self.slots = slots
        self.ready_timeout = ready_timeout
        self.procs: list[ServiceProcess] = []
        self.sides: dict[str, Side] = {}

    def __enter__(self) -> SideBySide:
        try:
            self._boot()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _boot(self) -> None:
        dport = free_port()
        self.discovery = self._start(ServiceProcess("mesh_discovery", dport, {
            "DISCOVERY_PORT": str(dport), "DISCOVERY_DB_PATH": str(self.tmp / "d.sqlite3"),
            "DISCOVERY_LOG_LEVEL": QUIET}, cwd=ROOT))  # fmt: skip
        wport = free_port()
        worker_env = {"WORKER_PORT": str(wport), "WORKER_DISCOVERY_URL": self.discovery.url,
                      "WORKER_INSTANCE_ID": self.instance_id, "WORKER_LOG_LEVEL": QUIET,
                      **self.worker_extra}  # fmt: skip
        orch_env: dict[str, str] = {}
        if self.slots is not None:
            worker_env["WORKER_MAX_CONCURRENCY"] = str(self.slots)
            orch_env["ORCH_MAX_CONNECTIONS"] = str(self.slots)
        self.worker = self._start(ServiceProcess("bench.fast_worker", wport, worker_env, cwd=ROOT))
        for name, tree in self.trees.items():
            env = {**orch_env, **self.side_env.get(name, {})}
            self.sides[name] = Side(name, tree, self.discovery.url, self.tmp, env)
        for side in self.sides.values():
            self._start(side.proc)
            wait_until(side.ready, timeout=self.ready_timeout, what=f"the {side.name} orchestrator")

    def _start(self, proc: ServiceProcess) -> ServiceProcess:
        self.procs.append(proc)
        return proc.start()

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        for proc in reversed(self.procs):
            proc.stop(grace=5)
