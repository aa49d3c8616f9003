"""Deployments run with auth on: the mesh secret from a compose secret / Kubernetes Secret in
every mesh service, Consul with ACLs that deny by default and its token in discovery, and in
Kubernetes default-deny NetworkPolicies that open only the mesh's own paths. Offline: the
compose model from compose/render.py, the objects from ``kubectl kustomize``."""

from __future__ import annotations

from typing import Any

import pytest
from deploy_model import REPO, SERVICES, container, find, k8s_env

MESH = [s.name for s in SERVICES]


@pytest.mark.parametrize("name", MESH)
def test_compose_gives_every_mesh_service_the_secret_file(
    compose: dict[str, Any], name: str
) -> None:
    spec = compose["services"][name]
    assert spec["environment"]["MESH_AUTH_SECRET_FILE"] == "/run/secrets/mesh_auth_secret"
    assert "mesh_auth_secret" in spec["secrets"]
    assert "MESH_AUTH_SECRET" not in spec["environment"]  # never the value itself


def test_compose_secrets_come_from_files_the_script_makes(compose: dict[str, Any]) -> None:
    files = {k: v["file"] for k, v in compose["secrets"].items()}
    assert set(files) == {"mesh_auth_secret", "consul_token", "consul_acl"}
    script = (REPO / "compose" / "make-secrets.sh").read_text()
    for path in files.values():
        assert path.startswith("./secrets/") and path.removeprefix("./secrets/") in script
    assert "/compose/secrets/" in (REPO / ".gitignore").read_text()


def test_compose_consul_denies_by_default_and_only_loopback_reaches_it(
    compose: dict[str, Any],
) -> None:
    consul = compose["services"]["consul"]
    assert "-config-file=/run/secrets/consul_acl" in consul["command"]
    assert "-dev" in consul["command"]
    assert consul["ports"] == ["127.0.0.1:8500:8500"]
    assert consul["environment"]["CONSUL_HTTP_TOKEN_FILE"] == "/run/secrets/consul_token"
    script = (REPO / "compose" / "make-secrets.sh").read_text()
    assert 'default_policy = "deny"' in script and "enabled = true" in script
    disc = compose["services"]["discovery"]
    assert disc["environment"]["DISCOVERY_CONSUL_TOKEN_FILE"] == "/run/secrets/consul_token"
    assert "consul_token" in disc["secrets"]


@pytest.mark.parametrize("name", ["discovery", "orchestrator"])
def test_endpoint_allow_lists_admit_private_ranges_never_link_local(
    compose: dict[str, Any], k8s_base: list[dict[str, Any]], name: str
) -> None:
    key = {"discovery": "DISCOVERY_ALLOWED_NETWORKS", "orchestrator": "ORCH_ALLOWED_NETWORKS"}[name]
    for value in (compose["services"][name]["environment"][key], k8s_env(k8s_base, name)[key]):
        assert "169.254" not in value and "0.0.0.0/0" not in value
        assert "10.0.0.0/8" in value


@pytest.mark.parametrize("name", MESH)
def test_k8s_gives_every_mesh_service_the_secret_from_a_secret(
    k8s_base: list[dict[str, Any]], name: str
) -> None:
    env = k8s_env(k8s_base, name)
    assert env["MESH_AUTH_SECRET"] == {"secretKeyRef": {"name": "mesh-auth", "key": "secret"}}


def test_k8s_consul_runs_acls_deny_by_default_with_discovery_holding_the_token(
    k8s_base: list[dict[str, Any]],
) -> None:
    consul = container(k8s_base, "consul")
    args = " ".join(consul["args"])
    assert 'default_policy = "deny"' in args and "enabled = true" in args
    assert "$(CONSUL_MGMT_TOKEN)" in args
    env = {e["name"]: e.get("valueFrom", e.get("value")) for e in consul["env"]}
    token = {"secretKeyRef": {"name": "mesh-consul", "key": "token"}}
    assert env["CONSUL_MGMT_TOKEN"] == token
    assert k8s_env(k8s_base, "discovery")["DISCOVERY_CONSUL_TOKEN"] == token


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


@pytest.mark.parametrize("overlay", ["base", "cpu"])
def test_k8s_denies_all_traffic_by_default(
    k8s_base: list[dict[str, Any]], k8s_cpu: list[dict[str, Any]], overlay: str
) -> None:
    objects = k8s_base if overlay == "base" else k8s_cpu
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
