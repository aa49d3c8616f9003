"""One worker inside its service: start-up, the effective descriptor, the concurrency slots.

Framework-free; ``mesh_worker.api`` puts HTTP in front of it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from typing import Any

from mesh_contracts import AgentDescriptor, InstanceLoad, ResourceSpec
from mesh_worker.executions import Executions
from mesh_worker.resources import detect_resources
from mesh_worker.settings import WorkerSettings
from mesh_worker.slots import Slots
from mesh_worker.worker import Worker

log = logging.getLogger(__name__)

KEYS_REMEMBERED = 4096  # finished executions kept for repeats (each holds its events)


class WorkerRuntime:
    """Owns a ``Worker`` for the life of the service.

    Binds ``worker.endpoint`` to the settings' public URL at once. ``start`` (in the
    lifespan) detects the hardware if the worker asks for it
    (``Worker.detect_gpu``), runs ``worker.startup()`` and sizes the slots from the
    descriptor; ``describe`` gives the descriptor with the deployment's facts filled in.
    """

    def __init__(self, worker: Worker[Any], settings: WorkerSettings) -> None:
        self.worker = worker
        # Bound before startup: a worker builds artifact URLs (and its descriptor) from it.
        worker.endpoint = settings.base_url
        self.settings = settings
        self.resources: ResourceSpec | None = None
        self.slots = Slots(settings.max_concurrency or 1, grace=settings.cancel_grace_seconds)
        # Keyed executions (bounded by the slots while running, ``KEYS_REMEMBERED`` after).
        self.executions = Executions(
            max_entries=KEYS_REMEMBERED,
            ttl_seconds=settings.key_ttl_seconds,
            detach_grace_seconds=settings.detach_grace_seconds,
        )
        self.started = False
        self._descriptor: AgentDescriptor | None = None
        # For the metrics, read at scrape time: requests refused busy (429), and runs by
        # how they ended (completed, failed, invalid_input, timeout, cancelled).
        self.refused = 0
        self.runs: Counter[str] = Counter()

    async def start(self) -> None:
        if self.worker.detect_gpu:
            # Importing torch takes seconds: keep the event loop free meanwhile.
            self.resources = await asyncio.to_thread(detect_resources)
        await self.worker.startup()
        self.started = True
        descriptor = self.describe()
        self.slots.limit = descriptor.max_concurrency
        log.info(
            "worker %s ready at %s (%s, max_concurrency=%d)",
            descriptor.instance_id,
            descriptor.endpoint,
            descriptor.streaming_mode.value,
            descriptor.max_concurrency,
        )

    def load(self) -> InstanceLoad:
        """This instance's load as heartbeats report it: the SDK's slots in use plus what
        the worker says of itself (``Worker.load_facts``)."""
        facts = self.worker.load_facts() if self.started else {}
        return InstanceLoad(
            slots_in_use=self.slots.in_flight,
            max_concurrency=self.slots.limit,
            reported_at=time.time(),
            **facts,
        )

    def ended(self, outcome: str) -> None:
        """A run ended (``stream_events``' ``on_end``; ``/invoke`` says it itself)."""
        self.runs[outcome] += 1

    @property
    def descriptor(self) -> AgentDescriptor:
        """The descriptor as last built by ``describe`` (cheap: for the per-request path)."""
        return self._descriptor or self.describe()

    async def stop(self) -> None:
        if self.started:
            self.started = False
            await self.worker.shutdown()

    def describe(self) -> AgentDescriptor:
        """``worker.describe()`` completed from the settings and the machine.

        ``endpoint`` is always the settings' public URL (the address this process serves);
        ``instance_id`` is ``WORKER_INSTANCE_ID``, else the one ``describe`` set, else
        ``{agent_id}-{hostname}-{port}``; ``input_schema`` defaults to ``Input``'s JSON
        Schema; ``resources`` to the detected hardware; ``max_concurrency`` is
        ``WORKER_MAX_CONCURRENCY`` when set.
        """
        d = self.worker.describe()
        update: dict[str, Any] = {"endpoint": self.settings.base_url}
        if self.settings.instance_id or d.instance_id == d.agent_id:
            update["instance_id"] = self.settings.instance_id_for(d.agent_id)
        if "input_schema" not in d.model_fields_set:
            update["input_schema"] = self.worker.Input.model_json_schema()
        if "resources" not in d.model_fields_set and self.resources is not None:
            update["resources"] = self.resources.model_dump()
        if self.settings.max_concurrency is not None:
            update["max_concurrency"] = self.settings.max_concurrency
        self._descriptor = AgentDescriptor.model_validate({**d.model_dump(), **update})
        return self._descriptor

    def health(self) -> dict[str, Any]:
        d = self.descriptor
        return {
            "status": "ok",
            "agent_id": d.agent_id,
            "instance_id": d.instance_id,
            "in_flight": self.slots.in_flight,
            "max_concurrency": self.slots.limit,
            **self.worker.health(),
        }
