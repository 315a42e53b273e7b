"""No secret or sensitive value in the logs or the audit trail (item 8): a password, the session
cookie, a health note and a national id number go through sign-in, family writes and errors, and
none of them turns up in any log record or in any column of any audit row."""

from __future__ import annotations

import logging
from datetime import date

from sqlalchemy import select

from tests import factories
from tests.audit.factories import team
from velferdslab.audit.models import AuditEvent
from velferdslab.extensions import db

PASSWORD = "Sentinel-Passord-9137!"
WRONG_PASSWORD = "Sentinel-Feil-4242?"
HEALTH_NOTE = "Sentinel: mor har alvorlig depresjon og behandles ved DPS"
NATIONAL_ID = "12038612345"


def _audit_text() -> str:
    rows = db.session.execute(select(AuditEvent)).scalars().all()
    return "\n".join(repr({c.name: getattr(r, c.key) for c in AuditEvent.__table__.columns}) for r in rows)


def test_no_sentinel_reaches_logs_or_audit_rows(ctx, lab, login, caplog, app, monkeypatch):
    caplog.set_level(logging.DEBUG)
    fam, lead, _worker = team(lab)
    user = factories.user(lab, roles=("team_lead",), agency=lead.agency, password=PASSWORD,
                          email="sentinel@test.example")
    factories.team_member(fam, user)
    # Sign-in: a failed attempt (the password typed into the e-mail field too), then the real one.
    anonymous = app.test_client()
    factories.login_client(anonymous, PASSWORD, WRONG_PASSWORD)
    factories.login_client(anonymous, "sentinel@test.example", WRONG_PASSWORD)
    client = login(user, PASSWORD)
    cookie = client.get_cookie("velferdslab_session").value
    assert len(cookie) > 20
    # Family writes with the sensitive texts: a member, a goal, a meeting note (API), and a form.
    api = f"/api/v1/families/{fam.id}"
    assert client.post(f"{api}/members", json={"first_name": "Nils", "last_name": NATIONAL_ID,
                                               "birth_year": 1986, "role": "parent"}).status_code == 201
    assert client.post(f"{api}/goals", json={"theme": "helse", "horizon": "short",
                                             "text": f"{HEALTH_NOTE} {NATIONAL_ID}"}).status_code == 201
    response = client.post(f"{api}/meetings", json={"held_on": date.today().isoformat(), "notes": HEALTH_NOTE,
                                                    "decisions": f"Fødselsnummer {NATIONAL_ID}"})
    assert response.status_code == 201, response.get_data(as_text=True)[:300]
    client.patch(api, json={"household_name": f"Familien {NATIONAL_ID}"})
    # Errors: a rejected body (unknown field and a bad value), and an unexpected exception.
    assert client.post(f"{api}/goals", json={"theme": "helse", "horizon": "x", "text": HEALTH_NOTE,
                                             "fnr": NATIONAL_ID}).status_code == 422
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    from velferdslab.cases.overview import queries

    def explode(*args, **kwargs):
        raise RuntimeError("boom while reading the family")

    monkeypatch.setattr(queries, "family_page", explode)
    assert client.get(f"/familier/{fam.id}?q={NATIONAL_ID}", headers={"X-Note": HEALTH_NOTE}).status_code == 500
    client.post("/logg-ut")
    # Enough happened for the check to mean something.
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"auth.login", "auth.login_failed", "member.create", "goal.create", "meeting.create"} <= actions
    logs = "\n".join(record.getMessage() + repr(record.args) + (record.exc_text or "")
                     for record in caplog.records) + caplog.text
    trail = _audit_text()
    for sentinel in (PASSWORD, WRONG_PASSWORD, cookie, HEALTH_NOTE, "depresjon", NATIONAL_ID):
        assert sentinel not in logs, sentinel
        assert sentinel not in trail, sentinel
