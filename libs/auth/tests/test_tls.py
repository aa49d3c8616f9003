"""mTLS: ``mesh certs init``'s CA and certificates, a server that requires a client
certificate (uvicorn on a real socket), and clients with and without one."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from fastapi import FastAPI

from mesh_auth import SecretError, TlsSettings
from mesh_auth.certs import init_certs
from mesh_testkit import serving


def tls(directory: Path, name: str) -> TlsSettings:
    return TlsSettings(
        tls_cert_file=directory / f"{name}.pem",
        tls_key_file=directory / f"{name}-key.pem",
        tls_ca_file=directory / "ca.pem",
    )


def test_certs_init_signs_one_certificate_per_service_with_the_names_callers_dial(
    tmp_path: Path,
) -> None:
    written = init_certs(tmp_path, ["writer", "client"], hosts=["writer.example"])
    assert [p.name for p in written] == ["writer.pem", "client.pem"]
    assert (tmp_path / "ca-key.pem").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "writer-key.pem").stat().st_mode & 0o777 == 0o600
    cert = x509.load_pem_x509_certificate((tmp_path / "writer.pem").read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    dns = names.get_values_for_type(x509.DNSName)
    assert {"writer", "writer.agent-mesh.svc", "localhost", "writer.example"} <= set(dns)
    ca = (tmp_path / "ca.pem").read_bytes()
    init_certs(tmp_path, ["analyst"])  # a second run signs with the same CA
    assert (tmp_path / "ca.pem").read_bytes() == ca


def test_a_server_requiring_client_certificates_refuses_a_caller_without_one(
    tmp_path: Path,
) -> None:
    init_certs(tmp_path, ["writer", "orchestrator"])
    stranger = tmp_path / "other-ca"
    init_certs(stranger, ["orchestrator"])
    app = FastAPI()

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    with serving(app, **tls(tmp_path, "writer").server_options()) as url:
        assert url.startswith("https://")
        ctx = tls(tmp_path, "orchestrator").client_context()
        assert httpx.get(url + "/health", verify=ctx, timeout=5).json() == {"status": "ok"}
        bare = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
        with pytest.raises(httpx.HTTPError):  # the handshake fails: no client certificate
            httpx.get(url + "/health", verify=bare, timeout=5)
        foreign = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
        foreign.load_cert_chain(stranger / "orchestrator.pem", stranger / "orchestrator-key.pem")
        with pytest.raises(httpx.HTTPError):  # a certificate the mesh's CA did not sign
            httpx.get(url + "/health", verify=foreign, timeout=5)
        with pytest.raises(httpx.HTTPError):  # plain HTTP gets nowhere
            httpx.get(url.replace("https", "http") + "/health", timeout=5)


def test_tls_settings_are_all_or_nothing(tmp_path: Path) -> None:
    assert TlsSettings().server_options() == {} and TlsSettings().client_context() is None
    half = TlsSettings(tls_cert_file=tmp_path / "a.pem")
    with pytest.raises(SecretError, match="together"):
        half.client_context()
    missing = tls(tmp_path, "nobody")
    with pytest.raises(SecretError, match="no such file"):
        missing.server_options()
