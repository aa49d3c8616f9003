"""mesh_telemetry.metrics: RED metrics labelled by route template, one registry per app,
values read at scrape time, and a stream counted once however many chunks it sends."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
from fastapi import FastAPI
from fastapi.responses import StreamingResponse

from mesh_telemetry.metrics import UNMATCHED, install_metrics
from mesh_testkit.metrics import scrape_async as scrape


def app_with_metrics() -> FastAPI:
    app = FastAPI()

    @app.get("/items/{item_id}")
    async def item(item_id: str) -> dict[str, str]:
        return {"id": item_id}

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        async def body() -> AsyncIterator[bytes]:
            for i in range(50):
                yield b"data: %d\n\n" % i

        return StreamingResponse(body(), media_type="text/event-stream")

    install_metrics(app)
    return app


def requests(
    route: str, status: str, method: str = "GET"
) -> tuple[str, tuple[tuple[str, str], ...]]:
    labels = (("method", method), ("route", route), ("status", status))
    return ("mesh_http_requests_total", labels)


async def test_requests_are_counted_by_route_template_not_by_raw_path() -> None:
    app = app_with_metrics()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        for i in range(3):
            assert (await c.get(f"/items/{i}")).status_code == 200
        assert (await c.get("/nowhere/1")).status_code == 404
        assert (await c.get("/nowhere/2")).status_code == 404
        got = await scrape(c)
    assert got[requests("/items/{item_id}", "200")] == 3
    assert got[requests(UNMATCHED, "404")] == 2
    assert not any("/items/1" in str(key) for key in got)
    count = (
        "mesh_http_request_duration_seconds_count",
        (("method", "GET"), ("route", "/items/{item_id}")),
    )
    assert got[count] == 3


async def test_a_streamed_response_is_one_request_however_many_chunks_it_sends() -> None:
    app = app_with_metrics()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        r = await c.get("/stream")
        assert r.text.count("data:") == 50
        got = await scrape(c)
    assert got[requests("/stream", "200")] == 1
    count = ("mesh_http_request_duration_seconds_count", (("method", "GET"), ("route", "/stream")))
    assert got[count] == 1


async def test_two_apps_in_one_process_keep_their_own_metrics() -> None:
    a, b = app_with_metrics(), app_with_metrics()
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=a), base_url="http://a") as ca,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=b), base_url="http://b") as cb,
    ):
        await ca.get("/items/x")
        got_a, got_b = await scrape(ca), await scrape(cb)
    assert got_a[requests("/items/{item_id}", "200")] == 1
    assert requests("/items/{item_id}", "200") not in got_b


async def test_gauges_and_counters_of_the_service_are_read_at_scrape_time() -> None:
    app = app_with_metrics()
    queue = {"a": 2, "b": 0}
    reaped = [0]
    m = app.state.metrics
    m.gauge_of("mesh_queue", "queued", lambda: [((k,), v) for k, v in queue.items()], ["name"])
    m.counter_of("mesh_reaped", "reaped", lambda: [((), reaped[0])])
    seen: list[int] = []

    async def hook() -> None:
        seen.append(len(seen))

    m.before_scrape(hook)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        first = await scrape(c)
        queue["a"], reaped[0] = 5, 3
        second = await scrape(c)
    assert first[("mesh_queue", (("name", "a"),))] == 2
    assert second[("mesh_queue", (("name", "a"),))] == 5
    assert (first[("mesh_reaped_total", ())], second[("mesh_reaped_total", ())]) == (0, 3)
    assert seen == [0, 1]
