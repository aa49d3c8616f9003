"""``python -m bench.wal_frames``: SQLite WAL frames a run, random run ids against time-ordered.

The SQLite run store's own schema and statements (``runs.store.sqlite``: ``SCHEMA``, the
added columns, the partial owner index, ``INSERT_RUN``, ``SAVE_RUN``, ``INSERT_EVENTS``) on
a file in a temporary folder, in WAL mode with ``synchronous=NORMAL`` and no automatic
checkpoint, as the store opens it. ``--prefill`` earlier runs with their events first (a
store in use: the indexes are many pages deep), then ``--runs`` runs as ``bench.runs``' pinned
load makes them: each admitted by one insert and its commit, and, after ~0.3 of them (what a
flush a run read in round 13's count), a flush of every live run's next events (8, 16 or 24
of its 25) and rows in one transaction, so a run's events land in ~2.4 flushes. WAL frames
(one page each, two ``pwrite``s) over the runs, read from ``wal_checkpoint``'s count, for two
kinds of run id: ``uuid4`` (what ``new_run_id`` made before round 13: random, so every run's
``(run_id, seq)`` index entries and its ``run_id`` entry land in a random leaf) and
``time-ordered`` (a UUID version 7: 48 bits of milliseconds first, then random; entries land
at the indexes' tails, shared by the runs of a flush). Only counts, no timing: the machine's
load does not move it. A measurement for a decision the run id's format needs (the id is a
UUID version 4 until round 13; ``new_run_id`` makes version 7 since).
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from mesh_orchestrator.runs.store.rows import ADDED_COLUMNS, COLUMNS
from mesh_orchestrator.runs.store.sqlite import (
    INSERT_EVENTS,
    INSERT_RUN,
    OWNER_INDEX,
    SAVE_RUN,
    SCHEMA,
)

EVENTS = 25  # a pinned run's events: run, plan, statuses, 16 tokens, output, answer, done
PLAN = orjson.dumps([{"task_id": "gen", "capability": "text_generation", "status": "running"}])


def uuid4_hex() -> str:
    b = bytearray(os.urandom(16))
    b[6] = (b[6] & 0x0F) | 0x40
    b[8] = (b[8] & 0x3F) | 0x80
    return b.hex()


def uuid7_hex() -> str:
    b = bytearray(int(time.time() * 1000).to_bytes(6, "big") + os.urandom(10))
    b[6] = (b[6] & 0x0F) | 0x70
    b[8] = (b[8] & 0x3F) | 0x80
    return b.hex()


def _row(run_id: str, status: str, last_seq: int) -> list[Any]:
    values = {
        "run_id": run_id, "query": "q", "status": status, "created_at": time.time(),
        "plan": PLAN.decode(), "options": "{}", "last_seq": last_seq, "epoch": 1,
        "seq_reserved": 1000, "cancel_requested": 0,
    }  # fmt: skip
    return [values.get(column) for column in COLUMNS.split(", ")]


def _events(run_id: str, first: int, last: int) -> list[tuple[Any, ...]]:
    now = time.time()
    return [
        (run_id, seq, "token", "gen", "fast", '{"token":"xx"}' if seq > 3 else "{}", now)
        for seq in range(first, last + 1)
    ]


def frames_a_run(make_id: Callable[[], str], runs: int, prefill: int, seed: int) -> float:
    rnd = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="mesh-bench-wal-") as folder:
        conn = sqlite3.connect(Path(folder) / "runs.sqlite3")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA wal_autocheckpoint=0")
        conn.executescript(SCHEMA)
        for name, kind in ADDED_COLUMNS:
            conn.execute(f"ALTER TABLE runs ADD COLUMN {name} {kind}")
        conn.execute(OWNER_INDEX)
        conn.commit()
        for _ in range(prefill):
            run_id = make_id()
            conn.execute(INSERT_RUN, _row(run_id, "completed", EVENTS))
            conn.executemany(INSERT_EVENTS, _events(run_id, 1, EVENTS))
        conn.commit()
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        live: list[list[Any]] = []
        for _ in range(runs):
            run_id = make_id()
            conn.execute(INSERT_RUN, _row(run_id, "running", 0))
            conn.commit()
            live.append([run_id, 0])
            if rnd.random() < 0.3:  # a flush
                rows, events = [], []
                for run in live:
                    upto = min(EVENTS, run[1] + rnd.choice((8, 16, 24)))
                    events += _events(run[0], run[1] + 1, upto)
                    run[1] = upto
                    rows.append(_row(run[0], "completed" if upto >= EVENTS else "running", upto))
                conn.executemany(SAVE_RUN, rows)
                conn.executemany(INSERT_EVENTS, events)
                conn.commit()
                live = [run for run in live if run[1] < EVENTS]
        frames = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1]
        conn.close()
    return float(frames) / runs


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.wal_frames", description=__doc__)
    p.add_argument("--runs", type=int, default=3000)
    p.add_argument("--prefill", type=int, default=20000, help="earlier runs in the store")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    for name, make in (("uuid4 (before)", uuid4_hex), ("time-ordered (UUID v7)", uuid7_hex)):
        got = frames_a_run(make, args.runs, args.prefill, args.seed)
        print(f"{name:24} {got:6.2f} WAL frames a run ({2 * got:.1f} pwrite)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
