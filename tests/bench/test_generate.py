"""The benchmark's generator at a tiny scale: the data it loads is consistent by the app's own checks."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.postgres, pytest.mark.real_commits]


@pytest.fixture(scope="module")
def generated():
    """A fresh PostgreSQL database, migrated and filled at the ``tiny`` scale."""
    import secrets

    import psycopg

    from bench import database, measure
    from bench.checks import check
    from bench.generate import BENCH_PASSWORD, SCALES, Generator
    from tests.conftest import create_pg_database, drop_pg_database, pg_url
    from velferdslab.auth.services import hash_password
    from velferdslab.extensions import db

    name = create_pg_database()
    url = pg_url(name)
    try:
        database.migrate(url)
        with psycopg.connect(database.libpq_url(url)) as conn:
            result = Generator(conn, SCALES["tiny"], seed=7, log=lambda *_: None).run(hash_password(BENCH_PASSWORD))
        app = measure.make_app(url, secrets.token_urlsafe(48))
        yield result, app, check(app)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    finally:
        drop_pg_database(name)


def test_ledger_is_balanced_and_the_audit_chain_verifies(generated):
    result, _app, consistency = generated
    assert consistency.ledger_problems == []
    assert consistency.overdrawn_families == 0
    assert consistency.chain_ok, consistency.chain_breaks
    assert consistency.chain_checked == result.counts["audit_event"] > 0


def test_counts_are_what_the_generator_says_it_loaded(generated):
    result, _app, consistency = generated
    scale = result.scale
    for table in ("lab", "family", "theme_rating", "spend_request", "ledger_transfer", "audit_event"):
        assert consistency.counts[table] == result.counts[table], table
    # The regular labs, and the extra lab of the one-lab outcome report figure.
    assert scale.large_lab > 0
    assert consistency.counts["lab"] == scale.labs + 1
    assert consistency.counts["family"] == scale.families + scale.large_lab
    regular = result.counts - result.large_lab_counts
    # The targets are met within a fifth by the regular labs (the mix is random, the seed is fixed).
    assert 0.8 * scale.spend_requests <= regular["spend_request"] <= 1.2 * scale.spend_requests
    assert 0.8 * scale.audit_events <= result.counts["audit_event"] <= 1.2 * scale.audit_events
    assert regular["theme_rating"] >= 0.8 * scale.theme_ratings


def test_the_large_lab_has_its_families_with_the_same_history(generated):
    """The extra lab holds ``scale.large_lab`` families in one lab, with as much history per family as
    the regular labs (the same cadence and spend rate), and no audit trail of its own."""
    import psycopg

    from bench import database

    result, app, _consistency = generated
    scale, lab_id = result.scale, result.users.large_lab_id
    assert lab_id == scale.labs + 1
    assert result.users.large_lab_manager_email.startswith("leder1.")
    with psycopg.connect(database.libpq_url(app.config["SQLALCHEMY_DATABASE_URI"])) as conn:
        families = dict(conn.execute("SELECT lab_id, count(*) FROM family GROUP BY lab_id").fetchall())
        ratings = dict(conn.execute(
            "SELECT f.lab_id, count(*) FROM theme_rating r JOIN journey_assessment a ON a.id = r.assessment_id "
            "JOIN family f ON f.id = a.family_id GROUP BY f.lab_id").fetchall())
        spends = dict(conn.execute("SELECT lab_id, count(*) FROM spend_request GROUP BY lab_id").fetchall())
        audited = conn.execute("SELECT count(*) FROM audit_event WHERE lab_id = %s", (lab_id,)).fetchone()[0]
        manager = conn.execute("SELECT u.lab_id FROM user_account u JOIN user_role r ON r.user_id = u.id "
                               "AND r.role = 'manager' WHERE u.email = %s",
                               (result.users.large_lab_manager_email,)).fetchone()
    assert families[lab_id] == scale.large_lab == result.large_lab_counts["family"]
    assert manager == (lab_id,)
    assert audited == 0
    regular_families = sum(n for lab, n in families.items() if lab != lab_id)
    regular_ratings = sum(n for lab, n in ratings.items() if lab != lab_id)
    regular_spends = sum(n for lab, n in spends.items() if lab != lab_id)
    # Per family within a third of the regular labs' (random enrolment lengths; the seed is fixed).
    assert 0.67 < (ratings[lab_id] / families[lab_id]) / (regular_ratings / regular_families) < 1.5
    assert 0.67 < (spends[lab_id] / families[lab_id]) / (regular_spends / regular_families) < 1.5


def test_the_large_lab_figure_is_measured(generated):
    """The one-lab outcome report figure over the extra lab: a value, its SQL floor, the family count."""
    import secrets

    from bench import scenarios
    from bench.generate import SCALES

    result, app, _consistency = generated
    users = {"manager_email": "leder1.lab1@bench.velferdslab.invalid", "large_lab_id": result.users.large_lab_id,
             "large_lab_manager_email": result.users.large_lab_manager_email}
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    env = scenarios.Env(url=url, sa_url=url, secret=secrets.token_urlsafe(16), app=app, users=users, seconds=1,
                        connections=1, workers=1, approval_clients=1, wrk=None, scale=SCALES["tiny"],
                        context={"generation": {"today": result.today.isoformat()}})
    figures: list = []
    app.config["REPORT_SNAPSHOT_SETTLE_SECONDS"] = 0  # as the bench runs it (bench.load.app_environment)
    try:
        scenarios.outcome_report_large_lab(env, figures)
    finally:
        app.config["REPORT_SNAPSHOT_SETTLE_SECONDS"] = 300
    figure, read_back = figures
    assert figure.key == "outcome_report_large_lab"
    assert f"one lab of {result.scale.large_lab} families" in figure.label
    assert figure.value > 0 and figure.floor > 0 and figure.ratio == figure.value / figure.floor
    # read again, the published report's aggregates are not computed again: far fewer statements
    assert read_back.key == "outcome_report_large_lab_read_back" and read_back.floor == figure.value
    assert read_back.extra["steady_statements"] < read_back.extra["statements"] - 10


def test_every_in_process_page_figure_carries_its_floor(generated):
    """The family API read, the family page and the two daily lists are each measured with a floor
    from the same requests (issue 19), and judged against their targets."""
    import secrets

    from bench import scenarios
    from bench.generate import SCALES

    result, app, _consistency = generated
    users = {"lead_email": result.users.lead_email, "lead_id": result.users.lead_id,
             "showcase_family_id": result.users.showcase_family_id}
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    env = scenarios.Env(url=url, sa_url=url, secret=secrets.token_urlsafe(16), app=app, users=users, seconds=1,
                        connections=1, workers=1, approval_clients=1, wrk=None, scale=SCALES["tiny"], context={})
    figures: list = []
    scenarios.floor_figures(env, figures)
    by_key = {f.key: f for f in figures}
    assert set(by_key) == {"family_api_floor", "family_page_floor", "my_families_floor", "my_tasks_floor"}
    for key in ("my_families_floor", "my_tasks_floor"):
        figure = by_key[key]
        # the template's render is part of the page's request, so it is the smaller of the two
        assert 0 < figure.floor < figure.value and figure.ratio == figure.value / figure.floor
        assert figure.passed == (figure.ratio <= 3) and figure.target == "≤ 3× its template floor"
    assert "dashboard/tasks.html" in by_key["my_tasks_floor"].note


def test_the_bench_users_see_what_the_measurements_need(generated):
    from sqlalchemy import func, select

    from velferdslab.auth.models import User
    from velferdslab.cases.gate import accessible_families
    from velferdslab.cases.journey.models import JourneyAssessment
    from velferdslab.cases.meetings.models import Meeting
    from velferdslab.cases.plan.models import Action
    from velferdslab.extensions import db

    result, app, _consistency = generated
    family_id = result.users.showcase_family_id
    with app.app_context():
        lead = db.session.get(User, result.users.lead_id)
        visible = accessible_families(lead)
        assert len(visible) == 40 and not any(a.gated for a in visible)
        assert family_id in {a.family.id for a in visible}

        def count(model):
            return db.session.scalar(select(func.count()).select_from(model).where(model.family_id == family_id))

        # The three-year family: 36 assessments, 40 meetings, 200 actions.
        assert (count(JourneyAssessment), count(Meeting), count(Action)) == (36, 40, 200)
        db.session.rollback()


def test_sequences_continue_after_the_generated_ids(generated):
    from velferdslab.auth import services
    from velferdslab.auth.models import Lab
    from velferdslab.extensions import db

    result, app, _consistency = generated
    with app.app_context():
        lab = services.create_lab(slug="etter-benk", name="Etter", municipality="Etter")
        assert lab.id == result.counts["lab"] + 1
        db.session.rollback()
        assert db.session.get(Lab, lab.id) is None


def test_the_bench_approval_is_allowed(generated):
    """The leads of the generated families may approve their waiting requests through the API (the
    consents cover every kind of information; without categories every approval was a 403)."""
    from bench import measure

    result, app, _consistency = generated
    plan = measure.prepare_approvals(app.config["SQLALCHEMY_DATABASE_URI"], 2, result.users.bench_family_ids[-1], 2,
                                     spare=(result.users.showcase_family_id,))
    assert plan["probe"] is not None
    status, _count = measure.approval_statements(app, *plan["probe"])
    assert status == 200


def test_the_approval_floor_approves_and_keeps_the_ledger_balanced(generated):
    """The hand-written approval transaction (bench.floors.approval_floor) writes what an approval
    writes: the requests end approved, the money is reserved, the books still balance. Last in this
    module: it changes the installation."""
    from datetime import UTC, datetime

    import psycopg

    from bench import database, floors
    from bench.checks import check

    _result, app, _consistency = generated
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    with psycopg.connect(database.libpq_url(url)) as conn:
        items = conn.execute(
            "SELECT s.id, m.user_id FROM spend_request s JOIN team_membership m ON m.family_id = s.family_id "
            "AND m.role = 'lead' AND m.end_date IS NULL WHERE s.status = 'requested' AND s.route = 'team' "
            "AND s.budget_year = %s AND s.requester_id <> m.user_id ORDER BY s.id LIMIT 20",
            (datetime.now(UTC).year,)).fetchall()
        committed_before = conn.execute("SELECT COALESCE(sum(balance), 0) FROM ledger_account "
                                        "WHERE kind = 'committed'").fetchone()[0]
        # The floor checks what the app checks: its requester may not approve a request.
        own = conn.execute("SELECT id, requester_id FROM spend_request WHERE status = 'requested' "
                           "AND NOT id = ANY(%s) ORDER BY id LIMIT 1", ([i[0] for i in items],)).fetchone()
    assert items and own
    outcome = floors.approval_floor(url, [tuple(i) for i in items] + [tuple(own)], clients=4)
    assert outcome["approved"] > 0 and "error" not in outcome["outcomes"], outcome
    assert outcome["outcomes"].get("refused", 0) >= 1
    with psycopg.connect(database.libpq_url(url)) as conn:
        approved = conn.execute("SELECT id, amount FROM spend_request WHERE id = ANY(%s) AND status = 'approved'",
                                ([i[0] for i in items],)).fetchall()
        committed_after = conn.execute("SELECT COALESCE(sum(balance), 0) FROM ledger_account "
                                       "WHERE kind = 'committed'").fetchone()[0]
        scratch = conn.execute("SELECT to_regclass('bench_floor_audit')").fetchone()[0]
        own_status = conn.execute("SELECT status FROM spend_request WHERE id = %s", (own[0],)).fetchone()[0]
    assert len(approved) == outcome["approved"]
    assert own_status == "requested"
    assert committed_after - committed_before == sum(amount for _id, amount in approved)
    assert scratch is None  # the scratch audit tables are gone
    after = check(app, verify_chain=False)
    assert after.ledger_problems == [] and after.overdrawn_families == 0

