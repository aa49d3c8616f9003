"""A tiny service for tests/test_launcher.py: listens on PORT, then writes its pid(s) to
PIDFILE and serves until it is stopped.

``--stubborn``: ignores SIGTERM (only SIGKILL ends it).
``--forks``: forks a grandchild that keeps the listening socket and ignores SIGTERM, while
the service itself dies on SIGTERM; the port stays bound until its group gets SIGKILL.
``--lingers``: on SIGTERM only its main thread ends (the raw exit syscall): /proc shows a
zombie while a second thread keeps serving the port, until SIGKILL.
"""

from __future__ import annotations

import ctypes
import os
import platform
import signal
import socket
import sys
import threading

SYS_EXIT = {"x86_64": 60, "aarch64": 93}  # exit(2): this thread only, not exit_group


def main() -> None:
    port, pidfile = int(sys.argv[1]), sys.argv[2]
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(16)
    pids = [os.getpid()]
    if "--stubborn" in sys.argv:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if "--lingers" in sys.argv:
        threading.Thread(target=serve, args=(listener,), daemon=True).start()
        signal.signal(signal.SIGTERM, lambda *_: end_main_thread())
    if "--forks" in sys.argv:
        child = os.fork()
        if child == 0:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            serve(listener)
        pids.append(child)
    with open(pidfile + ".tmp", "w") as f:
        f.write(" ".join(map(str, pids)))
    os.rename(pidfile + ".tmp", pidfile)  # whole, or not there yet
    print(f"listening on {port} as {pids}", flush=True)
    serve(listener)


def end_main_thread() -> None:
    ctypes.CDLL(None).syscall(SYS_EXIT[platform.machine()], 0)


def serve(listener: socket.socket) -> None:
    while True:
        conn, _ = listener.accept()
        conn.close()


if __name__ == "__main__":
    main()
