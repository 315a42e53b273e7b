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
    size = len(get_ok(client, path).get_data())
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"before_mib": round(before, 1), "peak_mib": round(after, 1), "seconds": round(seconds, 3),
                      "bytes": size}))


if __name__ == "__main__":
    main()
