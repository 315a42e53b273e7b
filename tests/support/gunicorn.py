"""Run the app under gunicorn with several workers on a free loopback port, for the tests whose
guarantee is between processes (shared limits, a stalled database seen by every worker)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(env: dict, *commands: list[str]) -> None:
    """Run ``velferdslab`` commands (``db upgrade``, ``user create`` …) in ``env``, in order."""
    for args in commands:
        subprocess.run([str(BIN / "velferdslab"), *args], env=env, cwd=ROOT, check=True, capture_output=True)


@contextmanager
def serve(env: dict, *options: str, workers: int = 2, ready_tries: int = 150) -> Iterator[str]:
    """gunicorn ``wsgi:app`` with ``workers`` workers; yields the base URL once /healthz answers."""
    port = free_port()
    server = subprocess.Popen([str(BIN / "gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{port}", *options,
                               "wsgi:app"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(ready_tries):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=15)
