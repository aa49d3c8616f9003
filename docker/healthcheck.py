#!/usr/bin/env python3
"""Container health probe: exit 0 when the service answers ``GET /health`` with 2xx.

Used by the images' HEALTHCHECK and by compose. Standard library only, so it runs in
every image whatever the service installed. The port is the one the service itself reads
(``DISCOVERY_PORT``, ``ORCH_PORT`` or ``WORKER_PORT``), else the image's ``SERVICE_PORT``;
``HEALTHCHECK_URL`` overrides the whole URL.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

PORT_VARIABLES = ("DISCOVERY_PORT", "ORCH_PORT", "WORKER_PORT", "SERVICE_PORT")


def health_url() -> str:
    """The URL to probe, from the environment."""
    explicit = os.environ.get("HEALTHCHECK_URL")
    if explicit:
        return explicit
    port = next((os.environ[name] for name in PORT_VARIABLES if os.environ.get(name)), "8000")
    return f"http://127.0.0.1:{port}/health"


def main() -> int:
    url = health_url()
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
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
