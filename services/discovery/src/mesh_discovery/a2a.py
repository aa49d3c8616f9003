"""External A2A agents in the registry: registered by their card URL, kept by their card.

``POST /v1/agents/a2a {"card_url": ..., "agent_id"?: ..., "ttl_seconds"?: ...}`` fetches the
agent card (at most ``DISCOVERY_A2A_CARD_MAX_BYTES``, within
``DISCOVERY_A2A_CARD_TIMEOUT_SECONDS``), parses it with the a2a-sdk (v1.0 cards, and v0.3
cards through the SDK's compatibility mapping) and stores a descriptor for it:

* ``capabilities``: each skill's id and tags that are well-known capability names
  (``text_generation``, ``summarization``, ...); a skill with none of them becomes a
  capability named after its id (``Write Poems`` → ``write_poems``);
* ``endpoint``/``stream_path``: the card's JSON-RPC interface; ``streaming_mode``
  ``dynamic_events`` when the card says it streams, else ``static`` (``SendMessage``);
* ``metadata``: ``protocol: "a2a"``, the card URL, the JSON-RPC URL and protocol version,
  the card's security schemes and requirements (``mesh_contracts.a2a``): the orchestrator
  calls such an agent with A2A, with the agent's own credentials. Only this route sets
  these keys (``POST /v1/agents`` refuses them).

Every card is fetched through ``mesh_auth.dialing``: the connection goes to the address the
endpoint policy checked, so a card URL whose name answers differently the second time
(DNS rebinding) reaches nothing the policy refuses.

The agent holds no process of ours, so discovery keeps its lease itself: every
``DISCOVERY_A2A_CHECK_SECONDS`` it fetches each A2A agent's card again; an answer renews the
lease (and a changed card replaces the descriptor), a failure leaves the lease to lapse, so
the instance turns critical and routers stop choosing it; a card that answers again
revives it. A critical instance is reaped like any other (``DISCOVERY_REAP_AFTER_SECONDS``).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlsplit

import httpx
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mesh_auth import Principal
from mesh_auth.dialing import pinned_transport
from mesh_auth.endpoints import EndpointPolicy, EndpointRefused
from mesh_auth.http import forbidden, require, trim
from mesh_contracts import WELL_KNOWN, AgentDescriptor, Skill, StreamingMode
from mesh_contracts.a2a import (
    A2A,
    A2A_CARD_URL,
    A2A_SECURITY_REQUIREMENTS,
    A2A_SECURITY_SCHEMES,
    A2A_URL,
    A2A_VERSION,
    AGENT_CARD_PATH,
    PROTOCOL_KEY,
    speaks_a2a,
)
from mesh_discovery.api import admit, refused_endpoint
from mesh_discovery.refresh import check_all, every, in_background, keep, lease_ttl, store_new
from mesh_discovery.registry import Store
from mesh_discovery.settings import Settings

if TYPE_CHECKING:
    from a2a.types.a2a_pb2 import AgentCard

log = logging.getLogger(__name__)
# The a2a-sdk (~0.3 s of CPU to import) loads with the first card fetched (``fetch_card``),
# not with discovery: most meshes register no A2A agent, and discovery starts many times.
_SDK = "a2a.client.card_resolver"
# What fetch_card imported whole. Not ``sys.modules``: a module another fetch is still
# importing is there already, half run, and importing it on the event loop would block it.
_loaded: set[str] = set()
_SLUG = re.compile(r"[^a-z0-9]+")


class CardError(Exception):
    """The card cannot be used: unreachable (``status`` 502) or unusable (422)."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


class A2ARegisterRequest(BaseModel):
    """Body of ``POST /v1/agents/a2a``."""

    model_config = ConfigDict(extra="forbid")

    card_url: str = Field(pattern=r"^https?://\S+$")
    agent_id: str | None = None  # default: the card's name, as a slug
    ttl_seconds: float | None = Field(default=None, gt=0, le=3600)


def card_location(url: str) -> str:
    """The card's URL: ``url`` itself, or the well-known path when ``url`` is a bare origin."""
    parts = urlsplit(url)
    if parts.path in ("", "/"):
        return url.rstrip("/") + AGENT_CARD_PATH
    return url


async def fetch_card(http: httpx.AsyncClient, url: str, *, max_bytes: int) -> AgentCard:
    """GET the card (bounded in size; the client's timeout bounds the time) and parse it."""
    body = bytearray()
    try:
        async with http.stream("GET", url, headers={"Accept": "application/json"}) as resp:
            if resp.status_code != 200:
                raise CardError(f"{url} answered {resp.status_code}", 502)
            async for chunk in resp.aiter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    raise CardError(f"{url}: the card is larger than {max_bytes} bytes")
    except httpx.HTTPError as exc:
        raise CardError(f"cannot fetch {url}: {type(exc).__name__}: {exc}", 502) from None
    if _SDK not in _loaded:  # on a thread: the event loop keeps serving meanwhile
        await asyncio.to_thread(importlib.import_module, _SDK)
        _loaded.add(_SDK)
    from a2a.client.card_resolver import parse_agent_card
    from google.protobuf.json_format import ParseError

    try:
        return parse_agent_card(json.loads(body))
    except (ValueError, ParseError) as exc:
        raise CardError(f"{url} is not an A2A agent card: {exc}") from None


def _slug(text: str, sep: str) -> str:
    return _SLUG.sub(sep, text.lower()).strip(sep)


def _capabilities(card: AgentCard) -> list[str]:
    caps: list[str] = []
    for s in card.skills:
        known = [c for c in [s.id, *s.tags] if c in WELL_KNOWN]
        if not known:
            name = _slug(s.id or s.name, "_")
            known = [name if name[:1].isalpha() else f"skill_{name}"]
        caps += [c[:64] for c in known if c and c not in caps]
    return caps


def descriptor_from_card(card: AgentCard, card_url: str, agent_id: str | None) -> AgentDescriptor:
    """The registry's descriptor for the agent ``card`` describes (raises ``CardError``)."""
    rpc = next((i for i in card.supported_interfaces if i.protocol_binding == "JSONRPC"), None)
    if rpc is None:
        bindings = ", ".join(i.protocol_binding for i in card.supported_interfaces) or "none"
        raise CardError(f"the card names no JSON-RPC interface (bindings: {bindings})")
    caps = _capabilities(card)
    if not caps:
        raise CardError("the card lists no skills: nothing to route to it")
    url = urlsplit(rpc.url)
    endpoint = f"{url.scheme}://{url.netloc}"
    path = url.path or "/"
    name = agent_id or _slug(card.name, "-")[:128] or url.hostname or "a2a-agent"
    streams = card.capabilities.streaming
    from google.protobuf.json_format import MessageToDict  # loaded with the card's type

    as_json = MessageToDict(card)
    security = {
        key: as_json[field]
        for key, field in (
            (A2A_SECURITY_SCHEMES, "securitySchemes"),
            (A2A_SECURITY_REQUIREMENTS, "securityRequirements"),
        )
        if as_json.get(field)
    }
    try:
        return AgentDescriptor(
            agent_id=name,
            instance_id=f"{name}-{_slug(url.netloc, '-')}"[:200],  # one per interface
            name=card.name or name,
            description=card.description,
            version=card.version or "0",
            endpoint=endpoint,
            health_path=urlsplit(card_url).path or AGENT_CARD_PATH,
            invoke_path=path,
            stream_path=path,
            capabilities=caps,
            skills=[
                Skill(
                    id=s.id[:128] or _slug(s.name, "_"),
                    description=s.description,
                    tags=list(s.tags),
                    examples=list(s.examples),
                )
                for s in card.skills
            ],
            streaming_mode=StreamingMode.DYNAMIC_EVENTS if streams else StreamingMode.STATIC,
            input_schema={"type": "object", "properties": {"prompt": {"type": "string"}}},
            tags=[A2A],
            metadata={
                PROTOCOL_KEY: A2A,
                A2A_CARD_URL: card_url,
                A2A_URL: rpc.url,
                A2A_VERSION: rpc.protocol_version or "1.0",
                **security,
            },
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        raise CardError(f"the card does not make a descriptor: {first['msg']}") from None


class CardChecker:
    """Re-reads every A2A agent's card: an answer renews its lease, silence lets it lapse."""

    def __init__(self, store: Store, http: httpx.AsyncClient, settings: Settings) -> None:
        self.store, self.http, self.settings = store, http, settings
        # Set by the lifespan: every re-read card's URL and interface pass it again (a card,
        # or the name it is served under, may point elsewhere since it was registered).
        self.policy: EndpointPolicy | None = None

    async def register(
        self,
        body: A2ARegisterRequest,
        admit: Callable[[AgentDescriptor], Awaitable[None]] | None = None,
    ) -> dict[str, Any]:
        """Fetch, describe, store. ``admit`` (the registration checks: token, endpoint
        policy) sees the descriptor before it is stored and raises to refuse it."""
        url = card_location(body.card_url)
        card = await fetch_card(self.http, url, max_bytes=self.settings.a2a_card_max_bytes)
        d = descriptor_from_card(card, url, body.agent_id)
        if admit is not None:
            await admit(d)
        return await store_new(self.store, d, lease_ttl(self.settings, body.ttl_seconds))

    async def check_once(self) -> int:
        """Check every A2A agent's card once; returns how many answered."""
        return await check_all(self.store, speaks_a2a, self._check)

    async def _check(self, d: AgentDescriptor) -> bool:
        url = str(d.metadata[A2A_CARD_URL])
        try:
            if self.policy is not None:
                await self.policy.check(url)
            card = await fetch_card(self.http, url, max_bytes=self.settings.a2a_card_max_bytes)
            fresh = descriptor_from_card(card, url, d.agent_id)
            if self.policy is not None and fresh.endpoint is not None:
                await self.policy.check(fresh.endpoint)
        except (CardError, EndpointRefused) as exc:
            log.warning("A2A agent %s: %s (its lease lapses)", d.instance_id, exc)
            return False
        return await keep(self.store, d, fresh, lease_ttl(self.settings))

    async def run_forever(self) -> None:
        await every(self.settings.a2a_check_seconds, self.check_once, "A2A card check")


def a2a_router(settings: Settings) -> APIRouter:
    """``POST /v1/agents/a2a`` and, in its lifespan, the card checker (after the store opens)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        timeout = httpx.Timeout(settings.a2a_card_timeout_seconds)
        transport = pinned_transport(app.state.endpoints)
        async with httpx.AsyncClient(
            timeout=timeout, follow_redirects=False, transport=transport
        ) as http:
            checker = CardChecker(app.state.store, http, settings)
            checker.policy = app.state.endpoints
            app.state.a2a_cards = checker
            async with in_background(checker.run_forever(), "a2a-card-checker"):
                yield

    router = APIRouter(lifespan=lifespan)

    @router.post("/v1/agents/a2a", status_code=201)
    async def register_a2a(
        body: A2ARegisterRequest,
        request: Request,
        caller: Annotated[Principal, Depends(require("agent:*", "admin"))],
    ) -> JSONResponse:
        """Register an A2A agent by its card URL: 201 with its lease and descriptor, 502 when
        the card cannot be fetched, 422 when it cannot be used (the detail says why).

        With a mesh secret: an agent token registers under its own name (``agent_id`` in
        the body, 403 otherwise); the card URL is checked against the endpoint policy
        before it is fetched, the card's interface like any endpoint (422 refused)."""
        checker: CardChecker = request.app.state.a2a_cards
        if not caller.is_admin and not (
            body.agent_id is not None and caller.may_act_as_agent(body.agent_id)
        ):
            raise forbidden(
                f"your token is {caller.scope}: register the A2A agent under that name"
                " (agent_id in the body)"
            )
        policy: EndpointPolicy = request.app.state.endpoints
        store = request.app.state.store
        try:
            await policy.check(card_location(body.card_url))
            registered = await checker.register(body, lambda d: admit(request, store, d, caller))
        except EndpointRefused as exc:
            return refused_endpoint(str(exc), "card_url")
        except CardError as exc:
            return JSONResponse({"detail": trim(str(exc), 300)}, status_code=exc.status)
        return JSONResponse(registered, status_code=201)

    return router
