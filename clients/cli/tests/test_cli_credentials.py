"""``mesh keys``, ``mesh token issue|revoke``, ``mesh certs`` and the bearer token every
CLI request carries."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from fastapi import FastAPI, Request
from rich.console import Console

from mesh_auth import InvalidToken, Issuer, Keys, KeySet
from mesh_auth.revocation import RevocationList
from mesh_cli.commands import main
from mesh_cli.credentials import SHIPPED_AGENTS
from mesh_testkit import serving

REPO = Path(__file__).resolve().parents[3]

SECRET = "c" * 48


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    rc = main(argv, out=Console(file=out, width=200), err=Console(file=err, width=200))
    return rc, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(
    ("argv", "scope"),
    [
        (["--agent", "writer"], "agent:writer"),
        (["--client", "alice"], "client:alice"),
        (["--orchestrator"], "orchestrator"),
        (["--admin", "--ttl", "15m"], "admin"),
    ],
)
def test_token_issue_prints_a_token_of_that_scope(monkeypatch, argv: list[str], scope: str) -> None:
    monkeypatch.setenv("MESH_AUTH_SECRET", SECRET)
    rc, out, _ = run(["token", "issue", *argv])
    assert rc == 0 and out.count("\n") == 1
    assert Keys(SECRET.encode()).verify(out.strip()).scope == scope  # the development mode


def test_token_issue_without_a_key_says_how_to_make_one(monkeypatch) -> None:
    for name in ("MESH_AUTH_SECRET", "MESH_AUTH_SECRET_FILE", "MESH_AUTH_ISSUER_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    rc, out, err = run(["token", "issue", "--admin"])
    assert rc == 1 and out == "" and "mesh keys init DIR" in err


def test_keys_init_then_issue_signs_with_the_issuer_key_for_the_public_jwks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MESH_AUTH_SECRET", raising=False)
    rc, out, _ = run(["keys", "init", str(tmp_path / "keys")])
    assert rc == 0 and "keep it off every service" in out
    keys = Keys(public=KeySet.from_file(tmp_path / "keys" / "jwks.json"))
    key = str(tmp_path / "keys" / "issuer.pem")
    rc, token, err = run(["token", "issue", "--agent", "writer", "--key", key, "--priority", "3"])
    assert rc == 0
    p = keys.verify(token.strip(), "discovery")
    assert p.scope == "agent:writer" and p.caps == SHIPPED_AGENTS["writer"] and p.priority == (0, 3)
    assert f"jti {p.jti}" in err  # the id to revoke it by, on stderr
    monkeypatch.setenv("MESH_AUTH_ISSUER_KEY_FILE", key)
    rc, token, _ = run(["token", "issue", "--client", "alice", "--audience", "workers"])
    assert rc == 0 and keys.verify(token.strip(), "workers").audience == ("workers",)
    assert run(["token", "issue", "--agent", "stranger"])[0] == 1  # name its capabilities
    assert run(["token", "issue", "--client", "bob", "--capability", "search"])[0] == 1
    rc, out, _ = run(["keys", "rotate", str(tmp_path / "keys")])
    assert rc == 0 and out.count(",") == 1  # the new kid and the previous one


def test_keys_delegate_writes_the_orchestrators_key_that_signs_only_per_worker_tokens(
    tmp_path: Path,
) -> None:
    keys_dir = tmp_path / "keys"
    assert run(["keys", "init", str(keys_dir)])[0] == 0
    rc, out, _ = run(["keys", "delegate", str(keys_dir)])
    assert rc == 0 and "MESH_TOKEN_KEY_FILE" in out
    pem = keys_dir / "orchestrator.pem"
    assert pem.stat().st_mode & 0o777 == 0o600
    listed = json.loads((keys_dir / "jwks.json").read_text())["keys"]
    assert [k.get("mesh_sub") for k in listed] == [None, "orchestrator"]
    keys = Keys(public=KeySet.from_file(keys_dir / "jwks.json"))
    key = Issuer.from_file(pem)
    per_worker = key.issue("orchestrator", 600, audience=["worker:writer"])
    assert keys.verify(per_worker, ("workers", "worker:writer")).scope == "orchestrator"
    with pytest.raises(InvalidToken):
        keys.verify(key.issue("admin", 600, audience=["worker:writer"]))


def test_token_revoke_appends_the_id_in_place(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MESH_AUTH_SECRET", SECRET)
    listed = tmp_path / "revoked"
    listed.write_text("# leaked tokens\n")
    inode = listed.stat().st_ino
    token = run(["token", "issue", "--admin"])[1].strip()
    jti = Keys(SECRET.encode()).verify(token).jti
    assert run(["token", "revoke", token, "--list", str(listed)])[0] == 0
    assert run(["token", "revoke", "abc123", "--list", str(listed)])[0] == 0
    assert jti in RevocationList(listed) and "abc123" in RevocationList(listed)
    assert listed.stat().st_ino == inode
    assert run(["token", "revoke", "bad id!", "--list", str(listed)])[0] == 1


def test_certs_init_writes_the_ca_and_the_named_certificates(tmp_path: Path) -> None:
    rc, out, _ = run(["certs", "init", str(tmp_path), "--service", "writer", "--host", "h.x"])
    assert rc == 0 and "writer.pem" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "ca-key.pem",
        "ca.pem",
        "writer-key.pem",
        "writer.pem",
    ]


def test_the_shipped_agents_default_capabilities_are_what_they_declare() -> None:
    manifest = json.loads((REPO / "bench" / "planning" / "manifest.json").read_text())
    declared = {d["agent_id"]: tuple(d["capabilities"]) for d in manifest}
    assert declared == SHIPPED_AGENTS


def test_token_issue_refuses_a_bad_name_or_ttl(monkeypatch) -> None:
    monkeypatch.setenv("MESH_AUTH_SECRET", SECRET)
    assert run(["token", "issue", "--agent", "Not/A/Name"])[0] == 1
    assert run(["token", "issue", "--admin", "--ttl", "5y"])[0] == 1


def test_every_request_carries_the_token_from_the_flag_or_the_environment(monkeypatch) -> None:
    seen: list[str | None] = []
    app = FastAPI()

    @app.get("/v1/runs")
    async def runs(request: Request) -> list[object]:
        seen.append(request.headers.get("authorization"))
        return []

    with serving(app) as url:
        monkeypatch.setenv("MESH_TOKEN", "from-env")
        assert run(["runs", "--url", url, "--json"])[0] == 0
        assert run(["runs", "--url", url, "--json", "--token", "from-flag"])[0] == 0
        monkeypatch.delenv("MESH_TOKEN")
        assert run(["runs", "--url", url, "--json"])[0] == 0
    assert seen == ["Bearer from-env", "Bearer from-flag", None]
