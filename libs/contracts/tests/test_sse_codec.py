"""The SSE codec: frames out, and a byte stream of frames in, however the network splits it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from mesh_contracts import (
    SSEDecoder,
    SSEMessage,
    TokenEvent,
    add_json_frame,
    aiter_sse,
    encode_comment,
    encode_event,
    encode_json_frame,
    json_frame_template,
)


def _feed_all(chunks: list[bytes]) -> list[SSEMessage]:
    dec = SSEDecoder()
    out: list[SSEMessage] = []
    for c in chunks:
        out.extend(dec.feed(c))
    return out


def test_encoded_event_round_trips_through_the_decoder() -> None:
    frame = encode_event({"type": "token", "token": "hé\nllo"}, id=7, event="token", retry=1500)
    [msg] = _feed_all([frame])
    assert msg.json() == {"type": "token", "token": "hé\nllo"}
    assert (msg.id, msg.event, msg.retry) == ("7", "token", 1500)


def test_models_are_encoded_as_json() -> None:
    [msg] = _feed_all([encode_event(TokenEvent(token="x"))])
    assert msg.json() == {"type": "token", "token": "x"}


def test_multiline_string_becomes_several_data_lines_and_joins_back() -> None:
    frame = encode_event("line one\r\nline two\rline three")
    assert frame.count(b"data: ") == 3
    assert _feed_all([frame])[0].data == "line one\nline two\nline three"


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 64])
def test_frames_split_across_chunks_at_any_byte_are_reassembled(size: int) -> None:
    stream = (
        "\ufeff".encode()
        + b": ping\r\n\r\n"
        + encode_event({"n": 1, "text": "naïve ☃"}, id=1)
        + b'event: progress\r\ndata: {"n": 2}\r\nid: 2\r\n\r\n'
        + b"data:no-space\rdata: tail\r\r"
    )
    chunks = [stream[i : i + size] for i in range(0, len(stream), size)]
    msgs = _feed_all(chunks)
    assert [m.data for m in msgs] == ['{"n":1,"text":"naïve ☃"}', '{"n": 2}', "no-space\ntail"]
    assert [m.event for m in msgs] == ["message", "progress", "message"]
    assert [m.id for m in msgs] == ["1", "2", "2"]  # the last id stays in force


def test_comments_are_counted_not_dispatched() -> None:
    dec = SSEDecoder()
    assert dec.feed(encode_comment() + encode_comment("keep-alive")) == []
    assert dec.comments == 2


def test_frame_without_data_is_not_dispatched_but_its_id_is_kept() -> None:
    dec = SSEDecoder()
    assert dec.feed(b"id: 41\n\n") == []
    assert dec.last_event_id == "41"


def test_unterminated_final_frame_is_discarded() -> None:
    dec = SSEDecoder()
    assert dec.feed(b"data: partial") == []
    assert dec.close() == []


def test_field_without_colon_and_unknown_fields_are_ignored() -> None:
    assert [m.data for m in _feed_all([b"data\nfoo: bar\ndata: x\n\n"])] == ["\nx"]


def test_bad_ids_and_event_names_are_refused_on_encode() -> None:
    with pytest.raises(ValueError, match="id"):
        encode_event("x", id="a\nb")
    with pytest.raises(ValueError, match="event name"):
        encode_event("x", event="a\rb")


async def test_aiter_sse_parses_an_async_byte_stream() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for part in (b"data: a\n", b"\ndata: b\n\n"):
            await asyncio.sleep(0)
            yield part

    assert [m.data async for m in aiter_sse(chunks())] == ["a", "b"]


@pytest.mark.parametrize("seq", [None, 0, 7, 2**40])
def test_json_frame_is_byte_for_byte_the_general_encoders_frame(seq: int | None) -> None:
    body = '{"type":"token","token":"naïve ☃ \\\\n"}'.encode()
    assert encode_json_frame(body, seq) == encode_event(body, id=seq)
    [msg] = _feed_all([encode_json_frame(body, seq)])
    assert msg.json() == {"type": "token", "token": "naïve ☃ \\n"}
    assert msg.id == (None if seq is None else str(seq))


@pytest.mark.parametrize("seq", [0, 7, 2**40])
def test_json_frame_pieces_join_to_the_same_frame(seq: int) -> None:
    body = '{"type":"token","token":"naïve ☃ \\\\n"}'.encode()
    out: list[bytes] = []
    add_json_frame(out, b"%d" % seq, body[:9], body[9:])
    add_json_frame(out, b"%d" % (seq + 1), body)
    assert b"".join(out) == encode_event(body, id=seq) + encode_event(body, id=seq + 1)


@pytest.mark.parametrize("seq", [0, 7, 2**40])
def test_a_json_frame_template_fills_to_the_same_frame(seq: int) -> None:
    head, mid, tail = b'{"run":"100%d","seq":', b',"data":', b',"ts":1.5%}'
    data = '{"token":"naïve ☃ %s"}'.encode()
    template = json_frame_template(head, mid, tail)
    body = head + b"%d" % seq + mid + data + tail
    assert template % (seq, seq, data) == encode_event(body, id=seq)


def test_comment_with_retry_sets_the_delay_and_dispatches_nothing() -> None:
    frame = encode_comment("this reader fell behind", retry=1000)
    assert frame == b"retry: 1000\n: this reader fell behind\n\n"
    dec = SSEDecoder()
    assert dec.feed(frame + encode_event({"n": 1})) == [SSEMessage(data='{"n":1}', retry=1000)]
    assert dec.comments == 1


def test_comment_text_cannot_break_out_of_its_line() -> None:
    dec = SSEDecoder()
    assert dec.feed(encode_comment("a\r\ndata: injected\n")) == []
    assert dec.comments == 1
