"""Round 12's cuts of a run's CPU (bench/README.md, "Round 12: CPU per run"), each held to
what it replaced:

* a connection's addresses are the transport's own (``api.http_protocol._local``,
  ``_remote``), equal to uvicorn's ``get_local_addr``/``get_remote_addr`` for IPv4, IPv6, a
  Unix socket and a peer already gone, and ``connection_made`` asks the transport for no
  socket object (uvloop makes one per question, with ``getsockname`` calls);
* the fast path's request is parsed and validated in one pass
  (``OrchestrateRequest.model_validate_json``), admitting exactly the bodies, and making
  exactly the requests, of the route's two passes (``TypeAdapter(Any).validate_json``, then
  ``model_validate``), hostile bodies included;
* a request's options that set no field are dumped once (``routes.options_dump``).
"""

from __future__ import annotations

import asyncio
import json
import random
import socket
import tempfile
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from pydantic import TypeAdapter, ValidationError
from uvicorn.protocols.http.flow_control import FlowControl
from uvicorn.protocols.utils import get_local_addr, get_remote_addr
from uvicorn.server import ServerState

from mesh_orchestrator.api import stream_path
from mesh_orchestrator.api.http_protocol import LeanHttpToolsProtocol, _local, _remote
from mesh_orchestrator.api.models import OrchestrateRequest, RunOptions
from mesh_orchestrator.api.routes import _DEFAULT_OPTIONS, options_dump
from mesh_orchestrator.relay.gate import Signal
from mesh_testkit import free_port

DEADLINE = 10.0


# --- a connection's addresses ----------------------------------------------------------


class _Sock:
    """What uvicorn's helpers ask of ``get_extra_info("socket")``."""

    def __init__(self, name: Any, peer: Any) -> None:
        self.name, self.peer = name, peer

    def getsockname(self) -> Any:
        return self.name

    def getpeername(self) -> Any:
        if isinstance(self.peer, OSError):
            raise self.peer
        return self.peer


class _Transport:
    """A transport that says what it keeps (``sockname``, ``peername``) and its socket,
    and counts what it was asked."""

    def __init__(self, name: Any, peer: Any) -> None:
        self.sock = _Sock(name, peer)
        self.asked: list[str] = []

    def get_extra_info(self, key: str, default: Any = None) -> Any:
        self.asked.append(key)
        if key == "socket":
            return self.sock
        if key == "sockname":
            return self.sock.name
        if key == "peername":  # as asyncio's and uvloop's: None when the peer is gone
            return None if isinstance(self.sock.peer, OSError) else self.sock.peer
        return default

    def is_closing(self) -> bool:
        return False


ADDRESSES = [
    (("127.0.0.1", 8000), ("127.0.0.1", 51234)),
    (("::1", 8000, 0, 0), ("::1", 51234, 0, 0)),  # IPv6: four fields, two kept
    (("fe80::1%eth0", 8000, 0, 2), ("fe80::2", 1, 0, 2)),
    ("/tmp/orch.sock", ""),  # a Unix socket: its path, a peer with no address
    ("/tmp/orch.sock", b""),
    (b"\0abstract", ""),  # an abstract Unix socket's name is bytes: uvicorn says None
    (("10.0.0.1", 80), OSError(107, "Transport endpoint is not connected")),  # peer gone
    (None, None),
]


@pytest.mark.parametrize(("name", "peer"), ADDRESSES)
def test_the_addresses_are_uvicorns(name: Any, peer: Any) -> None:
    t = _Transport(name, peer)
    assert _local(t) == get_local_addr(t)  # type: ignore[arg-type]
    assert _remote(t) == get_remote_addr(t)  # type: ignore[arg-type]
    assert "socket" not in [k for k in t.asked if k != "socket"]
    t.asked.clear()
    _local(t)  # type: ignore[arg-type]
    _remote(t)  # type: ignore[arg-type]
    assert "socket" not in t.asked  # no socket object made for them


def _protocol(loop: asyncio.AbstractEventLoop) -> LeanHttpToolsProtocol:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        return None

    config = uvicorn.Config(app, http=LeanHttpToolsProtocol, log_level="warning")
    config.load()
    return LeanHttpToolsProtocol(config, ServerState(), {}, _loop=loop)


@pytest.mark.parametrize(("name", "peer"), ADDRESSES[:4])
def test_connection_made_asks_no_socket_and_sets_what_uvicorns_does(name: Any, peer: Any) -> None:
    loop = asyncio.new_event_loop()
    try:
        _made_alike(loop, name, peer)
    finally:
        loop.close()


def _made_alike(loop: asyncio.AbstractEventLoop, name: Any, peer: Any) -> None:
    ours = _protocol(loop)
    t = _Transport(name, peer)
    ours.connection_made(t)  # type: ignore[arg-type]
    assert "socket" not in t.asked
    theirs = _protocol(loop)
    t2 = _Transport(name, peer)
    super(LeanHttpToolsProtocol, theirs).connection_made(t2)  # type: ignore[arg-type]
    assert "socket" in t2.asked  # what the cut saves: uvicorn's asks for it
    assert (ours.server, ours.client, ours.scheme) == (theirs.server, theirs.client, theirs.scheme)
    assert ours.transport is t and ours in ours.connections
    # The flow control: uvicorn's, its event a ``Signal`` (set: writable), its attributes
    # those uvicorn's ``__init__`` makes.
    assert type(ours.flow) is FlowControl
    assert set(vars(ours.flow)) == set(vars(theirs.flow))
    assert ours.flow._transport is t
    assert not ours.flow.read_paused and not ours.flow.write_paused
    event = ours.flow._is_writable_event
    assert type(event) is Signal and event.is_set()
    ours.flow.pause_writing()
    assert not event.is_set() and ours.flow.write_paused
    ours.flow.resume_writing()
    assert event.is_set() and not ours.flow.write_paused


async def _serve(app: Any, **where: Any) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    config = uvicorn.Config(app, http=LeanHttpToolsProtocol, log_level="warning", **where)
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    for _ in range(int(DEADLINE / 0.01)):
        if server.started:
            break
        await asyncio.sleep(0.01)
    return server, serving


def _app(seen: list[tuple[Any, Any, Any]]) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        for proto in server_of[0].server_state.connections:
            t = proto.transport
            seen.append((scope["server"], scope["client"], (get_local_addr(t), get_remote_addr(t))))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    server_of: list[uvicorn.Server] = []
    app.server_of = server_of  # type: ignore[attr-defined]
    return app


async def _get(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    await writer.drain()
    got = await reader.read()
    writer.close()
    return got


@pytest.mark.parametrize("family", ["ipv4", "ipv6", "unix"])
async def test_a_served_requests_scope_has_uvicorns_addresses(family: str) -> None:
    """Through a real server: the scope's ``server`` and ``client`` are what uvicorn's own
    helpers read from the same connection's socket."""
    if family == "ipv6" and not socket.has_ipv6:
        pytest.skip("no IPv6")
    seen: list[tuple[Any, Any, Any]] = []
    app = _app(seen)
    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "o.sock")
        port = free_port()
        where = {"uds": path} if family == "unix" else {
            "host": "::1" if family == "ipv6" else "127.0.0.1", "port": port}  # fmt: skip
        try:
            server, serving = await _serve(app, **where)
        except OSError:  # pragma: no cover - a host without ::1
            pytest.skip("cannot listen there")
        app.server_of.append(server)
        try:
            async with asyncio.timeout(DEADLINE):
                if family == "unix":
                    reader, writer = await asyncio.open_unix_connection(path)
                else:
                    reader, writer = await asyncio.open_connection(where["host"], port)
                assert (await _get(reader, writer)).startswith(b"HTTP/1.1 200")
        finally:
            server.should_exit = True
            await asyncio.wait_for(serving, DEADLINE)
    ((server_addr, client_addr, (local, remote)),) = seen
    assert server_addr == local and client_addr == remote
    if family != "unix":
        assert client_addr is not None and client_addr[0] in ("127.0.0.1", "::1")
        assert server_addr == (where["host"], port)


# --- the request in one pass -----------------------------------------------------------

_ANY: TypeAdapter[Any] = TypeAdapter(Any)


def _two_passes(body: bytes) -> tuple[str, Any]:
    """What the route makes of ``body``: ``bodies.JSONBody``'s parse, FastAPI's validation."""
    try:
        return "ok", OrchestrateRequest.model_validate(_ANY.validate_json(body))
    except ValueError:  # ValidationError is one
        return "refused", None


def _one_pass(body: bytes) -> tuple[str, Any]:
    try:
        return "ok", OrchestrateRequest.model_validate_json(body)
    except ValueError:
        return "refused", None


def _same(body: bytes) -> tuple[str, str]:
    (a, x), (b, y) = _two_passes(body), _one_pass(body)
    assert a == b, (body[:200], a, b)
    if x is not None:
        # Equal models, field by field, and equal dumps (repr: -0.0, nan and key order count).
        assert repr(x.model_dump()) == repr(y.model_dump()), body[:200]
        assert x.model_fields_set == y.model_fields_set
        assert x.options.model_fields_set == y.options.model_fields_set
    return a, b


TASK = '{"task_id":"gen","capability":"text_generation","agent_id":"a","input":{"tokens":16}%s}'


def _plan(extra: str = "", outer: str = "") -> bytes:
    return ('{"plan":{"tasks":[' + TASK % extra + "]}" + outer + "}").encode()


HOSTILE = [
    # duplicate keys: the last wins, both ways
    b'{"query":"hi","query":"x"}',
    b'{"query":"hi","query":""}',
    b'{"query":"","query":"hi"}',
    _plan(outer=',"plan":null'),
    _plan(',"task_id":"a","task_id":"b"'),
    _plan(',"input":{"tokens":16,"tokens":NaN}'),
    # NaN and the infinities, where a float is wanted and where it is not
    b'{"query":NaN}',
    b'{"query":"q","options":{"timeout_seconds":NaN}}',
    b'{"query":"q","options":{"timeout_seconds":Infinity}}',
    b'{"query":"q","options":{"timeout_seconds":-Infinity}}',
    b'{"query":"q","options":{"timeout_seconds":1e400}}',
    _plan(',"input":{"f":1e400}'),
    b'{"query":"q","options":{"budget":{"gpu_s":1E-400}}}',
    _plan(',"input":{"f":NaN}'),
    b'{"query":"q","options":{"timeout_seconds":"inf"}}',
    b'{"query":"q","options":{"timeout_seconds":"nan"}}',
    # integers past 64 bits, and numbers written as strings
    b'{"query":"q","options":{"budget":{"tokens":100000000000000000000000000000}}}',
    b'{"query":"q","options":{"timeout_seconds":12345678901234567890}}',
    _plan(',"input":{"n":123456789012345678901234567890}'),
    _plan(',"requires":{"min_vram_mb":18446744073709551616}'),
    b'{"query":"q","options":{"timeout_seconds":"10"}}',
    b'{"query":"q","options":{"timeout_seconds":" 10 "}}',
    b'{"query":"q","options":{"timeout_seconds":"1_0"}}',
    b'{"query":"q","options":{"timeout_seconds":true}}',
    b'{"query":"q","options":{"budget":{"max_tasks":"3"}}}',
    b'{"query":"q","options":{"budget":{"max_tasks":3.0}}}',
    b'{"query":"q","options":{"budget":{"max_tasks":3.5}}}',
    b'{"query":"q","options":{"budget":{"max_tasks":"\xd9\xa3"}}}',  # an Arabic-Indic 3
    b'{"query":"q","options":{"budget":{"max_tasks":"1_0"}}}',
    b'{"query":"q","options":{"budget":{"max_tasks":"+3"}}}',
    b'{"query":"q","options":{"budget":{"max_tasks":"03"}}}',
    b'{"query":"q","options":{"budget":{"max_tasks":"3.0"}}}',
    b'{"query":"q","options":{"budget":{"tokens":1e3}}}',
    b'{"query":"q","options":{"budget":{"tokens":"1e3"}}}',
    b'{"query":"q","options":{"budget":{"tokens":true}}}',
    b'{"query":"q","options":{"budget":{"wall_s":-0.0}}}',
    b'{"query":"q","options":{"timeout_seconds":-0}}',
    b'{"query":"q","options":{"timeout_seconds":1.0000000000000000000000001}}',
    _plan(',"max_iterations":"3","repeat_until":"true"'),
    _plan(',"max_iterations":2.5'),
    _plan(',"requires":{"gpu":"false","min_vram_mb":"12"}'),
    _plan(',"requires":{"min_vram_mb":1e3}'),
    # what is not UTF-8, surrogates, a byte-order mark, NUL
    b'{"query":"\xff"}',
    b'{"query":"\xc3\x28"}',
    b'{"query":"q\xed\xa0\x80"}',
    b'{"query":"\\ud800"}',
    b'{"query":"\\ud83d\\ude00"}',
    b'\xef\xbb\xbf{"query":"q"}',
    _plan(',"input":{"s":"\\u0000"}'),
    b'{"query":"q\x00"}',
    # bools written otherwise
    _plan(',"accept_skipped":"yes"'),
    _plan(',"accept_skipped":1'),
    _plan(',"accept_skipped":2'),
    _plan(',"accept_skipped":"on"'),
    _plan(',"accept_skipped":"True"'),
    _plan(',"accept_skipped":1.0'),
    # not JSON, not an object, not this model
    b"",
    b"{",
    b'{"query":"q",}',
    b"{'query':'q'}",
    b"[]",
    b'"q"',
    b"null",
    b'{"query":"q"}x',
    b' {"query":"q"} ',
    b'{"query":5}',
    b'{"query":"q","extra":1}',
    b'{"query":null}',
    b'{"query":"q","thread_id":""}',
    b'{"query":"q","thread_id":5}',
    b'{"query":"   "}',
    b'{"query":"q","options":null}',
    b'{"query":"q","options":{}}',
    b'{"query":"q","options":{"on_disconnect":"CANCEL"}}',
    b'{"query":"q","options":{"approval":1}}',
    b'{"query":"q","options":{"webhook":{"url":"http://example.com/x","secret":12345678}}}',
    _plan(',"depends_on":"gen"'),
    _plan(',"depends_on":["gen"]'),
    _plan(',"capability":"Text"'),
    _plan(',"task_id":"a b"'),
    _plan(',"input":[]'),
    _plan(',"description":5'),
    _plan(',"when":""'),
    ('{"plan":{"tasks":[' + TASK % "" + "," + TASK % "" + "]}}").encode(),  # a duplicate id
    b'{"query":"' + b"x" * 8001 + b'"}',
    b'{"query":"' + b"x" * 8000 + b'"}',
    _plan(',"input":{"deep":' + "[" * 200 + "]" * 200 + "}"),
    # and bodies the route admits
    b'{"query":"hi"}',
    _plan(),
    _plan(outer=',"query":"q"'),
    _plan(
        outer=',"options":{"on_disconnect":"continue","timeout_seconds":5,"approval":"required"}'
    ),
    b'{"query":"q","options":{"webhook":{"url":"http://example.com/x"}}}',
    b'{"query":"q","options":{"budget":{"max_tasks":3,"wall_s":1.5,"tokens":10,"gpu_s":2}}}',
    b'{"query":"q","thread_id":"t-1","multitask_strategy":"interrupt"}',
    _plan(',"max_iterations":3.0,"repeat_until":"true"'),
    _plan(',"input":{"f":-0.0,"g":1.5e-320}'),
]


@pytest.mark.parametrize("body", HOSTILE, ids=range(len(HOSTILE)))
def test_one_pass_admits_and_makes_what_two_passes_do(body: bytes) -> None:
    _same(body)


def test_the_corpus_has_both_answers() -> None:
    """Not a corpus of refusals only (or of admissions only)."""
    answers = [_same(b)[0] for b in HOSTILE]
    assert answers.count("ok") >= 20 and answers.count("refused") >= 40


# Values put in place of a field's, at random (seeded): every JSON kind, the edges above.
VALUES = [
    "null",
    "true",
    "false",
    "0",
    "1",
    "-1",
    "2",
    "3.0",
    "2.5",
    "-0.0",
    "1e3",
    "1e400",
    "NaN",
    "Infinity",
    "-Infinity",
    "18446744073709551616",
    '""',
    '" "',
    '"x"',
    '"3"',
    '"1.5"',
    '"true"',
    '"yes"',
    '"off"',
    '"none"',
    '"cancel"',
    '"continue"',
    '"required"',
    '"reject"',
    '"enqueue"',
    '"\\u0000"',
    '"\\ud800"',
    '"text_generation"',
    '"gen"',
    '"a b"',
    "[]",
    '["gen"]',
    "[1]",
    "{}",
    '{"a":1}',
    '{"gpu":true}',
    '{"min_vram_mb":"8"}',
    '{"url":"http://example.com/x"}',
    '{"max_tasks":"2"}',
    '{"wall_s":0}',
]
PATHS = [
    ("query",),
    ("thread_id",),
    ("multitask_strategy",),
    ("options",),
    ("options", "on_disconnect"),
    ("options", "timeout_seconds"),
    ("options", "approval"),
    ("options", "budget"),
    ("options", "budget", "max_tasks"),
    ("options", "budget", "wall_s"),
    ("options", "webhook"),
    ("options", "webhook", "secret"),
    ("plan",),
    ("plan", "planner"),
    ("plan", "reasoning"),
    ("plan", "tasks", 0, "task_id"),
    ("plan", "tasks", 0, "capability"),
    ("plan", "tasks", 0, "input"),
    ("plan", "tasks", 0, "depends_on"),
    ("plan", "tasks", 0, "requires"),
    ("plan", "tasks", 0, "accept_skipped"),
    ("plan", "tasks", 0, "max_iterations"),
    ("plan", "tasks", 0, "agent_id"),
    ("plan", "tasks", 0, "when"),
    ("plan", "tasks", 0, "description"),
]
MARK = "\x01MARK\x01"


def _base() -> dict[str, Any]:
    return {
        "query": "q",
        "options": {"on_disconnect": "cancel", "budget": {"max_tasks": 2}, "webhook": None},
        "plan": {
            "tasks": [
                {
                    "task_id": "gen",
                    "capability": "text_generation",
                    "agent_id": "a",
                    "input": {"tokens": 16},
                    "repeat_until": "true",
                }
            ]
        },
    }


def test_one_pass_equals_two_on_seeded_random_bodies() -> None:
    """600 bodies, each with one to three fields replaced by a value above (written into the
    JSON text as it is, NaN and the big integers included), the two ways compared."""
    rng = random.Random(12)
    answers = []
    for _ in range(600):
        body = _base()
        values = []
        for n in range(rng.randint(1, 3)):
            path = rng.choice(PATHS)
            at: Any = body
            for key in path[:-1]:
                if not isinstance(at[key] if isinstance(at, list) else at.get(key), (dict, list)):
                    at[key] = [{}] if key == "tasks" else {}
                at = at[key]
            at[path[-1]] = f"{MARK}{n}"
            values.append(rng.choice(VALUES))
        raw = json.dumps(body)
        for n, value in enumerate(values):
            raw = raw.replace(json.dumps(f"{MARK}{n}"), value)
        answers.append(_same(raw.encode())[0])
    assert answers.count("ok") >= 30 and answers.count("refused") >= 30  # both compared


def test_the_fast_path_parses_in_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """``_admit`` validates the body once, as JSON (no parse to Python values first)."""
    calls: list[str] = []
    real = OrchestrateRequest.model_validate_json.__func__  # type: ignore[attr-defined]

    def one(cls: Any, data: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append("json")
        return real(cls, data, *args, **kwargs)

    def two(cls: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append("python")
        raise AssertionError("validated from Python values")

    monkeypatch.setattr(OrchestrateRequest, "model_validate_json", classmethod(one))
    monkeypatch.setattr(OrchestrateRequest, "model_validate", classmethod(two))

    class _State:
        services = object()
        mesh_keys = None
        mesh_trusted_hosts = ("*",)

    class _App:
        state = _State()

    scope = {"app": _App(), "headers": [(b"host", b"localhost")]}
    got = stream_path._admit(scope, _plan())
    assert got is not None and got[2].plan is not None and calls == ["json"]
    assert stream_path._admit(scope, b'{"query":NaN}') is None  # refused: the stack answers


# --- the options' dump -------------------------------------------------------------------


def test_options_that_set_nothing_are_dumped_once() -> None:
    assert RunOptions().model_dump(mode="json") == _DEFAULT_OPTIONS
    # A shallow copy is a whole one: nothing in the defaults' dump can be changed in place.
    assert all(v is None or type(v) in (str, int, float, bool) for v in _DEFAULT_OPTIONS.values())
    for raw in (b'{"query":"q"}', b'{"query":"q","options":{}}'):
        opts = OrchestrateRequest.model_validate_json(raw).options
        first = options_dump(opts)
        assert first == opts.model_dump(mode="json") and first is not _DEFAULT_OPTIONS
        first["approval"] = "required"  # a caller's change is its own
        assert options_dump(opts) == RunOptions().model_dump(mode="json")


@pytest.mark.parametrize(
    "options",
    [
        {"on_disconnect": "cancel"},  # a default, set: dumped by the model
        {"on_disconnect": "continue", "timeout_seconds": 3},
        {"budget": {"max_tasks": 2}},
        {"webhook": {"url": "http://example.com/hook", "secret": "s" * 8}},
    ],
)
def test_options_that_set_a_field_are_the_models_dump(options: dict[str, Any]) -> None:
    opts = RunOptions.model_validate(options)
    assert options_dump(opts) == opts.model_dump(mode="json")
    with pytest.raises(ValidationError):
        RunOptions.model_validate({**options, "nope": 1})
