"""``scripts/launcher.py`` (``make run``) on real processes: a Procfile of tiny services
(tests/launcher_service.py) on free ports, never the mesh's own ports or its models.

One service stops on SIGTERM, one ignores it, one forks a grandchild that ignores it and
keeps the port, and one ends only its main thread while another thread keeps the port: the
last three end only when their whole process group gets SIGKILL after the grace period.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from mesh_testkit import free_port, wait_until

ROOT = Path(__file__).resolve().parents[1]
LAUNCHER = ROOT / "scripts" / "launcher.py"
SERVICE = Path(__file__).with_name("launcher_service.py")
GRACE = 2.0
FLAGS = {"plain": "", "stubborn": "--stubborn", "forks": "--forks", "lingers": "--lingers"}

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the launcher uses Linux /proc")


def alive(pid: int) -> bool:
    """A process that exists and is not a zombie (a zombie main thread with live threads is
    a live process)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
        state = stat[stat.rfind(b")") + 2 : stat.rfind(b")") + 3]
        return state not in (b"Z", b"X") or len(os.listdir(f"/proc/{pid}/task")) > 1
    except OSError:
        return False


def ours(pid: int) -> bool:
    """One of this file's services: any of its threads runs launcher_service.py (a zombie main
    thread shows an empty command line)."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return False
    for task in tasks:
        try:
            if SERVICE.name in Path(f"/proc/{pid}/task/{task}/cmdline").read_text(errors="replace"):
                return True
        except OSError:
            pass
    return False


def listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Mesh:
    dir: Path
    ports: dict[str, int]
    procfile: Path
    proc: subprocess.Popen[bytes] | None = None
    watchdog: int | None = None

    def command(self) -> list[str]:
        ports = ",".join(str(p) for p in self.ports.values())
        return [sys.executable, str(LAUNCHER), "-f", str(self.procfile), "--ports", ports]

    def start(self, grace: float = GRACE) -> Mesh:
        with open(self.dir / "launcher.log", "wb") as log:
            self.proc = subprocess.Popen(
                [*self.command(), "--grace", str(grace)],
                cwd=self.dir,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group, as a terminal's job would be
            )
        wait_until(self.up, timeout=60, what="every test service listening")
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        self.watchdog = next(
            pid
            for pid in map(int, children.split())
            if "--watchdog" in Path(f"/proc/{pid}/cmdline").read_text()
        )
        return self

    def up(self) -> bool:
        assert self.proc is not None and self.proc.poll() is None, self.output()
        return len(self.pids()) == 5 and all(listening(p) for p in self.ports.values())

    def pids(self) -> list[int]:
        found = []
        for name in FLAGS:
            path = self.dir / f"{name}.pid"
            if path.exists():
                found += [int(p) for p in path.read_text().split()]
        return found

    def output(self) -> str:
        return (self.dir / "launcher.log").read_text(errors="replace")

    def gone(self) -> bool:
        return not any(alive(p) for p in self.pids()) and not any(
            listening(p) for p in self.ports.values()
        )


@pytest.fixture
def mesh(tmp_path: Path) -> Iterator[Mesh]:
    ports = {name: free_port() for name in FLAGS}
    lines = ["# the launcher's test services"]
    for name, flag in FLAGS.items():
        run = f"{sys.executable} {SERVICE} {ports[name]} {tmp_path / name}.pid {flag}"
        # a shell form, as the orchestrator's line in the real Procfile has
        lines.append(
            f"{name}: GREETING=${{GREETING:-hi}} {run}" if name == "forks" else f"{name}: {run}"
        )
    procfile = tmp_path / "Procfile"
    procfile.write_text("\n".join(lines) + "\n")
    made = Mesh(tmp_path, ports, procfile)
    yield made
    if made.proc is not None and made.proc.poll() is None:
        made.proc.kill()
    if made.proc is not None:
        made.proc.wait(timeout=10)
    for pid in made.pids():  # what a test left on purpose or by failing, checked to be ours
        if ours(pid):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
    if made.watchdog is not None:  # it ends once its groups are gone; if not, the test failed
        try:
            wait_until(lambda: not alive(made.watchdog), timeout=10, what="the watchdog ending")
        finally:
            if (
                alive(made.watchdog)
                and "--watchdog" in Path(f"/proc/{made.watchdog}/cmdline").read_text()
            ):
                os.kill(made.watchdog, signal.SIGKILL)


@pytest.mark.parametrize(
    "signum", [signal.SIGHUP, signal.SIGTERM, signal.SIGKILL], ids=["SIGHUP", "SIGTERM", "SIGKILL"]
)
def test_a_signal_to_the_launcher_leaves_no_service_and_no_bound_port(mesh, signum):
    mesh.start()
    assert mesh.proc is not None
    mesh.proc.send_signal(signum)
    wait_until(mesh.gone, timeout=GRACE + 1.0, what="no service process and no bound port")
    if signum != signal.SIGKILL:  # the launcher stopped them itself, and says so
        assert mesh.proc.wait(timeout=10) == 0
        out = mesh.output()
        assert "stubborn, forks, lingers; SIGKILL to their process groups" in out
        assert "every service stopped" in out


def test_a_stop_like_a_ci_job_term_then_kill_to_the_group_leaves_nothing(mesh):
    mesh.start()
    assert mesh.proc is not None
    os.killpg(mesh.proc.pid, signal.SIGTERM)
    wait_until(lambda: "stopping 4 services" in mesh.output(), what="the launcher stopping")
    os.killpg(mesh.proc.pid, signal.SIGKILL)  # in the grace: the watchdog finishes the job
    wait_until(mesh.gone, timeout=GRACE + 1.0, what="no service process and no bound port")


def test_a_second_ctrl_c_cuts_the_grace_short(mesh):
    mesh.start(grace=120.0)
    assert mesh.proc is not None
    mesh.proc.send_signal(signal.SIGINT)
    wait_until(lambda: "stopping 4 services" in mesh.output(), what="the launcher stopping")
    mesh.proc.send_signal(signal.SIGINT)
    wait_until(mesh.gone, timeout=30, what="no service process and no bound port")
    assert mesh.proc.wait(timeout=10) == 0


def test_services_hear_of_the_launchers_death_without_the_watchdog(mesh):
    mesh.start()
    assert mesh.proc is not None
    assert mesh.watchdog is not None
    os.kill(mesh.watchdog, signal.SIGKILL)
    mesh.proc.kill()
    plain = int((mesh.dir / "plain.pid").read_text())
    wait_until(lambda: not alive(plain), timeout=GRACE + 1.0, what="the parent-death signal")


def test_services_log_lines_come_prefixed_with_their_names(mesh):
    mesh.start()
    assert mesh.proc is not None
    wait_until(lambda: "forks    | listening on" in mesh.output(), what="prefixed lines")
    out = mesh.output()
    assert f"plain    | listening on {mesh.ports['plain']}" in out
    assert "system   | stubborn started (pid " in out
    mesh.proc.send_signal(signal.SIGINT)
    assert mesh.proc.wait(timeout=GRACE + 10) == 0
    assert "stopping 4 services (SIGINT received)" in mesh.output()


def test_a_port_in_use_is_named_with_its_holder_and_nothing_starts(mesh):
    holder = subprocess.Popen(
        [sys.executable, str(SERVICE), str(mesh.ports["stubborn"]), str(mesh.dir / "holder.pid")]
    )
    try:
        wait_until(lambda: (mesh.dir / "holder.pid").exists(), what="the holder listening")
        done = subprocess.run(mesh.command(), cwd=mesh.dir, capture_output=True, timeout=60)
    finally:
        holder.kill()
        holder.wait()
    err = done.stderr.decode()
    assert done.returncode == 1
    assert "cannot start the mesh: 1 of its ports are in use" in err
    assert f"port {mesh.ports['stubborn']}: pid {holder.pid}  {sys.executable} {SERVICE}" in err
    assert f"Stop them with: kill {holder.pid}" in err
    assert "Traceback" not in err and done.stdout == b""
    assert mesh.pids() == []


def test_a_second_launcher_names_the_running_mesh_and_how_to_stop_it(mesh):
    first = mesh.start()
    assert first.proc is not None
    running = first.pids()
    done = subprocess.run(mesh.command(), cwd=mesh.dir, capture_output=True, timeout=60)
    err = done.stderr.decode()
    assert done.returncode == 1
    assert "cannot start the mesh: 4 of its ports are in use" in err
    assert f"started by pid {first.proc.pid}" in err
    assert f"Stop it with Ctrl-C in its terminal, or: kill {first.proc.pid}" in err
    assert done.stdout == b"" and "Traceback" not in err
    assert first.pids() == running and all(alive(p) for p in running)


def test_a_malformed_procfile_line_is_named(tmp_path):
    (tmp_path / "Procfile").write_text("web: python -m http.server\nthis is not a service\n")
    done = subprocess.run(
        [sys.executable, str(LAUNCHER)], cwd=tmp_path, capture_output=True, timeout=60
    )
    assert done.returncode == 2
    assert "Procfile:2: expected 'name: command'" in done.stderr.decode()
