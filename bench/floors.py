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

    def __init__(self, conn: psycopg.Connection, action: str = "family.view") -> None:
        self.conn = conn
        conn.execute("DROP TABLE IF EXISTS bench_floor_audit, bench_floor_head")
        conn.execute("CREATE TABLE bench_floor_audit (LIKE audit_event INCLUDING ALL)")
        conn.execute("CREATE TABLE bench_floor_head (LIKE audit_chain_head INCLUDING ALL)")
        conn.execute("INSERT INTO bench_floor_head SELECT * FROM audit_chain_head")
        for wanted in (action, "family.view"):  # the shape of the action's own event if there is one
            cursor = conn.execute("SELECT * FROM audit_event WHERE action = %s ORDER BY id DESC LIMIT 1", (wanted,))
            names = [d.name for d in cursor.description]
            row = cursor.fetchone()
            if row is not None:
                break
        if row is None:
            raise RuntimeError(f"no {action} audit event to copy the shape of")
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


# --- the approval floor ----------------------------------------------------------------------------

APPROVAL_LOCK_SPEND = """
SELECT s.lab_id, s.family_id, s.budget_year, s.amount, s.requester_id,
       EXISTS (SELECT 1 FROM budget_year_close y WHERE y.lab_id = s.lab_id AND y.year = s.budget_year),
       f.agency_id, f.amount
  FROM spend_request s JOIN spend_funding f ON f.spend_request_id = s.id
 WHERE s.id = %s AND s.status = 'requested' ORDER BY f.agency_id FOR UPDATE OF s
"""
# The limits of a team-lead rule that are not per spend: what team leads approved this year, for
# the family (the rule's per-family-year limit) and from the agency in the lab (per agency-year).
APPROVED_FOR_FAMILY = """
SELECT COALESCE(sum(amount), 0) FROM spend_request
 WHERE family_id = %s AND budget_year = %s AND approved_role = 'team_lead' AND status IN ('approved', 'paid')
   AND id <> %s
"""
APPROVED_FROM_AGENCY = """
SELECT COALESCE(sum(f.amount), 0) FROM spend_funding f JOIN spend_request s ON s.id = f.spend_request_id
 WHERE f.agency_id = %s AND s.lab_id = %s AND s.budget_year = %s AND s.approved_role = 'team_lead'
   AND s.status IN ('approved', 'paid') AND s.id <> %s
"""
APPROVAL_LOCK_ACCOUNTS = "SELECT id, code, balance FROM ledger_account WHERE code = ANY(%s) ORDER BY id FOR UPDATE"
APPROVAL_WRITE = """
WITH moved AS (
  INSERT INTO ledger_transfer (lab_id, kind, debit_account_id, credit_account_id, amount, spend_request_id,
                               created_by_id, created_at)
  SELECT %(lab)s, 'reserve', d, c, a, %(spend)s, %(user)s, now()
    FROM unnest(%(debits)s::int[], %(credits)s::int[], %(amounts)s::bigint[]) AS t(d, c, a)
  RETURNING id
), decided AS (
  INSERT INTO spend_decision (spend_request_id, decision, user_id, role, rule_id, rule_version, final, created_at)
  VALUES (%(spend)s, 'approve', %(user)s, 'team_lead', %(rule)s, %(version)s, true, now())
), status AS (
  UPDATE spend_request SET status = 'approved', approved_role = 'team_lead', decided_at = now() WHERE id = %(spend)s
), remembered AS (
  INSERT INTO budget_idempotency_key (user_id, "key", operation, spend_request_id, created_at)
  VALUES (%(user)s, %(key)s, 'approve', %(spend)s, now())
)
SELECT count(*) FROM moved
"""


def _codes(year: int, family_id: int, agency_id: int) -> tuple[str, str, str]:
    return (f"allocation:{year}:{agency_id}:{family_id}", f"committed:{year}:{agency_id}:{family_id}",
            f"pool:{year}:{agency_id}:0")


def prepare_approval_floor(url: str, items: list[tuple[int, int]]) -> dict:
    """What the floor needs ready before it is timed: the team-lead rule in force per lab, and every
    committed account its spends reserve into (the app opens a missing one in a savepoint)."""
    import uuid

    with psycopg.connect(database.libpq_url(url)) as conn:
        # The team-lead rules of every agency in the rule set in force, smallest limit first (the
        # app's tiers): an approval takes the first whose limits it is within.
        rules: dict[int, list[tuple]] = {}
        for lab, rule, version, per_spend, per_family_year, per_agency_year in conn.execute(
                "SELECT rs.lab_id, r.id, rs.version, r.max_per_spend, r.max_per_family_year, r.max_per_agency_year "
                "FROM authority_rule_set rs JOIN authority_rule r ON r.rule_set_id = rs.id AND r.role = 'team_lead' "
                "AND r.agency_id IS NULL AND r.funding_agency_id IS NULL "
                "WHERE rs.version = (SELECT max(v.version) FROM authority_rule_set v WHERE v.lab_id = rs.lab_id) "
                "ORDER BY rs.lab_id, r.max_per_spend NULLS LAST, r.id").fetchall():
            rules.setdefault(lab, []).append((rule, version, per_spend, per_family_year, per_agency_year))
        for lab_id, family_id, year, agency_id in conn.execute(
                "SELECT s.lab_id, s.family_id, s.budget_year, f.agency_id FROM spend_request s "
                "JOIN spend_funding f ON f.spend_request_id = s.id WHERE s.id = ANY(%s)",
                ([sid for sid, _ in items],)).fetchall():
            conn.execute("INSERT INTO ledger_account (lab_id, kind, year, agency_id, family_id, code, balance, "
                         "created_at) VALUES (%s, 'committed', %s, %s, %s, %s, 0, now()) ON CONFLICT DO NOTHING",
                         (lab_id, year, agency_id, family_id, _codes(year, family_id, agency_id)[1]))
        conn.commit()
    return {"rules": rules, "keys": {sid: f"floor-{uuid.uuid4().hex}" for sid, _ in items}}


def approval_floor(url: str, items: list[tuple[int, int]], clients: int) -> dict:
    """The hand-written transaction writing the rows one final team-lead approval writes, by
    ``clients`` threads on a connection each, as the app's approvals are measured: the spend locked
    with its funding (one statement), the family's allocation and committed accounts and the
    funding agencies' pools locked in one statement (id order), the money checked, then one
    statement writing the reserve transfers (the balance trigger runs), the decision, the status
    and the idempotency key, and the audit event with its seal (scratch audit tables, as for the
    API floor). Every limit the app checks is checked: the requester may not approve, a closed
    budget year moves no money, the money must be there per funding agency, and the team-lead
    rule's limits (per spend; per family and year, per agency and year when the rule sets them —
    one query each, as in the app). ``items`` are (spend id, lead user id)."""
    import queue
    import threading

    ready = prepare_approval_floor(url, items)
    work: queue.Queue = queue.Queue()
    for item in items:
        work.put(item)
    outcomes: list[str] = []
    guard = threading.Lock()
    with psycopg.connect(database.libpq_url(url)) as setup_conn:
        scratch = AuditScratch(setup_conn, action="spend.approve")
        try:
            def client() -> None:
                mine = []
                with psycopg.connect(database.libpq_url(url)) as conn:
                    while True:
                        try:
                            spend_id, user_id = work.get_nowait()
                        except queue.Empty:
                            break
                        mine.append(_approve_by_hand(conn, scratch, ready, spend_id, user_id))
                with guard:
                    outcomes.extend(mine)

            threads = [threading.Thread(target=client) for _ in range(clients)]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - started
        finally:
            scratch.drop()
    counts = {o: outcomes.count(o) for o in set(outcomes)}
    approved = counts.get("approved", 0)
    return {"seconds": elapsed, "outcomes": counts, "approved": approved,
            "rate": approved / elapsed if elapsed else 0.0}


def _within(cursor, limits: tuple, spend_id: int, lab_id: int, family_id: int, year: int, amount: int,
            parts: list[tuple[int, int]]) -> bool:
    """The checks of ``budget.services._within`` for a rule that names no funding agency: the
    amount per spend, what team leads approved for the family this year, and per funding agency
    what they approved from it in the lab (the limits a rule leaves empty are not checked)."""
    _rule, _version, per_spend, per_family_year, per_agency_year = limits
    if per_spend is not None and amount > per_spend:
        return False
    if per_family_year is not None:
        used = cursor.execute(APPROVED_FOR_FAMILY, (family_id, year, spend_id)).fetchone()[0]
        if used + amount > per_family_year:
            return False
    if per_agency_year is not None:
        for agency_id, part in parts:
            used = cursor.execute(APPROVED_FROM_AGENCY, (agency_id, lab_id, year, spend_id)).fetchone()[0]
            if used + part > per_agency_year:
                return False
    return True


def _approve_by_hand(conn: psycopg.Connection, scratch: AuditScratch, ready: dict, spend_id: int, user_id: int) -> str:
    try:
        with conn.cursor() as cursor:
            rows = cursor.execute(APPROVAL_LOCK_SPEND, (spend_id,)).fetchall()
            if not rows:
                conn.rollback()
                return "not waiting"
            lab_id, family_id, year, amount, requester_id, closed = rows[0][:6]
            parts = [(agency, part) for *_, agency, part in rows]
            if requester_id == user_id or closed:  # never the requester; a closed year moves no money
                conn.rollback()
                return "refused"
            codes = {agency: _codes(year, family_id, agency) for agency, _part in parts}
            locked = {code: (account_id, balance) for account_id, code, balance in cursor.execute(
                APPROVAL_LOCK_ACCOUNTS, ([c for trio in codes.values() for c in trio],)).fetchall()}
            if any(code not in locked for trio in codes.values() for code in trio[:2]) \
                    or sum(locked[codes[a][0]][1] for a, _p in parts) < amount \
                    or any(locked[codes[a][0]][1] < p for a, p in parts):
                conn.rollback()
                return "refused"
            # The authority, read after the accounts are locked (as the app does): the first tier
            # whose limits the spend is within.
            tier = next((t for t in ready["rules"].get(lab_id, ())
                         if _within(cursor, t, spend_id, lab_id, family_id, year, amount, parts)), None)
            if tier is None:
                conn.rollback()
                return "over authority"
            rule, version = tier[:2]
            cursor.execute(APPROVAL_WRITE, {
                "lab": lab_id, "spend": spend_id, "user": user_id, "rule": rule, "version": version,
                "key": ready["keys"][spend_id],
                "debits": [locked[codes[a][0]][0] for a, _p in parts],
                "credits": [locked[codes[a][1]][0] for a, _p in parts],
                "amounts": [p for _a, p in parts]})
            scratch.record_and_seal(cursor)
        conn.commit()
        return "approved"
    except psycopg.Error:
        conn.rollback()
        return "error"
