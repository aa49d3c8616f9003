"""Process groups for ``scripts/launcher.py`` (Linux).

Each service runs in its own session (its own process group, away from the terminal's
signals), with the parent-death signal set to SIGTERM before exec, so it hears of the
launcher's death even when the launcher is killed outright. A forked grandchild does not
inherit that signal, so a watchdog (this file with ``--watchdog``, in a session of its own)
holds the other end of a pipe from the launcher: at end of file without ``done`` (the
launcher died before stopping the mesh) it stops every group it was told of. Stopping a
group is SIGTERM, a bounded grace, then SIGKILL to the whole group.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
# bash execs a line that is one simple command (dash forks it), so the service itself leads
# its group and carries the parent-death signal; a compound line leaves the shell in between.
SHELL = shutil.which("bash") or "/bin/sh"
_libc = ctypes.CDLL(None, use_errno=True)  # loaded here, not between fork and exec

# Called with a timeout while a stop waits; True cuts the grace short (SIGKILL now).
Waiter = Callable[[float], bool]


def _tied_to(parent: int) -> Callable[[], None]:
    def set_up() -> None:  # runs in the child, between fork and exec
        if _libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
        if os.getppid() != parent:  # the launcher died before prctl took effect
            os._exit(1)

    return set_up


def start(command: str, env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    """``bash -c command`` in a new session, stdout and stderr into one pipe."""
    return subprocess.Popen(
        [SHELL, "-c", command],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=dict(env),
        start_new_session=True,
        preexec_fn=_tied_to(os.getpid()),  # the launcher has no threads
    )


def signal_groups(pgids: Iterable[int], signum: int) -> None:
    for pgid in pgids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signum)


def live_groups(pgids: Iterable[int]) -> set[int]:
    """The groups among ``pgids`` with a member that is not a zombie."""
    maybe: set[int] = set()
    for pgid in pgids:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            continue
        except PermissionError:
            pass
        maybe.add(pgid)
    if not maybe:
        return maybe
    # kill(-pgid, 0) also answers for zombies nobody reaped yet: ask /proc for the states.
    live: set[int] = set()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()  # state, ppid, pgrp, ...
        if len(fields) > 2 and int(fields[2]) in maybe and _running(entry.name, fields[0]):
            live.add(int(fields[2]))
    return live


def _running(pid: str, state: bytes) -> bool:
    if state == b"X":
        return False
    if state != b"Z":
        return True
    # A zombie leader whose other threads still run (a model's threads tearing down, or hung)
    # is a live process: it holds its sockets until the last thread ends.
    try:
        return len(os.listdir(f"/proc/{pid}/task")) > 1
    except OSError:
        return False


def _sleep(timeout: float) -> bool:
    time.sleep(timeout)
    return False


def stop_groups(
    pgids: Iterable[int],
    grace: float,
    *,
    wait: Waiter = _sleep,
    on_kill: Callable[[set[int]], None] = lambda _left: None,
) -> set[int]:
    """SIGTERM to every group; SIGKILL to the groups still live after ``grace`` seconds (or
    as soon as ``wait`` returns True). Returns the groups still live 5 s after SIGKILL
    (a process stuck in the kernel), normally none."""
    left = live_groups(pgids)
    signal_groups(left, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while left and time.monotonic() < deadline:
        cut_short = wait(min(0.05, max(0.0, deadline - time.monotonic())))
        left = live_groups(left)
        if cut_short:
            break
    if not left:
        return left
    on_kill(left)
    signal_groups(left, signal.SIGKILL)
    deadline = time.monotonic() + 5.0
    while left and time.monotonic() < deadline:
        wait(0.05)
        left = live_groups(left)
    return left


def start_watchdog(grace: float) -> subprocess.Popen[bytes]:
    """The watchdog: tell it ``+PGID`` per service, then ``done`` once the mesh is stopped."""
    script = str(Path(__file__).with_name("launcher.py"))
    return subprocess.Popen(
        [sys.executable, script, "--watchdog", "--grace", str(grace)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        start_new_session=True,  # outlives a signal to the launcher's group or terminal
    )


def watch(grace: float) -> int:
    """The watchdog's main: read the launcher's lines until end of file."""
    for signum in (signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)
    groups: set[int] = set()
    for raw in sys.stdin.buffer:
        line = raw.strip()
        if line == b"done":
            return 0
        if line.startswith(b"+") and line[1:].isdigit():
            groups.add(int(line[1:]))
    left = live_groups(groups)
    if left:
        _say(f"the launcher died; stopping {len(left)} service group(s) it left: SIGTERM")
        stop_groups(left, grace, on_kill=lambda g: _say(f"SIGKILL to {len(g)} group(s)"))
    return 0


def _say(text: str) -> None:
    try:
        sys.stderr.write(f"{time.strftime('%H:%M:%S')} watchdog | {text}\n")
        sys.stderr.flush()
    except OSError:  # the terminal is gone
        pass
