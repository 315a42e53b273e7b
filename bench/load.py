"""Load on loopback: gunicorn with one worker per core, driven by ``wrk`` (or, where ``wrk`` is
missing and cannot be installed, a Python load generator with one thread per connection)."""

from __future__ import annotations

import http.client
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_wrk(install: bool = True) -> str | None:
    """``wrk`` on the PATH; as root on Debian, install the package once if it is missing."""
    found = shutil.which("wrk")
    if found or not install:
        return found
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        print("bench: wrk is missing; installing the Debian package wrk …", flush=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], capture_output=True, check=False)
        found = shutil.which("wrk")
        if not found:
            subprocess.run(["apt-get", "update", "-qq"], capture_output=True, check=False)
            subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], capture_output=True, check=False)
            found = shutil.which("wrk")
    return found


def app_environment(database_url: str, secret: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VELFERDSLAB_")}
    env.update({"VELFERDSLAB_ENV": "production", "VELFERDSLAB_DATABASE_URL": database_url,
                "VELFERDSLAB_SECRET_KEY": secret, "PYTHONPATH": str(ROOT),
                # The load comes from one address and a few users far faster than people click:
                # the request limits are counted (their cost is measured) but never reached.
                "VELFERDSLAB_REQUEST_LIMIT_PER_USER": "100000000 per minute",
                "VELFERDSLAB_REQUEST_LIMIT_PER_ADDRESS": "100000000 per minute",
                # The installation's release instants are fixed by the run's first report, minutes
                # before it is measured (a real installation's are days old): its published reports
                # are kept at once (reports.snapshots; nothing is written meanwhile but the bench's).
                "VELFERDSLAB_REPORT_SNAPSHOT_SETTLE_SECONDS": "0"})
    return env


class Server:
    """``gunicorn -w <cores> wsgi:app`` on a free loopback port, production configuration."""

    def __init__(self, database_url: str, workers: int, secret: str | None = None) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self.env = app_environment(database_url, secret or secrets.token_urlsafe(48))
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        gunicorn = Path(sys.executable).parent / "gunicorn"
        self.process = subprocess.Popen(
            [str(gunicorn), "-w", str(self.workers), "-b", f"127.0.0.1:{self.port}", "--backlog", "2048",
             "--log-level", "warning", "--timeout", "120", "wsgi:app"],
            cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("gunicorn did not start: " + self.process.stderr.read().decode()[-2000:])
            try:
                status, _h, _b = request(self.base, "GET", "/healthz")
                if status == 200:
                    # Every worker imports and connects on its first request: warm them all.
                    for _ in range(self.workers * 4):
                        request(self.base, "GET", "/healthz")
                    return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not answer /healthz within 60 s")

    def worker_pids(self) -> list[int]:
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.process.pid)], capture_output=True, text=True)
        return [int(p) for p in out.stdout.split()]

    def __exit__(self, *exc) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def request(base: str, method: str, path: str, headers: dict | None = None, body: bytes | None = None,
            connection: http.client.HTTPConnection | None = None):
    own = connection is None
    if own:
        parts = urllib.parse.urlsplit(base)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        if own:
            connection.close()


def _cookie(headers) -> str | None:
    for name, value in headers:
        if name.lower() == "set-cookie" and value.startswith("velferdslab_session="):
            return value.split(";", 1)[0]
    return None


def login_cookie(base: str, email: str, password: str) -> str:
    """Sign in through the real login form; returns the ``Cookie`` header value of the session."""
    status, headers, body = request(base, "GET", "/logg-inn")
    cookie = _cookie(headers)
    match = CSRF_RE.search(body.decode())
    if status != 200 or not cookie or not match:
        raise RuntimeError(f"login page: status {status}")
    form = urllib.parse.urlencode({"email": email, "password": password,
                                   "csrf_token": match.group(1) or match.group(2)}).encode()
    status, headers, _body = request(base, "POST", "/logg-inn", {
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}, form)
    signed_in = _cookie(headers)
    if status not in (302, 303) or not signed_in:
        raise RuntimeError(f"login of {email} failed: status {status}")
    return signed_in


@dataclass
class LoadResult:
    tool: str
    url: str
    connections: int
    seconds: float
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int  # non-2xx/3xx answers and socket errors

    def as_dict(self) -> dict:
        return self.__dict__.copy()


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(output: str, url: str, connections: int, seconds: float) -> LoadResult:
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    total = int(re.search(r"(\d+) requests in", output).group(1))
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1))
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1))
    errors = 0
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    if non2xx:
        errors += int(non2xx.group(1))
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if socket_errors:
        errors += sum(int(g) for g in socket_errors.groups())
    return LoadResult("wrk", url, connections, seconds, total, rps, p50, p99, errors)


def run_wrk(wrk: str, base: str, path: str, headers: dict, connections: int, seconds: float,
            threads: int = 2) -> LoadResult:
    args = [wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--latency", "--timeout", "10s"]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run(args + [base + path], capture_output=True, text=True, check=True)
    return parse_wrk(out.stdout, path, connections, seconds)


def run_python(base: str, path: str, headers: dict, connections: int, seconds: float) -> LoadResult:
    """One keep-alive connection per thread, for ``seconds``; latencies of every request."""
    parts = urllib.parse.urlsplit(base)
    deadline = time.perf_counter() + seconds
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors = [0] * connections

    def worker(n: int) -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status >= 400:
                    errors[n] += 1
            except OSError:
                errors[n] += 1
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
                continue
            latencies[n].append((time.perf_counter() - started) * 1000)
        conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    flat = sorted(x for per in latencies for x in per)
    if not flat:
        return LoadResult("python", path, connections, elapsed, 0, 0.0, 0.0, 0.0, sum(errors))
    return LoadResult("python", path, connections, elapsed, len(flat), len(flat) / elapsed,
                      statistics.median(flat), flat[min(len(flat) - 1, int(len(flat) * 0.99))], sum(errors))


def drain(base: str, workers: int) -> None:
    """Wait until the server has worked off what an earlier run left queued.

    When wrk stops, the requests it had sent are still in the listen backlog and the sync workers
    answer them all; a run started at once would measure that leftover work. Sequential health
    checks queue behind it and come back only when it is done.
    """
    for _ in range(workers * 2):
        request(base, "GET", "/healthz")
    time.sleep(0.5)


def load(wrk: str | None, base: str, path: str, headers: dict, connections: int, seconds: float) -> LoadResult:
    if wrk:
        return run_wrk(wrk, base, path, headers, connections, seconds)
    return run_python(base, path, headers, connections, seconds)
