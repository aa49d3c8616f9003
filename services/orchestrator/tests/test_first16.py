"""Round 16 (lean-first16): a worker request's head prepared once per URL, and SQLite's
binding of None and ``bytes`` through identity adapters. Both change no byte: these hold
the bytes the same, prepared or not, adapted or not."""

from __future__ import annotations

import sqlite3

import httpx
import pytest

from mesh_orchestrator.relay import stream_client
from mesh_orchestrator.relay.stream_client import StreamClient, Target, target
from mesh_orchestrator.relay.worker_client import stream_target, stream_url
from mesh_orchestrator.runs.store import sqlite as sqlite_store

URLS = (
    "http://127.0.0.1:8001/stream",
    "http://10.0.0.5/stream",  # no port: 80
    "http://writer.example:9000/v1/agents/writer/stream?x=1&y=%20z",
    "http://[::1]:8001/stream",
)


def _old_head(url: httpx.URL, body: bytes, headers: dict[str, str] | None) -> bytes:
    """What ``post`` wrote before round 16, verbatim."""
    host = url.netloc.decode("ascii")
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    head = (
        f"POST {url.raw_path.decode('ascii')} HTTP/1.1\r\nHost: {host}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        f"Accept: text/event-stream\r\n{extra}\r\n"
    ).encode("latin-1")
    return head + body


@pytest.mark.parametrize("raw", URLS)
@pytest.mark.parametrize("headers", [None, {}, {"traceparent": "00-ab-cd-01", "X-B": "2"}])
def test_a_prepared_target_posts_the_same_bytes_and_key(
    raw: str, headers: dict[str, str] | None
) -> None:
    url = httpx.URL(raw)
    body = b'{"task_id":"gen","input":{"tokens":16}}'
    client = StreamClient.__new__(StreamClient)  # no loop needed: nothing is sent
    by_url = client.post(url, body, headers)
    by_target = client.post(target(url), body, headers)
    assert by_url.request == by_target.request == _old_head(url, body, headers)
    assert by_url.key == by_target.key == (url.host, url.port or 80)


def test_a_stream_target_is_made_once_per_url_from_its_parsed_url() -> None:
    raw = "http://127.0.0.1:8123/stream"
    t = stream_target(raw)
    assert isinstance(t, Target)
    assert stream_target(raw) is t
    assert t.url is stream_url(raw)


def test_handles_reads_a_target_as_its_url(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(var, raising=False)
    urls = [httpx.URL(u) for u in ("http://10.0.0.5:8001/s", "https://w.example/s")]
    assert [StreamClient().handles(target(u)) for u in urls] == [True, False]
    monkeypatch.setenv("HTTP_PROXY", "http://proxy:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    for raw, handled in (("http://10.0.0.5:8001/s", False), ("http://127.0.0.1:8001/s", True)):
        u = httpx.URL(raw)
        assert StreamClient().handles(u) is StreamClient().handles(target(u)) is handled
    assert stream_client.target is target


def test_sqlite_binds_none_and_bytes_through_identity_adapters() -> None:
    assert sqlite_store is not None  # importing the store registers them
    adapters = sqlite3.adapters  # type: ignore[attr-defined]
    none = adapters[(type(None), sqlite3.PrepareProtocol)]
    same = adapters[(bytes, sqlite3.PrepareProtocol)]
    blob = b'{"token":"x"}\x00\xff'
    assert none(None) is None and same(blob) is blob

    class Sub(bytes):
        pass

    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (a, b, c, d)")
    db.execute("INSERT INTO t VALUES (?, ?, ?, ?)", (None, blob, Sub(b"s"), True))
    db.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", [(None, b"", 1.5, "x")] * 2)
    got = db.execute("SELECT a, typeof(a), b, typeof(b), c, typeof(c), d, typeof(d) FROM t")
    assert got.fetchall() == [
        (None, "null", blob, "blob", b"s", "blob", 1, "integer"),
        (None, "null", b"", "blob", 1.5, "real", "x", "text"),
        (None, "null", b"", "blob", 1.5, "real", "x", "text"),
    ]
