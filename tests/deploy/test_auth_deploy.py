"""Deployments run with auth on: one issuer whose key no service holds, public keys and a
revocation list in every mesh service, one token per service that sends calls, Consul with
ACLs that deny by default and a token scoped to the mesh's service for discovery, and in
Kubernetes default-deny NetworkPolicies that open only the mesh's own paths. Offline: the
compose model from compose/render.py, the objects from ``kubectl kustomize``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from deploy_model import (
    COMPOSE_FILES,
    REPO,
    SERVICES,
    WORKERS,
    compose_render,
    container,
    find,
    k8s_env,
)

from mesh_auth import InvalidToken, Issuer, Keys, KeySet

MESH = [s.name for s in SERVICES]
SENDERS = [s.name for s in SERVICES if s.name != "discovery"]  # they call others: a token
# What signs tokens: the development secret, the issuer's key. No service may hold either.
SIGNING_ENV = ("MESH_AUTH_SECRET", "MESH_AUTH_ISSUER_KEY")


def _compose_models(
    compose: dict[str, Any], compose_cpu: dict[str, Any], compose_mtls: dict[str, Any]
) -> list[dict[str, Any]]:
    return [compose, compose_cpu, compose_mtls]


@pytest.mark.parametrize("name", MESH)
def test_compose_gives_every_mesh_service_the_public_keys_and_the_revocation_list(
    compose: dict[str, Any], name: str
) -> None:
    spec = compose["services"][name]
    assert spec["environment"]["MESH_AUTH_JWKS_FILE"] == "/run/mesh/public/jwks.json"
    assert spec["environment"]["MESH_AUTH_REVOKED_FILE"] == "/run/mesh/public/revoked"
    # The folder, not the files: a rotation or a revocation reaches running services.
    assert "./secrets/public:/run/mesh/public:ro" in spec["volumes"]


def test_no_compose_service_carries_signing_material(
    compose: dict[str, Any], compose_cpu: dict[str, Any], compose_mtls: dict[str, Any]
) -> None:
    for model in _compose_models(compose, compose_cpu, compose_mtls):
        files = {k: v["file"] for k, v in model["secrets"].items()}
        assert not [f for f in files.values() if "keys/" in f or "issuer" in f]
        for name, spec in model["services"].items():
            env = spec.get("environment", {})
            assert not [k for k in env if k.startswith(SIGNING_ENV)], name
            mounts = [str(v) for v in spec.get("volumes", [])]
            assert not [m for m in mounts if "secrets/keys" in m or "issuer" in m], name


@pytest.mark.parametrize("name", SENDERS)
def test_compose_gives_each_caller_its_own_token_and_nothing_else_secret(
    compose: dict[str, Any], name: str
) -> None:
    spec = compose["services"][name]
    orchestrator = name.startswith("orchestrator")
    own = "token_" + ("orchestrator" if orchestrator else name.replace("-", "_"))
    # The orchestrator also holds its delegated key (per-worker tokens), and only it does.
    assert spec["secrets"] == ([own, "orchestrator_key"] if orchestrator else [own])
    assert ("MESH_TOKEN_KEY_FILE" in spec["environment"]) is orchestrator
    assert spec["environment"]["MESH_TOKEN_FILE"] == f"/run/secrets/{own}"
    assert "MESH_TOKEN" not in spec["environment"]  # never the value itself


def test_compose_secrets_come_from_files_the_script_makes(compose: dict[str, Any]) -> None:
    files = {k: v["file"] for k, v in compose["secrets"].items()}
    tokens = {f"token_{w.name.replace('-', '_')}" for w in WORKERS}
    assert set(files) == {
        "consul_token",
        "discovery_consul_token",
        "consul_acl",
        "token_orchestrator",
        "orchestrator_key",
        "token_prometheus",
        *tokens,
    }
    script = (REPO / "compose" / "make-secrets.sh").read_text()
    for path in files.values():
        assert path.startswith("./secrets/")
        base = path.removeprefix("./secrets/").removeprefix("tokens/")
        assert base in script or f"issue {base} " in script, path
    loop = "for agent in " + " ".join(w.name for w in WORKERS) + "; do"
    assert loop in script  # every worker's token
    assert 'keys init "$dir/keys" --jwks "$dir/public/jwks.json"' in script
    assert 'keys delegate "$dir/delegated" --jwks "$dir/public/jwks.json"' in script
    assert "/compose/secrets/" in (REPO / ".gitignore").read_text()


def test_compose_has_no_default_database_password() -> None:
    # Every container on the compose network reaches Postgres: a password every reader of
    # this repository knows would let a compromised worker rewrite every run.
    with pytest.raises(compose_render.MissingVariable, match="make-secrets"):
        compose_render.render(COMPOSE_FILES, env={})
    model = compose_render.render(COMPOSE_FILES, env={"POSTGRES_PASSWORD": "chosen"})
    assert model["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"] == "chosen"
    assert (
        ":chosen@postgres" in model["services"]["orchestrator"]["environment"]["ORCH_DATABASE_URL"]
    )


def test_compose_publishes_no_worker_port(
    compose: dict[str, Any], compose_cpu: dict[str, Any], compose_mtls: dict[str, Any]
) -> None:
    for model in _compose_models(compose, compose_cpu, compose_mtls):
        for w in WORKERS:
            assert not model["services"][w.name].get("ports"), w.name


def test_compose_consul_denies_by_default_and_discovery_holds_a_scoped_token(
    compose: dict[str, Any],
) -> None:
    consul = compose["services"]["consul"]
    assert "-config-file=/run/secrets/consul_acl" in consul["command"]
    assert "-dev" in consul["command"]
    assert consul["entrypoint"] == ["/bin/sh", "/consul-acl/start.sh"]
    assert consul["ports"] == ["127.0.0.1:8500:8500"]
    assert consul["environment"]["CONSUL_MGMT_TOKEN_FILE"] == "/run/secrets/consul_token"
    script = (REPO / "compose" / "make-secrets.sh").read_text()
    assert 'default_policy = "deny"' in script and "enabled = true" in script
    disc = compose["services"]["discovery"]
    assert (
        disc["environment"]["DISCOVERY_CONSUL_TOKEN_FILE"] == "/run/secrets/discovery_consul_token"
    )
    assert disc["secrets"] == ["discovery_consul_token"]  # not Consul's management token
    holders = [n for n, s in compose["services"].items() if "consul_token" in s.get("secrets", [])]
    assert holders == ["consul"]
    assert "-token-file=/run/secrets/discovery_consul_token" in consul["healthcheck"]["test"]


def test_consuls_start_script_and_policy_are_the_same_in_compose_and_kubernetes() -> None:
    for name in ("start.sh", "mesh-discovery.hcl"):
        compose_copy = (REPO / "compose" / "consul" / name).read_text()
        assert compose_copy == (REPO / "k8s" / "base" / "consul-acl" / name).read_text(), name
    policy = (REPO / "compose" / "consul" / "mesh-discovery.hcl").read_text()
    assert 'service_prefix "mesh-agent"' in policy and 'key_prefix "mesh/agents/"' in policy
    assert "acl" not in policy.split("#")[-1]  # no ACL rights: it cannot mint Consul tokens


@pytest.mark.parametrize("name", ["discovery", "orchestrator"])
def test_endpoint_allow_lists_admit_private_ranges_never_link_local(
    compose: dict[str, Any], k8s_base: list[dict[str, Any]], name: str
) -> None:
    key = {"discovery": "DISCOVERY_ALLOWED_NETWORKS", "orchestrator": "ORCH_ALLOWED_NETWORKS"}[name]
    for value in (compose["services"][name]["environment"][key], k8s_env(k8s_base, name)[key]):
        assert "169.254" not in value and "0.0.0.0/0" not in value
        assert "10.0.0.0/8" in value


@pytest.mark.parametrize("name", MESH)
def test_k8s_gives_every_mesh_service_the_public_keys_from_a_configmap(
    k8s_base: list[dict[str, Any]], name: str
) -> None:
    env = k8s_env(k8s_base, name)
    assert env["MESH_AUTH_JWKS_FILE"] == "/etc/mesh/public/jwks.json"
    assert env["MESH_AUTH_REVOKED_FILE"] == "/etc/mesh/public/revoked"
    pod = find(k8s_base, "Deployment", name)["spec"]["template"]["spec"]
    assert {"name": "public", "configMap": {"name": "mesh-public"}} in pod["volumes"]
    token = env.get("MESH_TOKEN")
    if name == "discovery":
        assert token is None
    else:
        assert token == {"secretKeyRef": {"name": f"mesh-token-{name}", "key": "token"}}
    # Only the orchestrator holds a key: its delegated one, from a secret of its own.
    delegated = {"name": "delegated-key", "secret": {"secretName": "mesh-orchestrator-key"}}
    keyed = [v for v in pod["volumes"] if "secret" in v and "key" in v["secret"]["secretName"]]
    assert [
        {"name": v["name"], "secret": {"secretName": v["secret"]["secretName"]}} for v in keyed
    ] == ([delegated] if name == "orchestrator" else [])
    assert ("MESH_TOKEN_KEY_FILE" in env) is (name == "orchestrator")


@pytest.mark.parametrize("overlay", ["base", "cpu", "mtls"])
def test_no_k8s_manifest_carries_signing_material(
    k8s_base: list[dict[str, Any]],
    k8s_cpu: list[dict[str, Any]],
    k8s_mtls: list[dict[str, Any]],
    overlay: str,
) -> None:
    objects = {"base": k8s_base, "cpu": k8s_cpu, "mtls": k8s_mtls}[overlay]
    for o in objects:
        if o["kind"] != "Deployment":
            continue
        pod = o["spec"]["template"]["spec"]
        name = o["metadata"]["name"]
        for c in pod["containers"]:
            assert not [e for e in c.get("env", []) if e["name"].startswith(SIGNING_ENV)], name
            refs = [
                e["valueFrom"]["secretKeyRef"]["name"]
                for e in c.get("env", [])
                if "secretKeyRef" in e.get("valueFrom", {})
            ]
            assert "mesh-auth" not in refs and "mesh-issuer" not in refs, name
        secrets = [v["secret"]["secretName"] for v in pod.get("volumes", []) if "secret" in v]
        assert not [s for s in secrets if "issuer" in s or s == "mesh-auth"], name


def test_k8s_consul_runs_acls_deny_by_default_with_discovery_holding_a_scoped_token(
    k8s_base: list[dict[str, Any]],
) -> None:
    consul = container(k8s_base, "consul")
    args = " ".join(consul["args"])
    assert 'default_policy = "deny"' in args and "enabled = true" in args
    assert "$(CONSUL_MGMT_TOKEN)" in args
    assert consul["command"] == ["/bin/sh", "/consul-acl/start.sh"]
    env = {e["name"]: e.get("valueFrom", e.get("value")) for e in consul["env"]}
    assert env["CONSUL_MGMT_TOKEN"] == {"secretKeyRef": {"name": "mesh-consul", "key": "token"}}
    scoped = {"secretKeyRef": {"name": "mesh-consul-discovery", "key": "token"}}
    assert env["DISCOVERY_CONSUL_TOKEN"] == scoped
    assert k8s_env(k8s_base, "discovery")["DISCOVERY_CONSUL_TOKEN"] == scoped
    holders = [
        o["metadata"]["name"]
        for o in k8s_base
        if o["kind"] == "Deployment"
        and "mesh-consul"
        in [
            e["valueFrom"]["secretKeyRef"]["name"]
            for c in o["spec"]["template"]["spec"]["containers"]
            for e in c.get("env", [])
            if "secretKeyRef" in e.get("valueFrom", {})
        ]
    ]
    assert holders == ["consul"]


def _policies(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == "NetworkPolicy"]


def _labels(objects: list[dict[str, Any]], name: str) -> dict[str, str]:
    labels: dict[str, str] = find(objects, "Deployment", name)["spec"]["template"]["metadata"][
        "labels"
    ]
    return labels


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def _ingress_sources(objects: list[dict[str, Any]], target: str) -> list[dict[str, Any] | None]:
    """Every ``from`` peer admitted to ``target`` (None: from anywhere)."""
    labels = _labels(objects, target)
    peers: list[dict[str, Any] | None] = []
    for p in _policies(objects):
        if not _selects(p["spec"]["podSelector"], labels):
            continue
        for rule in p["spec"].get("ingress", []):
            peers.extend(rule.get("from") or [None])
    return peers


@pytest.mark.parametrize("overlay", ["base", "cpu", "mtls"])
def test_k8s_denies_all_traffic_by_default(
    k8s_base: list[dict[str, Any]],
    k8s_cpu: list[dict[str, Any]],
    k8s_mtls: list[dict[str, Any]],
    overlay: str,
) -> None:
    objects = {"base": k8s_base, "cpu": k8s_cpu, "mtls": k8s_mtls}[overlay]
    deny = find(objects, "NetworkPolicy", "default-deny")["spec"]
    assert deny["podSelector"] == {} and set(deny["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny and "egress" not in deny


@pytest.mark.parametrize(
    ("target", "allowed"),
    [
        ("consul", {"discovery"}),
        ("postgres", {"orchestrator"}),
        ("writer", {"orchestrator"}),
        ("image-gen", {"orchestrator"}),
        ("discovery", {"orchestrator", "writer", "analyst", "lookup", "image-gen", "lora-trainer"}),
    ],
)
def test_k8s_opens_only_the_mesh_paths(
    k8s_base: list[dict[str, Any]], target: str, allowed: set[str]
) -> None:
    peers = _ingress_sources(k8s_base, target)
    assert peers and None not in peers, f"{target} is open to anyone"
    deployments = [o["metadata"]["name"] for o in k8s_base if o["kind"] == "Deployment"]
    admitted = {
        name
        for name in deployments
        for peer in peers
        if peer is not None and _selects(peer.get("podSelector", {}), _labels(k8s_base, name))
    }
    assert admitted == allowed


def test_k8s_orchestrator_is_the_one_front_door(k8s_base: list[dict[str, Any]]) -> None:
    assert None in _ingress_sources(k8s_base, "orchestrator")


def test_make_secrets_issues_tokens_the_services_accept_and_mounts_no_key_but_a_delegated_one(
    tmp_path: Path, compose: dict[str, Any]
) -> None:
    """Runs compose/make-secrets.sh (in a copy of compose/) and reads back what each
    service's compose secrets and folders would hold."""
    mesh = Path(sys.executable).parent / "mesh"
    if not mesh.exists():
        pytest.skip("needs the mesh CLI (make setup)")
    (tmp_path / "compose").mkdir()
    shutil.copy(REPO / "compose" / "make-secrets.sh", tmp_path / "compose")
    done = subprocess.run(
        ["sh", "compose/make-secrets.sh"],
        cwd=tmp_path,
        env={**os.environ, "MESH": str(mesh)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    base = tmp_path / "compose"
    keys = Keys(public=KeySet.from_file(base / "secrets" / "public" / "jwks.json"))
    files = {k: base / v["file"] for k, v in compose["secrets"].items()}
    for name, spec in compose["services"].items():
        mounted = [files[s] for s in spec.get("secrets", [])]
        for v in spec.get("volumes", []):
            source = str(v).split(":")[0]
            if source.startswith("./secrets"):
                mounted += sorted((base / source).iterdir())
        held = [p for p in mounted if b"PRIVATE KEY" in p.read_bytes()]
        # The one private key a service holds: the orchestrator's delegated key.
        replica = name in ("orchestrator", "orchestrator-b")
        assert held == ([files["orchestrator_key"]] if replica else []), name
    for w in WORKERS:
        p = keys.verify(files[f"token_{w.name.replace('-', '_')}"].read_text().strip(), "discovery")
        assert p.scope == f"agent:{w.name}" and p.priority == (0, 0) and p.caps
    # The orchestrator's own token is for discovery alone: its worker calls carry the tokens
    # its delegated key signs, one per worker.
    own = files["token_orchestrator"].read_text().strip()
    assert keys.verify(own, "discovery").audience == ("discovery",)
    with pytest.raises(InvalidToken):
        keys.verify(own, "workers")
    assert keys.verify(files["token_prometheus"].read_text().strip(), "workers").scope == (
        "client:prometheus"
    )
    assert (base / "secrets" / "keys" / "issuer.pem").stat().st_mode & 0o777 == 0o600
    # Postgres's password: random, in compose/.env (compose reads it), kept by a second run.
    env = (base / ".env").read_text()
    password = env.split("POSTGRES_PASSWORD=", 1)[1].split()[0]
    assert len(password) >= 32 and (base / ".env").stat().st_mode & 0o777 == 0o600
    again = subprocess.run(
        ["sh", "compose/make-secrets.sh"],
        cwd=tmp_path,
        env={**os.environ, "MESH": str(mesh)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert again.returncode == 0 and (base / ".env").read_text() == env
    # Whoever takes the orchestrator's key signs nothing but orchestrator tokens for single
    # workers, for an hour at most: no admin, no agent, no token for discovery.
    delegated = Issuer.from_file(files["orchestrator_key"])
    for scope, audience in (("admin", ["worker:writer"]), ("orchestrator", ["discovery"])):
        with pytest.raises(InvalidToken):
            keys.verify(delegated.issue(scope, 600, audience=audience))
    worker = delegated.issue("orchestrator", 600, audience=["worker:writer"])
    assert keys.verify(worker, ("workers", "worker:writer")).scope == "orchestrator"
