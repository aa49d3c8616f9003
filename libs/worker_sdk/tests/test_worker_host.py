"""A worker's browser edge: run open (no mesh secret, loopback only) it answers only requests
whose Host is one of loopback's names, its bind address or its public URL's host, so a web
page that rebinds its own name to 127.0.0.1 cannot drive it; with a secret its /docs (which
loads Swagger's scripts from a CDN) is off."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from mesh_auth import AuthSettings
from mesh_contracts import AgentDescriptor, StreamingMode, TaskRequest
from mesh_worker import Emit, Worker, WorkerSettings, create_worker_app
from mesh_worker.testing import serving


class Quiet(Worker[TaskRequest]):
    Input = TaskRequest

    def describe(self) -> AgentDescriptor:
        return self.descriptor(
            agent_id="fake-quiet", capabilities=["search"], streaming_mode=StreamingMode.STATIC
        )

    async def run(self, task: TaskRequest, inp: TaskRequest, emit: Emit) -> Any:
        return "ok"


@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("evil.example", 400),
        ("attacker.example:8080", 400),
        ("localhost", 200),
        ("127.0.0.1", 200),
        ("[::1]:8080", 200),
        ("writer.localtest", 200),  # the host of WORKER_PUBLIC_URL
        ("gpu-box.lan", 200),  # WORKER_TRUSTED_HOSTS
    ],
)
def test_an_open_worker_answers_only_its_own_host_names(host: str, status: int) -> None:
    settings = WorkerSettings(
        discovery_url="",
        public_url="http://writer.localtest:8080",
        trusted_hosts="gpu-box.lan",
    )
    app = create_worker_app(Quiet(), settings, auth=AuthSettings(auth_secret=None))
    with serving(app) as url:
        r = httpx.get(url + "/descriptor", headers={"Host": host})
    assert r.status_code == status


def test_with_a_secret_the_docs_are_off_and_the_openapi_document_stays() -> None:
    settings = WorkerSettings(discovery_url="")
    auth = AuthSettings(auth_secret=SecretStr("q" * 48))
    with serving(create_worker_app(Quiet(), settings, auth=auth)) as url:
        assert httpx.get(url + "/docs").status_code == 404
        assert httpx.get(url + "/openapi.json").status_code == 200
