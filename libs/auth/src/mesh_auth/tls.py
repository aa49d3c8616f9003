"""mTLS between services: each serves TLS and requires a client certificate signed by the
mesh's CA, and each presents its own certificate when it calls another.

Environment (every service, the CLI; compose's and Kubernetes' mTLS overlays set them):

* ``MESH_TLS_CERT_FILE``, ``MESH_TLS_KEY_FILE``: this process's certificate and key (PEM;
  ``mesh certs init`` makes one per service, each good as server and as client);
* ``MESH_TLS_CA_FILE``: the CA that signed the others' certificates.

All three or none; with none, services speak plain HTTP (tokens still carry the
authorization either way: mTLS says which machine is calling, a token what it may do).
``TlsSettings.server_options()`` are uvicorn's ``ssl_*`` options (client certificates
required); ``client_context()`` is the ``ssl.SSLContext`` an httpx client takes as
``verify=``. Standard library and pydantic-settings only: the CLI uses it.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from mesh_auth.tokens import SecretError


class TlsSettings(BaseSettings):
    """``MESH_TLS_CERT_FILE``, ``MESH_TLS_KEY_FILE``, ``MESH_TLS_CA_FILE``."""

    model_config = SettingsConfigDict(env_prefix="MESH_", extra="ignore")

    tls_cert_file: Path | None = Field(
        default=None, description="this process's certificate (PEM); mTLS needs all three files"
    )
    tls_key_file: Path | None = Field(default=None, description="its private key (PEM)")
    tls_ca_file: Path | None = Field(
        default=None, description="the CA that signs every peer certificate (PEM)"
    )

    @property
    def enabled(self) -> bool:
        """True when all three files are named (``SecretError`` when only some are)."""
        named = [p is not None for p in (self.tls_cert_file, self.tls_key_file, self.tls_ca_file)]
        if any(named) and not all(named):
            raise SecretError(
                "mTLS needs MESH_TLS_CERT_FILE, MESH_TLS_KEY_FILE and MESH_TLS_CA_FILE together"
                " (`mesh certs init DIR` makes them)"
            )
        return all(named)

    def server_options(self) -> dict[str, Any]:
        """uvicorn's options to serve TLS and require a client certificate from the CA;
        ``{}`` when mTLS is off."""
        if not self.enabled:
            return {}
        self._readable()
        return {
            "ssl_certfile": str(self.tls_cert_file),
            "ssl_keyfile": str(self.tls_key_file),
            "ssl_ca_certs": str(self.tls_ca_file),
            "ssl_cert_reqs": ssl.CERT_REQUIRED,
        }

    def client_context(self) -> ssl.SSLContext | None:
        """A context trusting the mesh's CA and presenting this process's certificate;
        None when mTLS is off."""
        if not self.enabled:
            return None
        self._readable()
        assert self.tls_ca_file and self.tls_cert_file and self.tls_key_file
        ctx = ssl.create_default_context(cafile=str(self.tls_ca_file))
        ctx.load_cert_chain(str(self.tls_cert_file), str(self.tls_key_file))
        return ctx

    def scheme(self) -> str:
        return "https" if self.enabled else "http"

    def _readable(self) -> None:
        for name, path in (
            ("MESH_TLS_CERT_FILE", self.tls_cert_file),
            ("MESH_TLS_KEY_FILE", self.tls_key_file),
            ("MESH_TLS_CA_FILE", self.tls_ca_file),
        ):
            if path is not None and not path.is_file():
                raise SecretError(f"{name} {path}: no such file")


__all__ = ["TlsSettings"]
