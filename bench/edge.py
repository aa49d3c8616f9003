"""``python -m bench.edge``: what the HTTP edge costs one ``POST /orchestrate/stream``, in
one process, without the run.

The orchestrator's app (``create_app``, open, no lifespan) is called as an ASGI app with a
plain relay request (the body ``bench.measure.Endpoint`` sends); the run itself is replaced
by a one-byte response (``open_run_stream`` stubbed, in the route and in the fast path), so
what is timed is only what comes before and around it: the request's way through uvicorn's
ASGI interface is left out too (no socket). Two paths, alternating, best of ``--rounds``:

* **fast path**: the request as every client of the relay sends it (``api.stream_path``);
* **stack**: the same request with an ``Origin`` header, which the fast path hands to
  FastAPI's middleware stack and route (what every request took before the fast path).

The figures are CPU microseconds per request on an idle process; read the ratio on a busy
machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from starlette.responses import Response

from bench.measure import Endpoint

STACK = ((b"origin", b"http://127.0.0.1:9"),)


async def _stub(*_: Any) -> Response:
    return Response(b"x", media_type="text/event-stream")


def build() -> Any:
    """The app, its run start stubbed (imports here: the stub goes in before the app)."""
    import mesh_orchestrator.api.routes as routes
    import mesh_orchestrator.api.stream_path as stream_path
    from mesh_orchestrator.app import create_app
    from mesh_orchestrator.settings import Settings

    for module in (routes, stream_path):  # the route's and the fast path's
        setattr(module, "open_run_stream", _stub)  # noqa: B010
    settings = Settings(
        discovery_url="http://127.0.0.1:9", db_path=Path(tempfile.mkdtemp()) / "o.sqlite3"
    )
    app = create_app(settings, keys=None)
    app.state.services = SimpleNamespace(settings=settings)
    return app


async def _requests(app: Any, body: bytes, n: int, extra: tuple[tuple[bytes, bytes], ...]) -> float:
    headers = [
        (b"host", b"127.0.0.1:8000"),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"accept", b"text/event-stream"),
        *extra,
    ]
    statuses: list[int] = []

    async def send(message: Any) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    started = time.perf_counter()
    for _ in range(n):
        inbox: list[dict[str, Any]] = [{"type": "http.request", "body": body}]

        async def receive(inbox: list[dict[str, Any]] = inbox) -> Any:
            return inbox.pop() if inbox else {"type": "http.disconnect"}

        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": "POST", "scheme": "http", "path": "/orchestrate/stream",
            "raw_path": b"/orchestrate/stream", "query_string": b"", "root_path": "",
            "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000), "state": {},
            "headers": headers,
        }  # fmt: skip
        await app(scope, receive, send)
    took = time.perf_counter() - started
    if set(statuses) != {200}:
        raise RuntimeError(f"answers other than 200: {sorted(set(statuses))}")
    return took / n


async def measure(requests: int, rounds: int) -> dict[str, float]:
    app = build()
    body = json.dumps(Endpoint("relay", "", relay=True).body(16)).encode()
    await _requests(app, body, 50, ())  # warm-up: the stack is built on the first call
    await _requests(app, body, 50, STACK)
    best = {"fast path": float("inf"), "stack": float("inf")}
    for _ in range(rounds):
        best["fast path"] = min(best["fast path"], await _requests(app, body, requests, ()))
        best["stack"] = min(best["stack"], await _requests(app, body, requests, STACK))
    return {k: v * 1e6 for k, v in best.items()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.edge", description=__doc__)
    p.add_argument("--requests", type=int, default=2000, help="requests a round and path")
    p.add_argument("--rounds", type=int, default=7)
    args = p.parse_args(argv)
    us = asyncio.run(measure(args.requests, args.rounds))
    print(f"POST /orchestrate/stream, the edge only (best of {args.rounds} x {args.requests}):")
    for name, value in us.items():
        print(f"  {name:10} {value:7.1f} us a request")
    print(f"  fast path / stack: {us['fast path'] / us['stack']:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
