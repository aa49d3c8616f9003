"""The long-lived objects of one orchestrator process, built and closed by the lifespan."""

from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import httpx

from mesh_orchestrator.planning.deterministic import Planner
from mesh_orchestrator.relay.executor import Executor
from mesh_orchestrator.routing.registry import DiscoveryClient
from mesh_orchestrator.routing.resolver import Resolver
from mesh_orchestrator.runs.manager import RunManager
from mesh_orchestrator.runs.mux import EventMux
from mesh_orchestrator.runs.store.base import RunStore
from mesh_orchestrator.settings import Settings
from mesh_orchestrator.synthesis.deterministic import Synthesizer


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
