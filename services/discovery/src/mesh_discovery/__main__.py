"""``python -m mesh_discovery``: serve the registry on DISCOVERY_HOST:DISCOVERY_PORT."""

from __future__ import annotations

import asyncio
import logging
import socket
import sys
from types import FrameType

import uvicorn
from pydantic import ValidationError

from mesh_auth import AuthSettings, SecretError, TlsSettings, guard_bind
from mesh_discovery.app import create_app
from mesh_discovery.declared import AgentsFileError
from mesh_discovery.settings import Settings


def main() -> int:
    try:
        settings = Settings()
        keys = AuthSettings().keys()
        tls = TlsSettings().server_options()  # mTLS: serve TLS, require client certificates
        app = create_app(settings, keys=keys)
    except (AgentsFileError, ValidationError, SecretError) as exc:
        print(f"mesh_discovery: cannot start: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level.upper(), format="%(levelname)s: %(message)s")
    guard_bind("mesh_discovery", settings.host, keys)  # exits on 0.0.0.0 without public keys
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        # uvicorn formats each request's access line (client, quoted path) before the
        # logger drops it; above "info" the logger drops them all, so do not build them.
        access_log=access_logged(settings.log_level),
        timeout_graceful_shutdown=settings.shutdown_grace_seconds,
        # No "server: uvicorn" on every answer: a header uvicorn checks and writes per
        # heartbeat, naming the server to whoever asks (Date stays: RFC 9110 wants it).
        server_header=False,
        **tls,
    )
    _DrainingServer(config, app.state.draining).run()
    return 0


def access_logged(log_level: str) -> bool:
    """Whether uvicorn's access lines (logged at INFO) pass ``log_level``."""
    level = logging.getLevelName(log_level.upper())
    return not isinstance(level, int) or level <= logging.INFO


class _DrainingServer(uvicorn.Server):
    """On SIGTERM/SIGINT, first release open blocking queries, then shut down as usual."""

    def __init__(self, config: uvicorn.Config, draining: asyncio.Event) -> None:
        super().__init__(config)
        self._draining = draining
        self._loop: asyncio.AbstractEventLoop | None = None

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().serve(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._loop is not None:
            # Signal handlers run between bytecodes of the loop's thread: schedule, do not set.
            self._loop.call_soon_threadsafe(self._draining.set)
        super().handle_exit(sig, frame)


if __name__ == "__main__":
    sys.exit(main())
