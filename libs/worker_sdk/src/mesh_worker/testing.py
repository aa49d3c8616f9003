"""Serve a worker app on a loopback port in a background thread, for tests that need real SSE.

``serving`` is the test kit's (``mesh_testkit.serving``), here so that a worker's tests
find it beside the SDK. It runs the app's lifespan; leave ``WORKER_DISCOVERY_URL`` empty
(``WorkerSettings(discovery_url="")``) unless a discovery is running.
"""

from __future__ import annotations

from mesh_testkit import serving

__all__ = ["serving"]
