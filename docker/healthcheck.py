#!/usr/bin/env python3
"""Container health probe: exit 0 when the service answers ``GET /health`` with 2xx.

Used by the images' HEALTHCHECK and by compose. Standard library only, so it runs in
every image whatever the service installed. The port is the one the service itself reads
(``DISCOVERY_PORT``, ``ORCH_PORT`` or ``WORKER_PORT``), else the image's ``SERVICE_PORT``;
``HEALTHCHECK_URL`` overrides the whole URL, an argument the path (``/ready``). Under mTLS (``MESH_TLS_CERT_FILE``,
``MESH_TLS_KEY_FILE``, ``MESH_TLS_CA_FILE``) it asks over https with the service's own
certificate, as any other caller must.
"""

from __future__ import annotations

import os
import ssl
import sys
import urllib.error
import urllib.request

PORT_VARIABLES = ("DISCOVERY_PORT", "ORCH_PORT", "WORKER_PORT", "SERVICE_PORT")


def health_url(path: str = "/health") -> str:
    """The URL to probe, from the environment (``path``: another route, e.g. ``/ready``)."""
    explicit = os.environ.get("HEALTHCHECK_URL")
    if explicit:
        return explicit
    port = next((os.environ[name] for name in PORT_VARIABLES if os.environ.get(name)), "8000")
    scheme = "https" if tls_context() is not None else "http"
    return f"{scheme}://127.0.0.1:{port}{path}"


def tls_context() -> ssl.SSLContext | None:
    """The service's own certificate and the mesh's CA, when mTLS is configured."""
    cert, key, ca = (os.environ.get(f"MESH_TLS_{n}_FILE") for n in ("CERT", "KEY", "CA"))
    if not (cert and key and ca):
        return None
    ctx = ssl.create_default_context(cafile=ca)
    ctx.load_cert_chain(cert, key)
    return ctx


def main() -> int:
    url = health_url(*sys.argv[1:2])
    try:
        with urllib.request.urlopen(url, timeout=3, context=tls_context()) as response:
            status: int = response.status
    except (urllib.error.URLError, OSError) as exc:
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)
        return 1
    if 200 <= status < 300:
        return 0
    print(f"unhealthy: {url}: HTTP {status}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
