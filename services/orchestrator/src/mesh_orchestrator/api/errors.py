"""Every error is JSON with a ``detail`` naming the problem; never a bare 500 with a trace."""

from __future__ import annotations

import logging
import reprlib

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from mesh_auth.http import validation_errors
from mesh_orchestrator.runs.service import Draining

log = logging.getLogger(__name__)
_SHORT = reprlib.Repr()  # a bounded repr, whatever the size of what it writes
_SHORT.maxlevel, _SHORT.maxlist, _SHORT.maxdict, _SHORT.maxstring = 3, 8, 8, 80


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        # type/loc/msg/input only, each trimmed: a 422 never echoes more than a few hundred
        # characters of what was sent (a 1 MB query is not answered with a 1 MB error). A
        # container's input is cut before it is written out: the repr of a 200,000-entry
        # list alone held the event loop for 80 ms.
        errors = [
            e | {"input": _SHORT.repr(e["input"])} if isinstance(e.get("input"), list | dict) else e
            for e in list(exc.errors())[:20]
        ]
        detail = validation_errors(errors)
        return JSONResponse(status_code=422, content={"detail": jsonable_encoder(detail)})

    @app.exception_handler(Draining)
    async def draining(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(
            status_code=503,
            content={"detail": "this orchestrator replica is shutting down; try another"},
            headers={"Retry-After": "1"},
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(
            status_code=500, content={"detail": f"internal error: {type(exc).__name__}"}
        )
