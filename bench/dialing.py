"""What pinning connections to checked addresses costs the relay (``mesh_auth.dialing``).

Run: ``.venv/bin/python -m bench.dialing`` (about 30 s on 2 cores; ``--rounds`` more for
steadier figures). One worker-like server on loopback (uvicorn, in this process's thread),
and in the same run, rounds alternating between the variants:

* **worker stream, pooled** (the relay's hot path): ``POST /stream`` and its SSE body read
  to the end through the orchestrator's httptools ``StreamClient``, with the endpoint
  policy's check before each call and a plain connection (before: what the relay did), or
  with no per-call check and connections made through the policy's ``address`` (now);
* **httpx, pooled**: ``GET`` over a keep-alive connection, plain httpx transport or
  ``pinned_transport`` (A2A agents, static workers, cards);
* **httpx, a new connection per request**: the same with keep-alive off, the worst case
  for pinning (every request pays the policy's lookup; the resolution is cached for 5 s).

Each figure is the median over rounds of the mean time per request; ratios are now/before.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse, StreamingResponse
from rich.console import Console
from rich.table import Table

from mesh_auth.dialing import pinned_transport
from mesh_auth.endpoints import EndpointPolicy, default_networks
from mesh_orchestrator.relay.stream_client import StreamClient
from mesh_testkit import serving

FRAMES = 16  # token events per stream, as the bench's first-token streams


def worker_app() -> FastAPI:
    app = FastAPI()
    frame = b'data: {"type":"token","token":"x"}\n\n'

    @app.get("/x")
    async def x() -> PlainTextResponse:
        return PlainTextResponse("ok")

    @app.post("/stream")
    async def stream() -> StreamingResponse:
        async def gen() -> AsyncIterator[bytes]:
            for _ in range(FRAMES):
                yield frame
            yield b'data: {"type":"done"}\n\n'

        return StreamingResponse(gen(), media_type="text/event-stream")

    return app


async def timed(n: int, one: Callable[[], Awaitable[Any]]) -> float:
    """Mean microseconds of ``one()`` over ``n`` calls."""
    start = time.perf_counter()
    for _ in range(n):
        await one()
    return (time.perf_counter() - start) / n * 1e6


async def measure(url: str, rounds: int, n: int) -> dict[str, dict[str, float]]:
    policy = EndpointPolicy(default_networks("127.0.0.1"))
    target = httpx.URL(url + "/stream")
    body = b'{"task_id": "t1", "input": {}}'
    plain_streams = StreamClient()
    pinned_streams = StreamClient(dial=policy.address)

    async def checked_then_plain() -> None:  # before: a check per call, then connect by name
        await policy.check(url)
        async with plain_streams.post(target, body) as resp:
            await resp.read()

    async def pinned() -> None:  # now: the stream client asks the policy per new connection
        async with pinned_streams.post(target, body) as resp:
            await resp.read()

    no_keepalive = httpx.Limits(max_keepalive_connections=0)
    clients = {
        "httpx, pooled": (
            httpx.AsyncClient(),
            httpx.AsyncClient(transport=pinned_transport(policy)),
        ),
        "httpx, a new connection per request": (
            httpx.AsyncClient(limits=no_keepalive),
            httpx.AsyncClient(transport=pinned_transport(policy, limits=no_keepalive)),
        ),
    }
    samples: dict[str, tuple[list[float], list[float]]] = {
        "worker stream, pooled (the relay)": ([], [])
    }
    samples |= {name: ([], []) for name in clients}
    for _ in range(rounds):
        before, now = samples["worker stream, pooled (the relay)"]
        before.append(await timed(n, checked_then_plain))
        now.append(await timed(n, pinned))
        for name, (plain, pin) in clients.items():
            count = n if "pooled" in name else n // 4
            samples[name][0].append(await timed(count, lambda c=plain: c.get(url + "/x")))
            samples[name][1].append(await timed(count, lambda c=pin: c.get(url + "/x")))
    await plain_streams.aclose()
    await pinned_streams.aclose()
    for plain, pin in clients.values():
        await plain.aclose()
        await pin.aclose()
    return {
        name: {"before_us": statistics.median(b), "now_us": statistics.median(a)}
        for name, (b, a) in samples.items()
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.dialing", description=__doc__)
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--requests", type=int, default=400, help="per round and variant")
    args = p.parse_args(argv)
    with serving(worker_app(), name="dialing-worker") as url:
        figures = asyncio.run(measure(url, args.rounds, args.requests))
    table = Table(title="pinned connections: time per request (median of rounds)")
    for col in ("path", "before (us)", "now, pinned (us)", "now/before"):
        table.add_column(col, justify="left" if col == "path" else "right")
    for name, f in figures.items():
        ratio = f["now_us"] / f["before_us"]
        table.add_row(name, f"{f['before_us']:.0f}", f"{f['now_us']:.0f}", f"{ratio:.2f}x")
    Console(width=100).print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
