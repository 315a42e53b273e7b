"""The cell-key method: the same families always get the same noise, in any report.

Every enrolment (the record a report counts) has a **record key**, a number in [0, M) derived
with the server's secret (``SECRET_KEY``): ``(id · a + b) mod M`` with ``a``, ``b`` taken from an
HMAC of the secret, so the database can add it up next to each count (:func:`record_key`). A
cell's key is the sum of its records' keys mod M: a function of the *set* of families in it, and
of nothing else — not of the period, filter or table it was asked in. The noise added to a
count, and the direction a money amount is rounded, are a keyed hash (HMAC) of the cell's key and
its true value (:func:`perturb_count`, :func:`round_money`). So:

- two reports whose cell holds the same families publish the same number for it;
- two cells whose families differ by even one get unrelated noise, so the difference of two
  reports is the true difference plus noise of up to ±2·``NOISE`` and does not tell which cell
  the differing family is in (``docs/reports.md``, *Why it holds*).

Keys add up: the key of a row total is the sum of its cells' keys (mod M), the key of "the
families without an assessment" is the families' key minus the assessed ones'. :class:`Tally`
carries a count with its key through those sums.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from sqlalchemy import BigInteger, cast, literal_column

MODULUS = 2_147_483_647  # 2³¹ − 1, a prime: id ↦ (id·a + b) mod M is one-to-one for ids below it
NOISE = 2  # a published count is the true count ± at most this many families
MONEY_BASE = 1_000_00  # øre: amounts are rounded up or down to 1 000 kr, the cell key chooses which


def _secret() -> bytes:
    """The app's ``SECRET_KEY`` (outside an application — a script, a unit test of this module —
    none: the keys are then the same everywhere, as they would be without a secret)."""
    try:
        from flask import current_app

        return str(current_app.config.get("SECRET_KEY") or "").encode()
    except RuntimeError:
        return b""


def _hash(*parts: object) -> int:
    message = ":".join(str(p) for p in parts).encode()
    return int.from_bytes(hmac.new(_secret(), message, hashlib.sha256).digest()[:8], "big")


# The kinds of record a key can be of. Each has its own coefficients (its own keyed namespace): an
# enrolment and a family member that happen to have the same id get unrelated keys, so a count of
# young people and a count of families never share noise by accident.
KINDS = ("enrolment", "person")


def coefficients(kind: str = "enrolment") -> tuple[int, int]:
    """(a, b) of the record key of ``kind``, from the secret; a ≠ 0 (the enrolment's are the ones
    the report has always used)."""
    if kind not in KINDS:
        raise ValueError(f"unknown record kind {kind!r}")
    prefix = "record" if kind == "enrolment" else f"record-{kind}"
    return 1 + _hash(f"{prefix}-a") % (MODULUS - 1), _hash(f"{prefix}-b") % MODULUS


def record_key(column, kind: str = "enrolment"):
    """SQL: the record key of the id in ``column`` — an enrolment's (the family tables) or, with
    ``kind="person"``, a family member's (the per-person section, ``reports.persons``). Integers only:
    the same on SQLite and PostgreSQL; id · a < 2⁶³ for any id below 4·10⁹."""
    a, b = coefficients(kind)
    big = cast(column, BigInteger)  # PostgreSQL: id · a overflows a 32-bit integer
    return (big * literal_column(str(a)) + literal_column(str(b))) % literal_column(str(MODULUS))


@dataclass(frozen=True)
class Tally:
    """A count and the key of the families it counts (sums and differences keep both)."""

    n: int
    key: int = 0

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.n + other.n, (self.key + other.key) % MODULUS)

    def __sub__(self, other: Tally) -> Tally:
        return Tally(self.n - other.n, (self.key - other.key) % MODULUS)


def total(tallies) -> Tally:
    result = Tally(0)
    for tally in tallies:
        result = result + tally
    return result


def tally(n, key) -> Tally:
    return Tally(int(n or 0), int(key or 0) % MODULUS)


def perturb_count(n: int, key: int) -> int:
    """The published value of a count of ``n`` families whose cell key is ``key``: ``n + e`` with
    ``e`` in −NOISE…NOISE (never below 0), chosen by a keyed hash of the key and ``n``. 0 stays 0,
    so a published 0 means 0 to NOISE families; the report marks a published 1 to threshold − 1
    as ``"<threshold"``."""
    if n <= 0:
        return n  # no families: no key, no noise (but a published 0 may also be 1 to NOISE)
    low = max(-NOISE, -n)
    choices = NOISE - low + 1
    return n + low + _hash("count", key % MODULUS, n) % choices


def round_money(amount: int, key: int, base: int = MONEY_BASE) -> int:
    """``amount`` øre rounded down or up to a multiple of ``base``: up with a chance equal to how
    far it is above the lower multiple (so the rounding adds nothing on average), the draw fixed by
    the cell key. A multiple of ``base`` stays as it is."""
    lower = amount - amount % base
    remainder = amount - lower
    if remainder == 0:
        return amount
    return lower + base if _hash("money", key % MODULUS, amount) % base < remainder else lower
