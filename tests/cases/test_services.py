"""The cases services: families and members, enrolment, consent, assessments and their versions,
the plan and meetings."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tests import factories
from tests.cases.world import ratings
from velferdslab.audit.models import AuditEvent
from velferdslab.cases.consent.models import Consent
from velferdslab.cases.consent.services import confirm_consent, give_consent, withdraw_consent
from velferdslab.cases.enrolment.models import Enrolment
from velferdslab.cases.enrolment.services import (
    activate_enrolment,
    close_enrolment,
    create_family,
    current_enrolment,
    enrolments,
    follow_up_dates,
    re_enrol,
)
from velferdslab.cases.gate import family_access
from velferdslab.cases.household.models import FamilyMember
from velferdslab.cases.household.services import add_member, family_members, update_member
from velferdslab.cases.journey.models import JourneyAssessment, ThemeRating
from velferdslab.cases.journey.queries import assessment_due, journey_history
from velferdslab.cases.journey.services import assessment_versions, correct_assessment, create_assessment
from velferdslab.cases.meetings.models import Meeting
from velferdslab.cases.meetings.services import record_meeting, update_meeting
from velferdslab.cases.overview.queries import family_page
from velferdslab.cases.plan.models import Action
from velferdslab.cases.plan.services import create_action, create_goal, is_overdue, update_action
from velferdslab.cases.rules import add_months
from velferdslab.core.errors import ConflictError, ForbiddenError, ServiceError
from velferdslab.extensions import db
from velferdslab.teams.models import InvestmentTeam, TeamMembership


def _count(model, **where):
    query = select(func.count()).select_from(model)
    for key, value in where.items():
        query = query.where(getattr(model, key) == value)
    return db.session.scalar(query)


# --- families and members ------------------------------------------------------------------------

def test_a_lead_registers_a_family_and_leads_its_new_team(world):
    family = create_family(world.lab, actor=world.lead, household_name="Familien Ny", language="somali",
                           interpreter_needed=True, referred_on=world.today,
                           referred_by_agency_id=world.nav.id, referral_reason="Trangboddhet",
                           members=[{"first_name": "Amina", "last_name": "Ali", "birth_year": 1990,
                                     "role": "parent", "is_contact": True}])
    enrolment = current_enrolment(family.id)
    assert enrolment.status == "referred" and enrolment.referred_by_agency_id == world.nav.id
    team = db.session.scalar(select(InvestmentTeam).where(InvestmentTeam.family_id == family.id))
    assert team.enrolment_id == enrolment.id
    rows = db.session.scalars(select(TeamMembership).where(TeamMembership.team_id == team.id)).all()
    assert [(r.user_id, r.role) for r in rows] == [(world.lead.id, "lead")]
    assert [m.is_contact for m in family_members(family.id)] == [True]
    actions = set(db.session.scalars(select(AuditEvent.action).where(AuditEvent.family_id == family.id)))
    assert {"family.create", "enrolment.refer", "team.create", "team.member_add", "member.create"} <= actions


def test_a_caseworker_cannot_register_a_family(world):
    with pytest.raises(ForbiddenError):
        create_family(world.lab, actor=world.member, household_name="X", referred_on=world.today)


def test_members_have_no_identity_number_and_cannot_be_added_twice(world):
    assert not {"national_id", "fnr", "personnummer"} & set(FamilyMember.__table__.columns.keys())
    access = world.access(world.lead)
    add_member(access, actor=world.lead, first_name="Ola", last_name="Berg", birth_year=2015, role="child")
    with pytest.raises(ServiceError) as error:
        add_member(access, actor=world.lead, first_name="Ola", last_name="Berg", birth_year=2015,
                   role="child")
    assert error.value.status == 422 and "allerede" in error.value.message


def test_only_one_contact_person(world):
    access = world.access(world.lead)
    members = world.members()
    update_member(access, members["Anne"], actor=world.lead, first_name="Anne", last_name="Berg",
                  birth_year=1985, role="parent", is_contact=True)
    update_member(access, members["Per"], actor=world.lead, first_name="Per", last_name="Berg",
                  birth_year=1983, role="parent", is_contact=True)
    db.session.expire_all()
    assert [m.first_name for m in family_members(world.family.id) if m.is_contact] == ["Per"]


@pytest.mark.parametrize("year", [1899, 3000])
def test_birth_year_outside_range_is_refused(world, year):
    with pytest.raises(ServiceError) as error:
        add_member(world.access(world.lead), actor=world.lead, first_name="A", last_name="B",
                   birth_year=year, role="child")
    assert error.value.field == "birth_year"


# --- enrolment -----------------------------------------------------------------------------------

def test_enrolment_life_cycle_with_follow_ups_and_re_enrolment(world):
    family = create_family(world.lab, actor=world.lead, household_name="Familien Syklus",
                           referred_on=world.today - timedelta(days=500),
                           members=[{"first_name": "Kari", "last_name": "S", "birth_year": 1980,
                                     "role": "parent"}])
    kari = family_members(family.id)[0]
    access = family_access(world.lead, family.id)
    assert access.gated  # nothing recorded before the family consents
    pending = give_consent(access, actor=world.lead, agency=world.nav.id, purpose="team", categories=["bolig"],
                           given_by=kari.id, valid_from=world.today - timedelta(days=499))
    assert family_access(world.lead, family.id).gated  # the lead's own agency: a second person confirms
    factories.team_member(family, world.member)
    confirm_consent(family_access(world.member, family.id), pending, actor=world.member)
    access = family_access(world.lead, family.id)
    assert not access.gated
    enrolment = current_enrolment(family.id)
    activate_enrolment(access, enrolment, actor=world.lead, started_on=world.today - timedelta(days=480))
    with pytest.raises(ConflictError):
        activate_enrolment(access, enrolment, actor=world.lead, started_on=world.today)
    closed_on = world.today - timedelta(days=400)
    close_enrolment(access, enrolment, actor=world.lead, closed_on=closed_on, reason="goals_reached")
    assert enrolment.status == "closed"
    assert follow_up_dates(enrolment) == {"follow_up_6": add_months(closed_on, 6),
                                          "follow_up_12": add_months(closed_on, 12)}
    due = assessment_due(enrolment, [], world.today)
    assert [kind for kind, _when in due] == ["follow_up_6", "follow_up_12"]

    add_member(access, actor=world.lead, first_name="Ny", last_name="S", birth_year=1990, role="other")
    team_member = factories.user(world.lab, ("caseworker",), world.bolig)
    old_team = db.session.scalar(select(InvestmentTeam).where(InvestmentTeam.family_id == family.id))
    factories.team_member(family, team_member, start=world.today - timedelta(days=450))
    again = re_enrol(access, actor=world.lead, referred_on=world.today, referral_reason="Ny krise")
    assert [e.status for e in enrolments(family.id)] == ["closed", "referred"]
    assert again.id != enrolment.id
    teams = db.session.scalars(select(InvestmentTeam).where(InvestmentTeam.family_id == family.id)
                               .order_by(InvestmentTeam.id)).all()
    assert len(teams) == 2 and teams[0].id == old_team.id
    # The team carried over: the member is on the new team, the old rows ended (history kept).
    new_rows = db.session.scalars(select(TeamMembership).where(TeamMembership.team_id == teams[1].id)).all()
    assert {r.user_id for r in new_rows} == {world.lead.id, world.member.id, team_member.id}
    old_rows = db.session.scalars(select(TeamMembership).where(TeamMembership.team_id == teams[0].id)).all()
    assert all(r.end_date is not None and r.end_date < world.today for r in old_rows)
    with pytest.raises(ConflictError):
        re_enrol(access, actor=world.lead, referred_on=world.today)


def test_enrolment_changes_need_the_lead(world):
    enrolment = current_enrolment(world.family.id)
    with pytest.raises(ForbiddenError):
        close_enrolment(world.access(world.member), enrolment, actor=world.member,
                        closed_on=world.today, reason="moved")


@pytest.mark.parametrize("closed_on, reason, field", [
    (None, "moved", "closed_on"),
    ("future", "moved", "closed_on"),
    ("before_start", "moved", "closed_on"),
    ("today", "bored", "reason"),
])
def test_bad_closure_is_refused(world, closed_on, reason, field):
    enrolment = current_enrolment(world.family.id)
    day = {"future": world.today + timedelta(days=3), "today": world.today,
           "before_start": enrolment.started_on - timedelta(days=1)}.get(closed_on)
    with pytest.raises(ServiceError) as error:
        close_enrolment(world.access(world.lead), enrolment, actor=world.lead, closed_on=day, reason=reason)
    assert error.value.field == field
    assert enrolment.status == "active"


# --- consent -------------------------------------------------------------------------------------

def test_consent_by_a_child_under_the_age_is_refused_a_young_person_gives_their_own(world):
    access = world.access(world.lead)
    members = world.members()
    with pytest.raises(ServiceError) as error:
        give_consent(access, actor=world.lead, agency=world.barnevern.id, purpose="team", categories=["bolig"],
                     given_by=members["Lise"].id, valid_from=world.today)
    assert error.value.field == "given_by" and "15" in error.value.message
    row = give_consent(access, actor=world.lead, agency=world.barnevern.id, purpose="team", categories=["bolig"],
                       given_by=members["Jonas"].id, valid_from=world.today)
    assert row.given_by_member_id == members["Jonas"].id


def test_the_consent_age_is_the_labs(world):
    world.lab.consent_age = 17
    db.session.flush()
    with pytest.raises(ServiceError):
        give_consent(world.access(world.lead), actor=world.lead, agency=world.barnevern.id, categories=["bolig"],
                     purpose="team", given_by=world.members()["Jonas"].id,
                     valid_from=world.today)


def test_consent_rows_are_superseded_never_edited(world):
    access = world.access(world.lead)
    anne = world.members()["Anne"]
    first = give_consent(access, actor=world.lead, agency=world.barnevern.id, purpose="team", categories=["bolig"],
                         given_by=anne.id, valid_from=world.today - timedelta(days=10),
                         valid_to=world.today + timedelta(days=100))
    assert not world.access(world.gated).gated
    renewed = give_consent(access, actor=world.lead, agency=world.barnevern.id, purpose="team", categories=["bolig"],
                           given_by=anne.id, valid_from=world.today,
                           valid_to=world.today + timedelta(days=400))
    assert renewed.supersedes_id == first.id
    withdrawn = withdraw_consent(access, renewed, actor=world.lead, withdrawn_on=world.today,
                                 withdrawn_by=anne.id)
    assert withdrawn.supersedes_id == renewed.id and withdrawn.withdrawn_on == world.today
    db.session.expire_all()
    # The earlier rows are untouched.
    assert db.session.get(Consent, first.id).withdrawn_on is None
    assert db.session.get(Consent, renewed.id).expires_on == world.today + timedelta(days=400)
    assert world.access(world.gated).gated
    with pytest.raises(ConflictError):  # a superseded row cannot be withdrawn again
        withdraw_consent(access, renewed, actor=world.lead, withdrawn_on=world.today, withdrawn_by=anne.id)


def test_an_expired_consent_gates_the_agency(world):
    factories.consent(world.family, world.barnevern, given_on=world.today - timedelta(days=50),
                      expires_on=world.today - timedelta(days=1))
    assert world.access(world.gated).gated
    factories.consent(world.other_family, world.barnevern)  # another family's consent does not count
    assert world.access(world.gated).gated


def test_a_member_without_agency_is_gated(world):
    assert world.access(world.no_agency).gated
    assert not world.access(world.member).gated


# --- assessments ---------------------------------------------------------------------------------

def test_assessment_suggests_the_overall_level_and_records_an_override(world):
    access = world.access(world.member)
    levels = {"bolig": 1, "arbeid": 3, "skole": 3, "nettverk": 3, "okonomi": 4, "helse": 3, "oppvekst": 3}
    row = create_assessment(access, actor=world.member, assessed_on=world.today,
                            ratings=ratings(levels) + ratings({"bolig": 2}, "family")[:1])
    assert (row.suggested_level, row.overall_level, row.override_reason) == (2, 2, None)
    assert _count(ThemeRating, assessment_id=row.id) == 8
    with pytest.raises(ServiceError) as error:
        create_assessment(access, actor=world.member, assessed_on=world.today, ratings=ratings(levels),
                          overall_level=3)
    assert error.value.field == "override_reason"
    other = create_assessment(access, actor=world.member, assessed_on=world.today, ratings=ratings(levels),
                              overall_level=3, override_reason="Helheten er bedre enn snittet")
    assert (other.overall_level, other.suggested_level) == (3, 2)


def test_the_team_must_rate_every_applicable_theme(world):
    with pytest.raises(ServiceError) as error:
        create_assessment(world.access(world.member), actor=world.member, assessed_on=world.today,
                          ratings=ratings()[:-1])
    assert error.value.field == "team_oppvekst"


def test_young_person_perspective_needs_a_young_person(world):
    create_assessment(world.access(world.member), actor=world.member, assessed_on=world.today,
                      ratings=ratings() + [{"theme": "skole", "perspective": "young_person", "level": 3}])
    factories.consent(world.other_family, world.bolig)
    factories.team_member(world.other_family, world.member)
    with pytest.raises(ServiceError):
        create_assessment(family_access(world.member, world.other_family.id), actor=world.member,
                          assessed_on=world.today,
                          ratings=ratings() + [{"theme": "skole", "perspective": "young_person", "level": 3}])


def test_follow_ups_only_after_closure_and_regular_only_before(world):
    access = world.access(world.lead)
    with pytest.raises(ServiceError) as error:
        create_assessment(access, actor=world.lead, assessed_on=world.today, ratings=ratings(),
                          kind="follow_up_6")
    assert error.value.field == "kind"
    enrolment = current_enrolment(world.family.id)
    close_enrolment(access, enrolment, actor=world.lead, closed_on=world.today - timedelta(days=10),
                    reason="goals_reached")
    with pytest.raises(ServiceError):
        create_assessment(access, actor=world.lead, assessed_on=world.today, ratings=ratings())
    # Ten days after closure is far from the 6-month point: refused (the window is ± 2 months).
    with pytest.raises(ServiceError) as error:
        create_assessment(access, actor=world.lead, assessed_on=world.today, ratings=ratings(),
                          kind="follow_up_6")
    assert error.value.field == "assessed_on" and "6 måneder" in str(error.value)


def test_a_correction_is_a_new_version_and_the_history_stays(world):
    access = world.access(world.member)
    first = create_assessment(access, actor=world.member, assessed_on=world.today - timedelta(days=3),
                              ratings=ratings({"bolig": 1}))
    second = correct_assessment(access, first, actor=world.member, correction_reason="Feil tema",
                                assessed_on=world.today - timedelta(days=3), ratings=ratings({"bolig": 3}))
    db.session.expire_all()
    first, second = db.session.get(JourneyAssessment, first.id), db.session.get(JourneyAssessment, second.id)
    assert (first.is_current, second.is_current) == (False, True)
    assert (second.version, second.supersedes_id, second.correction_reason) == (2, first.id, "Feil tema")
    assert {r.level for r in first.ratings if r.theme == "bolig"} == {1}  # the old version is unchanged
    assert [v.id for v in assessment_versions(first)] == [second.id, first.id]
    history = journey_history(world.family.id)
    assert [p.id for p in history.points] == [second.id]
    with pytest.raises(ConflictError):
        correct_assessment(access, first, actor=world.member, correction_reason="Igjen",
                           assessed_on=world.today, ratings=ratings())
    with pytest.raises(ServiceError):
        correct_assessment(access, second, actor=world.member, correction_reason=" ",
                           assessed_on=world.today, ratings=ratings())


# --- plan ----------------------------------------------------------------------------------------

def test_actions_are_owned_by_the_team_or_the_family_and_flagged_when_overdue(world):
    access = world.access(world.member)
    goal = create_goal(access, actor=world.member, theme="bolig", horizon="dream", text="Et hus med hage")
    own = create_action(access, actor=world.member, title="Søke bolig", owner_user_id=world.lead.id,
                        due_on=world.today - timedelta(days=1), goal_id=goal.id)
    family_owned = create_action(access, actor=world.member, title="Ringe skolen", owner_is_family=True,
                                 due_on=world.today + timedelta(days=5))
    assert is_overdue(own) and not is_overdue(family_owned)
    update_action(access, own, actor=world.member, status="done")
    assert not is_overdue(own)
    with pytest.raises(ServiceError) as error:
        create_action(access, actor=world.member, title="X", owner_user_id=world.outsider.id)
    assert error.value.field == "owner"
    with pytest.raises(ServiceError):
        create_action(access, actor=world.member, title="X")  # no owner at all
    with pytest.raises(ServiceError):
        create_goal(access, actor=world.member, theme="bolig", horizon="someday", text="x")


def test_a_status_change_survives_the_owner_leaving_the_team(world):
    access = world.access(world.member)
    action = create_action(access, actor=world.member, title="Søke", owner_user_id=world.member.id)
    row = db.session.scalar(select(TeamMembership).where(TeamMembership.user_id == world.member.id,
                                                         TeamMembership.family_id == world.family.id))
    row.end_date = world.today - timedelta(days=1)
    db.session.flush()
    update_action(world.access(world.lead), action, actor=world.lead, status="done")
    assert action.status == "done"
    with pytest.raises(ServiceError):
        update_action(world.access(world.lead), action, actor=world.lead, owner_user_id=world.outsider.id,
                      owner_is_family=False, title="Søke på nytt")


# --- meetings ------------------------------------------------------------------------------------

def test_a_whole_meeting_in_one_call(world):
    access = world.access(world.member)
    old = create_action(access, actor=world.member, title="Gammelt", owner_is_family=True)
    members = world.members()
    meeting = record_meeting(
        access, actor=world.member, held_on=world.today, attendee_user_ids=[world.member.id, world.lead.id],
        attendee_member_ids=[members["Anne"].id], notes="Godt møte", decisions="Søke depositum",
        next_meeting_on=world.today + timedelta(days=42),
        assessment={"ratings": ratings({"bolig": 3}) + ratings({"bolig": 2}, "family")},
        action_updates=[{"id": old.id, "status": "done"}],
        new_actions=[{"title": "Søke depositum", "owner_user_id": world.lead.id, "due_on": world.today}])
    assessment = db.session.scalar(select(JourneyAssessment).where(JourneyAssessment.meeting_id == meeting.id))
    assert assessment.assessed_on == world.today
    assert len(meeting.attendees) == 3
    assert old.status == "done"
    assert [a.title for a in db.session.scalars(select(Action).where(Action.meeting_id == meeting.id))] == \
        ["Søke depositum"]
    page = family_page(world.access(world.member))
    assert page.next_meeting_on == world.today + timedelta(days=42)
    assert page.history.latest.disagrees("bolig") and not page.history.latest.disagrees("arbeid")


def test_a_refused_meeting_names_the_row(world):
    with pytest.raises(ServiceError) as error:
        record_meeting(world.access(world.member), actor=world.member, held_on=world.today,
                       new_actions=[{"title": "Ok", "owner_is_family": True},
                                    {"title": "Feil", "owner_user_id": world.outsider.id}])
    assert error.value.field == "new_actions.1.owner"


def test_attendees_must_be_on_the_team_or_in_the_family(world):
    with pytest.raises(ServiceError) as error:
        record_meeting(world.access(world.member), actor=world.member, held_on=world.today,
                       attendee_user_ids=[world.outsider.id])
    assert error.value.field == "attendee_user_ids"
    other_member = db.session.scalar(select(FamilyMember).where(FamilyMember.family_id == world.other_family.id))
    with pytest.raises(ServiceError):
        record_meeting(world.access(world.member), actor=world.member, held_on=world.today,
                       attendee_member_ids=[other_member.id])


def test_a_meeting_update_replaces_attendees(world):
    access = world.access(world.member)
    meeting = record_meeting(access, actor=world.member, held_on=world.today,
                             attendee_user_ids=[world.member.id])
    update_meeting(access, meeting, actor=world.member, held_on=world.today - timedelta(days=1),
                   attendee_user_ids=[world.lead.id], attendee_member_ids=[world.members()["Per"].id],
                   notes="Rettet", decisions=None)
    db.session.expire_all()
    meeting = db.session.get(Meeting, meeting.id)
    assert {(a.user_id, a.member_id) for a in meeting.attendees} == {(world.lead.id, None),
                                                                      (None, world.members()["Per"].id)}
    assert meeting.held_on == world.today - timedelta(days=1)


def test_add_months_keeps_the_end_of_month():
    assert add_months(date(2025, 8, 31), 6) == date(2026, 2, 28)
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert add_months(date(2025, 11, 15), 2) == date(2026, 1, 15)
    assert add_months(date(2025, 3, 15), -3) == date(2024, 12, 15)


def test_enrolment_model_forbids_closing_without_reason(world):
    enrolment = current_enrolment(world.family.id)
    assert isinstance(enrolment, Enrolment)
    with pytest.raises(ServiceError):
        close_enrolment(world.access(world.lead), enrolment, actor=world.lead, closed_on=world.today,
                        reason=None)


def test_a_follow_up_is_dated_within_two_months_of_its_due_date(world):
    from velferdslab.cases.enrolment.services import follow_up_window
    from velferdslab.cases.rules import add_months

    access = world.access(world.lead)
    enrolment = current_enrolment(world.family.id)
    closed_on = add_months(world.today, -13)
    enrolment.referred_on = min(enrolment.referred_on, closed_on - timedelta(days=60))
    enrolment.started_on = min(enrolment.started_on or closed_on, closed_on - timedelta(days=30))
    close_enrolment(access, enrolment, actor=world.lead, closed_on=closed_on, reason="goals_reached")
    assert follow_up_window(closed_on, "follow_up_6") == (add_months(closed_on, 4), add_months(closed_on, 8))
    assert follow_up_window(closed_on, "follow_up_12") == (add_months(closed_on, 10), add_months(closed_on, 14))
    for kind, day in (("follow_up_12", add_months(closed_on, 1)), ("follow_up_6", add_months(closed_on, 9)),
                      ("follow_up_12", add_months(closed_on, 10) - timedelta(days=1))):
        with pytest.raises(ServiceError) as error:
            create_assessment(access, actor=world.lead, assessed_on=day, ratings=ratings(), kind=kind)
        assert error.value.field == "assessed_on"
    six = create_assessment(access, actor=world.lead, assessed_on=add_months(closed_on, 4), ratings=ratings(),
                            kind="follow_up_6")
    twelve = create_assessment(access, actor=world.lead, assessed_on=add_months(closed_on, 10), ratings=ratings(),
                               kind="follow_up_12")
    assert (six.kind, twelve.kind) == ("follow_up_6", "follow_up_12")
