"""Tracing: with WORKER_OTLP_ENDPOINT set, request spans reach the collector over OTLP/HTTP."""

from __future__ import annotations

import threading
from typing import Any

import httpx
from fastapi import FastAPI, Request, Response
from pydantic import BaseModel

from mesh_contracts import AgentDescriptor, TaskRequest
from mesh_worker import AnyInput, Emit, Worker, WorkerSettings, create_worker_app
from mesh_worker.testing import serving


class FakeTracedWorker(Worker):
    Input = AnyInput

    def describe(self) -> AgentDescriptor:
        return AgentDescriptor(agent_id="fake-traced", capabilities=["search"], static_response=1)

    async def run(self, task: TaskRequest, inp: BaseModel, emit: Emit) -> Any:
        return "traced"


def test_request_spans_are_exported_to_the_otlp_endpoint_by_shutdown() -> None:
    received: list[bytes] = []
    lock = threading.Lock()
    collector = FastAPI()

    @collector.post("/v1/traces")
    async def traces(request: Request) -> Response:
        body = await request.body()
        with lock:
            received.append(body)
        return Response(status_code=200)

    with serving(collector) as otlp:
        s = WorkerSettings(discovery_url="", otlp_endpoint=otlp)
        with serving(create_worker_app(FakeTracedWorker(), s)) as url:
            headers = {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
            assert httpx.post(url + "/invoke", json={}, headers=headers).status_code == 200
        # The worker's lifespan shutdown flushed the batch processor.
        with lock:
            payload = b"".join(received)
    assert b"POST /invoke" in payload
    assert bytes.fromhex("0af7651916cd43dd8448eb211c80319c") in payload  # joined the caller's trace
