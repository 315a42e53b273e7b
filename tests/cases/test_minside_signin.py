"""The family's own sign-in (issue 16): OpenID Connect against the suite's real provider
(``tests.support.oidc``), the team lead's one-time invitation, the family's separate session.

Refused, each on its own: a forged ID token (signed with a key outside the provider's JWKS), a
wrong nonce, a replayed code, a wrong state, a missing or too low assurance level, and an expired
or already used invitation.
"""

from __future__ import annotations

import html
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import select

from tests import factories
from tests.support.oidc import APP_ORIGIN, PEOPLE, sign_in_at_provider
from velferdslab.audit.actions import AuditAction
from velferdslab.audit.models import AuditEvent
from velferdslab.cases.minside.models import FamilyInvitation, FamilyLogin, FamilySession
from velferdslab.core.models import utcnow
from velferdslab.core.permissions import FAMILY_ACTOR_ROLE
from velferdslab.extensions import db

LOGOUT_RE = re.compile(r'href="([^"]+)" data-testid="provider-logout"')
CODE_RE = re.compile(r'data-testid="invitation-code">([A-Z0-9-]+)<')


@pytest.fixture
def setup(oidc_app, lab, login):
    agency = factories.agency(lab)
    lead = factories.user(lab, roles=("team_lead",), agency=agency)
    family = factories.family(lab, agency=agency)
    factories.team_member(family, lead, role="lead")
    factories.consent(family, agency)
    member = family.members[0]
    return {"family": family, "member": member, "lead": lead, "lead_client": login(lead), "agency": agency}


def invite(setup) -> str:
    family, member = setup["family"], setup["member"]
    response = setup["lead_client"].post(f"/familier/{family.id}/medlemmer/{member.id}/invitasjon")
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return CODE_RE.search(response.get_data(as_text=True)).group(1)


def start(client) -> str:
    """Press "Logg inn med ID-porten"; returns the provider's authorization URL."""
    page = client.get("/min-side/logg-inn")
    assert 'href="/min-side/logg-inn/start"' in page.get_data(as_text=True)
    response = client.get("/min-side/logg-inn/start")
    assert response.status_code == 302
    return response.headers["Location"]


def sign_in(app, username="kari", acr="idporten-loa-high"):
    client = app.test_client()
    callback = sign_in_at_provider(start(client), username, acr)
    return client, client.get(callback)


def link(client, code: str):
    page = client.get("/min-side/koble")
    assert page.status_code == 200
    token = factories.csrf_from(page.get_data(as_text=True))
    return client.post("/min-side/koble", data={"code": code, "csrf_token": token})


def events(action) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == str(action)).order_by(AuditEvent.id)))


def test_the_authorization_request_uses_pkce_state_nonce_and_the_required_level(oidc_app, oidc_provider):
    url = start(oidc_app.test_client())
    assert url.startswith(oidc_provider.issuer + "/authorize?")  # found through discovery
    query = parse_qs(urlsplit(url).query)
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) >= 43
    assert query["state"][0] and query["nonce"][0]
    assert query["acr_values"] == ["idporten-loa-high"]
    assert query["response_type"] == ["code"]


def test_full_flow_invitation_first_sign_in_then_again_and_logout(setup, oidc_provider):
    app = setup["lead_client"].application
    code = invite(setup)
    client, answer = sign_in(app)
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/min-side/koble")
    response = link(client, code)
    assert response.status_code == 302 and response.headers["Location"].endswith("/min-side")
    cookie = response.headers.getlist("Set-Cookie")
    family_cookie = next(c for c in cookie if c.startswith("velferdslab_familie="))
    assert "Path=/min-side" in family_cookie and "HttpOnly" in family_cookie
    page = client.get("/min-side")
    assert page.status_code == 200
    assert f"Du er logget inn som {setup['member'].first_name}" in page.get_data(as_text=True)

    # Only a keyed hash of the provider's identifier is stored, never the identifier.
    stored = db.session.scalar(select(FamilyLogin).where(FamilyLogin.member_id == setup["member"].id))
    assert stored is not None and PEOPLE["kari"]["sub"] not in stored.identity_hash and len(stored.identity_hash) == 64
    for table in ("family_login", "family_session", "family_invitation", "audit_event"):
        rows = db.session.execute(db.text(f"SELECT * FROM {table}")).all()  # noqa: S608 - fixed names
        assert PEOPLE["kari"]["sub"] not in repr(rows), table

    # Every family action is audited with the family member as the actor.
    for action in (AuditAction.FAMILY_LOGIN_LINK, AuditAction.FAMILY_LOGIN, AuditAction.FAMILY_SELF_VIEW):
        [event] = events(action)
        assert (event.actor_id, event.actor_role, event.family_id) == (
            setup["member"].id,
            FAMILY_ACTOR_ROLE,
            setup["family"].id,
        )

    # The second time, no code: the link is remembered.
    again, answer = sign_in(app)
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/min-side")
    assert again.get("/min-side").status_code == 200

    # Sign-out ends the session here and at the provider (end_session with the id_token_hint).
    page = client.get("/min-side")
    out = client.post("/min-side/logg-ut", data={"csrf_token": factories.csrf_from(page.get_data(as_text=True))})
    assert out.status_code == 200
    provider_logout = html.unescape(LOGOUT_RE.search(out.get_data(as_text=True)).group(1))
    assert provider_logout.startswith(oidc_provider.issuer + "/logout?")
    ended = requests.get(provider_logout, allow_redirects=False, timeout=10)
    assert ended.status_code == 302 and ended.headers["Location"] == APP_ORIGIN + "/min-side/logg-inn"
    assert oidc_provider.logouts[-1]["id_token_hint"].count(".") == 2
    assert client.get("/min-side").status_code == 302  # the session is over
    assert again.get("/min-side").status_code == 200  # the other browser's is not
    [event] = events(AuditAction.FAMILY_LOGOUT)
    assert event.actor_role == FAMILY_ACTOR_ROLE


def test_a_family_session_grants_no_staff_access_and_a_staff_session_no_min_side(setup):
    app = setup["lead_client"].application
    client, _ = sign_in(app)
    assert link(client, invite(setup)).status_code == 302
    assert client.get("/min-side").status_code == 200
    for url in ("/", f"/familier/{setup['family'].id}", "/konto/passord"):
        response = client.get(url)
        assert response.status_code == 302 and "/logg-inn" in response.headers["Location"], url
    assert client.get("/api/v1/families").status_code == 401
    # A signed-in staff member is not a family member.
    response = setup["lead_client"].get("/min-side")
    assert response.status_code == 302 and response.headers["Location"].endswith("/min-side/logg-inn")


def test_the_family_session_has_its_own_shorter_idle_limit(setup):
    app = setup["lead_client"].application
    assert app.config["FAMILY_SESSION_IDLE_TIMEOUT"] < app.config["SESSION_IDLE_TIMEOUT"]
    client, _ = sign_in(app)
    assert link(client, invite(setup)).status_code == 302
    row = db.session.scalar(select(FamilySession).where(FamilySession.member_id == setup["member"].id))
    row.last_seen_at = utcnow() - app.config["FAMILY_SESSION_IDLE_TIMEOUT"] - timedelta(seconds=5)
    db.session.flush()
    assert client.get("/min-side").status_code == 302


def _refused(response, reason_prefix: str):
    assert response.status_code == 400
    assert "Innloggingen kunne ikke bekreftes" in response.get_data(as_text=True)
    event = events(AuditAction.AUTH_OIDC_REFUSED)[-1]  # the newest refusal
    assert event.summary["reason"].startswith(reason_prefix), event.summary
    assert not db.session.scalars(select(FamilySession)).all()


def test_a_forged_id_token_is_refused(oidc_app, oidc_provider):
    oidc_provider.misbehave["forge"] = True  # signed with a key that is not in the JWKS
    _client, response = sign_in(oidc_app)
    _refused(response, "")
    assert events(AuditAction.AUTH_OIDC_REFUSED)[-1].summary["reason"] in ("badsignatureerror", "bad_signature")


def test_a_wrong_nonce_is_refused(oidc_app, oidc_provider):
    oidc_provider.misbehave["nonce"] = "not-the-nonce-we-sent"
    _client, response = sign_in(oidc_app)
    _refused(response, "invalid_claim_nonce")


def test_a_missing_or_too_low_assurance_level_is_refused(oidc_app):
    _client, response = sign_in(oidc_app, acr="")
    _refused(response, "missing_claim_acr")
    _client, response = sign_in(oidc_app, acr="idporten-loa-substantial")
    _refused(response, "invalid_claim_acr")


def test_a_wrong_state_is_refused(oidc_app):
    client = oidc_app.test_client()
    callback = sign_in_at_provider(start(client), "kari")
    forged = re.sub(r"state=[^&]+", "state=someone-elses-state", callback)
    _refused(client.get(forged), "mismatching_state")


def test_a_replayed_code_is_refused(setup):
    """The whole callback replayed (same code, same state, same cookie): the provider will not
    exchange a code twice, so the second sign-in fails."""
    app = setup["lead_client"].application
    client = app.test_client()
    callback = sign_in_at_provider(start(client), "kari")
    cookie = client.get_cookie("velferdslab_session")
    first = client.get(callback)
    assert first.status_code == 302
    replay = app.test_client()
    replay.set_cookie(cookie.key, cookie.value, domain=cookie.domain)
    _refused(replay.get(callback), "invalid_grant")


def test_an_expired_used_or_wrong_invitation_is_refused(setup):
    app = setup["lead_client"].application
    code = invite(setup)
    invitation = db.session.scalar(select(FamilyInvitation).where(FamilyInvitation.member_id == setup["member"].id))
    invitation.expires_at = utcnow() - timedelta(minutes=1)
    db.session.flush()
    client, _ = sign_in(app)
    response = link(client, code)
    assert response.status_code == 422 and "utløpt eller allerede brukt" in response.get_data(as_text=True)
    assert events(AuditAction.FAMILY_LOGIN_LINK_DENIED)[-1].summary == {"reason": "expired"}
    assert link(client, "AAAA-BBBB-CCCC").status_code == 422
    assert events(AuditAction.FAMILY_LOGIN_LINK_DENIED)[-1].summary == {"reason": "unknown"}

    fresh = invite(setup)  # a new code; the earlier one stays dead
    assert link(client, fresh).status_code == 302
    other, _ = sign_in(app, username="ola")
    response = link(other, fresh)  # used: single use
    assert response.status_code == 422
    assert events(AuditAction.FAMILY_LOGIN_LINK_DENIED)[-1].summary["reason"] == "used"
    assert db.session.scalar(select(FamilyLogin.identity_hash).where(FamilyLogin.member_id == setup["member"].id))


def test_the_invitation_code_is_stored_hashed_and_only_the_lead_can_make_one(setup, lab, login):
    code = invite(setup)
    stored = db.session.scalars(select(FamilyInvitation.code_hash)).all()
    assert code.replace("-", "") not in repr(stored) and len(stored[0]) == 64
    member_user = factories.user(lab, agency=setup["agency"])
    factories.team_member(setup["family"], member_user, role="member")
    response = login(member_user).post(f"/familier/{setup['family'].id}/medlemmer/{setup['member'].id}/invitasjon")
    assert response.status_code == 403
    page = setup["lead_client"].get(f"/familier/{setup['family'].id}/innlogging")
    assert page.status_code == 200 and "Invitert" in page.get_data(as_text=True)


def test_without_a_family_provider_the_page_says_so(app):
    client = app.test_client()
    page = client.get("/min-side/logg-inn")
    assert page.status_code == 200 and "ikke satt opp" in page.get_data(as_text=True)
    assert client.get("/min-side").status_code == 302
