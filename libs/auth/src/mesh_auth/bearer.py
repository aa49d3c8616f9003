"""``BearerAuth``: an ``httpx.Auth`` sending a ``TokenSource``'s token with every request.

``httpx.AsyncClient(auth=BearerAuth(source))``: nothing is sent while the source has no
token (the mesh runs open). The header is set per request, so a renewed token is used as
soon as it is minted. httpx follows no redirect unless asked, and this never asks: a token
is only sent to the URL the caller named.

``AudienceAuth(tokens, audience_of, fallback)``: the token for the audience the request's
URL names (the orchestrator's LLM client: the registered worker serving that origin, whose
token no other service accepts), else ``fallback``'s.
"""

from __future__ import annotations

from collections.abc import Callable, Generator

import httpx

from mesh_auth.config import AudienceTokens, TokenSource


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


class AudienceAuth(httpx.Auth):
    """A token per request: ``tokens``' for ``audience_of(url)`` when that names one and
    ``tokens`` mints per audience, else ``fallback``'s. It replaces any ``Authorization``
    the caller set (an SDK's own API key)."""

    def __init__(
        self,
        tokens: AudienceTokens,
        audience_of: Callable[[httpx.URL], str | None],
        fallback: TokenSource,
    ) -> None:
        self.tokens = tokens
        self.audience_of = audience_of
        self.fallback = fallback

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        audience = self.audience_of(request.url) if self.tokens.minting else None
        token = self.tokens.token(audience) if audience else self.fallback.token()
        if token:
            request.headers["Authorization"] = f"Bearer {token}"
        yield request


__all__ = ["AudienceAuth", "BearerAuth"]
