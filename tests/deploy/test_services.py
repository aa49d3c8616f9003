"""The service list the deployment files describe, against the Procfile, the Makefile and the
environment each service's settings class reads."""

from __future__ import annotations

import importlib
import importlib.util
import re
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from deploy_model import REPO, SERVICES, load_file_module

# The environment each prefix's settings class reads: (module holding it, names the
# architecture brief documents). The settings class is the truth when it imports; the
# documented names are the fallback while a package is still being written.
SETTINGS = {
    "MESH_": (
        "mesh_auth.config",
        {"AUTH_JWKS_FILE", "AUTH_REVOKED_FILE", "TOKEN", "TOKEN_FILE"}
        | {"TLS_CERT_FILE", "TLS_KEY_FILE", "TLS_CA_FILE"},
    ),
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


def test_manifests_cover_exactly_the_services_of_the_procfile() -> None:
    procfile = (REPO / "Procfile").read_text().splitlines()
    modules = dict(re.findall(r"^([\w-]+):.*-m (\w+)", "\n".join(procfile), re.MULTILINE))
    assert modules == {s.name: s.module for s in SERVICES}


def test_every_service_directory_is_a_package_the_makefile_installs() -> None:
    # The Makefile's PACKAGES as make expands it (its workers come from workers.txt).
    printed = subprocess.run(
        [
            "make",
            "-s",
            "--no-print-directory",
            "--eval",
            "print-packages: ; @echo $(PACKAGES)",
            "print-packages",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.split()
    for service in SERVICES:
        assert service.directory in printed, service.directory


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
    compose_mtls: dict[str, Any],
    k8s_mtls: list[dict[str, Any]],
) -> None:
    module_name, documented = SETTINGS[prefix]
    used: set[str] = set()
    for model in (compose, compose_cpu, compose_mtls):
        for spec in model["services"].values():
            used |= set(spec.get("environment", {}))
    for objects in (k8s_base, k8s_cpu, k8s_mtls):
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
