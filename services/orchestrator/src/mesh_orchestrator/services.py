"""The long-lived objects of one orchestrator process, built and closed by the lifespan."""

from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import httpx

from mesh_orchestrator.discovery import DiscoveryClient
from mesh_orchestrator.executor import Executor
from mesh_orchestrator.mux import EventMux
from mesh_orchestrator.planner import Planner
from mesh_orchestrator.resolver import Resolver
from mesh_orchestrator.runs import RunManager
from mesh_orchestrator.settings import Settings
from mesh_orchestrator.store.base import RunStore
from mesh_orchestrator.synthesizer import Synthesizer


@dataclass
class Services:
    settings: Settings
    http: httpx.AsyncClient
    discovery: DiscoveryClient
    resolver: Resolver
    executor: Executor
    planner: Planner
    synthesizer: Synthesizer
    store: RunStore
    mux: EventMux
    runs: RunManager
    graph: Any
    stack: AsyncExitStack
