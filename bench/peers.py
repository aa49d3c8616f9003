"""``python -m bench.peers --litellm PATH``: LiteLLM's proxy and the orchestrator relaying
the same fast token stream, side by side in one run (``make bench-peers``).

* LiteLLM (its own venv, ``bench/peers-requirements.txt``: the proxy, httptools, no
  callbacks, no database, one worker) relays ``bench.fake_openai`` (OpenAI chunks, as fast
  as uvicorn sends them), called at ``POST /v1/chat/completions`` with ``stream: true``;
* the orchestrator relays ``bench.fast_worker`` (the same token, as fast), called at
  ``POST /orchestrate/stream`` with a one-task plan pinned to it (no planner runs).

Each relay is set against its own upstream called directly (first-token overhead = relay
p50/p99 - direct p50/p99, over ``--samples`` alternating streams of 16 tokens). Events per
CPU-second: one stream of ``--tokens`` tokens through each relay, divided by the relaying
process's CPU seconds meanwhile (``/proc``). Idle RSS: each relaying process's resident set
before any request and after the streams (``/proc``). Every process is started on a free
loopback port and stopped by its id.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from rich import box
from rich.console import Console
from rich.table import Table

from bench.measure import summary_ms
from bench.procs import Mesh, cpu_seconds, rss_bytes
from mesh_testkit import free_port, wait_until

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "peers_results.json"
TOKEN = b"Zq"
# A mesh stream is counted by its token frames: the run's plan event carries the worker's
# input (the token text), and its result and answer the whole output, so counting the text
# would see the plan as the first token and each token four times.
MESH_TOKEN = b'"type":"token"'
KEY = "sk-" + secrets.token_hex(32)  # LiteLLM's master key (it refuses to start without)
LITELLM_CONFIG = """model_list:
  - model_name: fake
    litellm_params:
      model: openai/fake
      api_base: {upstream}/v1
      api_key: sk-bench
litellm_settings:
  callbacks: []
  success_callback: []
  failure_callback: []
  telemetry: false
"""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.peers", description=__doc__)
    p.add_argument("--litellm", required=True, help="the litellm executable (its own venv)")
    p.add_argument("--samples", type=int, default=200)
    p.add_argument("--tokens", type=int, default=20_000)
    p.add_argument("--quick", action="store_true", help="20 samples, 2,000 tokens")
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    if args.quick:
        args.samples, args.tokens = 20, 2_000
    return args


class Timing:
    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.first: float | None = None
        self.tokens = 0
        self.status = ""


async def read(url: str, body: dict[str, Any], marker: bytes = TOKEN) -> Timing:
    """POST ``body`` over a bare socket (one request per connection) and count ``marker``
    in what comes back, noting when the first one arrived."""
    u = httpx.URL(url)
    payload = json.dumps(body).encode()
    t = Timing()
    reader, writer = await asyncio.open_connection(u.host, u.port)
    try:
        writer.write(
            f"POST {u.raw_path.decode()} HTTP/1.1\r\nHost: {u.host}:{u.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
            f"Authorization: Bearer {KEY}\r\nConnection: close\r\n\r\n".encode()
            + payload
        )
        head = await reader.readuntil(b"\r\n\r\n")
        t.status = head.split(b" ", 2)[1].decode()
        carry = b""
        while chunk := await reader.read(65536):
            data = carry + chunk
            found = data.count(marker)
            if found and t.first is None:
                t.first = time.perf_counter()
            t.tokens += found
            carry = data[-(len(marker) - 1) :]
    finally:
        writer.close()
    return t


@contextmanager
def process(argv: list[str], health: str, env: dict[str, str], log: Path) -> Iterator[int]:
    """A child process in its own session, healthy at ``health``; killed by its id."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, env={**os.environ, **env}, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True, cwd=ROOT)  # fmt: skip
    try:

        def up() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"{argv[0]} exited: {log.read_text()[-2000:]}")
            return httpx.get(health, timeout=2).status_code == 200

        wait_until(up, timeout=180, what=f"{Path(argv[0]).name} to answer {health}")
        yield proc.pid
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


async def first_tokens(
    pairs: dict[str, tuple[str, dict[str, Any], bytes]], samples: int
) -> dict[str, Any]:
    for url, body, marker in pairs.values():  # warm-up
        for _ in range(3):
            await read(url, body, marker)
    seen: dict[str, list[float]] = {name: [] for name in pairs}
    for _ in range(samples):
        for name, (url, body, marker) in pairs.items():
            t = await read(url, body, marker)
            if t.first is None or t.status != "200":
                raise RuntimeError(f"{name}: HTTP {t.status}, {t.tokens} tokens")
            seen[name].append(t.first - t.started)
    return {name: summary_ms(v) for name, v in seen.items()}


async def per_cpu(
    url: str, body: dict[str, Any], pid: int, tokens: int, marker: bytes = TOKEN
) -> dict[str, Any]:
    cpu0, t0 = cpu_seconds(pid), time.perf_counter()
    t = await read(url, body, marker)
    wall, cpu = time.perf_counter() - t0, cpu_seconds(pid) - cpu0
    return {"tokens": t.tokens, "wanted": tokens, "seconds": wall, "cpu_s": cpu,
            "events_per_s": t.tokens / wall, "events_per_cpu_s": t.tokens / cpu if cpu else None}  # fmt: skip


def measure(args: argparse.Namespace, log: Console) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="mesh-bench-peers-") as tmp:
        folder = Path(tmp)
        up_port, ll_port = free_port(), free_port()
        upstream = f"http://127.0.0.1:{up_port}"
        config = folder / "litellm.yaml"
        config.write_text(LITELLM_CONFIG.format(upstream=upstream))
        ll_env = {"LITELLM_LOG": "ERROR", "LITELLM_TELEMETRY": "False",
                  "DISABLE_SCHEMA_UPDATE": "True", "LITELLM_MASTER_KEY": KEY}  # fmt: skip
        log.print("[dim]starting the fake OpenAI server, LiteLLM, and the mesh …[/]")
        with (
            process([sys.executable, "-m", "bench.fake_openai", str(up_port)],
                    upstream + "/health", {}, folder / "fake.log") as _fake,
            process([args.litellm, "--config", str(config), "--host", "127.0.0.1",
                     "--port", str(ll_port), "--num_workers", "1"],
                    f"http://127.0.0.1:{ll_port}/health/liveliness", ll_env,
                    folder / "litellm.log") as ll_pid,
            Mesh(max_streams=64) as mesh,
        ):  # fmt: skip
            assert mesh.worker is not None and mesh.orchestrator is not None
            out["idle_rss_mb"] = {"litellm": rss_bytes(ll_pid) / 2**20,
                                  "orchestrator": rss_bytes(mesh.orchestrator_pid) / 2**20}  # fmt: skip

            def chat(n: int) -> dict[str, Any]:
                return {"model": "fake", "stream": True, "max_tokens": n,
                        "messages": [{"role": "user", "content": "go"}]}  # fmt: skip

            def plan(n: int) -> dict[str, Any]:
                inp = {"tokens": n, "token": TOKEN.decode()}
                task = {"task_id": "gen", "capability": "text_generation",
                        "agent_id": "bench-fast", "input": inp}  # fmt: skip
                return {"plan": {"tasks": [task]}}

            ll_url = f"http://127.0.0.1:{ll_port}/v1/chat/completions"
            up_url = upstream + "/v1/chat/completions"
            orch_url = mesh.orchestrator.url + "/orchestrate/stream"
            worker_url = mesh.worker.url + "/stream"
            log.print(f"[dim]first token, {args.samples} samples each …[/]")
            out["first_token"] = asyncio.run(first_tokens({
                "openai_direct": (up_url, chat(16), TOKEN), "litellm": (ll_url, chat(16), TOKEN),
                "worker_direct": (worker_url, {"input": plan(16)["plan"]["tasks"][0]["input"]},
                                  MESH_TOKEN),
                "orchestrator": (orch_url, plan(16), MESH_TOKEN),
            }, args.samples))  # fmt: skip
            log.print(f"[dim]one stream of {args.tokens:,} tokens through each …[/]")
            mesh.settle()
            out["throughput"] = {
                "litellm": asyncio.run(per_cpu(ll_url, chat(args.tokens), ll_pid, args.tokens)),
                "orchestrator": asyncio.run(
                    per_cpu(
                        orch_url, plan(args.tokens), mesh.orchestrator_pid, args.tokens, MESH_TOKEN
                    )
                ),
            }
            mesh.settle()
            out["after_rss_mb"] = {"litellm": rss_bytes(ll_pid) / 2**20,
                                   "orchestrator": rss_bytes(mesh.orchestrator_pid) / 2**20}  # fmt: skip
            out["litellm_version"] = subprocess.run(
                [str(Path(args.litellm).parent / "python"), "-c",
                 "import importlib.metadata as m; print(m.version('litellm'))"],
                capture_output=True, text=True, timeout=60, check=False).stdout.strip()  # fmt: skip
    return out


def table(r: dict[str, Any]) -> Table:
    ft, tp = r["first_token"], r["throughput"]
    t = Table(title=f"a peer side by side: LiteLLM {r.get('litellm_version', '')} and the orchestrator "
              "relaying a fast token stream", box=box.ASCII2, title_justify="left")  # fmt: skip
    for col in ("measurement", "LiteLLM proxy", "orchestrator"):
        t.add_column(col, justify="left" if col == "measurement" else "right")
    for p in ("p50", "p99"):
        ll = ft["litellm"][f"{p}_ms"] - ft["openai_direct"][f"{p}_ms"]
        orch = ft["orchestrator"][f"{p}_ms"] - ft["worker_direct"][f"{p}_ms"]
        t.add_row(f"first token {p} added over direct (ms)", f"{ll:+.2f}", f"{orch:+.2f}")
    t.add_row("  first token p50, relay / direct (ms)",
              f"{ft['litellm']['p50_ms']:.2f} / {ft['openai_direct']['p50_ms']:.2f}",
              f"{ft['orchestrator']['p50_ms']:.2f} / {ft['worker_direct']['p50_ms']:.2f}")  # fmt: skip
    t.add_row(f"events per relaying-process CPU-second ({tp['litellm']['wanted']:,} tokens)",
              f"{tp['litellm']['events_per_cpu_s']:,.0f}", f"{tp['orchestrator']['events_per_cpu_s']:,.0f}")  # fmt: skip
    t.add_row("  events/s (one stream)", f"{tp['litellm']['events_per_s']:,.0f}",
              f"{tp['orchestrator']['events_per_s']:,.0f}")  # fmt: skip
    t.add_row("idle RSS (MB)", f"{r['idle_rss_mb']['litellm']:.0f}",
              f"{r['idle_rss_mb']['orchestrator']:.0f}")  # fmt: skip
    t.add_row("  RSS after the streams (MB)", f"{r['after_rss_mb']['litellm']:.0f}",
              f"{r['after_rss_mb']['orchestrator']:.0f}")  # fmt: skip
    return t


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    log = Console(stderr=True)
    started = time.time()
    try:
        results = measure(args, log)
    except Exception as exc:
        log.print(f"bench.peers failed: {type(exc).__name__}: {exc}", markup=False)
        return 1
    results["date"] = time.strftime("%Y-%m-%d %H:%M:%S %z", time.localtime(started))
    results["seconds"] = time.time() - started
    Console(width=140).print(table(results))
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    log.print(f"[dim]wrote {args.out}[/]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
