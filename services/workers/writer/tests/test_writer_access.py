"""Who may use the writer, and whose adapters: its OpenAI routes take tokens, and an adapter
is its owner's alone (listed, and used through the ``adapter`` input or a ``<base>:<id>``
model, by that client or admin only).

The writer here runs around ``FakeEngine``, a stand-in for the model (no weights are loaded:
these checks happen before generation), over real adapter folders on disk, with auth on.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mesh_auth import AuthSettings
from mesh_testkit.trust import Credentials, credentials
from mesh_worker import WorkerSettings, create_worker_app
from mesh_worker.testing import serving
from mesh_worker_writer.adapters import LoraAdapters
from mesh_worker_writer.api import create_openai_router
from mesh_worker_writer.engine import PromptTooLong
from mesh_worker_writer.generation import GenerationParams
from mesh_worker_writer.settings import WriterSettings
from mesh_worker_writer.worker import WriterWorker


class _NoPatterns:
    """The JSON Schema pattern compiler's stand-in: these tests send no schema."""

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass


class FakeEngine:
    """A stand-in for ``TextGenerator``: no model. ``open`` records the adapter a request
    reached generation with, then refuses (so a test sees which requests got that far)."""

    loaded = True
    model_id = "tiny-model"
    open_streams = 0
    patterns = _NoPatterns()

    def __init__(self, root: Path) -> None:
        self.settings = WriterSettings(adapters_dir=root)
        self.adapters = LoraAdapters(root)
        self.opened: list[str | None] = []

    def check_adapter(self, adapter_id: str | None) -> None:
        if adapter_id is not None:
            self.adapters.resolve(adapter_id)

    def open(self, messages: Any, params: GenerationParams) -> Any:
        self.opened.append(params.adapter)
        raise PromptTooLong("reached generation")

    def health(self) -> dict[str, Any]:
        return {}

    def close(self) -> None:
        pass


def adapter(root: Path, adapter_id: str, owner: str | None) -> None:
    """An adapter folder as the lora-trainer leaves it (config, and who it was trained for)."""
    folder = root / adapter_id
    folder.mkdir(parents=True)
    (folder / "adapter_config.json").write_text("{}")
    (folder / "mesh_job.json").write_text(json.dumps({"owner": owner}))


@pytest.fixture(scope="module")
def creds(tmp_path_factory: pytest.TempPathFactory) -> Credentials:
    return credentials(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="module")
def writer(
    tmp_path_factory: pytest.TempPathFactory, creds: Credentials
) -> Iterator[tuple[str, FakeEngine]]:
    root = tmp_path_factory.mktemp("adapters")
    adapter(root, "alices", "client:alice")
    adapter(root, "bobs", "client:bob")
    adapter(root, "operators", None)  # copied in by hand: admin only
    engine = FakeEngine(root)
    auth = AuthSettings(auth_jwks_file=creds.jwks)
    settings = WorkerSettings(discovery_url="", instance_id="writer-access")
    app = create_worker_app(
        WriterWorker(engine),  # type: ignore[arg-type]
        settings,
        routers=[create_openai_router(engine)],  # type: ignore[arg-type]
        auth=auth,
    )
    with serving(app) as url:
        yield url, engine


def chat(model: str) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": "hi"}]}


def test_the_openai_routes_answer_401_without_a_token(writer: tuple[str, FakeEngine]) -> None:
    url, engine = writer
    models = httpx.get(f"{url}/v1/models")
    assert models.status_code == 401 and models.json()["error"] == "missing_token"
    completion = httpx.post(f"{url}/v1/chat/completions", json=chat("tiny-model"))
    assert completion.status_code == 401 and completion.json()["error"] == "missing_token"
    assert engine.opened == []
    assert httpx.get(f"{url}/health").status_code == 200  # probes stay open


def test_models_lists_only_the_callers_own_adapters(
    writer: tuple[str, FakeEngine], creds: Credentials
) -> None:
    url, _ = writer

    def listed(scope: str) -> list[str]:
        r = httpx.get(f"{url}/v1/models", headers=creds.bearer(scope))
        assert r.status_code == 200
        return [m["id"] for m in r.json()["data"]]

    assert listed("client:alice") == ["tiny-model", "tiny-model:alices"]
    assert listed("client:bob") == ["tiny-model", "tiny-model:bobs"]
    assert listed("orchestrator") == ["tiny-model"]
    assert listed("admin") == [
        "tiny-model",
        "tiny-model:alices",
        "tiny-model:bobs",
        "tiny-model:operators",
    ]
    descriptor = httpx.get(f"{url}/descriptor").json()
    assert "adapters" not in descriptor["metadata"]  # the registry shows no adapter ids


def test_another_clients_adapter_is_refused_like_an_unknown_one(
    writer: tuple[str, FakeEngine], creds: Credentials
) -> None:
    """Attack: bob uses alice's fine-tuned adapter, directly as a model and through a run
    (the ``adapter`` input of a task the orchestrator runs for him)."""
    url, engine = writer
    engine.opened.clear()
    r = httpx.post(
        f"{url}/v1/chat/completions",
        json=chat("tiny-model:alices"),
        headers=creds.bearer("client:bob"),
    )
    assert r.status_code == 404 and r.json()["error"]["code"] == "model_not_found"
    unknown = httpx.post(
        f"{url}/v1/chat/completions",
        json=chat("tiny-model:nope"),
        headers=creds.bearer("client:bob"),
    )
    assert (
        r.json()["error"]["message"].replace("alices", "nope") == unknown.json()["error"]["message"]
    )
    task = {"task_id": "t1", "input": {"prompt": "hi", "adapter": "alices"}}
    for owner in ("client:bob", None):  # the run's owner; None: the orchestrator's own
        refused = httpx.post(
            f"{url}/invoke", json={**task, "owner": owner}, headers=creds.bearer("orchestrator")
        )
        assert refused.status_code == 422 and "unknown adapter 'alices'" in refused.text
    assert engine.opened == []  # nothing reached generation
    ok = httpx.post(
        f"{url}/invoke",
        json={**task, "owner": "client:alice"},
        headers=creds.bearer("orchestrator"),
    )
    assert ok.status_code == 422 and "reached generation" in ok.text
    mine = httpx.post(
        f"{url}/v1/chat/completions",
        json=chat("tiny-model:alices"),
        headers=creds.bearer("client:alice"),
    )
    assert mine.status_code == 400 and "reached generation" in mine.text
    assert engine.opened == ["alices", "alices"]
