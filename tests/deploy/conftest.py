"""Fixtures of the deployment checks: the rendered compose models and kustomizations.

The helpers live in ``deploy_model`` beside this file, importable by the test modules.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from deploy_model import (
    COMPOSE_CPU_FILES,
    COMPOSE_FILES,
    COMPOSE_MTLS_FILES,
    kustomize,
    render_compose,
)


@pytest.fixture(scope="session")
def compose() -> dict[str, Any]:
    return render_compose(COMPOSE_FILES)


@pytest.fixture(scope="session")
def compose_cpu() -> dict[str, Any]:
    return render_compose(COMPOSE_CPU_FILES)


@pytest.fixture(scope="session")
def k8s_base() -> list[dict[str, Any]]:
    return kustomize("base")


@pytest.fixture(scope="session")
def k8s_cpu() -> list[dict[str, Any]]:
    return kustomize("overlays/cpu-only")


@pytest.fixture(scope="session")
def compose_mtls() -> dict[str, Any]:
    return render_compose(COMPOSE_MTLS_FILES)


@pytest.fixture(scope="session")
def k8s_mtls() -> list[dict[str, Any]]:
    return kustomize("overlays/mtls")
