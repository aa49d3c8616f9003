"""Reading a service's ``GET /metrics`` in tests: every sample as ``{(name, labels): value}``.

One shape for every package's metric tests (the worker SDK, discovery, the orchestrator,
mesh_telemetry): ``key("mesh_runs_total", status="completed")`` names a sample, ``samples``
parses Prometheus text, ``scrape``/``scrape_async`` fetch and parse it (asserting a 200).
"""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from mesh_auth.dialing import default_ssl_context

__all__ = ["Key", "key", "samples", "scrape", "scrape_async"]

Key = tuple[str, tuple[tuple[str, str], ...]]
"""A sample's name and its labels, sorted: ``key(name, **labels)`` builds one."""


def key(name: str, **labels: str) -> Key:
    """The key of sample ``name`` with ``labels``."""
    return (name, tuple(sorted(labels.items())))


def samples(text: str) -> dict[Key, float]:
    """Every sample of a Prometheus text exposition."""
    out: dict[Key, float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def _parsed(response: httpx.Response) -> dict[Key, float]:
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


def scrape(url: str, *, timeout: float = 10.0, **request: object) -> dict[Key, float]:
    """``GET {url}/metrics`` (``request``: more of httpx.get's arguments, e.g. headers)."""
    return _parsed(httpx.get(url + "/metrics", timeout=timeout, **request))  # type: ignore[arg-type]


async def scrape_async(target: str | httpx.AsyncClient, path: str = "/metrics") -> dict[Key, float]:
    """``GET /metrics`` of a base URL, or through a client (its base URL or transport)."""
    if isinstance(target, httpx.AsyncClient):
        return _parsed(await target.get(path))
    async with httpx.AsyncClient(verify=default_ssl_context()) as client:
        return _parsed(await client.get(target + path))
