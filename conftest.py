"""How the suite splits across pytest-xdist workers (``make test``: ``-n 2 --dist loadgroup``).

Every test belongs to one group, and a group goes whole to one worker:

* by default its file: a module fixture (a mesh of processes, a server) starts once, as in a
  serial run, and the file's tests run in their order;
* files that use the same session fixture of a ``conftest.py`` (the root e2e ``model_mesh``
  with the writer's model, the fault suite's mesh, the writer process) form one group, so
  the fixture starts on one worker only, not once per worker;
* files in ``TOGETHER`` form one group because they must not overlap: the browser tests (one
  Chromium at a time on a small machine), and the tests that write a file into the source
  tree for a moment beside the tests that walk that tree;
* tests marked ``xdist_group(name)`` join that group.

xdist's own loadgroup puts the group into each node id, which pytest 9 no longer lets a
plugin change, so the groups travel another way: each worker writes the map it computed at
collection (node id -> group) to a folder the controller named, and the controller's
scheduler (``GroupScheduling``) reads it once every worker has collected. Groups go out
heaviest first (``WEIGHTS``), not by number of tests as xdist would. Without xdist
(``make test-serial``, a single file) nothing here does anything.

One fixture lives here because tests in several trees use it: ``writer_model_once`` (the
writer processes' first start on a machine converts the model once, not once per worker).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

from mesh_testkit import once_per_machine

# Path prefixes (from the repository root) whose files run as one group, and why.
TOGETHER: dict[str, tuple[str, ...]] = {
    # Two Chromium browsers and two meshes at once starve each other on 2 cores.
    "browser": ("tests/ui/",),
    # test_doc_references writes a README and a module into services/orchestrator for a
    # moment; the other two walk that tree (a file listed, then gone: FileNotFoundError).
    "source-tree": (
        "tests/test_doc_references.py",
        "tests/test_settings_docs.py",
        "services/orchestrator/tests/test_orchestrator_structure.py",
    ),
}
# Seconds per file (setup, call and teardown), from one `make test` with --durations=0 on a
# busy 2-core machine; only the order in which groups go out depends on them: the heaviest
# first, so that no long group starts last while the other worker has nothing left. A file
# not listed counts 0.1 s per test. Stale figures cost time, never a result.
WEIGHTS: dict[str, float] = {
    "tests/test_e2e_orchestrator.py": 339,
    "tests/durable/test_replicas.py": 169,
    "services/workers/writer/tests/test_writer_model_cache.py": 154,
    "tests/test_bench_smoke.py": 130,
    "services/workers/image_gen/tests/test_image_gen_process.py": 115,
    "tests/test_e2e_workflows.py": 98,
    "services/workers/writer/tests/test_writer_service.py": 95,
    "services/workers/writer/tests/test_writer_schema_guard.py": 93,
    "services/orchestrator/tests/test_orchestrator_webhooks.py": 92,
    "tests/durable/test_in_doubt.py": 88,
    "tests/ui/test_dashboard.py": 83,
    "tests/test_worker_contract.py": 76,
    "services/workers/lora_trainer/tests/test_lora_core.py": 67,
    "services/workers/writer/tests/test_writer_structured.py": 64,
    "services/workers/lora_trainer/tests/test_lora_process.py": 64,
    "tests/test_e2e_retention_artifacts.py": 57,
    "tests/faults/test_mesh_faults.py": 53,
    "tests/durable/test_loop_resume.py": 48,
    "tests/test_e2e_saved_workflows.py": 45,
    "tests/test_bench_chaos.py": 45,
    "services/orchestrator/tests/test_orchestrator_api.py": 45,
    "tests/ui/test_dashboard_workflows.py": 40,
    "services/orchestrator/tests/test_orchestrator_openai.py": 34,
    "tests/test_e2e_threads.py": 32,
    "services/orchestrator/tests/test_a2a_conformance.py": 32,
    "tests/test_e2e_auth.py": 30,
    "tests/durable/test_resumed_keys.py": 29,
    "tests/faults/test_replica_failures.py": 26,
    "services/discovery/tests/test_discovery_process.py": 26,
    "tests/test_e2e_retention.py": 23,
    "services/orchestrator/tests/test_orchestrator_auth.py": 23,
    "tests/test_e2e_registry.py": 22,
    "services/orchestrator/tests/test_orchestrator_approval.py": 22,
    "tests/test_e2e_a2a_input.py": 20,
    "tests/test_e2e_trust.py": 19,
    "tests/faults/test_partition.py": 19,
    "services/orchestrator/tests/test_orchestrator_quotas.py": 19,
    "services/orchestrator/tests/test_orchestrator_threads.py": 18,
    "services/orchestrator/tests/test_llm_graph.py": 18,
    "tests/test_launcher.py": 17,
    "tests/test_e2e_mcp.py": 17,
}
GROUPS_DIR = "mesh_groups_dir"  # the workerinput key naming the folder of the maps


def _writer_model_converted() -> bool:
    """Whether a writer started now (the settings of this environment) would load its model
    from the converted copy (``mesh_worker.model_cache``), or has nothing to convert."""
    if importlib.util.find_spec("mesh_worker_writer") is None:
        return True
    from mesh_worker.model_cache import converted_folder
    from mesh_worker_writer.settings import WriterSettings

    settings = WriterSettings()
    if not settings.model_cache:
        return True
    try:
        folder, gguf = settings.model_source()
    except RuntimeError:  # no model installed: the writer says so when it starts
        return True
    target = converted_folder(settings.model_cache_dir.expanduser(), folder, gguf)
    return target is None or target.is_dir()


@pytest.fixture(scope="session")
def writer_model_once() -> Callable[[], AbstractContextManager[bool]]:
    """``with writer_model_once() as converting:`` around a writer process's start. On a
    fresh machine (CI's clone) the first writers of the two xdist workers start together and
    would each convert the GGUF model (~30 s of CPU on 2 cores, then the same folder twice);
    here the first converts (``converting`` True: start it inside the block) and the others
    wait for it, then load its copy. Once the copy exists the block holds nothing."""
    return lambda: once_per_machine("writer-model", _writer_model_converted)


def _file_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def _session_fixtures(item: pytest.Item) -> set[str]:
    """The session-scoped fixtures from the suite's own conftest files that ``item`` uses
    (pytest's and the plugins' own, such as ``tmp_path_factory``, have an empty base id)."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return set()
    found = set()
    for name in info.names_closure:
        for fixturedef in info.name2fixturedefs.get(name, ()):
            if fixturedef.scope == "session" and fixturedef.baseid:
                found.add(f"{fixturedef.baseid}::{name}")
    return found


def groups_of(items: list[pytest.Item]) -> dict[str, str]:
    """Node id -> group name: a union of files over shared session fixtures, ``TOGETHER``
    and ``xdist_group`` marks; a group is named after its first file in sorted order."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:  # files sort before the "~"-prefixed keys: the name is a file
            parent[max(ra, rb)] = min(ra, rb)

    for item in items:
        path = _file_of(item.nodeid)
        find(path)
        for key in _session_fixtures(item):
            union(path, "~fixture:" + key)
        for group, prefixes in TOGETHER.items():
            if path.startswith(prefixes):
                union(path, "~together:" + group)
        for mark in item.iter_markers("xdist_group"):
            name = mark.args[0] if mark.args else mark.kwargs.get("name", "default")
            union(path, f"~mark:{name}")
    return {item.nodeid: find(_file_of(item.nodeid)) for item in items}


@pytest.hookimpl(trylast=True)  # after any hook that adds or removes items
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    if not workerinput or GROUPS_DIR not in workerinput:
        return
    groups = groups_of(items)
    # The heaviest groups first (a stable sort: each group's tests keep their order); every
    # worker sorts the same items the same way, and the controller hands out in this order.
    group_of = {_file_of(nodeid): group for nodeid, group in groups.items()}
    tests: dict[str, int] = {}
    for item in items:
        tests[_file_of(item.nodeid)] = tests.get(_file_of(item.nodeid), 0) + 1
    weight: dict[str, float] = {}
    for path, n in tests.items():
        weight[group_of[path]] = weight.get(group_of[path], 0.0) + WEIGHTS.get(path, 0.1 * n)
    items.sort(key=lambda item: -weight[groups[item.nodeid]])
    folder = Path(workerinput[GROUPS_DIR])
    tmp = folder / f".{workerinput['workerid']}.json"
    tmp.write_text(json.dumps(groups))
    os.replace(tmp, folder / f"{workerinput['workerid']}.json")  # whole, before collectionfinish


try:
    from xdist.scheduler import LoadScopeScheduling
except ImportError:  # no pytest-xdist: a serial run
    pass
else:

    class GroupScheduling(LoadScopeScheduling):
        """xdist's scope scheduling with the groups the workers computed at collection."""

        def __init__(self, config: pytest.Config, log: Any = None) -> None:
            super().__init__(config, log)
            self.folder = Path(config.stash[_folder_key])
            self.groups: dict[str, str] | None = None

        def schedule(self) -> None:
            if self.groups is None:  # every worker has collected by now: its map is written
                maps = sorted(self.folder.glob("gw*.json"))
                assert maps, f"no xdist group map in {self.folder}"
                self.groups = json.loads(maps[0].read_text())
            super().schedule()

        def _split_scope(self, nodeid: str) -> str:
            return (self.groups or {}).get(nodeid) or _file_of(nodeid)

    _folder_key = pytest.StashKey[str]()

    def _grouping(config: pytest.Config) -> bool:
        return (
            config.getvalue("dist") == "loadgroup"
            and not hasattr(config, "workerinput")
            and bool(config.getvalue("numprocesses") or config.getvalue("tx"))
        )

    def pytest_configure(config: pytest.Config) -> None:
        if _grouping(config):
            folder = tempfile.mkdtemp(prefix="mesh-xdist-groups-")
            config.stash[_folder_key] = folder
            config.option.loadscopereorder = False  # the workers' order: heaviest first
            config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))

    def pytest_configure_node(node: Any) -> None:
        if _folder_key in node.config.stash:
            node.workerinput[GROUPS_DIR] = node.config.stash[_folder_key]

    def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
        return GroupScheduling(config, log) if _folder_key in config.stash else None
