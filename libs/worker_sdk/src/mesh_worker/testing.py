"""Serve an app on a loopback port in a background thread, for tests that need real SSE.

``httpx.ASGITransport`` buffers whole responses, so streaming and disconnect behaviour can
only be seen over a real socket. Runs the app's lifespan; leave ``WORKER_DISCOVERY_URL``
empty (``WorkerSettings(discovery_url="")``) unless a discovery is running.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from starlette.types import ASGIApp


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def serving(app: ASGIApp, port: int | None = None, *, timeout: float = 30.0) -> Iterator[str]:
    """Run ``app`` under uvicorn on ``127.0.0.1:port`` (a free port by default) and yield its
    base URL once it accepts requests; on exit, shut it down (lifespan shutdown included)
    and wait for the thread. Raises ``RuntimeError`` if it does not start within ``timeout``.
    """
    port = port or _free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError(f"the app on port {port} failed to start (see the log)")
        if time.monotonic() > deadline:
            server.should_exit = True
            thread.join(timeout)
            raise RuntimeError(f"the app on port {port} did not start within {timeout}s")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout)
