"""JSON request bodies parsed by pydantic's JSON parser (jiter) instead of ``json.loads``.

FastAPI hands a JSON body to ``Request.json()`` (``json.loads``) on the event loop, then
validates it. Two things of that hurt: ``json.loads`` nests as deep as the recursion limit
allows (a plan whose ``input`` nests 300 levels parsed, then failed to serialize: a 500), and
it is the slower of the two on large bodies. pydantic's parser refuses nesting past 200
levels (a JSON error, so FastAPI's 422), and parses a 1 MB plan faster (``bench/bounds.py``).
Everything else FastAPI does with the body is unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from pydantic import TypeAdapter, ValidationError

_JSON: TypeAdapter[Any] = TypeAdapter(Any)


class JSONBody(Request):
    """A request whose ``json()`` is its body parsed by pydantic (any JSON value)."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            try:
                self._json = _JSON.validate_json(body)
            except ValidationError as exc:  # FastAPI answers a JSONDecodeError with a 422
                problem = exc.errors(include_input=False)[0]["msg"][:200]
                raise json.JSONDecodeError(problem, "", 0) from None
        return self._json


class BoundedJSONRoute(APIRoute):
    """The API's routes: their JSON bodies parsed by ``JSONBody``."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def parse_bounded(request: Request) -> Response:
            return await handler(JSONBody(request.scope, request.receive))

        return parse_bounded
