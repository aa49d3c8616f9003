"""Discovery tracing: a server span per request over OTLP/HTTP when an endpoint is set
(DISCOVERY_OTLP_ENDPOINT, else the standard OTEL_EXPORTER_OTLP_ENDPOINT that compose sets)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from mesh_discovery.settings import Settings
from mesh_telemetry.testing import OTLPCollector
from mesh_testkit import free_port, running

CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"


def test_the_endpoint_comes_from_discovery_otlp_endpoint_else_the_otel_standard(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DISCOVERY_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    assert Settings().otlp_endpoint is None
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://jaeger:4318")
    assert Settings().otlp_endpoint == "http://jaeger:4318"
    monkeypatch.setenv("DISCOVERY_OTLP_ENDPOINT", "http://collector:4318")
    assert Settings().otlp_endpoint == "http://collector:4318"
    assert Settings(otlp_endpoint="http://x:4318").otlp_endpoint == "http://x:4318"


def test_requests_become_server_spans_exported_by_a_graceful_shutdown(tmp_path: Path) -> None:
    collector = OTLPCollector()
    port = free_port()
    with collector.serving() as otlp:
        env = {
            "DISCOVERY_PORT": str(port),
            "DISCOVERY_DB_PATH": str(tmp_path / "discovery.sqlite3"),
            "DISCOVERY_OTLP_ENDPOINT": otlp,
            "OTEL_SERVICE_NAME": "discovery-under-test",
        }
        with running("mesh_discovery", port, env) as svc:
            headers = {"traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"}
            assert httpx.get(f"{svc.url}/v1/agents", headers=headers).status_code == 200
            assert httpx.get(f"{svc.url}/v1/agents/nobody").status_code == 404
        # running() stopped it with SIGTERM: the lifespan exported the batch.
        spans = collector.wait_for(lambda spans: len(spans) >= 2, timeout=15)
    by_name = {s.name: s for s in spans}
    listed = by_name["GET /v1/agents"]
    assert (listed.service, listed.kind) == ("discovery-under-test", "server")
    assert (listed.trace_id, listed.parent_span_id) == (CALLER_TRACE, CALLER_SPAN)
    missing = by_name["GET /v1/agents/{instance_id}"]
    assert missing.attributes["http.response.status_code"] == 404
    assert not [s for s in spans if s.attributes.get("url.path") == "/health"]
