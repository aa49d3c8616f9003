"""The bench's verdict: a table of figures and relay/direct ratios against the targets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

TARGET_TTFT_P50_MS = 2.0  # relay may add this much to the first token, unloaded, at p50
TARGET_TTFT_P99_MS = 5.0
TARGET_EVENTS_PER_S = 20_000.0  # relayed, per orchestrator process
TARGET_KB_PER_STREAM = 64.0
# Runs across replicas (bench/durable.py): a client on another replica than the one
# executing the run gets its events this fast; a dead owner's run moves this fast.
TARGET_CROSS_REPLICA_P50_MS = 100.0
TARGET_HANDOVER_OVER_LEASE_S = 2.0
# The httptools stream client stays on the hot path only while httpx relays this much fewer
# events/s, or adds this much to the first token (p50), in the same run.
KEEP_IF_HTTPX_EVENTS_LOWER = 0.20
KEEP_IF_HTTPX_ADDS_P50_MS = 1.0
# Faults (bench/faults.py): kill -9 of the serving replica to the retry's first event; a
# stopped replica detected (its retrying status) within the idle time plus this.
TARGET_FAILOVER_MS = 1000.0
TARGET_STALL_OVER_IDLE_S = 1.0


@dataclass(frozen=True, slots=True)
class Verdict:
    name: str
    value: float | None
    target: str
    ok: bool | None

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "target": self.target, "ok": self.ok}


def _ratio(relay: float | None, direct: float | None) -> str:
    if relay is None or not direct:
        return "-"
    return f"{relay / direct:.2f}x"


def _f(value: float | None, fmt: str = "{:.2f}") -> str:
    return "-" if value is None else fmt.format(value)


def verdicts(results: dict[str, Any]) -> list[Verdict]:
    out: list[Verdict] = []
    ft = results.get("first_token")
    if ft:
        d, r = ft["unloaded"]["direct"], ft["unloaded"]["relay"]
        p50 = r["p50_ms"] - d["p50_ms"]
        p99 = r["p99_ms"] - d["p99_ms"]
        out.append(
            Verdict(
                "first token p50 overhead (ms)",
                p50,
                f"<= +{TARGET_TTFT_P50_MS:g} ms",
                p50 <= TARGET_TTFT_P50_MS,
            )
        )
        out.append(
            Verdict(
                "first token p99 overhead (ms)",
                p99,
                f"<= +{TARGET_TTFT_P99_MS:g} ms",
                p99 <= TARGET_TTFT_P99_MS,
            )
        )
    relay = [t for t in results.get("throughput", {}).get("relay", [])]
    if relay:
        best = max(t["events_per_s"] for t in relay)
        out.append(
            Verdict(
                "relayed events/s (best)",
                best,
                f">= {TARGET_EVENTS_PER_S:,.0f}/s",
                best >= TARGET_EVENTS_PER_S,
            )
        )
    sc = results.get("stream_clients")
    if sc:
        fast, lib = sc["throughput"]["httptools"], sc["throughput"]["httpx"]
        lower = 1 - lib["events_per_s"] / fast["events_per_s"]
        adds = sc["first_token"]["httpx"]["p50_ms"] - sc["first_token"]["httptools"]["p50_ms"]
        keep = lower >= KEEP_IF_HTTPX_EVENTS_LOWER or adds >= KEEP_IF_HTTPX_ADDS_P50_MS
        out.append(
            Verdict(
                "httptools client kept: httpx events/s lower by (%)",
                100 * lower,
                f">= {100 * KEEP_IF_HTTPX_EVENTS_LOWER:g}% or httpx p50 >= +{KEEP_IF_HTTPX_ADDS_P50_MS:g} ms"
                f" (measured {adds:+.2f} ms)",
                keep,
            )
        )
    mem = results.get("memory")
    if mem and mem.get("orchestrator_kb_per_stream") is not None:
        kb = mem["orchestrator_kb_per_stream"]
        out.append(
            Verdict(
                f"orchestrator KB per open stream ({mem['streams_open']} open, fresh process)",
                kb,
                f"<= {TARGET_KB_PER_STREAM:g} KB",
                kb <= TARGET_KB_PER_STREAM,
            )
        )
    du = results.get("durable")
    if du and "skipped" not in du:
        p50 = du["cross_replica"]["latency"]["p50_ms"]
        out.append(
            Verdict(
                "cross-replica event latency p50 (ms)",
                p50,
                f"<= {TARGET_CROSS_REPLICA_P50_MS:g} ms",
                p50 <= TARGET_CROSS_REPLICA_P50_MS,
            )
        )
        if "cancel_other_replica" in du:
            c99 = du["cancel_other_replica"]["p99_ms"]
            out.append(
                Verdict(
                    "cancel on the other replica to the owner's worker stopping p99 (ms)",
                    c99,
                    "< 1000 ms",
                    c99 < 1000,
                )
            )
        worst = du["handover"]["max_ms"] / 1000
        wanted = du["lease_seconds"] + TARGET_HANDOVER_OVER_LEASE_S
        out.append(
            Verdict(
                f"handover, kill -9 of the owner to the new owner's first event (s, worst; lease {du['lease_seconds']:g} s)",
                worst,
                f"<= {wanted:g} s (lease + {TARGET_HANDOVER_OVER_LEASE_S:g} s)",
                worst <= wanted,
            )
        )
    fl = results.get("faults")
    if fl:
        p99 = fl["failover"]["p99_ms"]
        out.append(
            Verdict(
                "failover p99, kill -9 to the retry's first event (ms)",
                p99,
                f"< {TARGET_FAILOVER_MS:g} ms",
                p99 < TARGET_FAILOVER_MS,
            )
        )
        idle, stall = fl["idle_seconds"], fl["stall"]["p99_ms"] / 1000
        wanted = idle + TARGET_STALL_OVER_IDLE_S
        out.append(
            Verdict(
                f"stall detection p99, SIGSTOP to retrying (s; idle {idle:g} s)",
                stall,
                f"<= {wanted:g} s (idle + {TARGET_STALL_OVER_IDLE_S:g} s)",
                stall <= wanted,
            )
        )
    return out  # fmt: skip


def figures_table(results: dict[str, Any]) -> Table:
    """Every figure side by side: direct, relay, relay/direct."""
    table = Table(title="relay (through the orchestrator) vs direct (worker's own /stream)",
                  box=box.ASCII2, title_justify="left")  # fmt: skip
    for col, justify in (("measurement", "left"), ("direct", "right"), ("relay", "right"),
                         ("relay/direct", "right"), ("relay - direct", "right")):  # fmt: skip
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    ft = results.get("first_token")
    if ft:
        conc = ft["concurrency"]
        for load, label in (("unloaded", "alone"), ("loaded", f"{conc} concurrent")):
            d, r = ft[load]["direct"], ft[load]["relay"]
            for p in ("p50", "p99"):
                dv, rv = d[f"{p}_ms"], r[f"{p}_ms"]
                table.add_row(
                    f"first token {p}, {label} (ms)",
                    _f(dv),
                    _f(rv),
                    _ratio(rv, dv),
                    f"{rv - dv:+.2f} ms",
                )
    tp = results.get("throughput")
    if tp:
        for d, r in zip(tp["direct"], tp["relay"], strict=True):
            label = f"events/s, {r['streams']} stream{'s' if r['streams'] > 1 else ''} x {r['tokens_per_stream']:,}"
            table.add_row(
                label,
                _f(d["events_per_s"], "{:,.0f}"),
                _f(r["events_per_s"], "{:,.0f}"),
                _ratio(r["events_per_s"], d["events_per_s"]),
                "",
            )
            table.add_row(
                "  orchestrator events per CPU-second",
                "",
                _f(r["orchestrator_events_per_cpu_s"], "{:,.0f}"),
                "",
                "",
            )
    mem = results.get("memory")
    if mem:
        table.add_row(
            f"KB per open stream ({mem['streams_open']} open; direct = worker)",
            _f(mem["worker_kb_per_stream"], "{:.1f}"),
            _f(mem["orchestrator_kb_per_stream"], "{:.1f}"),
            "",
            "",
        )
        table.add_row(
            "  orchestrator RSS base / open / closed (MB)",
            "",
            f"{mem['orchestrator_rss_base_mb']:.0f} / {mem['orchestrator_rss_open_mb']:.0f} / {mem['orchestrator_rss_after_close_mb']:.0f}",
            "",
            "",
        )
    late = results.get("memory_late")
    if late:  # round 10's figure: RSS growth after the other phases freed heap
        table.add_row(
            f"  the same late in the process ({late['streams_open']} open; to round 10)",
            _f(late["worker_kb_per_stream"], "{:.1f}"),
            _f(late["orchestrator_kb_per_stream"], "{:.1f}"),
            "",
            "",
        )
        table.add_row(
            "  orchestrator RSS base / open / closed (MB), late",
            "",
            f"{late['orchestrator_rss_base_mb']:.0f} / {late['orchestrator_rss_open_mb']:.0f} / {late['orchestrator_rss_after_close_mb']:.0f}",
            "",
            "",
        )
    return table  # fmt: skip


def clients_table(results: dict[str, Any]) -> Table:
    """The loaded first token and one-stream events/s once per HTTP client of the bench."""
    table = Table(title="the bench's HTTP client as a factor", box=box.ASCII2, title_justify="left")
    for col in ("client", "direct p50/p99 @20 (ms)", "relay p50/p99 @20 (ms)",
                "direct events/s", "relay events/s"):  # fmt: skip
        table.add_column(col, justify="left" if col == "client" else "right")  # type: ignore[arg-type]
    for row in results.get("clients", []):
        d, r = row["direct_loaded"], row["relay_loaded"]
        table.add_row(
            row["client"],
            f"{d['p50_ms']:.1f} / {d['p99_ms']:.1f}",
            f"{r['p50_ms']:.1f} / {r['p99_ms']:.1f}",
            f"{row['direct_events_per_s']:,.0f}",
            f"{row['relay_events_per_s']:,.0f}",
        )
    return table


def stream_clients_table(results: dict[str, Any]) -> Table:
    """The relay's worker-stream client: httptools vs httpx, two orchestrators, one run."""
    sc = results["stream_clients"]
    table = Table(title="the relay's stream client (worker -> orchestrator)", box=box.ASCII2,
                  title_justify="left")  # fmt: skip
    for col in ("client", "first token p50 / p99, alone (ms)", "events/s, 1 stream",
                "orchestrator events per CPU-second"):  # fmt: skip
        table.add_column(col, justify="left" if col == "client" else "right")  # type: ignore[arg-type]
    for name in ("httptools", "httpx"):
        ft, tp = sc["first_token"][name], sc["throughput"][name]
        table.add_row(
            name,
            f"{ft['p50_ms']:.2f} / {ft['p99_ms']:.2f}",
            f"{tp['events_per_s']:,.0f}",
            _f(tp["orchestrator_events_per_cpu_s"], "{:,.0f}"),
        )
    return table


def registry_read_table(results: dict[str, Any]) -> Table:
    """Each run's read of discovery: on (the default) vs off, two orchestrators, one run."""
    rr = results["registry_read"]
    table = Table(title="a run's own read of discovery (ORCH_REGISTRY_READ; a 304: the registry is quiet)",
                  box=box.ASCII2, title_justify="left")  # fmt: skip
    for col in ("orchestrator", "first token p50 / p99, alone (ms)",
                f"orchestrator CPU ms per run ({rr['runs']} runs)", "discovery CPU ms per run"):  # fmt: skip
        table.add_column(col, justify="left" if col == "orchestrator" else "right")  # type: ignore[arg-type]
    for name, label in (("always", "always: every run reads"),
                        ("auto", "auto (default): cache suffices, no read")):  # fmt: skip
        ft, cpu = rr["first_token"][name], rr["cpu"][name]
        table.add_row(
            label,
            f"{ft['p50_ms']:.2f} / {ft['p99_ms']:.2f}",
            f"{cpu['orchestrator_ms_per_run']:.2f}",
            f"{cpu['discovery_ms_per_run']:.2f}",
        )
    return table


def faults_table(results: dict[str, Any]) -> Table:
    """Failover and stall detection (bench/faults.py), p50/p99 over the repetitions."""
    fl = results["faults"]
    table = Table(title=f"faults (a fresh replica killed or stopped mid-stream; ORCH_STREAM_IDLE_SECONDS={fl['idle_seconds']:g})",
                  box=box.ASCII2, title_justify="left")  # fmt: skip
    for col in ("measurement", "n", "p50 (ms)", "p99 (ms)", "max (ms)"):
        table.add_column(col, justify="left" if col == "measurement" else "right")  # type: ignore[arg-type]
    for key, label in (("failover", "kill -9 -> first event of the retry"),
                       ("failover_to_retrying_status", "kill -9 -> retrying status"),
                       ("stall", "SIGSTOP -> retrying status (stall detected)"),
                       ("stall_over_idle", "  of which past the idle time"),
                       ("stall_to_first_event", "SIGSTOP -> first event of the retry")):  # fmt: skip
        row = fl[key]
        table.add_row(label, str(row["n"]), f"{row['p50_ms']:,.1f}", f"{row['p99_ms']:,.1f}",
                      f"{row['max_ms']:,.1f}")  # fmt: skip
    return table


def durable_table(results: dict[str, Any]) -> Table:
    """Runs across two orchestrator replicas on Postgres (bench/durable.py)."""
    du = results["durable"]
    table = Table(title=f"runs across replicas (Postgres, ORCH_RUN_LEASE_SECONDS={du['lease_seconds']:g})",
                  box=box.ASCII2, title_justify="left")  # fmt: skip
    for col in ("measurement", "n", "p50", "p99", "max"):
        table.add_column(col, justify="left" if col == "measurement" else "right")  # type: ignore[arg-type]
    lat, ho = du["cross_replica"]["latency"], du["handover"]
    table.add_row("event latency, other replica - owner (ms)", str(lat["n"]),
                  f"{lat['p50_ms']:.1f}", f"{lat['p99_ms']:.1f}", f"{lat['max_ms']:.1f}")  # fmt: skip
    if "cancel_other_replica" in du:
        cc = du["cancel_other_replica"]
        table.add_row("cancel on the other replica -> worker stopped (ms)", str(cc["n"]),
                      f"{cc['p50_ms']:.1f}", f"{cc['p99_ms']:.1f}", f"{cc['max_ms']:.1f}")  # fmt: skip
    table.add_row("handover, kill -9 to new owner's first event (s)", str(ho["n"]),
                  f"{ho['p50_ms'] / 1000:.2f}", f"{ho['p99_ms'] / 1000:.2f}",
                  f"{ho['max_ms'] / 1000:.2f}")  # fmt: skip
    return table


def run_throughput_table(results: dict[str, Any]) -> Table:
    """Runs per second and orchestrator CPU per run (bench/runs.py), per run store."""
    rt = results["run_throughput"]
    in_flight = results.get("options", {}).get("run_concurrency", 16)
    table = Table(title=f"run throughput ({in_flight} runs in flight; orchestrator CPU from /proc)",
                  box=box.ASCII2, title_justify="left")  # fmt: skip
    for col in ("store", "runs", "one-task plan, pinned: runs/s", "CPU ms per run",
                "planner plans a query: runs/s", "CPU ms per run"):  # fmt: skip
        table.add_column(col, justify="left" if col == "store" else "right")  # type: ignore[arg-type]
    for store in ("sqlite", "postgres"):
        r = rt.get(store)
        if r is None:
            continue
        if "skipped" in r:
            table.add_row(store, "-", "skipped", "", r["skipped"], "")
            continue
        for label, suffix in ((store, ""), (f"{store}, kept alive", "_kept_alive")):
            p, q = r.get("pinned" + suffix), r.get("planned" + suffix)
            if p is None or q is None:
                continue
            table.add_row(label, str(p["runs"]), f"{p['runs_per_s']:.1f}",
                          f"{p['orchestrator_cpu_ms_per_run']:.2f}", f"{q['runs_per_s']:.1f}",
                          f"{q['orchestrator_cpu_ms_per_run']:.2f}")  # fmt: skip
    return table


def verdict_table(items: list[Verdict]) -> Table:
    table = Table(title="targets", box=box.ASCII2, title_justify="left")
    for col in ("target", "measured", "wanted", "met"):
        table.add_column(col)
    for v in items:
        met = "n/a" if v.ok is None else ("yes" if v.ok else "NO")
        table.add_row(v.name, _f(v.value, "{:,.2f}"), v.target, met)
    return table


def print_report(results: dict[str, Any], console: Console) -> list[Verdict]:
    items = verdicts(results)
    console.print(figures_table(results))
    if results.get("stream_clients"):
        console.print(stream_clients_table(results))
    if results.get("registry_read"):
        console.print(registry_read_table(results))
    if results.get("clients"):
        console.print(clients_table(results))
    if results.get("faults"):
        console.print(faults_table(results))
    du = results.get("durable")
    if du and "skipped" not in du:
        console.print(durable_table(results))
    elif du:
        console.print(f"runs across replicas: skipped ({du['skipped']})")
    if results.get("run_throughput"):
        console.print(run_throughput_table(results))
    console.print(verdict_table(items))
    for extra in results.get("notes", []):
        console.print(f"note: {extra}")
    return items
