"""What the deployment artifacts must describe, and the artifacts as their tools render them.

The mesh's services (name, package, port, env prefix, GPU or not) are the truth the tests in
this folder hold docker/, compose/ and k8s/ to. The Kubernetes objects come from ``kubectl
kustomize`` (kustomize v5 inside kubectl); the compose model from ``compose/render.py``, which
merges compose files as ``docker compose config`` does when no docker compose is installed.
"""

from __future__ import annotations

import functools
import importlib.util
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from mesh_cli.scaffold import read_workers

REPO = Path(__file__).resolve().parents[2]
NAMESPACE = "agent-mesh"
OVERLAYS = ["base", "overlays/cpu-only", "overlays/mtls"]
# Workers that want a GPU (the cpu-only overlay runs them on a CPU).
GPU_WORKERS = {"image-gen", "lora-trainer"}


@dataclass(frozen=True)
class MeshService:
    name: str
    module: str
    directory: str
    port: int
    prefix: str
    gpu: bool = False


SERVICES = (
    MeshService("discovery", "mesh_discovery", "services/discovery", 9000, "DISCOVERY_"),
    MeshService("orchestrator", "mesh_orchestrator", "services/orchestrator", 8000, "ORCH_"),
    # The workers come from the one list (services/workers/workers.txt).
    *(
        MeshService(w.name, w.module, w.path, w.port, "WORKER_", w.name in GPU_WORKERS)
        for w in read_workers(REPO)
    ),
)
WORKERS = [s for s in SERVICES if s.prefix == "WORKER_"]
AUTOSCALED = {"orchestrator", "writer", "analyst", "lookup"}


def load_file_module(path: Path) -> ModuleType:
    """Import a module from a file path (``compose/render.py``, a package's ``settings.py``)."""
    spec = importlib.util.spec_from_file_location(f"deploy_{path.parent.name}_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


compose_render = load_file_module(REPO / "compose" / "render.py")
COMPOSE_FILES = [REPO / "compose" / "docker-compose.yml"]
COMPOSE_CPU_FILES = [*COMPOSE_FILES, REPO / "compose" / "docker-compose.cpu.yml"]
COMPOSE_MTLS_FILES = [*COMPOSE_CPU_FILES, REPO / "compose" / "docker-compose.mtls.yml"]


MADE_ENV = {"POSTGRES_PASSWORD": "from-make-secrets"}


def render_compose(files: list[Path]) -> dict[str, Any]:
    """The merged compose model of ``files``, interpolated from an environment holding only
    what make-secrets.sh writes to compose/.env."""
    model: dict[str, Any] = compose_render.render(files, env=MADE_ENV)
    return model


@functools.cache
def _kustomize(overlay: str) -> str:
    result = subprocess.run(
        ["kubectl", "kustomize", str(REPO / "k8s" / overlay)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def kustomize(overlay: str) -> list[dict[str, Any]]:
    """The objects ``kubectl kustomize k8s/<overlay>`` renders; skips the test without kubectl."""
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not installed: the k8s checks render with `kubectl kustomize`")
    return [o for o in yaml.safe_load_all(_kustomize(overlay)) if o]


def find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def container(objects: list[dict[str, Any]], name: str) -> dict[str, Any]:
    pod = find(objects, "Deployment", name)["spec"]["template"]["spec"]
    result: dict[str, Any] = pod["containers"][0]
    return result


def k8s_env(objects: list[dict[str, Any]], name: str) -> dict[str, Any]:
    """A container's environment: its ConfigMaps' keys, then its own ``env`` entries."""
    c = container(objects, name)
    env: dict[str, Any] = {}
    for source in c.get("envFrom", []):
        env.update(find(objects, "ConfigMap", source["configMapRef"]["name"])["data"])
    for item in c.get("env", []):
        env[item["name"]] = item.get("value", item.get("valueFrom"))
    return env
