"""A block of plain token frames is read in one parse (``plain_tokens``): what comes out is
what the frame-by-frame path makes of the same bytes, stamped with the attempt as the call
stamps it, the same error where that path fails, and the same frames on the client's wire."""

from __future__ import annotations

import random
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from mesh_contracts import AgentDescriptor, TokenEvent, encode_event
from mesh_orchestrator.emitter import TokenBytes
from mesh_orchestrator.relay import worker_client
from mesh_orchestrator.relay.worker_client import (
    Relayable,
    WorkerFailed,
    _until_done,
    plain_tokens,
)
from mesh_orchestrator.runs.events import RelayedEvent, encode_frames

AGENT = AgentDescriptor(
    agent_id="w", description="d", capabilities=["c"], endpoint="http://127.0.0.1:1"
)

TEXTS = [
    "x",
    "",
    "}",
    '"',
    "\\",
    "héllo",
    "😀 emoji",
    "\u2028 line separator",
    "tab\there",
    "new\nline",
    "cr\r",
    "\x1f",
    "/slash",
    '"}\n{"type":"token","token":"',
    "data: not a frame",
    "\u00e9",
]


def worker_frame(text: str) -> bytes:
    """A token frame as the worker SDK writes it."""
    return encode_event(TokenEvent(token=text))


# Frames the SDK never writes but a worker could: each must come out as the frame path says.
ODD = [
    b'data: {"type":"token","token":"\\u00e9"}\n\n',  # an escape that is not orjson's
    b'data: {"type":"token","token":"a\\/b"}\n\n',
    b'data: {"type": "token", "token": "spaced"}\n\n',
    b'data:  {"type":"token","token":"leading space"}\n\n',
    b'data: {"token":"x","type":"token"}\n\n',
    b'data: {"type":"token","token":"x","logprob":-0.5}\n\n',
    b'data: {"type":"message","content":"m"}\n\n',
    b'data: {"type":"progress","step":1,"total":3}\n\n',
    b'data: {"type":"token","token":"\xff bad utf-8"}\n\n',
    b"data:nospace\n\n",
    b": ping\n\n",
    b'id: 4\ndata: {"type":"token",\ndata: "token":"two lines"}\n\n',
]
# Frames that fail the call as malformed, alone or crafted to pass the block's counts.
BAD = [
    b'data: {"type":"token","token":"}\n\n',
    b'data: {"type":"token","token":"a","x":"}\n\n',
    b'data: {"type":"token","token":"raw \x01 control"}\n\n',
    b'data: {"type":"token","token":5}\n\n',
    b'data: {"type":"token","token":"escaped end\\"}\n\n',
]
DONE = b'data: {"type":"done"}\n\n'


async def _chunks(stream: bytes, sizes: list[int]) -> AsyncIterator[bytes]:
    i = 0
    for size in sizes:
        if i >= len(stream):
            break
        yield stream[i : i + size]
        i += size
    if i < len(stream):
        yield stream[i:]


RUNS: list[TokenBytes] = []  # every run ``read`` saw, to show the fast path was taken


async def read(stream: bytes, sizes: list[int], attempt: int) -> tuple[list[Relayable], Any]:
    """The events ``_until_done`` yields, stamped as ``WorkerCalls.call`` stamps them,
    and the error it ends with (None: it reached ``done``)."""
    events: list[Relayable] = []
    try:
        async for batch in _until_done(_chunks(stream, sizes), AGENT, None, attempt=attempt):
            if isinstance(batch, TokenBytes):
                RUNS.append(batch)
            for type_, body in batch:
                if type(batch) is not TokenBytes:  # the call stamps these itself
                    body = {**body, "attempt": attempt}
                events.append((type_, body))
    except WorkerFailed as exc:
        return events, (exc.code, str(exc))
    return events, None


async def frame_by_frame(
    stream: bytes, sizes: list[int], attempt: int, monkeypatch: pytest.MonkeyPatch
) -> tuple[list[Relayable], Any]:
    with monkeypatch.context() as m:
        m.setattr(worker_client, "plain_tokens", lambda payloads, attempt: None)
        return await read(stream, sizes, attempt)


def test_a_block_of_sdk_token_frames_is_one_run_of_stamped_events() -> None:
    payloads = [worker_frame(t)[6:-2] for t in ["a", "héllo", "😀", "", "}"]]
    run = plain_tokens(payloads, 3)  # type: ignore[arg-type]
    assert isinstance(run, TokenBytes)
    assert list(run) == [
        ("token", {"token": t, "attempt": 3}) for t in ["a", "héllo", "😀", "", "}"]
    ]
    assert run.texts == ["a", "héllo", "😀", "", "}"]
    assert list(plain_tokens(payloads[:1], None) or ()) == [("token", {"token": "a"})]  # type: ignore[arg-type]


@pytest.mark.parametrize("text", TEXTS)
async def test_any_token_text_reads_as_the_frame_by_frame_path_reads_it(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    stream = worker_frame("a") + worker_frame(text) + worker_frame("b") + DONE
    RUNS.clear()
    got = await read(stream, [len(stream)], 2)
    assert got == await frame_by_frame(stream, [len(stream)], 2, monkeypatch)
    assert got[1] is None
    assert [body["token"] for _, body in got[0]] == ["a", text, "b"]
    # One parse for the block, unless the text holds a quote (escaped: one quote too many).
    assert [len(r) for r in RUNS] == ([] if '"' in text else [3])


@pytest.mark.parametrize("frame", ODD + BAD)
async def test_an_odd_or_bad_frame_in_a_block_of_tokens_reads_as_the_frame_path_reads_it(
    frame: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    stream = worker_frame("a") + frame + worker_frame("b") + DONE
    want = await frame_by_frame(stream, [len(stream)], 1, monkeypatch)
    assert await read(stream, [len(stream)], 1) == want
    alone = frame + DONE
    assert await read(alone, [len(alone)], 1) == await frame_by_frame(
        alone, [len(alone)], 1, monkeypatch
    )


SHORT = BAD[0]  # the prefix and ``}``: seven quotes, its end sharing the prefix's last one
NINE = b'data: {"type":"token","token":"a"b"}\n\n'  # makes up for it in the block's count
GOOD = worker_frame("g")


@pytest.mark.parametrize(
    "frames",
    [
        [SHORT, NINE],
        [NINE, SHORT],
        [GOOD, SHORT, NINE],
        [NINE, SHORT, GOOD],
        [SHORT, GOOD, NINE],
        [GOOD, NINE, SHORT],
        [SHORT, SHORT, NINE, NINE],
    ],
)
async def test_a_seven_quote_frame_made_up_for_by_a_nine_reads_as_the_frame_path_reads_it(
    frames: list[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    stream = b"".join(frames) + DONE
    got = await read(stream, [len(stream)], 1)
    assert got == await frame_by_frame(stream, [len(stream)], 1, monkeypatch)
    assert got[1] is not None and got[1][0] == "malformed_stream"


async def test_crafted_frames_that_pass_the_counts_together_still_fail_the_call() -> None:
    # Each is broken JSON, but together they hold eight quotes a frame.
    stream = BAD[0] + BAD[1] + BAD[0] + BAD[0] + DONE
    events, error = await read(stream, [len(stream)], 1)
    assert events == []
    assert error is not None and error[0] == "malformed_stream"


async def test_random_streams_and_chunkings_read_as_the_frame_by_frame_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = random.Random(22)
    RUNS.clear()
    pool = [worker_frame(t) for t in TEXTS] * 4 + ODD + BAD
    for _ in range(300):
        frames = rng.choices(pool, k=rng.randint(1, 30))
        if rng.random() < 0.5:  # mostly the blocks a streaming worker sends
            frames = [worker_frame(rng.choice(TEXTS)) for _ in range(rng.randint(1, 60))]
        stream = b"".join(frames) + DONE
        sizes = [rng.choice([1, 7, 40, 200, 5000]) for _ in range(len(stream))]
        attempt = rng.randint(1, 3)
        want = await frame_by_frame(stream, sizes, attempt, monkeypatch)
        assert await read(stream, sizes, attempt) == want, stream
    assert len(RUNS) > 100


async def test_frames_written_from_a_run_of_tokens_are_those_of_the_frame_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stream = b"".join(worker_frame(t) for t in TEXTS if "\\" not in t) + DONE
    fast, _ = await read(stream, [len(stream)], 1)
    slow, _ = await frame_by_frame(stream, [len(stream)], 1, monkeypatch)
    ts = time.time()

    def frames(events: list[Relayable]) -> bytes:
        return encode_frames(
            [
                RelayedEvent("r", i, "token", "t", "w", body, ts)
                for i, (_, body) in enumerate(events)
            ]
        )

    assert frames(fast) == frames(slow)


def _published(
    texts: list[str], attempt: int | None, blocks: list[int], run_id: str = "r%"
) -> list[RelayedEvent]:
    """A run's log as the mux makes it: a ``status``, then ``texts`` read as worker blocks
    of the sizes given (each through ``plain_tokens``), a ``result`` between two blocks."""
    from mesh_orchestrator.runs.mux import EventMux
    from mesh_orchestrator.runs.store.base import RunRecord

    mux = EventMux(None)  # type: ignore[arg-type]  # nothing is flushed here
    mux.open(RunRecord(run_id=run_id, query="q", created_at=1.0))
    mux.publish(run_id, "status", {"status": "running"}, "t", "w")
    i = 0
    for n, size in enumerate(blocks):
        payloads = [worker_frame(t)[6:-2] for t in texts[i : i + size]]
        i += size
        run = plain_tokens(payloads, attempt)  # type: ignore[arg-type]
        assert run is not None
        mux.publish_many(run_id, run, "t%", "w")
        if n == 1:
            mux.publish(run_id, "result", {"output": "o"}, "t%", "w")
    return mux.channels[run_id].events


def test_a_block_of_tokens_keeps_each_token_as_the_json_string_orjson_writes() -> None:
    plain = [t for t in TEXTS if "\\" not in worker_frame(t).decode()]  # the worker's bytes
    escaped = [t for t in TEXTS if '"' not in t]  # parsed (a quote: refused by the counts)
    for texts in (plain, escaped):
        run = plain_tokens([worker_frame(t)[6:-2] for t in texts], 2)  # type: ignore[arg-type]
        assert run is not None and run.stamp == b',"attempt":2'
        assert run.tokens == [orjson.dumps(t) for t in texts]
        assert run.texts == texts
        assert [b'{"token":' + r + run.stamp + b"}" for r in run.tokens] == [
            orjson.dumps(body) for _, body in run
        ]


@pytest.mark.parametrize("attempt", [None, 1, 12])
def test_frames_and_rows_of_published_token_blocks_are_those_of_their_events(
    attempt: int | None,
) -> None:
    from mesh_orchestrator.runs.store.event_rows import event_rows

    rng = random.Random(7)
    texts = [rng.choice([t for t in TEXTS if '"' not in t]) for _ in range(400)]
    blocks = [1, 3, 60, 2, 200, 1, 133]
    log = _published(texts, attempt, blocks)
    assert sum(e.block is not None for e in log) == 400  # the bytes path was taken
    # A listener's batch may start and end anywhere in a block (it came in midway, or a
    # flush released held events): every cut writes its events' own frames.
    for _ in range(300):
        a = rng.randrange(len(log))
        b = rng.randrange(a, len(log) + 1)
        batch = log[a:b]  # consecutive events of one run, as a subscription's batch is
        assert encode_frames(batch) == b"".join(e.frame() for e in batch)
        assert encode_frames(batch, in_order=True) == b"".join(e.frame() for e in batch)
    assert encode_frames(log) == b"".join(e.frame() for e in log)
    # The store's rows: those of the same events with no bytes kept (each ``data`` dumped).
    bare = [RelayedEvent(e.run_id, e.seq, e.type, e.task_id, e.agent_id, e.data, e.ts) for e in log]
    for a, b in [(0, len(log)), (3, 70), (66, 300), (5, 6)]:
        assert event_rows(log[a:b]) == event_rows(bare[a:b])


def test_a_block_longer_than_a_row_is_stored_in_full_rows_checked_a_row_at_a_time() -> None:
    from mesh_orchestrator.runs.events import block_span
    from mesh_orchestrator.runs.store.event_rows import MAX_BLOCK, TOKEN_BLOCK, event_rows

    n = 2 * MAX_BLOCK + 37  # a worker's block as a flood now comes: one chunk, many rows
    texts = [TEXTS[i % len(TEXTS)] for i in range(n)]
    texts = [t for t in texts if '"' not in t][: n - 40]
    log = _published(texts, 3, [2, len(texts) - 2])
    block = log[3:-1]  # the second block's events (a status, two tokens before; a result after)
    assert block_span(block, 0) == len(block)
    assert block_span(block, 0, MAX_BLOCK) == MAX_BLOCK
    assert block_span(block, 0, 1) == 1
    assert block_span(block[:5], 0, MAX_BLOCK) == 5
    swapped = [block[0], block[2], block[1], *block[3:]]
    assert block_span(swapped, 0, MAX_BLOCK) == 1  # a break inside the limit is seen
    rows = event_rows(block)
    assert [r[2] for r in rows] == [TOKEN_BLOCK] * len(rows)
    sizes = [r[1] - (block[0].seq - 1 if k == 0 else rows[k - 1][1]) for k, r in enumerate(rows)]
    assert sizes[:-1] == [MAX_BLOCK] * (len(rows) - 1) and sum(sizes) == len(block)
    bare = [RelayedEvent(e.run_id, e.seq, e.type, e.task_id, e.agent_id, e.data, e.ts) for e in log]
    assert event_rows(log) == event_rows(bare)


def test_a_batch_out_of_order_or_of_two_runs_is_not_written_from_one_block() -> None:
    tokens = _published(["a", "b", "c", "d"], 1, [4])[1:]
    other = _published(["e", "f", "g", "h"], 1, [4], run_id="r2")[1:]
    mixed = [tokens[0], other[1], tokens[2]]  # seqs 2, 3, 4: in order, not one block
    for batch in ([tokens[0], tokens[2], tokens[1]], [tokens[0], tokens[0]], tokens[::-1], mixed):
        assert encode_frames(batch) == b"".join(e.frame() for e in batch)


def test_token_blocks_past_a_runs_cap_are_left_out_and_counted_while_its_state_goes_out() -> None:
    from mesh_orchestrator.runs.emitter import RunEvents
    from mesh_orchestrator.runs.mux import EventMux
    from mesh_orchestrator.runs.projection import RunProjection
    from mesh_orchestrator.runs.store.base import RunRecord

    mux = EventMux(None)  # type: ignore[arg-type]  # nothing is flushed here
    record = RunRecord(run_id="r", query="q", created_at=1.0)
    mux.open(record)
    run = RunEvents("r", mux, RunProjection(record), max_events=10)
    for n in range(4):  # 16 tokens: 8, then 2 of a block that crosses the cap, then none
        block = plain_tokens([worker_frame(f"{n}.{i}")[6:-2] for i in range(4)], 1)  # type: ignore[arg-type]
        assert block is not None
        run.relay_many(block, "t", "w")
    run.relay("error", {"error": "e"}, "t", "w")  # not chatter: numbered past the cap
    log = mux.channels["r"].events
    assert [e.data.get("token") for e in log[:10]] == [
        f"{n}.{i}" for n in range(3) for i in range(4)
    ][:10]
    assert [(e.seq, e.type) for e in log[10:]] == [(11, "error")]
    assert run.dropped == 6 and run.published == 17
