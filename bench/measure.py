"""The measurements. Each figure is taken next to its floor, in the same run, on the same data.

In-process measurements use the app's own test client against the bench database (server time
without the network); load measurements use gunicorn on loopback (see ``bench.load``).
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import random
import re
import secrets
import statistics
import subprocess
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import psycopg

from bench import database
from bench.load import CSRF_RE, ROOT, app_environment


@dataclass
class Figure:
    """One line of the table: the figure, its floor, the ratio, the target and the verdict."""

    key: str
    label: str
    value: float | None
    unit: str
    floor: float | None = None
    floor_label: str = ""
    floor_unit: str | None = None  # when the floor is not in the figure's unit
    ratio: float | None = None
    ratio_label: str = ""
    target: str = ""
    passed: bool | None = None
    note: str = ""
    extra: dict = field(default_factory=dict)


def median(values) -> float:
    return statistics.median(values) if values else float("nan")


# --- the app in this process -------------------------------------------------------------------

def make_app(database_url: str, secret: str):
    """The app with production settings on the bench database (the environment is set only while the
    configuration is read). The test client speaks plain HTTP, so the cookie may not be Secure-only."""
    from velferdslab import create_app

    wanted = {k: v for k, v in app_environment(database_url, secret).items() if k.startswith("VELFERDSLAB_")}
    saved = {k: os.environ.get(k) for k in wanted}
    os.environ.update(wanted)
    try:
        return create_app({"SESSION_COOKIE_SECURE": False, "RATELIMIT_STORAGE_URI": "memory://"})
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def signed_in_client(app, email: str, password: str):
    client = app.test_client()
    html = client.get("/logg-inn").get_data(as_text=True)
    match = CSRF_RE.search(html)
    response = client.post("/logg-inn", data={"email": email, "password": password,
                                              "csrf_token": match.group(1) or match.group(2)})
    if response.status_code not in (302, 303):
        raise RuntimeError(f"in-process login of {email} failed: {response.status_code}")
    return client


@contextmanager
def statements(app):
    """Collect (statement, parameters) of every SQL statement sent, savepoints aside."""
    from sqlalchemy import event

    from velferdslab.extensions import db

    seen: list[tuple[str, object]] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK TO")):
            seen.append((statement, parameters))

    with app.app_context():
        engines = list({id(e): e for e in [db.engine, *db.engines.values()]}.values())
    for engine in engines:
        event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", before)


def get_ok(client, path: str):
    response = client.get(path)
    if response.status_code != 200:
        raise RuntimeError(f"GET {path} answered {response.status_code}")
    return response


def timed(client, path: str, n: int) -> list[float]:
    """Milliseconds per request, ``n`` requests."""
    out = []
    for _ in range(n):
        started = time.perf_counter()
        get_ok(client, path).get_data()
        out.append((time.perf_counter() - started) * 1000)
    return out


def count_statements(app, client, path: str) -> tuple[int, list[str]]:
    get_ok(client, path)  # warm: caches, first-use rule sets, compiled statements
    with statements(app) as seen:
        get_ok(client, path)
    return len(seen), [s for s, _p in seen]


# --- audit write overhead on the family page ----------------------------------------------------

def audit_overhead(client, path: str, rounds: int, per_round: int) -> tuple[float, float]:
    """Median server time of the page with audit writing as shipped, and with ``audit.record``
    replaced by a no-op in this process only (nothing is written, so nothing is sealed at commit).
    Rounds alternate so drift on a noisy machine hits both sides alike."""
    from velferdslab.audit import services as audit_services

    original = audit_services.record
    timed(client, path, 5)
    on, off = [], []
    for _ in range(rounds):
        on += timed(client, path, per_round)
        audit_services.record = lambda *args, **kwargs: None
        try:
            off += timed(client, path, per_round)
        finally:
            audit_services.record = original
    return median(on), median(off)


# --- reports (present when velferdslab.reports provides them) -----------------------------------

def find_endpoint(app, patterns: tuple[str, ...], with_family: bool) -> str | None:
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        if with_family != ("family_id" in rule.arguments):
            continue
        if any(re.fullmatch(p, rule.endpoint) for p in patterns):
            return rule.endpoint
    return None


OUTCOME_ENDPOINTS = (r"reports\.outcome", r"reports\.outcome_report", r"reports\.outcome_page")
OUTCOME_API_ENDPOINTS = (r"reports_api\.Outcome.*", r"reports_api\.outcome.*")
PROGRESS_PDF_ENDPOINTS = (r"reports\.progress_pdf", r"reports\.progress_report_pdf", r"reports\.progress",
                          r"reports\.family_progress_pdf", r"reports\.progress_report")


def url_for(app, endpoint: str, **values) -> str:
    from flask import url_for as flask_url_for

    with app.test_request_context():
        return flask_url_for(endpoint, **values)


def replay(url: str, captured: list[tuple[str, object]], skip_tables: tuple[str, ...]) -> float:
    """Run the captured statements straight through psycopg (the SQL floor); milliseconds."""
    wanted = [(s, p) for s, p in captured if s.lstrip().upper().startswith(("SELECT", "WITH"))
              and not any(re.search(rf"\b{t}\b", s) for t in skip_tables)]
    with psycopg.connect(database.libpq_url(url)) as conn:
        started = time.perf_counter()
        with conn.cursor() as cursor:
            for statement, parameters in wanted:
                cursor.execute(statement, parameters or None)
                if cursor.description is not None:
                    cursor.fetchall()
        elapsed = (time.perf_counter() - started) * 1000
        conn.rollback()
    return elapsed


# Statements every signed-in request makes (who is asking) and the audit trail; the floor of a
# report is the report's own aggregate SQL.
NOT_REPORT_TABLES = ("auth_session", "user_account", "user_role", "api_token", "audit_event", "audit_chain_head",
                     "emergency_access", "report_snapshot")


def clear_snapshots(url: str) -> None:
    """Forget the kept rows of published reports (``reports.snapshots``): the next reading computes."""
    with psycopg.connect(database.libpq_url(url)) as conn:
        conn.execute("DELETE FROM report_snapshot")


def outcome_vs_floor(app, client, url: str, path: str, repeats: int, warm: int = 1,
                     warm_budget: float | None = None, slow: float | None = None) -> dict:
    """The report computed against its own SQL replayed, and the report read back.

    A published quarter is computed by its first reading and kept (``reports.snapshots``); so after
    ``warm`` requests on the same connection (steady state: past psycopg's prepare threshold, where
    generic plans can appear) each timed round forgets the kept rows, times the reading that
    computes them (``report_ms``; its SQL replayed through psycopg is ``sql_ms``), then times a
    reading of the same report again (``steady_ms``: read back). With ``warm_budget`` (seconds)
    the warm-up stops early once it has taken that long, and with ``slow`` a report whose
    computation took longer than that is timed once, not ``repeats`` times (so a very slow report
    cannot hold the run for an hour); the answer says how many of each were made."""
    times, floors, steady = [], [], []
    warmed, started = 0, time.perf_counter()
    while warmed < warm:
        clear_snapshots(url)  # each warm-up request computes: the statements run past the prepare threshold
        get_ok(client, path)
        warmed += 1
        if warm_budget is not None and time.perf_counter() - started > warm_budget:
            break
    rounds, done = repeats, 0
    while done < rounds:
        clear_snapshots(url)
        with statements(app) as seen:
            mark = time.perf_counter()
            get_ok(client, path).get_data()
            times.append((time.perf_counter() - mark) * 1000)
        floors.append(replay(url, seen, NOT_REPORT_TABLES))
        with statements(app) as read_back:
            mark = time.perf_counter()
            get_ok(client, path).get_data()
            steady.append((time.perf_counter() - mark) * 1000)
        done += 1
        if slow is not None and times[-1] > slow * 1000:
            rounds = 1
    return {"report_ms": median(times), "sql_ms": median(floors), "steady_ms": median(steady),
            "statements": len(seen), "steady_statements": len(read_back), "warm": warmed, "repeats": done}


def cut_reading(client, url: str, path: str, repeats: int, attempts: int = 5) -> dict:
    """A first reading that cannot finish in one request (it answers 503 at the request's database
    deadline): how long until the cut, how many readings until one answers 200 (each goes on from
    the rows the ones before it kept), and the median of ``repeats`` readings after that."""
    clear_snapshots(url)
    mark = time.perf_counter()
    first = client.get(path)
    first.get_data()
    cut_ms = (time.perf_counter() - mark) * 1000
    readings, until_ms, status = 1, cut_ms, first.status_code
    while status != 200 and readings < attempts:
        mark = time.perf_counter()
        response = client.get(path)
        response.get_data()
        until_ms += (time.perf_counter() - mark) * 1000
        readings, status = readings + 1, response.status_code
    if status != 200:
        raise RuntimeError(f"GET {path} answered {status} {readings} times in a row")
    return {"first_status": first.status_code, "cut_ms": cut_ms, "readings": readings, "until_ms": until_ms,
            "steady_ms": median(timed(client, path, repeats))}


def progress_pdf_vs_weasyprint(client, path: str, repeats: int) -> dict:
    """The PDF request against WeasyPrint rendering the very HTML that request produced, alone."""
    from weasyprint import HTML

    from velferdslab.core import pdf

    captured: list[str] = []
    original = pdf.render_pdf

    def capture(html, **kwargs):
        captured.append(html)
        return original(html, **kwargs)

    pdf.render_pdf = capture
    try:
        get_ok(client, path)
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            body = get_ok(client, path).get_data()
            times.append((time.perf_counter() - started) * 1000)
    finally:
        pdf.render_pdf = original
    if not captured:
        raise RuntimeError("the progress report did not go through core.pdf.render_pdf")
    html = captured[-1]
    bare = []
    for _ in range(repeats):
        started = time.perf_counter()
        HTML(string=html, base_url=pdf.BASE_URL, url_fetcher=pdf.StaticOnlyFetcher()).write_pdf(**pdf.PDF_OPTIONS)
        bare.append((time.perf_counter() - started) * 1000)
    return {"pdf_ms": median(times), "weasyprint_ms": median(bare), "bytes": len(body), "html_bytes": len(html)}


def peak_rss(database_url: str, secret: str, email: str, password: str, path: str) -> dict:
    """A fresh worker-like process renders ``path`` once; its peak RSS before and after."""
    env = {**os.environ, **app_environment(database_url, secret)}
    out = subprocess.run([sys.executable, "-m", "bench.rss", email, password, path], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        lines = [line for line in out.stderr.splitlines() if line.strip() and " INFO " not in line]
        raise RuntimeError("rss probe failed: " + (lines[-1] if lines else f"exit {out.returncode}"))
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- spend approvals under 50 concurrent clients ------------------------------------------------

def make_token(conn, user_id: int) -> str:
    plain = "vlt_" + secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    conn.execute("INSERT INTO api_token (user_id, name, prefix, token_hash, created_at, expires_at) "
                 "VALUES (%s, %s, %s, %s, %s, %s)",
                 (user_id, "benchmark", plain[:12], hashlib.sha256(plain.encode()).hexdigest(), now,
                  now + timedelta(days=1)))
    return plain


def family_available(conn, family_id: int, year: int) -> int:
    return int(conn.execute("SELECT COALESCE(sum(balance), 0) FROM ledger_account WHERE family_id = %s AND year = %s "
                            "AND kind = 'allocation'", (family_id, year)).fetchone()[0])


def prepare_approvals(url: str, limit: int, contention_family: int, contention_requests: int,
                      spare: tuple[int, ...] = ()) -> dict:
    """Requests to approve: waiting team-route requests of this budget year (each with a token
    for its family's lead; as many again, as (spend id, lead id), for the floor), plus
    ``contention_requests`` new requests on one family that together ask for half again as much as
    it has — so some of them must be refused, and none may overspend.
    The ``spare`` families are left alone (the showcase family, whose reports the bench measures:
    a ``--reuse`` run must find it as the installation made it)."""
    year = datetime.now(UTC).year
    with psycopg.connect(database.libpq_url(url)) as conn:
        rows = conn.execute(
            "SELECT s.id, m.user_id FROM spend_request s JOIN team_membership m ON m.family_id = s.family_id "
            "AND m.role = 'lead' AND m.end_date IS NULL WHERE s.status = 'requested' AND s.route = 'team' "
            "AND s.budget_year = %s AND s.family_id <> ALL(%s) AND s.requester_id <> m.user_id ORDER BY s.id LIMIT %s",
            (year, [contention_family, *spare], 2 * limit + 1)).fetchall()
        lead = conn.execute("SELECT user_id FROM team_membership WHERE family_id = %s AND role = 'lead' "
                            "AND end_date IS NULL", (contention_family,)).fetchone()[0]
        requester, goal = conn.execute(
            "SELECT m.user_id, g.id FROM team_membership m JOIN goal g ON g.family_id = m.family_id "
            "WHERE m.family_id = %s AND m.role = 'member' AND m.end_date IS NULL LIMIT 1",
            (contention_family,)).fetchone()
        lab_id = conn.execute("SELECT lab_id FROM family WHERE id = %s", (contention_family,)).fetchone()[0]
        # Whatever the family has waiting already is not part of this test.
        conn.execute("UPDATE spend_request SET route = 'management' WHERE family_id = %s AND status = 'requested'",
                     (contention_family,))
        available = family_available(conn, contention_family, year)
        # Funded by the agency that gave the family most (an approval reserves per funding agency;
        # a request without funding is refused before any money moves, which would test nothing).
        funder, funder_left = conn.execute(
            "SELECT agency_id, balance FROM ledger_account WHERE family_id = %s AND year = %s "
            "AND kind = 'allocation' ORDER BY balance DESC, id LIMIT 1", (contention_family, year)).fetchone()
        each = max(100, -(-funder_left * 3 // 2 // contention_requests))
        each = min(each, 50_000 * 100)  # within the lead's authority
        now = datetime.now(UTC)
        contention = []
        for _ in range(contention_requests):
            contention.append(conn.execute(
                "INSERT INTO spend_request (lab_id, family_id, budget_year, requester_id, amount, payee, purpose, "
                "category, theme, goal_id, expected_effect, level_to, wanted_on, status, route, created_at, "
                "submitted_at, version) VALUES (%s, %s, %s, %s, %s, 'Leverandør AS', 'Benkemerke', 'other', "
                "'okonomi', %s, 'Mer stabil økonomi', 3, %s, 'requested', 'team', %s, %s, 1) RETURNING id",
                (lab_id, contention_family, year, requester, each, goal, now.date(), now, now)).fetchone()[0])
            conn.execute("INSERT INTO spend_funding (spend_request_id, agency_id, amount) VALUES (%s, %s, %s)",
                         (contention[-1], funder, each))
        tokens = {uid: make_token(conn, uid) for uid in {r[1] for r in rows} | {lead}}
        conn.commit()
    items = [(sid, tokens[uid]) for sid, uid in rows]
    # Every other request goes to the hand-written floor (bench.floors.approval_floor), so both sides
    # approve requests of the same kind, families and labs.
    return {"items": items[1::2], "probe": items[0] if items else None, "floor_items": rows[2::2],
            "contention": [(sid, tokens[lead]) for sid in contention],
            "contention_family": contention_family, "available_before": available, "each": each, "year": year}


def approve_all(base: str, items: list[tuple[int, str]], clients: int) -> dict:
    import http.client
    import urllib.parse

    work: queue.Queue = queue.Queue()
    for item in items:
        work.put(item)
    statuses: list[int] = []
    lock = threading.Lock()
    parts = urllib.parse.urlsplit(base)

    def client() -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
        mine = []
        while True:
            try:
                spend_id, token = work.get_nowait()
            except queue.Empty:
                break
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                       "Idempotency-Key": f"bench-{uuid.uuid4().hex}"}
            try:
                conn.request("POST", f"/api/v1/spend-requests/{spend_id}/approve", body=b"{}", headers=headers)
                response = conn.getresponse()
                response.read()
                mine.append(response.status)
            except OSError:
                mine.append(0)
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
        conn.close()
        with lock:
            statuses.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    counts: dict[int, int] = {}
    for status in statuses:
        counts[status] = counts.get(status, 0) + 1
    return {"seconds": elapsed, "statuses": counts, "approved": counts.get(200, 0)}


def approval_statements(app, spend_id: int, token: str) -> tuple[int, int]:
    """(status, SQL statements) of one approval through the API, in-process."""
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": f"bench-{uuid.uuid4().hex}"}
    with statements(app) as seen:
        response = client.post(f"/api/v1/spend-requests/{spend_id}/approve", json={}, headers=headers)
    return response.status_code, len(seen)


def approvals(base: str, url: str, plan: dict, clients: int) -> dict:
    items = plan["items"] + plan["contention"]
    random.Random(7).shuffle(items)
    result = approve_all(base, items, clients)
    contention_ids = [sid for sid, _t in plan["contention"]]
    with psycopg.connect(database.libpq_url(url)) as conn:
        approved_sum = int(conn.execute("SELECT COALESCE(sum(amount), 0) FROM spend_request WHERE id = ANY(%s) "
                                        "AND status = 'approved'", (contention_ids,)).fetchone()[0])
        approved_n = conn.execute("SELECT count(*) FROM spend_request WHERE id = ANY(%s) AND status = 'approved'",
                                  (contention_ids,)).fetchone()[0]
        left = family_available(conn, plan["contention_family"], plan["year"])
    result.update(contention_requests=len(contention_ids), contention_approved=approved_n,
                  contention_available_before=plan["available_before"], contention_approved_sum=approved_sum,
                  contention_left=left, overspend=max(0, approved_sum - plan["available_before"]) + max(0, -left))
    result["rate"] = result["approved"] / result["seconds"] if result["seconds"] else 0.0
    return result


# --- audit verify ---------------------------------------------------------------------------------

def audit_verify(app) -> dict:
    """``audit verify`` (the chain alone) against reading the same rows without hashing."""
    from velferdslab.audit import chain
    from velferdslab.extensions import db

    with app.app_context():
        with db.engine.connect() as connection:
            started = time.perf_counter()
            rows = sum(1 for _row in chain._rows(connection, 10_000))
            read_seconds = time.perf_counter() - started
        with db.engine.connect() as connection:
            report = chain.verify(connection)
    return {"events": report.checked, "seconds": report.seconds, "ok": report.ok,
            "breaks": [str(b) for b in report.breaks][:3], "rate": report.checked / report.seconds,
            "read_rate": rows / read_seconds if read_seconds else 0.0}
