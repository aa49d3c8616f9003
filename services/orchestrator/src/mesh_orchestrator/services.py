"""The long-lived objects of one orchestrator process, built and closed by the lifespan.

Routes reach runs only through ``runs`` (the ``RunService``, which owns the multiplexer
and the run store); ``discovery`` is the registry cache behind ``/v1/agents``.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import httpx

from mesh_orchestrator.api.limits import StreamCaps
from mesh_orchestrator.graph.preview import PlanPreview
from mesh_orchestrator.planning.facade import Planning
from mesh_orchestrator.relay.executor import Executor
from mesh_orchestrator.routing.registry import DiscoveryClient
from mesh_orchestrator.routing.resolver import Resolver
from mesh_orchestrator.runs.retention import Retention
from mesh_orchestrator.runs.service import RunService
from mesh_orchestrator.settings import Settings
from mesh_orchestrator.synthesis.deterministic import Synthesizer
from mesh_orchestrator.workflows.store import WorkflowStore


@dataclass
class Services:
    settings: Settings
    http: httpx.AsyncClient
    discovery: DiscoveryClient
    resolver: Resolver
    executor: Executor
    planning: Planning  # the planning facade (the graph and POST /v1/plans use it)
    synthesizer: Synthesizer
    runs: RunService
    graph: Any
    stack: AsyncExitStack
    plans: PlanPreview  # POST /v1/plans
    streams: StreamCaps  # SSE streams open here, per client and per run
    workflows: WorkflowStore  # saved workflows (api/workflows.py)
    retention: Retention  # removes old finished runs (one replica at a time)
    synthesis: str = "deterministic"  # which synthesis writes answers (llm | deterministic)
    synthesis_reason: str = ""
