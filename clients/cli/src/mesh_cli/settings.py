"""Settings of the ``mesh`` command, read from ``MESH_*`` environment variables.

The token the CLI sends (``MESH_TOKEN``/``MESH_TOKEN_FILE``), the revocation list
(``MESH_AUTH_REVOKED_FILE``) and mTLS (``MESH_TLS_*``) are ``mesh_auth``'s settings, shared
with every service; these are the CLI's own.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_DISCOVERY_URL = "http://127.0.0.1:9000"


class CliSettings(BaseSettings):
    """Defaults of the CLI's flags; a flag given on the command line wins."""

    model_config = SettingsConfigDict(env_prefix="MESH_", extra="ignore")

    url: str = Field(default=DEFAULT_URL, description="orchestrator base URL (`--url`)")
    discovery_url: str = Field(
        default=DEFAULT_DISCOVERY_URL, description="discovery base URL (`--discovery`)"
    )
    auth_issuer_key_file: Path | None = Field(
        default=None,
        description="the issuer's private key `mesh token issue` signs with (`--key`;"
        " `mesh keys init DIR` makes it)",
    )
