"""Service identity for the agent mesh (see the package README).

This module and ``tokens``/``keys``/``config``/``endpoints``/``tls`` import no web
framework, so the CLI may use them; ``mesh_auth.http`` holds the FastAPI dependencies and
the body limit, ``mesh_auth.bearer`` the httpx side.
"""

from mesh_auth.config import (
    AudienceTokens,
    AuthSettings,
    ExposedWithoutSecret,
    TokenSource,
    guard_bind,
    is_loopback,
)
from mesh_auth.keys import Issuer, Keys, KeySet
from mesh_auth.revocation import RevocationList
from mesh_auth.tls import TlsSettings
from mesh_auth.tokens import (
    AUDIENCES,
    DEFAULT_TTL_SECONDS,
    OPEN,
    InvalidToken,
    Principal,
    SecretError,
    parse_priority,
    parse_ttl,
    scope_of,
    worker_audience,
)

__all__ = [
    "AUDIENCES",
    "AudienceTokens",
    "AuthSettings",
    "DEFAULT_TTL_SECONDS",
    "ExposedWithoutSecret",
    "InvalidToken",
    "Issuer",
    "KeySet",
    "Keys",
    "OPEN",
    "Principal",
    "RevocationList",
    "SecretError",
    "TlsSettings",
    "TokenSource",
    "guard_bind",
    "is_loopback",
    "parse_priority",
    "parse_ttl",
    "scope_of",
    "worker_audience",
]
