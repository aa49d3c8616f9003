"""An external A2A agent's own credentials, sent the way its card asks, and nothing else.

The orchestrator's token is for the mesh's own workers: an external A2A agent is called
through a client that carries no mesh token, with only what an operator configured for it.
``ORCH_A2A_CREDENTIALS_FILE`` is a JSON object keyed by the agent's origin (scheme, host
and port of its JSON-RPC URL), each value mapping a security scheme named in the agent's
card to the credential::

    {"https://poet.example.com": {"bearer": "s3cr3t"}}

The card's ``securitySchemes`` and ``securityRequirements`` (discovery keeps them in the
descriptor's metadata) say how it goes: HTTP bearer, OAuth2 and OpenID Connect as
``Authorization: Bearer``, an API key in the header the scheme names. The a2a-sdk's
``AuthInterceptor`` applies them (imported with the first credential applied: the
a2a-sdk's client costs ~0.3 s of CPU to import, and the table is read at every start). An MCP server worker (``relay/mcp_client.py``) takes its
origin's ``bearer`` entry as ``Authorization: Bearer``. Keyed by origin, a credential only ever goes to the
origin it was configured for, whatever agent id a registration claims.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from a2a.client import ClientCallContext
    from a2a.client.auth.interceptor import AuthInterceptor
    from a2a.types.a2a_pb2 import AgentCard

_ORIGIN = "mesh_a2a_origin"  # ClientCallContext.state key: whose credentials to look up


def origin_of(url: str) -> str:
    """``scheme://host:port``, lowercase, the port always written (the table's key)."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    port = parts.port or (443 if scheme == "https" else 80)
    host = (parts.hostname or "").lower()
    return f"{scheme}://{f'[{host}]' if ':' in host else host}:{port}"


class CredentialsError(ValueError):
    """The credentials file cannot be used (the message says why, never a credential)."""


class A2ACredentials:
    """Credentials by origin and scheme name; ``apply`` fills one call's context (through
    the a2a-sdk's ``AuthInterceptor``, which asks ``get_credentials``)."""

    def __init__(self, table: Mapping[str, Mapping[str, str]] | None = None) -> None:
        self._table = {origin_of(k): dict(v) for k, v in (table or {}).items()}
        self._interceptor: AuthInterceptor | None = None

    def __repr__(self) -> str:  # never a credential
        return f"A2ACredentials(origins={sorted(self._table)})"

    @classmethod
    def from_file(cls, path: Path | None) -> A2ACredentials:
        """The table in ``path`` (none: no agent gets credentials). Raises
        ``CredentialsError`` for a file that is not ``{origin: {scheme: credential}}``."""
        if path is None:
            return cls()
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise CredentialsError(f"{path}: cannot read: {exc.strerror}") from None
        except ValueError:
            raise CredentialsError(f"{path}: not JSON") from None
        if not isinstance(raw, dict) or not all(
            isinstance(origin, str)
            and isinstance(schemes, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in schemes.items())
            for origin, schemes in raw.items()
        ):
            raise CredentialsError(
                f"{path}: expected a JSON object {{origin: {{scheme name: credential}}}}"
            )
        for origin in raw:
            if urlsplit(origin).scheme not in ("http", "https"):
                raise CredentialsError(f"{path}: {origin[:100]!r} is not an http(s) origin")
        return cls(raw)

    async def get_credentials(
        self, security_scheme_name: str, context: ClientCallContext | None
    ) -> str | None:
        origin = context.state.get(_ORIGIN) if context is not None else None
        return self._table.get(str(origin), {}).get(security_scheme_name)

    def credential(self, url: str, scheme: str) -> str | None:
        """The credential configured for ``url``'s origin under ``scheme`` (an MCP server's
        ``bearer``), if any."""
        return self._table.get(origin_of(url), {}).get(scheme)

    async def apply(self, card: AgentCard, url: str, context: ClientCallContext) -> None:
        """Add to ``context`` the credential the card asks for at ``url``'s origin, if one
        is configured; nothing otherwise."""
        if not self._table:
            return
        from a2a.client.interceptors import BeforeArgs

        context.state[_ORIGIN] = origin_of(url)
        args = BeforeArgs(input=None, method="SendMessage", agent_card=card, context=context)
        await self._auth().before(args)

    def _auth(self) -> AuthInterceptor:
        if self._interceptor is None:
            from a2a.client.auth.interceptor import AuthInterceptor

            # The interceptor only calls ``get_credentials``: this is a ``CredentialService``
            # by its shape, without subclassing the SDK's ABC (its import is the cost above).
            self._interceptor = AuthInterceptor(self)  # type: ignore[arg-type]
        return self._interceptor


__all__ = ["A2ACredentials", "CredentialsError", "origin_of"]
