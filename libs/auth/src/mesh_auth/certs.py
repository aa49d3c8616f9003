"""``mesh certs init``: a development CA and one certificate per service (``cryptography``).

``DIR/ca.pem`` (and ``ca-key.pem``, which signs; keep it off the services), and for each
service ``DIR/<name>.pem`` + ``DIR/<name>-key.pem``: ECDSA P-256, good for a year, usable as
server and as client, with the names a caller dials: ``<name>``,
``<name>.<namespace>.svc``, ``<name>.<namespace>.svc.cluster.local``, ``localhost``,
``127.0.0.1``, ``::1`` and any ``hosts`` given. A production mesh uses its own PKI
(cert-manager, Vault, a service mesh) and the same three ``MESH_TLS_*`` settings.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from collections.abc import Iterable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SERVICES = (
    "discovery",
    "orchestrator",
    "writer",
    "analyst",
    "lookup",
    "image-gen",
    "lora-trainer",
    "client",  # the operator's CLI and curl
)
LEAF_DAYS = 365
CA_DAYS = 5 * 365


def _name(common: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "agent-mesh"),
            x509.NameAttribute(NameOID.COMMON_NAME, common),
        ]
    )


def _write(path: Path, data: bytes, private: bool) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _ca(
    directory: Path, now: datetime.datetime
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    cert_path, key_path = directory / "ca.pem", directory / "ca-key.pem"
    if cert_path.exists() and key_path.exists():  # a second run adds services to the same CA
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return cert, key
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("agent-mesh development CA"))
        .issuer_name(_name("agent-mesh development CA"))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write(key_path, _key_pem(key), private=True)
    _write(cert_path, cert.public_bytes(serialization.Encoding.PEM), private=False)
    return cert, key


def _sans(service: str, namespace: str, hosts: Iterable[str]) -> list[x509.GeneralName]:
    names = [
        service,
        f"{service}.{namespace}.svc",
        f"{service}.{namespace}.svc.cluster.local",
        "localhost",
        "127.0.0.1",
        "::1",
        *hosts,
    ]
    out: list[x509.GeneralName] = []
    for n in dict.fromkeys(names):
        try:
            out.append(x509.IPAddress(ipaddress.ip_address(n)))
        except ValueError:
            out.append(x509.DNSName(n))
    return out


def init_certs(
    directory: Path,
    services: Iterable[str] = SERVICES,
    *,
    hosts: Iterable[str] = (),
    namespace: str = "agent-mesh",
) -> list[Path]:
    """Write the CA (unless ``directory`` holds one) and a certificate and key per service;
    return the certificate paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_cert, ca_key = _ca(directory, now)
    hosts = list(hosts)
    written = []
    for service in services:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(service))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=LEAF_DAYS))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
            .add_extension(
                x509.SubjectAlternativeName(_sans(service, namespace, hosts)), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                critical=False,
            )
            .sign(ca_key, hashes.SHA256())
        )
        _write(directory / f"{service}-key.pem", _key_pem(key), private=True)
        path = directory / f"{service}.pem"
        _write(path, cert.public_bytes(serialization.Encoding.PEM), private=False)
        written.append(path)
    return written


__all__ = ["SERVICES", "init_certs"]
