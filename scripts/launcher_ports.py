"""Which of the mesh's ports are taken, by which process, and how to stop it (Linux /proc).

A port is taken when /proc/net/tcp{,6} lists a listening socket on it, or when binding it
fails. The holder is the process with that socket among its fds (visible for this user's
processes); a holder started by a running ``scripts/launcher.py`` names that launcher.
"""

from __future__ import annotations

import errno
import os
import socket
from dataclasses import dataclass

_LISTEN = "0A"


@dataclass(frozen=True)
class Taken:
    port: int
    pids: tuple[int, ...]  # empty: a process this user cannot see
    command: str
    launcher: int | None  # the launcher whose mesh the holder belongs to


def _listening() -> dict[int, set[str]]:
    """Port -> inodes of the listening TCP sockets on it."""
    found: dict[int, set[str]] = {}
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if len(fields) > 9 and fields[3] == _LISTEN:
                found.setdefault(int(fields[1].rsplit(":", 1)[1], 16), set()).add(fields[9])
    return found


def _bind_refused(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", port))
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE
    return False


def _owners(inodes: set[str]) -> dict[str, list[int]]:
    """Socket inode -> pids holding it, from /proc/*/fd."""
    links = {f"socket:[{inode}]": inode for inode in inodes}
    owners: dict[str, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            fds = os.listdir(f"/proc/{entry.name}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                inode = links.get(os.readlink(f"/proc/{entry.name}/fd/{fd}"))
            except OSError:
                continue
            if inode is not None:
                owners.setdefault(inode, []).append(int(entry.name))
    return owners


def command_of(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().rstrip(b"\0").split(b"\0")
    except OSError:
        return "?"
    text = " ".join(a.decode(errors="replace") for a in argv)
    return text if len(text) <= 120 else text[:117] + "..."


def _parent(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
        return int(stat[stat.rfind(b")") + 2 :].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def _launcher_above(pid: int) -> int | None:
    for _ in range(64):
        pid = _parent(pid)
        if pid <= 1:
            return None
        argv = command_of(pid).split()
        if any(os.path.basename(a) == "launcher.py" for a in argv[:3]):
            return pid
    return None


def taken(ports: list[int]) -> list[Taken]:
    listening = _listening()
    busy = [p for p in ports if p in listening or _bind_refused(p)]
    if not busy:
        return []
    owners = _owners(set().union(*(listening.get(p, set()) for p in busy)))
    out = []
    for port in busy:
        pids = sorted({pid for inode in listening.get(port, ()) for pid in owners.get(inode, [])})
        command = command_of(pids[0]) if pids else ""
        out.append(Taken(port, tuple(pids), command, _launcher_above(pids[0]) if pids else None))
    return out


def explain(busy: list[Taken]) -> str:
    """What a second ``make run`` prints: the ports, their holders, how to stop them."""
    lines = [f"launcher: cannot start the mesh: {len(busy)} of its ports are in use"]
    for t in busy:
        if t.pids:
            lines.append(f"  port {t.port}: pid {', '.join(map(str, t.pids))}  {t.command}")
        else:
            lines.append(
                f"  port {t.port}: by a process this user cannot see"
                f" (sudo ss -ltnp 'sport = :{t.port}' names it)"
            )
    for launcher in sorted({t.launcher for t in busy if t.launcher is not None}):
        lines.append(
            f"These belong to a mesh already running, started by pid {launcher}"
            f" ({command_of(launcher)}).\n"
            f"Stop it with Ctrl-C in its terminal, or: kill {launcher}"
        )
    strays = sorted({t.pids[0] for t in busy if t.pids and t.launcher is None})
    if strays:
        lines.append(f"Stop them with: kill {' '.join(map(str, strays))}")
    return "\n".join(lines) + "\n"
