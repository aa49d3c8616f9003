"""A worker is added in one place: services/workers/workers.txt (``mesh new-worker`` writes it).

The Makefile (packages, ports), the Procfile, ``scripts/ready.py`` and the deploy tests'
model read the list; what is written by hand (compose, Prometheus, Kubernetes) is held to it
by tests/deploy. Here: the list's other readers, and a throw-away worker made by the
scaffold in a temporary tree, seen in what is generated from the list and passing its own
generated tests (the worker contract suite among them).
"""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from mesh_cli.commands import main
from mesh_cli.scaffold import WORKERS_FILE, read_workers

ROOT = Path(__file__).resolve().parents[1]
_SPEC = importlib.util.spec_from_file_location("mesh_ready", ROOT / "scripts" / "ready.py")
assert _SPEC is not None and _SPEC.loader is not None
ready = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(ready)


def make_variable(root: Path, name: str) -> list[str]:
    """``$(name)`` as the repository's Makefile expands it with ``root`` as the working dir."""
    out = subprocess.run(
        [
            "make",
            "-s",
            "--no-print-directory",
            "-f",
            str(ROOT / "Makefile"),
            "--eval",
            f"print-var: ; @echo $({name})",
            "print-var",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return out.stdout.split()


def test_the_list_names_every_worker_folder_and_each_folder_is_listed() -> None:
    listed = {w.path for w in read_workers(ROOT)}
    folders = {
        p.parent.relative_to(ROOT).as_posix()
        for p in ROOT.glob("services/workers/*/pyproject.toml")
    }
    assert listed == folders


def test_every_worker_package_has_the_one_layout_and_its_listed_port() -> None:
    """``worker.py`` holds the ``Worker`` and ``DEFAULT_PORT`` (the port of the list),
    ``__main__.py`` serves it; read from the source, without importing a model library."""
    for worker in read_workers(ROOT):
        package = ROOT / worker.path / "src" / worker.module
        assert (package / "__main__.py").is_file(), worker.name
        tree = ast.parse((package / "worker.py").read_text())
        ports = [
            node.value.value
            for node in tree.body
            if isinstance(node, ast.Assign)
            and [getattr(t, "id", None) for t in node.targets] == ["DEFAULT_PORT"]
            and isinstance(node.value, ast.Constant)
        ]
        assert ports == [worker.port], f"{worker.name}: DEFAULT_PORT in worker.py"
        others = [
            m.name
            for m in package.glob("*.py")
            if m.name not in ("worker.py", "__init__.py") and "DEFAULT_PORT =" in m.read_text()
        ]
        assert others == [], f"{worker.name}: DEFAULT_PORT is set in worker.py only"


def _names(module: Path) -> set[str]:
    """Functions defined in, and names called by, one module (from its source)."""
    tree = ast.parse(module.read_text())
    defined = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    called = {
        getattr(n.func, "id", getattr(n.func, "attr", ""))
        for n in ast.walk(tree)
        if isinstance(n, ast.Call)
    }
    return defined | {f"call:{c}" for c in called}


def test_a_worker_that_adds_routes_keeps_them_in_api_and_assembles_them_in_app() -> None:
    """Routes a worker adds to the SDK's API live in ``api.py``; then ``app.py`` has
    ``build`` (the worker and its routers) and ``create_app``, and ``__main__.py`` serves
    what ``build`` makes rather than assembling an app of its own."""
    for worker in read_workers(ROOT):
        package = ROOT / worker.path / "src" / worker.module
        routers = [m.name for m in package.glob("*.py") if "APIRouter(" in m.read_text()]
        assert routers in ([], ["api.py"]), f"{worker.name}: routes outside api.py: {routers}"
        main_names = _names(package / "__main__.py")
        assert "call:create_app" not in main_names and "call:create_worker_app" not in main_names
        if not routers:
            assert not (package / "app.py").exists(), f"{worker.name}: app.py without routes"
            continue
        assert {"build", "create_app"} <= _names(package / "app.py"), worker.name
        assert "call:build" in main_names, f"{worker.name}: __main__ serves app.build's worker"


def test_import_linter_knows_every_listed_worker() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    independent = next(c for c in config["contracts"] if c["type"] == "independence")
    for worker in read_workers(ROOT):
        assert worker.module in config["root_packages"], worker.module
        assert worker.module in independent["modules"], worker.module


def test_makefile_and_ready_banner_take_the_workers_from_the_list() -> None:
    workers = read_workers(ROOT)
    packages = make_variable(ROOT, "PACKAGES")
    assert [w.path for w in workers] == [p for p in packages if p.startswith("services/workers/")]
    ports = make_variable(ROOT, "MESH_PORTS")[0].split(",")
    assert ports == ["9000", "8000", *(str(w.port) for w in workers)]
    assert ready.services(ROOT) == {
        "discovery": 9000,
        "orchestrator": 8000,
        **{w.name: w.port for w in workers},
    }


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A repository tree with today's list and Procfile, and nothing else."""
    (tmp_path / WORKERS_FILE).parent.mkdir(parents=True)
    shutil.copy(ROOT / WORKERS_FILE, tmp_path / WORKERS_FILE)
    shutil.copy(ROOT / "Procfile", tmp_path / "Procfile")
    return tmp_path


def test_new_worker_is_listed_and_seen_by_every_reader_of_the_list(tree: Path, capsys) -> None:
    assert main(["new-worker", "demo-echo", "--root", str(tree)]) == 0
    printed = capsys.readouterr().out  # what is left to do by hand
    assert "compose/docker-compose.yml" in printed
    assert "[tool.importlinter]: mesh_worker_demo_echo in root_packages" in printed

    added = read_workers(tree)[-1]
    assert (added.name, added.port, added.module) == ("demo-echo", 8006, "mesh_worker_demo_echo")
    assert "demo-echo: .venv/bin/python -m mesh_worker_demo_echo" in (tree / "Procfile").read_text()
    assert (tree / "Procfile").read_text().splitlines()[-1].startswith("ready:")
    assert make_variable(tree, "PRESENT") == ["services/workers/demo_echo"]
    assert make_variable(tree, "MESH_PORTS")[0].endswith(",8005,8006")
    assert ready.services(tree)["demo-echo"] == 8006

    # A second time, or a taken port, is refused and writes nothing.
    before = (tree / WORKERS_FILE).read_text()
    assert main(["new-worker", "demo-echo", "--root", str(tree)]) == 1
    assert main(["new-worker", "other", "--port", "8001", "--root", str(tree)]) == 1
    assert main(["new-worker", "Bad_Name", "--root", str(tree)]) == 1
    assert (tree / WORKERS_FILE).read_text() == before
    assert not (tree / "services/workers/other").exists()


def test_the_scaffolded_worker_passes_its_own_tests_and_the_worker_contract(tree: Path) -> None:
    assert main(["new-worker", "demo-echo", "--root", str(tree)]) == 0
    package = tree / "services/workers/demo_echo"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(package / "src"), os.environ.get("PYTHONPATH", "")]),
    }
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-c",
            str(ROOT / "pyproject.toml"),
            "--rootdir",
            str(tree),
            str(package / "tests"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        cwd=tree,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    passed = re.search(r"(\d+) passed", result.stdout)
    # its own descriptor test and every test of the worker contract, none skipped or failed
    assert passed is not None and int(passed.group(1)) >= 10, result.stdout[-2000:]
    assert "skipped" not in result.stdout and "failed" not in result.stdout, result.stdout[-2000:]
