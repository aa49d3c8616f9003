"""Service identity for the agent mesh (see the package README).

This module and ``tokens``/``config``/``endpoints`` import no web framework, so the CLI may
use them; ``mesh_auth.http`` holds the FastAPI dependencies and the body limit,
``mesh_auth.bearer`` the httpx side.
"""

from mesh_auth.config import (
    AuthSettings,
    ExposedWithoutSecret,
    TokenSource,
    guard_bind,
    is_loopback,
)
from mesh_auth.tokens import (
    DEFAULT_TTL_SECONDS,
    OPEN,
    InvalidToken,
    Keys,
    Principal,
    SecretError,
    parse_ttl,
    scope_of,
)

__all__ = [
    "AuthSettings",
    "DEFAULT_TTL_SECONDS",
    "ExposedWithoutSecret",
    "InvalidToken",
    "Keys",
    "OPEN",
    "Principal",
    "SecretError",
    "TokenSource",
    "guard_bind",
    "is_loopback",
    "parse_ttl",
    "scope_of",
]
