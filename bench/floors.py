"""The floors of issue 19, measured in the same run as the figures they bound.

- **Family API read**: the same answer from *one* hand-written SELECT (every row the answer is made
  of: the family, its members, the latest enrolment, the current consents with their categories,
  the current team with names and agencies, the last two assessments' levels, the goals' themes and
  the open actions) plus one audit insert and its seal (the locked read of the chain head, then one
  statement that links the event and moves the head, as ``audit.chain.seal`` does), in one
  transaction on a long-lived connection. The audit rows go to scratch copies of ``audit_event``
  and ``audit_chain_head`` (``LIKE … INCLUDING ALL``: the same columns, indexes and constraints),
  so the real chain is never touched; they are dropped at the end. The body is the app's own
  answer for that family, captured once, so it is byte-identical by construction.
- **Family page template floor**: the render of ``cases/family.html`` inside the same request, timed
  between Flask's ``before_render_template`` and ``template_rendered`` signals: the same templates
  from data already loaded (the page model is loaded before the render, nothing is lazy-loaded in
  it), without the data loading, the gate, the session and the audit.

Both sides are measured in steady state: the app's connection has served ``steady`` requests before
the timing starts (psycopg prepares a statement after five executions, and PostgreSQL may then switch
it to a generic plan — issue 19's hidden slowdown), and so has the floor's.
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime

import psycopg

from bench import database
from bench.measure import get_ok, median

FAMILY_SQL = """
SELECT row_to_json(f) AS family,
  (SELECT json_agg(row_to_json(m) ORDER BY m.birth_year, m.id) FROM family_member m WHERE m.family_id = f.id)
    AS members,
  (SELECT row_to_json(e) FROM enrolment e WHERE e.family_id = f.id ORDER BY e.referred_on DESC, e.id DESC LIMIT 1)
    AS enrolment,
  (SELECT json_agg(json_build_object('consent', row_to_json(c), 'categories',
          (SELECT json_agg(cc.category ORDER BY cc.category) FROM consent_category cc WHERE cc.consent_id = c.id))
          ORDER BY c.recorded_at, c.id)
     FROM consent c WHERE c.family_id = f.id AND NOT EXISTS (SELECT 1 FROM consent n WHERE n.supersedes_id = c.id))
    AS consents,
  (SELECT json_agg(json_build_object('membership', row_to_json(tm), 'name', u.name, 'agency', a.name)
          ORDER BY tm.role, tm.start_date, tm.id)
     FROM team_membership tm JOIN investment_team t ON t.id = tm.team_id JOIN user_account u ON u.id = tm.user_id
     LEFT JOIN agency a ON a.id = tm.agency_id
    WHERE t.family_id = f.id AND tm.start_date <= current_date AND (tm.end_date IS NULL OR tm.end_date >= current_date))
    AS team,
  (SELECT json_agg(x.overall_level) FROM (SELECT ja.overall_level FROM journey_assessment ja
     WHERE ja.family_id = f.id AND ja.is_current ORDER BY ja.assessed_on DESC, ja.id DESC LIMIT 2) x) AS levels,
  (SELECT json_agg(DISTINCT g.theme) FROM goal g WHERE g.family_id = f.id) AS goal_themes,
  (SELECT json_agg(json_build_object('theme', g.theme, 'due_on', ac.due_on))
     FROM action ac LEFT JOIN goal g ON g.id = ac.goal_id
    WHERE ac.family_id = f.id AND ac.status IN ('planned', 'in_progress')) AS open_actions,
  (SELECT min(mt.next_meeting_on) FROM meeting mt WHERE mt.family_id = f.id AND mt.next_meeting_on >= current_date)
    AS next_meeting_on
FROM family f WHERE f.id = %s
"""


class AuditScratch:
    """Scratch copies of the audit tables, for the floors' audit writes (dropped by :meth:`drop`)."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn
        conn.execute("DROP TABLE IF EXISTS bench_floor_audit, bench_floor_head")
        conn.execute("CREATE TABLE bench_floor_audit (LIKE audit_event INCLUDING ALL)")
        conn.execute("CREATE TABLE bench_floor_head (LIKE audit_chain_head INCLUDING ALL)")
        conn.execute("INSERT INTO bench_floor_head SELECT * FROM audit_chain_head")
        cursor = conn.execute("SELECT * FROM audit_event WHERE action = 'family.view' ORDER BY id DESC LIMIT 1")
        names = [d.name for d in cursor.description]
        row = cursor.fetchone()
        if row is None:
            raise RuntimeError("no family.view audit event to copy the shape of")
        keep = [n for n in names if n not in ("id", "chain_seq", "prev_hash", "hash")]
        self.values = [row[names.index(n)] for n in keep]
        self.times = [i for i, n in enumerate(keep) if n in ("occurred_at", "created_at", "recorded_at")]
        self.insert = (f"INSERT INTO bench_floor_audit ({', '.join(keep)}) "  # noqa: S608 - our own column names
                       f"VALUES ({', '.join(['%s'] * len(keep))}) RETURNING id")
        conn.commit()

    def record_and_seal(self, cursor) -> None:
        values = list(self.values)
        for i in self.times:
            values[i] = datetime.now(UTC)
        values = [json.dumps(v) if isinstance(v, dict | list) else v for v in values]
        event_id = cursor.execute(self.insert, values).fetchone()[0]
        seq, prev = cursor.execute("SELECT seq, hash FROM bench_floor_head WHERE id = 1 FOR UPDATE").fetchone()
        digest = hashlib.sha256(f"{prev}|{event_id}|{seq + 1}".encode()).hexdigest()
        cursor.execute("WITH head AS (UPDATE bench_floor_head SET seq = %s, hash = %s WHERE id = 1) "
                       "UPDATE bench_floor_audit SET chain_seq = %s, prev_hash = %s, hash = %s WHERE id = %s",
                       (seq + 1, digest, seq + 1, prev, digest, event_id))

    def drop(self) -> None:
        self.conn.rollback()
        self.conn.execute("DROP TABLE IF EXISTS bench_floor_audit, bench_floor_head")
        self.conn.commit()


def api_read_vs_floor(client, url: str, family_id: int, token: str, requests: int, steady: int) -> dict:
    """Median milliseconds of the app's API read (in-process) and of its floor, both in steady state."""
    path = f"/api/v1/families/{family_id}"
    headers = {"Authorization": f"Bearer {token}"}

    def app_once() -> bytes:
        response = client.get(path, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} answered {response.status_code}")
        return response.get_data()

    body = b""
    for _ in range(steady):
        body = app_once()
    app_ms = []
    for _ in range(requests):
        started = time.perf_counter()
        app_once()
        app_ms.append((time.perf_counter() - started) * 1000)

    with psycopg.connect(database.libpq_url(url)) as conn:
        scratch = AuditScratch(conn)
        try:
            def floor_once() -> bytes:
                with conn.cursor() as cursor:
                    row = cursor.execute(FAMILY_SQL, (family_id,)).fetchone()
                    json.dumps(row, default=str)  # the rows go through the same kind of serialisation
                    scratch.record_and_seal(cursor)
                conn.commit()
                return body

            for _ in range(steady):
                floor_once()
            floor_ms = []
            for _ in range(requests):
                started = time.perf_counter()
                floor_once()
                floor_ms.append((time.perf_counter() - started) * 1000)
        finally:
            scratch.drop()
    return {"app_ms": median(app_ms), "floor_ms": median(floor_ms), "bytes": len(body)}


def page_vs_template_floor(client, path: str, requests: int, steady: int, template: str = "cases/family.html") -> dict:
    """Median milliseconds of the whole page request and of the render of its template inside it."""
    from flask import before_render_template, template_rendered

    renders: list[float] = []
    started_at: list[float] = []

    def before(sender, template, context, **extra):
        if template.name == wanted:
            started_at.append(time.perf_counter())

    def after(sender, template, context, **extra):
        if template.name == wanted and started_at:
            renders.append((time.perf_counter() - started_at.pop()) * 1000)

    wanted = template
    for _ in range(steady):
        get_ok(client, path)
    app = client.application
    before_render_template.connect(before, app)
    template_rendered.connect(after, app)
    try:
        totals = []
        for _ in range(requests):
            started = time.perf_counter()
            get_ok(client, path).get_data()
            totals.append((time.perf_counter() - started) * 1000)
    finally:
        before_render_template.disconnect(before, app)
        template_rendered.disconnect(after, app)
    if not renders:
        raise RuntimeError(f"{path} did not render {template}")
    return {"page_ms": median(totals), "template_ms": median(renders)}
