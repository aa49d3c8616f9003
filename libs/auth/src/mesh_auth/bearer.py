"""``BearerAuth``: an ``httpx.Auth`` sending a ``TokenSource``'s token with every request.

``httpx.AsyncClient(auth=BearerAuth(source))``: nothing is sent while the source has no
token (the mesh runs open). The header is set per request, so a renewed token is used as
soon as it is minted. httpx follows no redirect unless asked, and this never asks: a token
is only sent to the URL the caller named.
"""

from __future__ import annotations

from collections.abc import Generator

import httpx

from mesh_auth.config import TokenSource


class BearerAuth(httpx.Auth):
    """``replace``: overwrite an ``Authorization`` the caller set (an SDK that always sends
    its own API key, such as the OpenAI client, when the key is the mesh token)."""

    def __init__(self, source: TokenSource, *, replace: bool = False) -> None:
        self.source = source
        self.replace = replace

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self.source.token()
        if token and (self.replace or "authorization" not in request.headers):
            request.headers["Authorization"] = f"Bearer {token}"
        yield request


__all__ = ["BearerAuth"]
