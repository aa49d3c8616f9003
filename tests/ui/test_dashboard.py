"""The dashboard (``/ui``) in a real browser against a real mesh on loopback.

Discovery, the analyst, lookup and image-gen workers (the image worker's tiny in-code model,
on the CPU) and the orchestrator run as processes with one mesh secret, so the page must
send its token on every request, the event stream included. ``dashboard.mjs`` (Node,
playwright-core driving Debian's Chromium, headless) puts a proxy between the browser and
the orchestrator that cuts the run page's event stream once, mid-run; it prints one JSON
line with what it saw, which this test checks. Screenshots go to ``var/ui-screenshots/``.
``artifacts.mjs`` shows an open orchestrator's page a run of hostile artifacts (script,
file and HTML URLs, an SVG image): none may become a link or an image, none may run.

Skips, saying why, when Chromium or the npm packages are missing: ``make ui-setup`` (part
of ``make test``) installs both where it can (root with apt, and npm).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mesh_auth import Keys
from mesh_testkit.mesh import process_mesh

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
SHOTS = ROOT / "var" / "ui-screenshots"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
WORKERS = {
    "lookup": "mesh_worker_lookup",
    "analyst": "mesh_worker_analyst",
    "image-gen": "mesh_worker_image_gen",
}
SECRET = "ui-" + "d" * 45
KEYS = Keys(SECRET.encode())
QUERY = (
    "Look up what the discovery service does. Analyze this CSV:\n"
    "city,temp,rain\nOslo,4,80\nRome,18,40\nCairo,30,2\n"
    " and draw a picture of a red lighthouse"
)


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (make ui-setup installs it with apt as root)"
    node = shutil.which("node")
    if node is None:
        return "no node on PATH (make ui-setup needs Node.js and npm)"
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=False)
    major = version.stdout.strip().lstrip("v").split(".")[0]
    if not major.isdigit() or int(major) < 20:
        return f"node {version.stdout.strip()} is too old for playwright-core (needs 20 or later)"
    if not (HERE / "node_modules" / "playwright-core").is_dir():
        return "tests/ui/node_modules missing (make ui-setup runs npm ci there)"
    absent = [
        m
        for m in ["mesh_discovery", "mesh_orchestrator", *WORKERS.values()]
        if importlib.util.find_spec(m) is None
    ]
    if absent:
        return f"packages not installed: {', '.join(absent)}"
    return None


browser = pytest.mark.skipif(_missing() is not None, reason=str(_missing()))


@pytest.mark.skipif(shutil.which("node") is None, reason="no node on PATH")
def test_the_run_state_folds_retries_approval_and_resumption_as_the_page_shows_them() -> None:
    proc = subprocess.run(
        ["node", "--test", str(HERE / "runstate.test.mjs")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # Every test in the file ran and passed (none skipped or left out by a filter).
    ran = re.search(r"^# tests (\d+)$", proc.stdout, re.M)
    passed = re.search(r"^# pass (\d+)$", proc.stdout, re.M)
    assert ran and passed and "# fail 0" in proc.stdout, proc.stdout
    assert int(passed.group(1)) == int(ran.group(1)) >= 7, proc.stdout


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("ui-mesh")
    with process_mesh(
        tmp,
        WORKERS,
        env={"MESH_AUTH_SECRET": SECRET},
        worker_env={"IMAGEGEN_OUTPUT_DIR": str(tmp / "images")},
        orchestrator_env={"ORCH_PLANNER": "intent"},
        headers={"Authorization": f"Bearer {KEYS.issue('admin', 600)}"},
    ) as m:
        yield m.url


@browser
def test_the_dashboard_follows_a_three_worker_run_through_a_dropped_stream(mesh: str) -> None:
    token = KEYS.issue("client:ui-test", 600)
    env = {
        **os.environ,
        "ORCH_URL": mesh,
        "SHOTS_DIR": str(SHOTS),
        "MESH_TOKEN": token,
        "QUERY": QUERY,
        "EXPECT_AGENTS": ",".join(WORKERS),
        "CHROMIUM": CHROMIUM,
    }
    proc = subprocess.run(
        ["node", str(HERE / "dashboard.mjs")],
        env=env,
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=150,
        check=False,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    assert lines, (
        f"dashboard.mjs printed no result (rc {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    )
    result = json.loads(lines[-1])
    assert result["ok"], f"{result.get('error')}\n{json.dumps(result, indent=1)}\n{proc.stderr}"
    assert proc.returncode == 0

    # What the page showed matches what the orchestrator stored.
    headers = {"Authorization": f"Bearer {token}"}
    run = httpx.get(f"{mesh}/v1/runs/{result['runId']}", headers=headers, timeout=5).json()
    assert run["status"] == "completed"
    agents = {node["assigned_agent"] for node in run["plan"]}
    assert agents == set(WORKERS)
    assert all(node["status"] == "completed" for node in run["plan"])
    assert result["page"]["events"] == str(run["last_seq"]) and result["page"]["gaps"] == "0"
    # The stream was cut once and the page came back by itself, from where it was.
    assert result["proxy"]["cuts"] == 1 and int(result["page"]["reconnects"]) >= 1
    assert all(0 < int(seq) < run["last_seq"] for seq in result["resumedFrom"])
    assert result["image"]["w"] > 0
    assert result["planner"] == "intent"
    # Approval: driven through the page where the orchestrator offers it, else the page
    # said it does not (the option was refused) and showed no approval buttons.
    assert result["approvalOutcome"] in ("approved", "unsupported")
    for name in ("agents.png", "run-live.png", "run-done.png", "runs.png"):
        assert (SHOTS / name).stat().st_size > 10_000, name


@pytest.fixture(scope="module")
def open_orchestrator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An orchestrator alone, open on loopback (its dashboard and CSP are what is tested)."""
    from mesh_orchestrator.app import create_app
    from mesh_orchestrator.settings import Settings
    from mesh_testkit import serving

    tmp = tmp_path_factory.mktemp("ui-open")
    settings = Settings(
        discovery_url="http://127.0.0.1:9", db_path=tmp / "orch.sqlite3", planner="deterministic"
    )
    with serving(create_app(settings, keys=None), name="orchestrator") as url:
        yield url


@browser
def test_the_dashboard_never_links_or_shows_a_workers_script_or_file_url(
    open_orchestrator: str,
) -> None:
    proc = subprocess.run(
        ["node", str(HERE / "artifacts.mjs")],
        env={**os.environ, "ORCH_URL": open_orchestrator, "CHROMIUM": CHROMIUM},
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    assert lines, f"artifacts.mjs printed nothing (rc {proc.returncode}):\n{proc.stderr}"
    seen = json.loads(lines[-1])
    assert seen["ok"], seen
    # Only the https link is a link, only the inline PNG an image; the rest shows as names.
    assert seen["links"] == ["https://example.com/report.zip"]
    assert [src.split(";")[0] for src in seen["images"]] == ["data:image/png"]
    for name in ("js-link", "file-link", "html-data", "svg-image", "typed-js"):
        assert any(name in text for text in seen["names"]), name
    assert seen["pwned"] is None  # no script ran, whatever was clicked
    assert "default-src 'self'" in seen["csp"] and "frame-ancestors 'none'" in seen["csp"]
