"""Serve an ASGI app on a loopback port in a background thread, for tests that need a real
socket: SSE streaming, client disconnects, a fake collector or discovery to talk to.

``httpx.ASGITransport`` buffers whole responses, so streaming and disconnect behaviour can
only be seen over a real socket. One implementation for every package's tests
(``mesh_worker.testing`` and ``mesh_telemetry.testing`` call it).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


@contextmanager
def serving(
    app: Any,
    port: int | None = None,
    *,
    timeout: float = 30.0,
    name: str = "uvicorn",
    host: str = "127.0.0.1",
    **options: Any,
) -> Iterator[str]:
    """Run ``app`` under uvicorn on ``host:port`` (127.0.0.1 and a free port by default) and
    yield its base URL once it accepts requests; on exit, shut it down (lifespan shutdown
    included) and wait for the thread. Raises ``RuntimeError`` if it does not start within
    ``timeout``. ``name`` prefixes the thread's name; ``host`` may be another loopback
    address (127.0.0.2: a second listener on the same port, for DNS-rebinding tests);
    ``options`` go to ``uvicorn.Config`` (``ssl_*``: the URL is then ``https``).
    """
    from mesh_testkit import free_port  # the package's __init__ imports this module

    port = port or free_port()
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=2,
        **options,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"{name}-{port}", daemon=True)
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
        yield f"{'https' if options.get('ssl_certfile') else 'http'}://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout)
