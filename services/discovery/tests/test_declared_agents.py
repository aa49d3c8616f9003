"""Agents declared in a YAML file: validation messages and how the service serves them."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from mesh_discovery import AgentsFileError, Settings, create_app, load_agents_file

EXAMPLE_AGENTS = Path(__file__).resolve().parents[1] / "agents.example.yaml"


def test_the_example_file_declares_static_agents_without_endpoints():
    agents = load_agents_file(EXAMPLE_AGENTS)
    assert [a.agent_id for a in agents] == ["capital-facts", "key-points"]
    assert all(a.endpoint is None and a.static_response for a in agents)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("agents: {a: 1}", "expected a list"),
        ("- just a string", "entry 1: expected a mapping"),
        ("- agent_id: x\n  static_response: hi\n", "entry 1 (agent_id 'x'): field 'capabilities'"),
        (
            "- agent_id: x\n  capabilities: [Bad Name]\n  static_response: hi\n",
            "field 'capabilities.0'",
        ),
        ("- agent_id: x\n  capabilities: [search]\n", "static agent needs a static_response"),
        (
            "- {agent_id: x, capabilities: [search], static_response: a}\n"
            "- {agent_id: x, capabilities: [search], static_response: b}\n",
            "entry 2 (agent_id 'x'): field 'instance_id'",
        ),
        ("- [unclosed", "not valid YAML"),
    ],
)
def test_a_bad_entry_is_reported_with_its_position_and_field(
    tmp_path: Path, text: str, message: str
):
    path = tmp_path / "agents.yaml"
    path.write_text(text)
    with pytest.raises(AgentsFileError) as caught:
        load_agents_file(path)
    assert message in str(caught.value)
    assert str(path) in str(caught.value)


def test_a_missing_file_is_reported(tmp_path: Path):
    with pytest.raises(AgentsFileError, match="cannot read"):
        load_agents_file(tmp_path / "absent.yaml")


def test_create_app_rejects_a_malformed_file_before_serving(tmp_path: Path):
    path = tmp_path / "agents.yaml"
    path.write_text("- agent_id: UPPER\n  capabilities: [search]\n  static_response: hi\n")
    with pytest.raises(AgentsFileError, match="field 'agent_id'"):
        create_app(Settings(db_path=tmp_path / "r.sqlite3", agents_file=path))


async def test_declared_agents_are_served_passing_from_the_file(tmp_path: Path):
    settings = Settings(db_path=tmp_path / "r.sqlite3", agents_file=EXAMPLE_AGENTS)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            records = (await client.get("/v1/agents?capability=search&healthy=true")).json()
            assert [(r["descriptor"]["agent_id"], r["source"]) for r in records] == [
                ("capital-facts", "file")
            ]
            assert records[0]["lease_expires_at"] is None
            beat = await client.put("/v1/agents/capital-facts/heartbeat")
            assert beat.status_code == 409
            assert "declared" in beat.json()["detail"]
