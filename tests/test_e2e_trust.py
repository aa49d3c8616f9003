"""Identities no worker can forge, across real processes on loopback: discovery, a lookup
worker and the orchestrator deployed as an operator would (``mesh keys init``'s public
JWKS and a revocation list for all, one token file each, mTLS certificates from ``mesh certs
init``), attacked from a worker's position and from outside.

Every attack here works on a mesh signed with one shared HMAC secret (the worker holds it)
or without per-scope lifetimes, audiences or revocation; each asserts the refusal and that
the registry and the run store are as they were.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import importlib.util
import json
import os
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mesh_auth import Issuer, TlsSettings
from mesh_auth.certs import init_certs
from mesh_testkit import wait_until
from mesh_testkit.mesh import ProcessMesh, process_mesh
from mesh_testkit.trust import Credentials, credentials

pytestmark = pytest.mark.skipif(
    any(
        importlib.util.find_spec(m) is None
        for m in ("mesh_discovery", "mesh_orchestrator", "mesh_worker_lookup")
    ),
    reason="needs discovery, the orchestrator and the lookup worker installed",
)

PLAN = {
    "plan": {
        "tasks": [
            {
                "task_id": "t1",
                "capability": "search",
                "agent_id": "lookup",
                "input": {"query": "capital of France"},
            }
        ]
    }
}


@dataclass
class Trust:
    mesh: ProcessMesh
    creds: Credentials
    tls: ssl.SSLContext  # the operator's client certificate
    certs: Path
    worker_env: dict[str, str]  # everything the deployment gives the lookup worker

    def get(self, url: str, **kw: object) -> httpx.Response:
        return httpx.get(url, verify=self.tls, timeout=10, **kw)  # type: ignore[arg-type]

    def post(self, url: str, **kw: object) -> httpx.Response:
        return httpx.post(url, verify=self.tls, timeout=60, **kw)  # type: ignore[arg-type]


def tls_env(certs: Path, name: str) -> dict[str, str]:
    return {
        "MESH_TLS_CERT_FILE": str(certs / f"{name}.pem"),
        "MESH_TLS_KEY_FILE": str(certs / f"{name}-key.pem"),
        "MESH_TLS_CA_FILE": str(certs / "ca.pem"),
    }


@pytest.fixture(scope="module")
def trust(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Trust]:
    tmp = tmp_path_factory.mktemp("trust")
    creds = credentials(tmp / "keys")
    certs = tmp / "certs"
    init_certs(certs, ["discovery", "orchestrator", "lookup", "client"])
    lookup_env = {
        **creds.env(),
        **tls_env(certs, "lookup"),
        "MESH_TOKEN_FILE": str(creds.token_file("lookup", "agent:lookup", caps=["search"])),
        "WORKER_INSTANCE_ID": "lookup-trust",
    }
    # The orchestrator's own token is for discovery alone: the worker takes only the token
    # it mints for that worker with its delegated key (a run that completes proves it).
    own = creds.token_file("orchestrator", "orchestrator", audience=["discovery"])
    orchestrator_env = {
        **tls_env(certs, "orchestrator"),
        "MESH_TOKEN_FILE": str(own),
        "MESH_TOKEN_KEY_FILE": str(creds.delegated_key()),
        "ORCH_PLANNER": "deterministic",
    }
    client = TlsSettings(
        tls_cert_file=certs / "client.pem",
        tls_key_file=certs / "client-key.pem",
        tls_ca_file=certs / "ca.pem",
    ).client_context()
    assert client is not None
    with process_mesh(
        tmp,
        {"lookup": ("mesh_worker_lookup", lookup_env)},
        env=creds.env(),
        discovery_env=tls_env(certs, "discovery"),
        orchestrator_env=orchestrator_env,
        headers=creds.bearer("admin"),
        tls=client,
        ready_timeout=60,
    ) as mesh:
        yield Trust(mesh, creds, client, certs, lookup_env)


def registry(t: Trust) -> list[tuple[str, str, int]]:
    r = t.get(t.mesh.discovery.url + "/v1/agents", headers=t.creds.bearer("admin"))
    assert r.status_code == 200
    return [
        (x["descriptor"]["instance_id"], x["descriptor"]["agent_id"], x["descriptor"]["priority"])
        for x in r.json()
    ]


def runs(t: Trust) -> list[tuple[str, str]]:
    r = t.get(t.mesh.url + "/v1/runs", headers=t.creds.bearer("admin"))
    assert r.status_code == 200
    return [(x["run_id"], x["status"]) for x in r.json()]


def test_the_mesh_works_over_mtls_with_tokens_and_refuses_a_caller_without_a_certificate(
    trust: Trust,
) -> None:
    r = trust.post(
        trust.mesh.url + "/orchestrate", json=PLAN, headers=trust.creds.bearer("client:alice")
    )
    assert r.status_code == 200 and r.json()["status"] == "completed", r.text
    answered = r.json()["results"]["t1"]  # the lookup worker answered, over mTLS
    assert answered["agent_id"] == "lookup" and answered["output"]["query"] == "capital of France"
    bare = ssl.create_default_context(cafile=str(trust.certs / "ca.pem"))  # trusts, no cert
    for svc in (trust.mesh.url, trust.mesh.discovery.url, trust.mesh.workers["lookup"].url):
        with pytest.raises(httpx.HTTPError):  # refused in the TLS handshake
            httpx.get(svc + "/health", verify=bare, timeout=10)
        with pytest.raises(httpx.HTTPError):  # plain HTTP gets nowhere either
            httpx.get(svc.replace("https://", "http://") + "/health", timeout=10)
        assert trust.get(svc + "/health").status_code == 200
    anon = trust.get(trust.mesh.url + "/v1/runs")  # a certificate is not a token
    assert anon.status_code == 401 and anon.json()["error"] == "missing_token"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def hs256(claims: dict[str, object], key: bytes) -> str:
    """HS256 by hand (PyJWT refuses keys that look like public keys; an attacker does not)."""
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = _b64(json.dumps(claims).encode())
    mac = hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(mac)}"


def forgeries(t: Trust) -> list[tuple[str, str]]:
    """Admin tokens a compromised lookup worker can make from everything its deployment gave
    it: its environment's values and every file they name (its token, the public keys, the
    revocation list, its TLS certificate and private key, the CA)."""
    now = int(time.time())
    claims = {
        "iss": "agent-mesh",
        "sub": "admin",
        "aud": ["orchestrator", "discovery", "workers"],
        "iat": now,
        "exp": now + 3600,
        "jti": "forged",
    }
    material: dict[str, bytes] = {}
    for name, value in t.worker_env.items():
        material[f"${name}"] = value.encode()
        path = Path(value)
        if path.is_file():
            material[name] = path.read_bytes()
            material[f"{name} (stripped)"] = path.read_bytes().strip()
    kid = t.creds.issuer.kid
    out = [(f"HS256 keyed with {what}", hs256(claims, key)) for what, key in material.items()]
    own = Path(t.worker_env["MESH_TOKEN_FILE"]).read_text().strip()
    head, _, sig = own.split(".")
    out.append(
        ("its own token re-scoped to admin", f"{head}.{_b64(json.dumps(claims).encode())}.{sig}")
    )
    out.append(("unsigned", jwt.encode(claims, None, algorithm="none")))
    tls_key = serialization.load_pem_private_key(
        Path(t.worker_env["MESH_TLS_KEY_FILE"]).read_bytes(), password=None
    )
    assert isinstance(tls_key, ec.EllipticCurvePrivateKey)
    for kid_used in (kid, "lookup"):
        out.append(
            (
                f"ES256 with its TLS key, kid {kid_used}",
                jwt.encode(claims, tls_key, algorithm="ES256", headers={"kid": kid_used}),
            )
        )
    fresh = Ed25519PrivateKey.generate()
    out.append(
        (
            "EdDSA with a key of its own under the issuer's kid",
            jwt.encode(claims, fresh, algorithm="EdDSA", headers={"kid": kid}),
        )
    )
    return out


def test_a_worker_holding_everything_its_deployment_gives_it_cannot_mint_a_token_any_service_accepts(
    trust: Trust,
) -> None:
    """On a mesh signed with one shared secret, the first forgery (HS256 keyed with the
    worker's MESH_AUTH_SECRET) was an admin token every service accepted."""
    assert not any("SECRET" in name or "ISSUER" in name for name in trust.worker_env)
    before_registry, before_runs = registry(trust), runs(trust)
    lookup = trust.mesh.workers["lookup"].url
    task = {"task_id": "t1", "input": {"query": "x"}}
    attempts = forgeries(trust)
    assert len(attempts) >= 15
    for what, token in attempts:
        bearer = {"Authorization": f"Bearer {token}"}
        for method, url, body in (
            ("GET", trust.mesh.url + "/v1/runs", None),
            ("DELETE", trust.mesh.discovery.url + "/v1/agents/lookup-trust", None),
            ("POST", lookup + "/invoke", task),
        ):
            r = httpx.request(method, url, json=body, headers=bearer, verify=trust.tls, timeout=10)
            assert r.status_code == 401, f"{what} accepted by {method} {url}: {r.status_code}"
    assert registry(trust) == before_registry and runs(trust) == before_runs


def test_a_century_long_token_signed_by_the_issuer_is_refused_everywhere(trust: Trust) -> None:
    now = int(time.time())
    claims = {
        "iss": "agent-mesh",
        "sub": "admin",
        "aud": ["orchestrator", "discovery", "workers"],
        "iat": now,
        "exp": now + 100 * 365 * 86400,
        "jti": "century",
    }
    issuer = trust.creds.issuer
    token = jwt.encode(claims, issuer._key, algorithm="EdDSA", headers={"kid": issuer.kid})
    bearer = {"Authorization": f"Bearer {token}"}
    for url in (
        trust.mesh.url + "/v1/runs",
        trust.mesh.discovery.url + "/v1/agents",
    ):
        r = trust.get(url, headers=bearer)
        assert r.status_code == 401 and "lives longer than admin tokens may" in r.json()["detail"]


def test_a_token_for_another_service_is_refused_there(trust: Trust) -> None:
    narrow = trust.creds.bearer("client:alice", audience=["workers"])
    r = trust.get(trust.mesh.url + "/v1/runs", headers=narrow)
    assert (
        r.status_code == 401
        and r.json()["detail"] == "token is not for this service (orchestrator)"
    )
    orchestrators = Path(trust.mesh.orch.env["MESH_TOKEN_FILE"]).read_text().strip()
    r = trust.get(trust.mesh.url + "/v1/runs", headers={"Authorization": f"Bearer {orchestrators}"})
    assert r.status_code == 401  # the worker-call token cannot use the orchestrator's API
    agent = Path(trust.worker_env["MESH_TOKEN_FILE"]).read_text().strip()
    r = trust.post(
        trust.mesh.workers["lookup"].url + "/invoke",
        json={"task_id": "t", "input": {"query": "x"}},
        headers={"Authorization": f"Bearer {agent}"},
    )
    assert r.status_code == 401
    assert "not for this service (workers or worker:lookup)" in r.json()["detail"]
    # What the orchestrator minted for the lookup worker (its delegated key: one worker, an
    # hour at most) is refused by discovery and by the orchestrator's own API.
    minted = Issuer.from_file(Path(trust.mesh.orch.env["MESH_TOKEN_KEY_FILE"])).issue(
        "orchestrator", 600, audience=["worker:lookup"]
    )
    as_minted = {"Authorization": f"Bearer {minted}"}
    assert trust.get(trust.mesh.discovery.url + "/v1/agents", headers=as_minted).status_code == 401
    assert trust.get(trust.mesh.url + "/v1/agents", headers=as_minted).status_code == 401
    # Nor can whoever holds that key sign an admin token any service takes.
    forged = Issuer.from_file(Path(trust.mesh.orch.env["MESH_TOKEN_KEY_FILE"])).issue(
        "admin", 600, audience=["discovery"]
    )
    r = trust.get(
        trust.mesh.discovery.url + "/v1/agents", headers={"Authorization": f"Bearer {forged}"}
    )
    assert r.status_code == 401 and "delegated" in r.json()["detail"]


def test_a_revoked_token_is_refused_by_every_service_without_rekeying(trust: Trust) -> None:
    leaked = trust.creds.token("client:mallory")
    kept = trust.creds.bearer("client:mallory")
    bearer = {"Authorization": f"Bearer {leaked}"}
    assert trust.get(trust.mesh.url + "/v1/runs", headers=bearer).status_code == 200
    jti = jwt.decode(leaked, options={"verify_signature": False})["jti"]
    with trust.creds.revoked.open("a") as f:  # what `mesh token revoke` does
        f.write(jti + "\n")

    def refused_everywhere() -> bool:
        return all(
            trust.get(url, headers=bearer).status_code == 401
            for url in (trust.mesh.url + "/v1/runs", trust.mesh.discovery.url + "/v1/agents")
        )

    wait_until(refused_everywhere, timeout=15, what="the revoked token refused")
    r = trust.get(trust.mesh.url + "/v1/runs", headers=bearer)
    assert r.json() == {"detail": "token was revoked", "error": "revoked_token"}
    assert trust.get(trust.mesh.url + "/v1/runs", headers=kept).status_code == 200


def test_the_images_health_check_speaks_mtls_with_the_services_own_certificate(
    trust: Trust,
) -> None:
    """What compose's health checks and the Kubernetes mTLS overlay's probes run."""
    port = str(trust.mesh.discovery.port)
    script = str(Path(__file__).resolve().parents[1] / "docker" / "healthcheck.py")
    plain = {k: v for k, v in os.environ.items() if not k.startswith("MESH_TLS_")}

    def probe(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, script, *args],
            env={**env, "DISCOVERY_PORT": port},
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    assert probe({**plain, **tls_env(trust.certs, "discovery")}).returncode == 0
    refused = probe(plain)  # plain http to a TLS port
    assert refused.returncode == 1 and "unhealthy" in refused.stderr
