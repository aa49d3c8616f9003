"""``python -m bench --quick`` against real processes produces every measurement.

No timing assertions: the figures depend on the machine; this checks the bench runs end to
end (discovery, the fast worker and the orchestrator started, streams read both ways) and
reports every figure it promises.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Every section of the bench once, on the smallest counts that still give each figure: the
# repetitions that start, kill or stop processes (failovers, stalls, handovers) once each.
# Runs: 32 a load, so that their CPU spans several of /proc's 10 ms ticks (a run costs ~3 ms
# now; 4 runs read 0.0 ms at times).
STREAMS, HANDOVERS = 10, 1
SMOKE = ["--quick", "--streams", str(STREAMS), "--samples", "3", "--failovers", "1",
         "--stalls", "1", "--handovers", str(HANDOVERS), "--runs", "32"]  # fmt: skip


@pytest.mark.timeout(540)  # the whole bench, run throughput on both stores included
def test_quick_bench_reports_first_token_throughput_memory_failover_and_stalls(
    tmp_path: Path,
) -> None:
    out = tmp_path / "results.json"
    proc = subprocess.run(
        [sys.executable, "-m", "bench", *SMOKE, "--out", str(out), "--time-limit", "240"],
        cwd=ROOT, capture_output=True, text=True, timeout=500,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(out.read_text())

    ft = results["first_token"]
    for load in ("unloaded", "loaded"):
        for ep in ("direct", "relay"):
            assert ft[load][ep]["n"] > 0 and ft[load][ep]["p50_ms"] > 0, (load, ep)
    for ep in ("direct", "relay"):
        runs = results["throughput"][ep]
        assert runs and all(r["events"] == r["streams"] * r["tokens_per_stream"] for r in runs)
    sc = results["stream_clients"]
    for client in ("httptools", "httpx"):
        assert sc["first_token"][client]["n"] > 0
        tp = sc["throughput"][client]
        assert tp["events"] == tp["tokens_per_stream"]
    du = results["durable"]
    if "skipped" not in du:  # no Postgres: the bench says so instead
        assert du["cross_replica"]["seen_on_b"] == du["cross_replica"]["tokens"] > 0
        assert du["handover"]["n"] == HANDOVERS
        assert set(du["handover_runs_ended"]) == {"completed"}
    for key in ("memory", "memory_late"):  # fresh orchestrator first, then late (round 10's)
        mem = results[key]
        assert mem["streams_open"] == STREAMS and mem["failures"] == 0
        assert mem["orchestrator_kb_per_stream"] is not None
    assert {t["name"].split(" (")[0] for t in results["targets"]} >= {
        "first token p50 overhead", "first token p99 overhead", "relayed events/s",
        "orchestrator KB per open stream", "failover p99, kill -9 to the retry's first event",
        "stall detection p99, SIGSTOP to retrying",
    }  # fmt: skip
    fl = results["faults"]
    assert fl["idle_seconds"] > 0
    for key in ("failover", "failover_to_retrying_status", "stall", "stall_over_idle",
                "stall_to_first_event"):  # fmt: skip
        # stall_over_idle may be slightly negative: the idle clock starts at the victim's
        # last bytes, which may leave it just before the stop.
        assert fl[key]["n"] > 0 and fl[key]["p99_ms"] >= fl[key]["p50_ms"], key
    assert fl["failover"]["p50_ms"] > 0 and fl["stall"]["p50_ms"] > 0
    assert "relay/direct" in proc.stdout and "targets" in proc.stdout
    rt = results["run_throughput"]
    for store in ("sqlite", "postgres"):
        if "skipped" in rt[store]:  # no Postgres: the bench says so instead
            continue
        for kind in ("pinned", "planned"):
            r = rt[store][kind]
            assert r["failures"] == 0 and r["runs_per_s"] > 0, (store, kind, r)
            assert r["orchestrator_cpu_ms_per_run"] > 0, (store, kind)
        for kind in ("pinned_kept_alive", "planned_kept_alive"):  # connections kept open
            r = rt[store][kind]
            assert r["failures"] == 0 and r["runs_per_s"] > 0, (store, kind, r)
    assert "run throughput" in proc.stdout


@pytest.mark.skipif(shutil.which("wrk") is None, reason="no wrk (make bench-registry installs it)")
def test_quick_registry_bench_reports_heartbeats_and_lists_at_both_sizes(tmp_path: Path) -> None:
    out = tmp_path / "registry.json"
    proc = subprocess.run(
        [sys.executable, "-m", "bench.registry", "--quick", "--before", "none", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    after = json.loads(out.read_text())["after"]
    assert after["heartbeats"]["requests"] > 0
    assert after["heartbeats"]["non_2xx"] == after["heartbeats"]["socket_errors"] == 0
    for size in ("300", "1000"):
        assert after["list"][size]["alone"]["non_2xx"] == 0
        assert after["list"][size]["alone"]["p50_us"] > 0
    assert after["list_records"] == 150
    assert after["imports"].startswith(str(ROOT))


def test_the_registry_benchs_before_is_extracted_with_git_archive_and_removed() -> None:
    from bench.registry import checkout

    with checkout("HEAD") as tree:
        assert (tree / "services/discovery/src/mesh_discovery/__init__.py").is_file()
        assert not (tree / ".git").exists()  # files only: no worktree, no git state
    assert not tree.exists()
