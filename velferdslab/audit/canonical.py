"""The canonical form of an audit event, and the hash that chains it to the one before.

This module is the specification an outside auditor needs to re-check the trail with their own
tools; it depends on nothing but the standard library.

Canonical form (format 1)
-------------------------
An event is serialised as a compact JSON array (UTF-8, no whitespace, ``ensure_ascii=False``)::

    [1, chain_seq, id, occurred_at, lab_id, actor_id, actor_role, agency_id, family_id,
     action, object_type, object_id, purpose, request_id, address, summary]

* ``1`` is the format number; a future format gets a new number, old events keep theirs.
* integers are JSON numbers, missing values are ``null``, text is a JSON string;
* ``occurred_at`` is UTC with microseconds: ``"2026-11-29T10:04:05.123456Z"``;
* ``summary`` is the *stored text* of the summary, itself canonical JSON (keys sorted, compact,
  ``ensure_ascii=False``), embedded as a JSON string — or ``null``.

The chain: ``hash = sha256(prev_hash + canonical)``, hex, where ``prev_hash`` is the 64 ASCII hex
characters of the previous event's hash (``"0" * 64`` for the first event) and ``canonical`` the
UTF-8 bytes above. ``chain_seq`` runs 1, 2, 3, … without gaps in commit order, so a deleted,
edited, swapped or inserted event breaks the chain at that place, and the sequence number and the
row id are both inside what is hashed.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

FORMAT = 1
GENESIS = "0" * 64
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"

# Prebuilt encoders: json.dumps() re-creates one per call, which is a third of verify's time.
_compact = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode
_canonical = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True,
                              allow_nan=False).encode


def canonical_json(value: Any) -> str | None:
    """Canonical JSON text of a summary: keys sorted, compact, non-ASCII kept. None stays None."""
    if value is None:
        return None
    return _canonical(value)


def timestamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime(TIMESTAMP_FORMAT)


def event_bytes(fields: tuple | list) -> bytes:
    """Canonical bytes of one event.

    ``fields`` are the 15 values after the format number, in the documented order, with
    ``occurred_at`` already as its canonical text and ``summary`` as its stored text.
    """
    return _compact([FORMAT, *fields]).encode()


def chain_hash(prev_hash: str, canonical: bytes) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + canonical).hexdigest()
