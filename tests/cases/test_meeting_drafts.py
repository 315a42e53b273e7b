"""Issue 13, never lose work: the meeting form's server-side draft (autosave, restore, discard),
the session keep-alive, and the way back to the form after the session has ended."""

import re
from datetime import timedelta

from sqlalchemy import func, select, update

from tests import factories
from tests.cases.formdata import untouched
from velferdslab.auth.models import AuthSession
from velferdslab.cases.meetings.models import FormDraft, Meeting
from velferdslab.core.models import utcnow
from velferdslab.extensions import db


def _url(world, tail: str = "") -> str:
    return f"/familier/{world.family.id}/moter/ny{tail}"


def _drafts(**where) -> list[FormDraft]:
    db.session.expire_all()
    query = select(FormDraft)
    for key, value in where.items():
        query = query.where(getattr(FormDraft, key) == value)
    return list(db.session.scalars(query))


def _autosave(client, world, fields: dict):
    return client.post(_url(world, "/utkast"), json={"fields": fields})


def test_an_autosaved_draft_is_restored_in_the_form_with_a_notice(world, login):
    client = login(world.member)
    response = _autosave(client, world, {"notes": ["Familien har fått ny leilighet.\nFlytter 1. mars."],
                                         "team_bolig": ["3"], "team_bolig_note": ["Bedre"],
                                         "csrf_token": ["stolen"], "not_a_field": ["x"]})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    saved_at = response.get_json()["saved_at"]
    [draft] = _drafts(user_id=world.member.id, family_id=world.family.id, kind="meeting")
    assert "csrf_token" not in draft.payload and "not_a_field" not in draft.payload
    page = client.get(_url(world)).get_data(as_text=True)
    assert f"Utkast fra {saved_at} er hentet fram" in page and "Forkast utkastet" in page
    assert "Flytter 1. mars." in page and 'value="Bedre"' in page
    assert re.search(r'name="team_bolig" id="team_bolig-\d" value="3" checked', page)  # the scale's radio
    # A second autosave replaces the draft: one per user, family and form.
    assert _autosave(client, world, {"notes": ["Kortere"]}).status_code == 200
    assert len(_drafts()) == 1 and "Kortere" in _drafts()[0].payload


def test_drafts_are_per_user(world, login):
    assert _autosave(login(world.member), world, {"notes": ["Mitt utkast"]}).status_code == 200
    page = login(world.lead).get(_url(world)).get_data(as_text=True)
    assert "Mitt utkast" not in page and "er hentet fram" not in page


def test_autosave_needs_the_csrf_token(world, login):
    client = login(world.member)
    response = client.client.post(_url(world, "/utkast"), json={"fields": {"notes": ["x"]}})
    assert response.status_code == 400
    assert _drafts() == []


def test_autosave_goes_through_the_family_gate(world, login):
    for user in (world.outsider, world.other_lead):
        response = _autosave(login(user), world, {"notes": ["Ikke min familie"]})
        assert response.status_code in (403, 404)
    response = _autosave(login(world.gated), world, {"notes": ["Uten samtykke"]})
    assert response.status_code == 403
    assert _drafts() == []


def test_bad_draft_bodies_are_refused_with_422(world, login):
    client = login(world.member)
    for body in ({"fields": "notes"}, {"fields": {"notes": [1]}}, []):
        response = client.post(_url(world, "/utkast"), json=body)
        assert response.status_code == 422, body
    response = _autosave(client, world, {"notes": ["x" * 250_000]})
    assert response.status_code == 413
    assert _drafts() == []


def test_a_saved_meeting_discards_the_draft(world, login):
    client = login(world.member)
    assert _autosave(client, world, {"notes": ["Skal bli et møte"]}).status_code == 200
    data = untouched(client.get(_url(world)).get_data(as_text=True))
    assert data["notes"] == ["Skal bli et møte"]
    response = client.post(_url(world), data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:400]
    assert _drafts() == []
    assert "er hentet fram" not in client.get(_url(world)).get_data(as_text=True)


def test_a_refused_meeting_keeps_the_draft(world, login):
    client = login(world.member)
    assert _autosave(client, world, {"notes": ["Noe"]}).status_code == 200
    data = untouched(client.get(_url(world)).get_data(as_text=True))
    data["team_bolig"] = ["2"]  # one theme only: refused, the team must rate all
    assert client.post(_url(world), data=data).status_code == 422
    assert len(_drafts()) == 1


def test_the_draft_can_be_discarded(world, login):
    client = login(world.member)
    assert _autosave(client, world, {"notes": ["Feil familie"]}).status_code == 200
    response = client.post(_url(world, "/utkast/forkast"))
    assert response.status_code == 302 and response.headers["Location"].endswith(_url(world))
    assert _drafts() == []
    page = client.get(_url(world)).get_data(as_text=True)
    assert "Utkastet er forkastet." in page and "Feil familie" not in page


def test_keep_alive_touches_the_session_and_says_how_long_it_may_last(app, world, login):
    client = login(world.member)
    long_ago = utcnow() - timedelta(minutes=20)
    db.session.execute(update(AuthSession).where(AuthSession.user_id == world.member.id)
                       .values(last_seen_at=long_ago))
    db.session.flush()
    response = client.post("/okt/aktiv", json={})
    assert response.status_code == 200
    body = response.get_json()
    assert body["idle_seconds"] == int(app.config["SESSION_IDLE_TIMEOUT"].total_seconds())
    absolute = app.config["SESSION_ABSOLUTE_TIMEOUT"].total_seconds()
    assert absolute - 120 < body["seconds_left"] <= absolute
    db.session.expire_all()
    seen = db.session.scalar(select(func.max(AuthSession.last_seen_at)).where(AuthSession.user_id == world.member.id))
    assert seen > long_ago + timedelta(minutes=19)
    # The form page tells its script the same limits.
    page = client.get(_url(world)).get_data(as_text=True)
    assert 'data-keepalive-url="/okt/aktiv"' in page and "data-session-left=" in page


def test_keep_alive_needs_a_session_and_the_csrf_token(app, world, login):
    assert app.test_client().post("/okt/aktiv").status_code in (302, 400, 401)
    assert login(world.member).client.post("/okt/aktiv").status_code == 400


def test_after_the_session_ends_the_sign_in_returns_to_the_form_and_its_draft(world, login):
    client = login(world.member)
    assert _autosave(client, world, {"notes": ["490 tegn fra et møte hjemme hos familien"]}).status_code == 200
    data = untouched(client.get(_url(world)).get_data(as_text=True))
    # The session ends while the form is open (idle too long, or revoked): the send is refused...
    db.session.execute(update(AuthSession).where(AuthSession.user_id == world.member.id)
                       .values(last_seen_at=utcnow() - timedelta(hours=2)))
    db.session.flush()
    response = client.post(_url(world), data=data)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert "/logg-inn" in location and "next=" in location and "moter/ny" in location
    page = client.get(location).get_data(as_text=True)
    assert "Økten din er avsluttet" in page
    assert db.session.scalar(select(func.count()).select_from(Meeting)) == 0
    # ...and signing in again returns to the form, with the draft.
    token = factories.csrf_from(page)
    response = client.post(location, data={"email": world.member.email, "password": factories.PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == _url(world)
    form = client.get(_url(world)).get_data(as_text=True)
    assert "490 tegn fra et møte hjemme hos familien" in form and "er hentet fram" in form


def test_a_form_sent_after_the_session_cookie_is_gone_also_leads_back(world, login, app):
    client = app.test_client()
    response = client.post(_url(world), data={"notes": "x"})  # no cookie, so no CSRF token either
    assert response.status_code == 302
    assert "/logg-inn" in response.headers["Location"] and "moter" in response.headers["Location"]

