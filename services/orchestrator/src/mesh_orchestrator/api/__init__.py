"""HTTP edge of the orchestrator: routes, request bodies, SSE responses, error handlers."""

from mesh_orchestrator.api.errors import install_error_handlers
from mesh_orchestrator.api.routes import router

__all__ = ["install_error_handlers", "router"]
