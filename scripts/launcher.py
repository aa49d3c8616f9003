"""``python scripts/launcher.py`` (``make run``): every Procfile line as a service, with
its output as ``HH:MM:SS name | line``, until one of them exits or the launcher is told to
stop (SIGINT, SIGTERM, SIGHUP); then every service's process group gets SIGTERM, and
SIGKILL after ``--grace`` seconds. If the launcher itself is killed outright, its services
die anyway (parent-death signal and a watchdog: see ``launcher_groups.py``). Before
starting anything it checks ``--ports`` and, if one is taken, says by whom and exits 1.
"""

from __future__ import annotations

import argparse
import os
import re
import selectors
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import BinaryIO

import launcher_groups
import launcher_ports

_LINE = re.compile(r"^([A-Za-z0-9_][A-Za-z0-9_.-]*):\s*(\S.*)$")
_COLORS = ("36", "33", "32", "35", "34", "31", "36;1", "33;1", "32;1", "35;1", "34;1", "31;1")
_LONGEST_LINE = 64 * 1024  # a service that never writes a newline still gets printed


def read_procfile(path: str) -> dict[str, str]:
    """``name: command`` lines (blank lines and ``#`` comments skipped), in file order."""
    commands: dict[str, str] = {}
    for number, raw in enumerate(Path(path).read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if match is None:
            raise ValueError(f"{path}:{number}: expected 'name: command', got {line[:60]!r}")
        if match[1] in commands:
            raise ValueError(f"{path}:{number}: {match[1]!r} is defined twice")
        commands[match[1]] = match[2]
    if not commands:
        raise ValueError(f"{path}: no 'name: command' lines")
    return commands


class Output:
    """Prefixed, coloured (on a terminal) lines; a closed terminal silences it."""

    def __init__(self, names: list[str], stream: BinaryIO) -> None:
        self.stream = stream
        self.width = max(len(n) for n in [*names, "system"])
        self.colors = {n: _COLORS[i % len(_COLORS)] for i, n in enumerate(names)}
        self.color = stream.isatty() and "NO_COLOR" not in os.environ
        self.broken = False

    def line(self, name: str, text: bytes) -> None:
        prefix = f"{time.strftime('%H:%M:%S')} {name:<{self.width}} | "
        if self.color and name in self.colors:
            prefix = f"\033[{self.colors[name]}m{prefix}\033[0m"
        if self.broken:
            return
        try:
            self.stream.write(prefix.encode() + text.rstrip(b"\r\n") + b"\n")
            self.stream.flush()
        except OSError:  # EIO once the terminal is closed, EPIPE once a pipe reader is gone
            self.broken = True

    def system(self, text: str) -> None:
        self.line("system", text.encode())


@dataclass
class Service:
    name: str
    proc: subprocess.Popen[bytes]
    pending: bytes = b""
    reported: bool = field(default=False)


class Mesh:
    def __init__(self, commands: dict[str, str], grace: float, out: Output) -> None:
        self.commands = commands
        self.grace = grace
        self.out = out
        self.services: list[Service] = []
        self.signals: list[int] = []
        self.heard = 0  # signals that _pump does not count as new (the one that began a stop)
        self.selector = selectors.DefaultSelector()

    def run(self) -> int:
        wake_r, wake_w = os.pipe()
        for fd in (wake_r, wake_w):
            os.set_blocking(fd, False)
        signal.set_wakeup_fd(wake_w)
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, self._on_signal)
        self.selector.register(wake_r, selectors.EVENT_READ, None)
        self.watchdog = launcher_groups.start_watchdog(self.grace)
        try:
            self._start_all()
            code, why = self._until_stop()
        except (OSError, subprocess.SubprocessError) as exc:
            code, why = 1, f"a service did not start: {exc}"
        self._stop_all(why)
        self._tell_watchdog("done")
        return code

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self.signals.append(signum)

    def _tell_watchdog(self, line: str) -> None:
        try:
            assert self.watchdog.stdin is not None
            self.watchdog.stdin.write(line.encode() + b"\n")
            self.watchdog.stdin.flush()
            if line == "done":
                self.watchdog.stdin.close()
                self.watchdog.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            self.out.system(f"the watchdog (pid {self.watchdog.pid}) is gone; carrying on")

    def _start_all(self) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        for name, command in self.commands.items():
            if self.signals:
                return
            proc = launcher_groups.start(command, env)
            self.services.append(Service(name, proc))
            self._tell_watchdog(f"+{proc.pid}")
            assert proc.stdout is not None
            self.selector.register(proc.stdout, selectors.EVENT_READ, self.services[-1])
            self.out.system(f"{name} started (pid {proc.pid})")

    def _until_stop(self) -> tuple[int, str]:
        while True:
            if self.signals:
                return 0, f"{signal.Signals(self.signals[0]).name} received"
            for svc in self.services:
                rc = svc.proc.returncode
                if rc is not None:
                    return (rc if rc >= 0 else 128 - rc), f"{svc.name} exited"
            self._pump(0.5)

    def _stop_all(self, why: str) -> None:
        names = {svc.proc.pid: svc.name for svc in self.services}
        self.heard = min(len(self.signals), 1)  # a signal from here on cuts the grace short
        self.out.system(
            f"stopping {len(names)} services ({why}): SIGTERM, SIGKILL after {self.grace:g} s"
            + (" or a second signal" if self.heard else " or a signal")
        )

        def killing(left: set[int]) -> None:
            listed = ", ".join(names[pgid] for pgid in sorted(left))
            self.out.system(
                f"still running after {self.grace:g} s (a service or a process it started):"
                f" {listed}; SIGKILL to their process groups"
            )

        left = launcher_groups.stop_groups(names, self.grace, wait=self._pump, on_kill=killing)
        deadline = time.monotonic() + 1.0  # reap each service, print its last lines
        while time.monotonic() < deadline and (
            len(self.selector.get_map()) > 1 or any(s.proc.poll() is None for s in self.services)
        ):
            self._pump(0.05)
        if left:
            self.out.system(
                f"process groups {sorted(left)} survived SIGKILL (stuck in the kernel?)"
            )
        else:
            self.out.system("every service stopped")

    def _pump(self, timeout: float) -> bool:
        """Print what the services wrote, report exits; True once a signal came that did not
        begin the stop."""
        for key, _ in self.selector.select(timeout):
            if key.data is None:
                while True:
                    try:
                        if not os.read(key.fd, 512):
                            break
                    except BlockingIOError:
                        break
                continue
            svc: Service = key.data
            data = os.read(key.fd, 65536)
            if not data:
                self.selector.unregister(key.fileobj)
                if svc.pending:
                    self.out.line(svc.name, svc.pending)
                    svc.pending = b""
                continue
            *lines, svc.pending = (svc.pending + data).split(b"\n")
            for line in lines:
                self.out.line(svc.name, line)
            if len(svc.pending) > _LONGEST_LINE:
                self.out.line(svc.name, svc.pending)
                svc.pending = b""
        for svc in self.services:
            rc = svc.proc.poll()
            if rc is not None and not svc.reported:
                svc.reported = True
                how = f"code {rc}" if rc >= 0 else signal.Signals(-rc).name
                self.out.system(f"{svc.name} exited ({how})")
        return len(self.signals) > self.heard


def _ports(text: str) -> list[int]:
    try:
        ports = [int(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of ports: {text[:60]!r}") from None
    if not all(0 < p < 65536 for p in ports):
        raise argparse.ArgumentTypeError(f"a port is out of range: {text[:60]!r}")
    return ports


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-f", "--procfile", default="Procfile")
    parser.add_argument("--ports", type=_ports, default=[], help="comma-separated, must be free")
    parser.add_argument("--grace", type=float, default=5.0, help="seconds from SIGTERM to SIGKILL")
    parser.add_argument("--check", action="store_true", help="only check the ports")
    parser.add_argument("--watchdog", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.watchdog:
        return launcher_groups.watch(args.grace)
    busy = launcher_ports.taken(args.ports)
    if busy:
        sys.stderr.write(launcher_ports.explain(busy))
        return 1
    if args.check:
        return 0
    try:
        commands = read_procfile(args.procfile)
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"launcher: {exc}\n")
        return 2
    return Mesh(commands, args.grace, Output(list(commands), sys.stdout.buffer)).run()


if __name__ == "__main__":
    sys.exit(main())
