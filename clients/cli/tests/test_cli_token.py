"""``mesh token issue`` and the bearer token every CLI request carries."""

from __future__ import annotations

import io

import pytest
from fastapi import FastAPI, Request
from rich.console import Console

from mesh_auth import Keys
from mesh_cli.commands import main
from mesh_testkit import serving

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
    assert Keys(SECRET.encode()).verify(out.strip()).scope == scope


def test_token_issue_without_a_secret_says_how_to_set_one(monkeypatch) -> None:
    monkeypatch.delenv("MESH_AUTH_SECRET", raising=False)
    monkeypatch.delenv("MESH_AUTH_SECRET_FILE", raising=False)
    rc, out, err = run(["token", "issue", "--admin"])
    assert rc == 1 and out == "" and "set MESH_AUTH_SECRET" in err


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
