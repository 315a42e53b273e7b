"""Helpers for the fault tests (issue 12, items 5-7): a bound on a call, libpq URLs."""

from __future__ import annotations

import threading
import time


def timed(call, bound: float):
    """``call()`` in a thread; (its result, seconds taken); fails when it runs past ``bound``."""
    box: dict = {}

    def run():
        try:
            box["result"] = call()
        except BaseException as error:  # noqa: BLE001 - handed to the test below
            box["error"] = error

    started = time.perf_counter()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(bound)
    elapsed = time.perf_counter() - started
    assert not thread.is_alive(), f"no answer within {bound} s: the request hangs on the database"
    if "error" in box:
        raise box["error"]
    return box["result"], elapsed


def libpq_url(url: str) -> str:
    """A SQLAlchemy URL as libpq (psycopg.connect) takes it."""
    return url.replace("postgresql+psycopg://", "postgresql://")
