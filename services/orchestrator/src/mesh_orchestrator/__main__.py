"""``python -m mesh_orchestrator``: serve the orchestrator on ORCH_HOST:ORCH_PORT."""

from __future__ import annotations

import sys

import uvicorn
from pydantic import ValidationError

from mesh_orchestrator.app import create_app
from mesh_orchestrator.settings import Settings


def main() -> int:
    try:
        settings = Settings()
    except ValidationError as exc:
        print(f"mesh_orchestrator: bad settings: {exc}", file=sys.stderr)
        return 2
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        timeout_graceful_shutdown=settings.shutdown_grace_seconds,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
