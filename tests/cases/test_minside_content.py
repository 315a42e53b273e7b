"""The content of Min side (issue 16): plan and journey, the member's own rating (seen by the team
in the meeting form), consents given, signed and withdrawn by the family itself, the access log and
the export — each member seeing exactly their own and the household's information (a parent also
their younger children's), every action audited with the member as actor."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from sqlalchemy import select

from tests import factories
from velferdslab.audit.actions import AuditAction
from velferdslab.audit.models import AuditEvent
from velferdslab.cases.consent.models import Consent
from velferdslab.cases.minside import services
from velferdslab.cases.minside.access import FamilyAccess
from velferdslab.cases.minside.models import ConsentSignature, FamilyOwnRating
from velferdslab.cases.plan.models import Action
from velferdslab.core.permissions import FAMILY_ACTOR_ROLE
from velferdslab.extensions import db

YEAR = date.today().year


@pytest.fixture
def setup(app, lab, login):
    nav = factories.agency(lab, name="NAV Asker")
    health = factories.agency(lab, name="Helsestasjon", kind="helse")
    lead = factories.user(lab, roles=("team_lead",), agency=nav, name="Lise Leder")
    nurse = factories.user(lab, roles=("caseworker",), agency=health, name="Nina Sykepleier")
    family = factories.family(lab, agency=nav, members=[
        ("Kari", "Berg", YEAR - 40, "parent"), ("Jonas", "Berg", YEAR - 16, "young_person"),
        ("Lise", "Berg", YEAR - 8, "child")])
    factories.team_member(family, lead, role="lead")
    factories.team_member(family, nurse)
    parent, young, child = sorted(family.members, key=lambda m: m.birth_year)
    factories.consent(family, nav, given_by=parent)
    # The health station's only consent: the young person's own, about himself.
    factories.consent(family, health, subject=young, given_by=young, purpose="health")
    db.session.flush()
    return {"family": family, "parent": parent, "young": young, "child": child, "lead": lead, "nurse": nurse,
            "nav": nav, "health": health, "login": login, "app": app}


def family_client(app, member):
    token = services.start_session(member)
    db.session.flush()
    client = app.test_client()
    client.set_cookie(app.config["FAMILY_SESSION_COOKIE"], token, path="/min-side")
    page = client.get("/min-side")
    assert page.status_code == 200, page.get_data(as_text=True)[:300]
    return factories.SignedInClient(client, factories.csrf_from(page.get_data(as_text=True)))


def family_events(action) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == str(action))))


def test_a_parent_sees_younger_children_a_young_person_only_himself(setup):
    parent, young, child = setup["parent"], setup["young"], setup["child"]
    assert FamilyAccess.of(parent).member_ids == {parent.id, child.id}
    assert FamilyAccess.of(young).member_ids == {young.id}
    assert FamilyAccess.of(child).member_ids == {child.id}
    young_access = FamilyAccess.of(young)
    assert young_access.may_see(None, "bolig", "rating")  # the household's shared information
    assert not young_access.may_see(parent.id, "bolig", "rating")


def test_min_side_shows_the_plan_levels_next_meeting_and_family_actions(setup):
    family = setup["family"]
    action = Action(family_id=family.id, title="Søke om bostøtte", owner_is_family=True, status="planned")
    db.session.add(action)
    db.session.flush()
    client = family_client(setup["app"], setup["parent"])
    html = client.get("/min-side").get_data(as_text=True)
    for text in ("Planen vår (duken)", "Uholdbar", "Utsatt", "Stabil", "Bærekraftig", "Søke om bostøtte",
                 "Neste møte"):
        assert text in html
    answer = client.post(f"/min-side/tiltak/{action.id}/utfort", data={"csrf_token": client.csrf})
    assert answer.status_code == 302
    assert "er markert som utført" in client.get("/min-side").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Action, action.id).status == "done"
    event = family_events(AuditAction.FAMILY_ACTION_DONE)[-1]
    assert event.actor_role == FAMILY_ACTOR_ROLE and event.actor_id == setup["parent"].id


def test_the_young_persons_own_rating_reaches_the_team_meeting_form(setup):
    family, young = setup["family"], setup["young"]
    client = family_client(setup["app"], young)
    page = client.get("/min-side/vurdering")
    assert page.status_code == 200
    answer = client.post("/min-side/vurdering", data={"csrf_token": client.csrf, "level_bolig": "2",
                                                      "note_bolig": "Trangt på rommet"})
    assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
    row = db.session.scalar(select(FamilyOwnRating).where(FamilyOwnRating.given_by_member_id == young.id))
    assert (row.theme, row.level, row.subject_member_id, row.scale) == ("bolig", 2, young.id, "four_step")
    assert family_events(AuditAction.FAMILY_OWN_RATING)[-1].actor_role == FAMILY_ACTOR_ROLE
    # The nurse's agency holds the young person's own consent: the form shows it, marked and prefilled.
    nurse = setup["login"](setup["nurse"])
    form = nurse.get(f"/familier/{family.id}/moter/ny").get_data(as_text=True)
    assert "Familiens eget syn før møtet" in form and "gitt av familien selv" in form
    assert "Jonas om Bolig: Utsatt" in form and "Trangt på rommet" in form
    radios = re.findall(r"<input[^>]*>", form)
    chosen = [r for r in radios if f'name="m{young.id}_bolig"' in r and "checked" in r]
    assert len(chosen) == 1 and 'value="2"' in chosen[0], chosen  # his column starts at his own answer
    assessment = nurse.get(f"/familier/{family.id}/vurderinger/ny").get_data(as_text=True)
    assert "Jonas om Bolig: Utsatt" in assessment and "gitt av familien selv" in assessment
    # NAV holds no consent about the young person: the rating stays hidden from its lead.
    lead_form = setup["login"](setup["lead"]).get(f"/familier/{family.id}/moter/ny").get_data(as_text=True)
    assert "Jonas om Bolig" not in lead_form


def test_a_child_under_twelve_rates_on_the_childrens_scale(setup):
    client = family_client(setup["app"], setup["child"])
    assert "Sånn passe" in client.get("/min-side/vurdering").get_data(as_text=True)
    refused = client.post("/min-side/vurdering", data={"csrf_token": client.csrf, "level_bolig": "4"})
    assert refused.status_code == 422
    assert client.post("/min-side/vurdering", data={"csrf_token": client.csrf, "level_bolig": "3"}).status_code == 302


def test_withdrawing_a_consent_shuts_the_agency_out_at_once(setup):
    family, young = setup["family"], setup["young"]
    nurse = setup["login"](setup["nurse"])
    assert nurse.get(f"/familier/{family.id}/plan").status_code == 200
    client = family_client(setup["app"], young)
    consent = db.session.scalar(select(Consent).where(Consent.agency_id == setup["health"].id))
    page = client.get("/min-side/samtykker").get_data(as_text=True)
    assert "Trekk tilbake samtykket til Helsestasjon" in page
    answer = client.post(f"/min-side/samtykker/{consent.id}/trekk", data={"csrf_token": client.csrf})
    assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
    event = family_events(AuditAction.CONSENT_WITHDRAW)[-1]
    assert event.actor_role == FAMILY_ACTOR_ROLE
    assert nurse.get(f"/familier/{family.id}/plan").status_code == 403


def test_a_parent_cannot_withdraw_the_young_persons_consent(setup):
    client = family_client(setup["app"], setup["parent"])
    consent = db.session.scalar(select(Consent).where(Consent.agency_id == setup["health"].id))
    # Not even listed for the parent; posting anyway is refused.
    assert "Helsestasjon –" not in client.get("/min-side/samtykker").get_data(as_text=True)
    answer = client.post(f"/min-side/samtykker/{consent.id}/trekk", data={"csrf_token": client.csrf})
    assert answer.status_code == 404
    db.session.expire_all()
    assert db.session.get(Consent, consent.id).withdrawn_on is None


def test_the_young_person_gives_and_signs_his_own_consent_by_the_same_rules(setup):
    young, nav = setup["young"], setup["nav"]
    client = family_client(setup["app"], young)
    answer = client.post("/min-side/samtykker", data={"csrf_token": client.csrf, "agency": nav.id,
                                                      "purpose": "team", "subject": young.id,
                                                      "categories": ["skole", "bolig"]})
    assert answer.status_code == 302, answer.get_data(as_text=True)[:800]
    row = db.session.scalar(select(Consent).where(Consent.agency_id == nav.id, Consent.subject_member_id == young.id))
    assert row.given_by_member_id == young.id and row.recorded_by_id is None and not row.awaiting_confirmation
    form = client.get(f"/min-side/samtykker/{row.id}/skjema.pdf")
    assert form.status_code == 200 and form.data.startswith(b"%PDF")
    signature = db.session.scalar(select(ConsentSignature).where(ConsentSignature.consent_id == row.id))
    assert signature.member_id == young.id and signature.method == "oidc" and signature.signed_at is not None
    # The household's consent is an adult's: the young person (16, the lab's age 15) may give it,
    # the 8-year-old may not.
    child = family_client(setup["app"], setup["child"])
    refused = child.post("/min-side/samtykker", data={"csrf_token": child.csrf, "agency": nav.id,
                                                      "purpose": "team", "subject": "", "categories": ["bolig"]})
    assert refused.status_code == 422 and "kan ikke gi eller trekke samtykke selv" in refused.get_data(as_text=True)


def test_the_access_log_names_agencies_and_roles_never_staff(setup):
    family = setup["family"]
    setup["login"](setup["nurse"]).get(f"/familier/{family.id}/plan")
    client = family_client(setup["app"], setup["young"])
    page = client.get("/min-side/innsyn").get_data(as_text=True)
    assert "Helsestasjon" in page and "Nina" not in page and "Sykepleier" not in page
    pdf = client.get("/min-side/innsyn.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert family_events(AuditAction.FAMILY_ACCESS_LOG)[-1].actor_role == FAMILY_ACTOR_ROLE


def test_the_export_is_in_plain_sections_and_never_gated(setup):
    # The lead's agency holds no consent about the young person: the family's own export ignores that.
    client = family_client(setup["app"], setup["young"])
    answer = client.get("/min-side/mine-opplysninger.json")
    assert answer.status_code == 200
    data = json.loads(answer.data)
    assert set(data["sections"]) >= {"me", "household", "plan", "journey", "consents", "meetings"}
    assert data["sections"]["me"]["name"] == "Jonas Berg"
    assert "tables" not in data
    assert client.get("/min-side/mine-opplysninger.pdf").data.startswith(b"%PDF")
    assert client.get("/min-side/framdriftsrapport.pdf").data.startswith(b"%PDF")
    assert family_events(AuditAction.FAMILY_REPORT_PDF)[-1].actor_role == FAMILY_ACTOR_ROLE


def test_a_staff_session_does_not_open_min_side(setup):
    staff = setup["login"](setup["lead"])
    for path in ("/min-side", "/min-side/samtykker", "/min-side/innsyn", "/min-side/mine-opplysninger.json"):
        answer = staff.get(path)
        assert answer.status_code == 302 and answer.headers["Location"].endswith("/min-side/logg-inn")


def test_the_young_persons_log_leaves_out_events_about_his_sister(setup):
    from velferdslab.audit import services as audit

    child = setup["child"]
    audit.record(AuditAction.MEMBER_VIEW, actor=setup["lead"], family_id=setup["family"].id, object_type="member",
                 object_id=child.id)
    audit.record(AuditAction.FAMILY_VIEW, actor=setup["lead"], family_id=setup["family"].id, object_type="family",
                 object_id=setup["family"].id)
    db.session.flush()
    young = family_client(setup["app"], setup["young"])
    parent = family_client(setup["app"], setup["parent"])
    assert "Så et familiemedlem" not in young.get("/min-side/innsyn").get_data(as_text=True)
    assert "Så et familiemedlem" in parent.get("/min-side/innsyn").get_data(as_text=True)
    assert "Åpnet familiesiden" in young.get("/min-side/innsyn").get_data(as_text=True)


def test_the_policy_rule_refuses_staff_and_other_families(setup, lab):
    from velferdslab.cases.minside.access import FamilyViewer
    from velferdslab.core import policy

    parent, young, child = setup["parent"], setup["young"], setup["child"]
    assert policy.check(setup["lead"], "family_see", child).reason == "not_family"
    other = factories.family(lab, members=[("Per", "Annen", YEAR - 30, "parent")])
    assert policy.check(FamilyViewer(parent), "family_see", other.members[0]).reason == "other_family"
    assert policy.check(FamilyViewer(parent), "family_see", young).reason == "other_member"
    assert policy.check(FamilyViewer(young), "family_see", child).reason == "other_member"
    assert policy.can(FamilyViewer(parent), "family_see", child)


def test_an_unknown_or_foreign_consent_is_404_and_a_sign_refusal_names_no_content(setup):
    client = family_client(setup["app"], setup["young"])
    assert client.get("/min-side/samtykker/999999/skjema.pdf").status_code == 404
    assert client.post("/min-side/samtykker/999999/signer", data={"csrf_token": client.csrf}).status_code == 404
