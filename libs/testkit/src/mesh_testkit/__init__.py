"""Helpers for tests that start real processes on loopback ports and read real SSE streams.

Used by every package's tests and by the root end-to-end tests; never imported by a service.
"""

from __future__ import annotations

import fcntl
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import httpx

from mesh_auth.dialing import default_ssl_context
from mesh_contracts import SSEMessage, aiter_sse
from mesh_testkit.asgi import serving

__all__ = [
    "ServiceProcess",
    "free_port",
    "once_per_machine",
    "read_sse",
    "running",
    "serving",
    "wait_until",
]


_handed_out: set[int] = set()


def _xdist_share() -> tuple[int, int]:
    """(this pytest-xdist worker's index, the number of workers); (0, 1) outside xdist."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")  # gw0, gw1, ...
    count = os.environ.get("PYTEST_XDIST_WORKER_COUNT", "")
    if worker.startswith("gw") and worker[2:].isdigit() and count.isdigit() and int(count) > 1:
        return int(worker[2:]) % int(count), int(count)
    return 0, 1


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now, and not one this process
    handed out before: processes launched side by side bind theirs only later.

    Under pytest-xdist each worker only hands out its own share of the ports (``port // 2``
    modulo the worker count; the kernel gives ``bind(0)`` odd ports first), so two workers
    never hand out the same port in the time before its process binds it: a service that
    found its port taken would exit, or worse, its health check would reach the other
    worker's service on that port."""
    index, count = _xdist_share()
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port: int = s.getsockname()[1]
        if port not in _handed_out and (port // 2) % count == index:
            break
    _handed_out.add(port)
    return port


def wait_until(
    predicate: Any, *, timeout: float = 10.0, interval: float = 0.05, what: str = ""
) -> Any:
    """Poll ``predicate()`` until it returns something truthy; raise on the deadline."""
    deadline = time.monotonic() + timeout
    last_exc: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # the service may not be up yet
            last_exc = exc
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what or predicate}: {last_exc!r}")


@contextmanager
def once_per_machine(name: str, done: Callable[[], bool]) -> Iterator[bool]:
    """A machine-wide lock (``fcntl``, a file in the temp folder) around work that many test
    processes would otherwise do at once, and only one needs to: yields True, holding the
    lock until the block ends, when ``done()`` is false (this block does the work); False,
    the lock released at once, when it is true. Whoever comes while the work is under way
    waits for it, then finds it done: the xdist workers' first writers on a fresh machine
    convert the model once, not once each, side by side. A process that dies frees it."""
    path = Path(tempfile.gettempdir()) / f"mesh-testkit-{name}.lock"
    with path.open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            if done():
                fcntl.flock(f, fcntl.LOCK_UN)
                yield False
                return
            yield True
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


class ServiceProcess:
    """``python -m <module>`` in a child process with its own env and a log file.

    ``start()`` waits until ``GET {url}{health_path}`` answers 200 (or the process dies,
    in which case the log is in the error). ``tls``: the process serves mTLS; the URL is
    ``https`` and the health check presents this context's client certificate. ``stop()`` sends SIGTERM so lifespans run
    (deregistration, flushes), then SIGKILL after a grace period; ``kill()`` is SIGKILL.
    """

    def __init__(
        self,
        module: str,
        port: int,
        env: Mapping[str, str] | None = None,
        *,
        health_path: str = "/health",
        startup_timeout: float = 60.0,
        args: list[str] | None = None,
        cwd: str | Path | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.module = module
        self.port = port
        self.tls = tls
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
        self.env = {**os.environ, **(env or {})}
        self.env.setdefault("PYTHONUNBUFFERED", "1")
        self.health_path = health_path
        self.startup_timeout = startup_timeout
        self.args = args or []
        self.cwd = str(cwd) if cwd else None
        self.proc: subprocess.Popen[bytes] | None = None
        self._deadline = 0.0
        self._log: IO[bytes] = tempfile.NamedTemporaryFile(  # noqa: SIM115 - lives as long as the process
            prefix=f"{module}-", suffix=".log", delete=False
        )

    @property
    def log_path(self) -> str:
        return self._log.name

    def log(self) -> str:
        return Path(self._log.name).read_text(errors="replace")

    def start(self) -> ServiceProcess:
        """``launch()`` then ``wait_ready()``."""
        return self.launch().wait_ready()

    def launch(self) -> ServiceProcess:
        """Start the process and return at once (``wait_ready`` waits for its health), so
        that several processes can start side by side."""
        if self._log.closed:  # restarted after a stop: append to the same log
            self._log = open(self._log.name, "ab")  # noqa: SIM115 - closed by stop()/kill()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", self.module, *self.args],
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=self.cwd,
            start_new_session=True,
        )
        self._deadline = time.monotonic() + self.startup_timeout
        return self

    def wait_ready(self) -> ServiceProcess:
        """Wait until the launched process answers ``GET health_path`` with 200, within
        ``startup_timeout`` of its launch; raise (the log in the error, the process killed)
        if it exits first or the time runs out."""

        def healthy() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.module} exited with {self.proc.returncode}:\n{self.log()}"
                )
            verify = self.tls or default_ssl_context()  # one CA bundle load, not one a poll
            r = httpx.get(self.url + self.health_path, timeout=2.0, verify=verify)
            return r.status_code == 200

        while True:
            try:
                if healthy():
                    return self
            except RuntimeError:
                raise
            except Exception:
                pass
            if time.monotonic() > self._deadline:
                self.kill()
                raise TimeoutError(
                    f"{self.module} not healthy in {self.startup_timeout}s:\n{self.log()}"
                )
            time.sleep(0.1)

    def stop(self, grace: float = 10.0) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(grace)
        except subprocess.TimeoutExpired:
            self.kill()
            return None
        finally:
            self._log.close()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
        self._log.close()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


@contextmanager
def running(
    module: str, port: int, env: Mapping[str, str] | None = None, **kw: Any
) -> Iterator[ServiceProcess]:
    """Start a service for the duration of a ``with`` block; always stopped afterwards."""
    svc = ServiceProcess(module, port, env, **kw)
    svc.start()
    try:
        yield svc
    finally:
        svc.stop()


async def read_sse(
    client: httpx.AsyncClient, method: str, url: str, **kw: Any
) -> AsyncIterator[SSEMessage]:
    """Open a streaming request and yield its SSE messages as they arrive."""
    async with client.stream(method, url, **kw) as resp:
        resp.raise_for_status()
        async for msg in aiter_sse(resp.aiter_bytes()):
            yield msg
