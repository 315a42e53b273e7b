"""Peak RSS of a worker-like process rendering one page: ``python -m bench.rss EMAIL PASSWORD PATH``.

Run by ``bench.measure.peak_rss`` with the app's environment. Prints one JSON line: the peak RSS
before the request (app loaded, signed in) and after it, in MiB.
"""

from __future__ import annotations

import json
import resource
import sys
import time


def main() -> None:
    from bench.measure import get_ok, signed_in_client
    from velferdslab import create_app

    email, password, path = sys.argv[1:4]
    app = create_app({"SESSION_COOKIE_SECURE": False, "RATELIMIT_STORAGE_URI": "memory://"})
    client = signed_in_client(app, email, password)
    get_ok(client, "/healthz")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    # A first reading that passes the request's database deadline answers 503 and keeps what it had
    # computed (reports.snapshots); the next goes on from there. The peak is the process's over all.
    response, readings = client.get(path), 1
    while response.status_code == 503 and readings < 5:
        response, readings = client.get(path), readings + 1
    if response.status_code != 200:
        raise RuntimeError(f"GET {path} answered {response.status_code} {readings} times")
    size = len(response.get_data())
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"before_mib": round(before, 1), "peak_mib": round(after, 1), "seconds": round(seconds, 3),
                      "bytes": size, "readings": readings}))


if __name__ == "__main__":
    main()
