"""Signed checkpoints: the chain's head, signed with Ed25519, kept as files outside the database.

Someone who can write to the database can rewrite the whole chain after the event they changed
(the hash function has no secret), or cut off its tail. A checkpoint stops both: it pins the hash
at a sequence number in a file signed with a key the database never sees. ``verify`` checks every
checkpoint it is given: its signature, that the chain still has that hash at that place, and that
the chain reaches at least that far. ``audit verify`` also fails when the newest checkpoint is
missing or older than ``VELFERDSLAB_AUDIT_CHECKPOINT_MAX_AGE_HOURS`` (a checkpoint that is never
written protects nothing).

The key (``VELFERDSLAB_AUDIT_SIGNING_KEY``) is a PEM private key, the base64 of the 32 raw bytes,
or the path of a PEM file. Development generates one into ``instance/`` once; production refuses
to sign without one. An auditor verifies with the public key alone (``audit public-key``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import current_app
from sqlalchemy import text

from velferdslab.core.models import utcnow

FORMAT = "velferdslab-audit-checkpoint/1"
DEV_KEY_FILE = "audit-signing-key.pem"
_canonical = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), sort_keys=True).encode


class SigningKeyError(RuntimeError):
    """No usable signing key: the message says what to configure."""


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    event_id: int | None
    created_at: str
    key_id: str
    name: str


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def parse_private_key(value: str) -> Ed25519PrivateKey:
    """A PEM private key, base64 of the 32 raw bytes, or a path to a PEM file."""
    value = value.strip()
    if not value.startswith("-----BEGIN") and len(value) < 4096 and Path(value).is_file():
        value = Path(value).read_text().strip()
    try:
        if value.startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(value.encode(), password=None)
        else:
            key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(value, validate=True))
    except (ValueError, TypeError, binascii.Error) as error:
        raise SigningKeyError("VELFERDSLAB_AUDIT_SIGNING_KEY is not an Ed25519 key (PEM, or base64 of 32 bytes)") \
            from error
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError("VELFERDSLAB_AUDIT_SIGNING_KEY must be an Ed25519 key")
    return key


def parse_public_key(pem: bytes) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError("the public key is not an Ed25519 key")
    return key


def _dev_key(instance_path: Path) -> Ed25519PrivateKey:
    path = instance_path / DEV_KEY_FILE
    if not path.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
    return parse_private_key(path.read_text())


def signing_key() -> Ed25519PrivateKey:
    """The configured key; in development one generated into ``instance/`` once; never in production."""
    configured = current_app.config.get("AUDIT_SIGNING_KEY")
    if configured:
        return parse_private_key(configured)
    if current_app.config.get("VELFERDSLAB_ENV") == "production":
        raise SigningKeyError("VELFERDSLAB_AUDIT_SIGNING_KEY is not set; production does not sign checkpoints with "
                        "a generated key. Create one with `openssl genpkey -algorithm ed25519` and keep it "
                        "away from the database server.")
    return _dev_key(Path(current_app.instance_path))


def checkpoint_dir() -> Path:
    return Path(current_app.config["AUDIT_CHECKPOINT_DIR"])


def public_pem(key: Ed25519PrivateKey) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _head(connection) -> tuple[int, str, int | None]:
    row = connection.execute(text("SELECT chain_seq, hash, id FROM audit_event WHERE chain_seq IS NOT NULL "
                                  "ORDER BY chain_seq DESC LIMIT 1")).first()
    return (row[0], row[1], row[2]) if row else (0, "0" * 64, None)


def write(connection, key: Ed25519PrivateKey, directory: Path, now: datetime | None = None) -> Path:
    """Sign the chain's current head and write it as a new file in ``directory``; returns its path."""
    seq, digest, event_id = _head(connection)
    now = now or utcnow()
    payload = {"format": FORMAT, "seq": seq, "hash": digest, "event_id": event_id,
               "created_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "key_id": key_id(key.public_key())}
    payload["signature"] = base64.b64encode(key.sign(_canonical(payload).encode())).decode()
    directory.mkdir(parents=True, exist_ok=True)
    name = f"checkpoint-{seq:012d}-{now.strftime('%Y%m%dT%H%M%S%fZ')}.json"
    # Written whole or not at all: a temporary file in the same directory, then a rename.
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".checkpoint-", suffix=".tmp")
    with os.fdopen(fd, "w") as handle:
        json.dump(payload, handle, indent=2, sort_keys=True)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(tmp, 0o640)
    target = directory / name
    os.replace(tmp, target)
    return target


class BadCheckpoint(ValueError):
    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"{name}: {problem}")
        self.name = name
        self.problem = problem


def read(path: Path, trusted: list[Ed25519PublicKey]) -> Checkpoint:
    """One checkpoint file, its signature checked against the trusted public keys."""
    try:
        payload = json.loads(path.read_text())
        signature = base64.b64decode(payload.pop("signature"), validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise BadCheckpoint(path.name, "not a checkpoint file") from None
    if payload.get("format") != FORMAT:
        raise BadCheckpoint(path.name, "unknown format")
    message = _canonical(payload).encode()
    for public in trusted:
        try:
            public.verify(signature, message)
        except InvalidSignature:
            continue
        return Checkpoint(seq=int(payload["seq"]), hash=str(payload["hash"]), event_id=payload.get("event_id"),
                          created_at=str(payload["created_at"]), key_id=str(payload.get("key_id")), name=path.name)
    raise BadCheckpoint(path.name, "signature does not verify with the trusted key(s)")


def read_all(directory: Path, trusted: list[Ed25519PublicKey]) -> tuple[list[Checkpoint], list[BadCheckpoint]]:
    good: list[Checkpoint] = []
    bad: list[BadCheckpoint] = []
    if not directory.is_dir():
        return good, bad
    for path in sorted(directory.glob("checkpoint-*.json")):
        try:
            good.append(read(path, trusted))
        except BadCheckpoint as error:
            bad.append(error)
    return good, bad


def created(checkpoint: Checkpoint) -> datetime:
    return datetime.strptime(checkpoint.created_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def freshness(good: list[Checkpoint], directory: Path, max_age: timedelta, now: datetime | None = None):
    """A ``chain.Break`` when the newest good checkpoint is missing or older than ``max_age``, else None."""
    from velferdslab.audit import chain

    if not good:
        return chain.Break("checkpoint-missing", None, None, f"no signed checkpoint in {directory}: write one with "
                           "`velferdslab audit checkpoint` and schedule it (a cut-off tail is caught only up to "
                           "the newest checkpoint)")
    newest = max(good, key=created)
    age = (now or utcnow()) - created(newest)
    if age > max_age:
        hours = max_age.total_seconds() / 3600
        return chain.Break("checkpoint-stale", newest.seq, newest.event_id,
                           f"the newest checkpoint, {newest.name}, is {age.total_seconds() / 3600:.1f} hours old, "
                           f"older than the {hours:g} hours allowed (VELFERDSLAB_AUDIT_CHECKPOINT_MAX_AGE_HOURS): "
                           "is the scheduled `velferdslab audit checkpoint` running?")
    return None


def verify_trail(connection, directory: Path | None, trusted: list[Ed25519PublicKey], *,
                 max_age: timedelta | None = None, now: datetime | None = None):
    """The whole check: every checkpoint in ``directory`` (read first, so none is newer than the
    database snapshot that follows), then the chain against them. With ``max_age``, the newest
    checkpoint must exist and be younger than that. Returns an ``audit.chain.Report``."""
    from velferdslab.audit import chain

    good, bad = read_all(directory, trusted) if directory is not None else ([], [])
    report = chain.verify(connection, good)
    report.breaks[:0] = [chain.Break("checkpoint-signature", None, None, str(error)) for error in bad]
    if max_age is not None and directory is not None:
        stale = freshness(good, directory, max_age, now)
        if stale is not None:
            report.breaks.append(stale)
    return report
