"""``mesh new-worker NAME``: a new worker package in the repository, added to the one list.

What it writes, under ``services/workers/<folder>/`` (``folder`` is NAME with ``_`` for ``-``):
``pyproject.toml``, ``README.md``, ``src/mesh_worker_<folder>/`` (a ``Worker`` of the worker
SDK that streams one message per word of its input, and ``__main__`` that serves it) and
``tests/`` (the worker contract suite of ``mesh_testkit`` on the worker as a process, and a
test of ``run`` itself). It appends ``NAME PORT`` to ``services/workers/workers.txt``, the
list the Makefile (packages, ports), ``scripts/ready.py`` and the worker contract and
deploy tests read, and the worker's line to the ``Procfile``. What it does not write
(compose, Kubernetes, Prometheus, import-linter) it prints; ``tests/deploy`` and
``tests/test_workers_list.py`` fail until a listed worker has them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from mesh_cli.client import CliError

WORKERS_FILE = Path("services/workers/workers.txt")
NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
FIRST_PORT = 8001


@dataclass(frozen=True)
class ListedWorker:
    """One line of ``workers.txt``: the service name (Procfile, compose, Kubernetes) and port."""

    name: str
    port: int

    @property
    def folder(self) -> str:
        return self.name.replace("-", "_")

    @property
    def module(self) -> str:
        return f"mesh_worker_{self.folder}"

    @property
    def path(self) -> str:
        return f"services/workers/{self.folder}"


def read_workers(root: Path) -> list[ListedWorker]:
    """The workers of ``services/workers/workers.txt`` under ``root``, in order (``#`` starts a comment)."""
    workers = []
    for number, raw in enumerate((root / WORKERS_FILE).read_text(encoding="utf-8").splitlines()):
        line = raw.split("#", 1)[0].split()
        if not line:
            continue
        if len(line) != 2 or not NAME.match(line[0]) or not line[1].isdigit():
            raise CliError(f"{WORKERS_FILE}:{number + 1}: expected `name port`, got {raw!r}")
        workers.append(ListedWorker(line[0], int(line[1])))
    return workers


def new_worker(root: Path, name: str, port: int | None = None) -> ListedWorker:
    """Write the package, list it and give it a Procfile line; returns what was added.

    Refuses (``CliError``) a malformed name, a name or port already listed, and a folder that
    exists; writes nothing then."""
    if not NAME.match(name) or len(name) > 40:
        raise CliError(f"worker name {name!r}: lowercase letters and digits, words joined by '-'")
    if not (root / WORKERS_FILE).is_file():
        raise CliError(f"no {WORKERS_FILE} under {root}: run this at the repository's root")
    listed = read_workers(root)
    if any(w.name == name for w in listed):
        raise CliError(f"{name} is already in {WORKERS_FILE}")
    taken = {w.port for w in listed}
    if port is None:
        port = max(taken | {FIRST_PORT - 1}) + 1
    elif port in taken:
        raise CliError(f"port {port} is already taken in {WORKERS_FILE}")
    worker = ListedWorker(name, port)
    folder = root / worker.path
    if folder.exists():
        raise CliError(f"{worker.path} already exists")
    for relative, text in _files(worker).items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    _append_line(root / WORKERS_FILE, f"{name} {port}")
    _add_to_procfile(root / "Procfile", worker)
    return worker


def next_steps(worker: ListedWorker) -> str:
    """What a deployment of the new worker still needs, beyond ``make run``."""
    return "\n".join(
        [
            f"wrote {worker.path} (module {worker.module}, port {worker.port}); listed it in"
            f" {WORKERS_FILE} and the Procfile.",
            "next:",
            "  make setup   # installs it (the Makefile reads the list)",
            f"  .venv/bin/python -m pytest -q {worker.path}",
            "for deployment (tests/deploy and tests/test_workers_list.py fail until these are done):",
            f"  compose/docker-compose.yml (and .mtls.yml): a `{worker.name}` service, as"
            " `analyst` has",
            f"  compose/prometheus.yml (and .mtls.yml): a `{worker.name}` job on"
            f" {worker.name}:{worker.port}",
            f"  compose/make-secrets.sh: `{worker.name}` in the agents' token loop",
            f"  k8s/base/{worker.name}.yaml, its line in k8s/base/kustomization.yaml, and"
            " k8s/overlays/mtls/tls.yaml",
            f"  pyproject.toml [tool.importlinter]: {worker.module} in root_packages and in"
            " the services' independence contract",
        ]
    )


def _append_line(path: Path, line: str) -> None:
    text = path.read_text(encoding="utf-8")
    if text and not text.endswith("\n"):
        text += "\n"
    path.write_text(text + line + "\n", encoding="utf-8")


def _add_to_procfile(path: Path, worker: ListedWorker) -> None:
    """The worker's line after the last worker's, before ``ready`` (which waits for all)."""
    entry = f"{worker.name}: .venv/bin/python -m {worker.module}"
    if not path.exists():
        path.write_text(entry + "\n", encoding="utf-8")
        return
    lines = path.read_text(encoding="utf-8").splitlines()
    at = next((i for i, line in enumerate(lines) if line.startswith("ready:")), len(lines))
    lines.insert(at, entry)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _files(w: ListedWorker) -> dict[str, str]:
    title = w.name.replace("-", " ").title()
    src = f"src/{w.module}"
    return {
        "pyproject.toml": f'''[project]
name = "mesh-worker-{w.name}"
version = "0.1.0"
description = "Mesh worker {w.name}: streams one message per word of its input."
requires-python = ">=3.11"
dependencies = ["mesh-worker-sdk", "mesh-contracts", "pydantic>=2.7"]

[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[tool.hatch.build.targets.wheel]
packages = ["{src}"]

[tool.deptry.package_module_name_map]
# The SDK's distribution name differs from its import name (editable installs record no map).
mesh-worker-sdk = "mesh_worker"
''',
        "README.md": f"""# mesh-worker-{w.name}

A mesh worker made by `mesh new-worker {w.name}`: it answers the capability `{w.folder}`,
streams one message per word of `input.text` and returns the words. Replace `run` in
`{src}/worker.py` with the real work.

## Run it alone

```bash
.venv/bin/pip install -q --no-deps -e {w.path}   # once (make setup does it too)
WORKER_DISCOVERY_URL= .venv/bin/python -m {w.module}   # port {w.port}
.venv/bin/python -m pytest -q {w.path}
```

## Settings

The worker SDK's `WORKER_*` settings ([worker SDK](../../../libs/worker_sdk/README.md#settings)):
`WORKER_PORT` (default {w.port} here), `WORKER_DISCOVERY_URL` (empty: do not register), ...
""",
        f"{src}/__init__.py": f'''"""Mesh worker {w.name}: streams one message per word of its input."""

from {w.module}.worker import DEFAULT_PORT, {_inp(w)}, {_cls(w)}

__all__ = ["DEFAULT_PORT", "{_inp(w)}", "{_cls(w)}"]
''',
        f"{src}/__main__.py": f'''"""``python -m {w.module}``: serve the worker (WORKER_PORT, default {w.port})."""

from __future__ import annotations

from mesh_worker import serve
from {w.module}.worker import DEFAULT_PORT, {_cls(w)}


def main() -> None:
    serve({_cls(w)}(), default_port=DEFAULT_PORT)


if __name__ == "__main__":
    main()
''',
        f"{src}/py.typed": "",
        f"{src}/worker.py": f'''"""The {w.name} worker: one ``message`` event per word of ``input.text``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from mesh_contracts import AgentDescriptor, MessageEvent, StreamingMode, TaskRequest
from mesh_worker import Emit, Worker

DEFAULT_PORT = {w.port}


class {_inp(w)}(BaseModel):
    """The request's ``input``."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=10_000, description="the text to go through")


class {_cls(w)}(Worker[{_inp(w)}]):
    """Streams each word of ``text`` as a message, then returns the list of words."""

    Input = {_inp(w)}

    def describe(self) -> AgentDescriptor:
        return self.descriptor(
            agent_id="{w.name}",
            name="{title}",
            description="Streams one message per word of its input text.",
            capabilities=["{w.folder}"],
            streaming_mode=StreamingMode.DYNAMIC_MESSAGES,
            max_concurrency=4,
        )

    async def run(self, task: TaskRequest, inp: {_inp(w)}, emit: Emit) -> list[str]:
        words = inp.text.split()
        for word in words:
            await emit(MessageEvent(content=word))
        return words
''',
        f"tests/test_{w.folder}_worker.py": f'''"""The {w.name} worker: its own behaviour, and the worker contract suite on it as a process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from mesh_contracts import MessageEvent, StreamingMode, TaskRequest
from mesh_testkit import free_port, running
from mesh_testkit.conformance.worker_contract import WorkerContract, WorkerUnderTest
from {w.module} import {_inp(w)}, {_cls(w)}


async def test_streams_one_message_per_word_and_returns_the_words() -> None:
    sent: list[MessageEvent] = []

    async def emit(event: object) -> None:
        assert isinstance(event, MessageEvent)
        sent.append(event)

    out = await {_cls(w)}().run(TaskRequest(), {_inp(w)}(text="two words"), emit)
    assert [e.content for e in sent] == ["two", "words"]
    assert out == ["two", "words"]


def test_empty_text_is_refused() -> None:
    with pytest.raises(ValidationError):
        {_inp(w)}(text="")


class TestContract(WorkerContract):
    @pytest.fixture(scope="class")
    @classmethod
    def worker(cls) -> Iterator[WorkerUnderTest]:
        port = free_port()
        env = {{"WORKER_PORT": str(port), "WORKER_DISCOVERY_URL": ""}}
        with running("{w.module}", port, env) as svc:
            yield WorkerUnderTest(
                svc.url,
                StreamingMode.DYNAMIC_MESSAGES,
                valid={{"text": "hello mesh"}},
                invalid={{"text": ""}},
            )
''',
    }


def _cls(w: ListedWorker) -> str:
    return "".join(part.title() for part in w.name.split("-")) + "Worker"


def _inp(w: ListedWorker) -> str:
    return _cls(w).removesuffix("Worker") + "Input"
