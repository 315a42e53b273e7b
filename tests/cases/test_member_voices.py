"""Issue 15, every member's voice: a rating from any family member's own perspective (a child
under 12 on the three-answer scale), about the household or one member, side by side with "Ulike
syn" where views are two or more steps apart; bad givers, subjects and scales are refused with the
field and nothing is stored."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from tests import factories
from tests.cases.formdata import untouched
from tests.cases.world import ratings
from velferdslab.cases.consent.models import Consent
from velferdslab.cases.journey.models import JourneyAssessment, ThemeRating
from velferdslab.cases.meetings.models import Meeting
from velferdslab.extensions import db


@pytest.fixture(autouse=True)
def member_consents(world):
    """Each member's own consent (a parent's for the 10-year-old) to the team's agencies: a rating
    about one member is shown only to an agency that member's consent covers (issue 15)."""
    members = world.members()
    for member in members.values():
        giver = member if member.age_in(world.today.year) >= 15 else members["Anne"]
        for agency in (world.nav, world.bolig):
            factories.consent(world.family, agency, subject=member, given_by=giver,
                              given_on=world.today - timedelta(days=300))


def _meeting(world, extra):
    return {
        "held_on": world.today.isoformat(),
        "notes": "Samtale med hele familien.",
        "assessment": {"ratings": ratings({"skole": 3, "arbeid": 2}) + extra},
    }


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_every_member_rates_in_their_own_voice_about_the_household_or_one_member(world, login):
    client = login(world.member)
    m = world.members()
    extra = [
        {
            "theme": "skole",
            "given_by": m["Lise"].id,
            "subject": m["Lise"].id,
            "scale": "child",
            "level": 1,
            "note": "Jeg liker ikke friminuttene",
        },
        {"theme": "skole", "given_by": m["Jonas"].id, "level": 3},
        {"theme": "arbeid", "given_by": m["Anne"].id, "subject": m["Anne"].id, "level": 1},
        {"theme": "skole", "perspective": "team", "subject": m["Lise"].id, "level": 2},
    ]
    response = client.post(f"/api/v1/families/{world.family.id}/meetings", json=_meeting(world, extra))
    assert response.status_code == 201, response.get_json()
    assessment = client.get(
        f"/api/v1/families/{world.family.id}/assessments/{response.get_json()['assessment_id']}"
    ).get_json()
    got = {
        (r["theme"], r["perspective"], r["given_by"], r["subject"], r["scale"]): r["level"]
        for r in assessment["ratings"]
    }
    assert got[("skole", "member", m["Lise"].id, m["Lise"].id, "child")] == 1
    assert got[("skole", "member", m["Jonas"].id, None, "four_step")] == 3
    assert got[("arbeid", "member", m["Anne"].id, m["Anne"].id, "four_step")] == 1
    assert got[("skole", "team", None, m["Lise"].id, "four_step")] == 2
    # The suggested overall level is the team's household ratings only (all 2 but skole 3: 2).
    assert assessment["suggested_level"] == 2
    listed = client.get(f"/api/v1/families/{world.family.id}/assessments").get_json()
    assert {(r["given_by"], r["subject"]) for r in listed[-1]["ratings"]} >= {(m["Lise"].id, m["Lise"].id)}
    # Side by side on the family page: Lise's view of her school (ikke bra) against the team's
    # about her (utsatt) is one step: no flag; the household's skole (team stabil, Jonas stabil) agrees.
    page = client.get(f"/familier/{world.family.id}").get_data(as_text=True)
    assert 'id="member-voices"' in page and "Ikke bra" in page and "Jeg liker ikke friminuttene" in page
    assert "Ulike syn" not in page


def test_two_views_two_steps_apart_are_flagged_ulike_syn(world, login):
    client = login(world.member)
    m = world.members()
    extra = [{"theme": "skole", "given_by": m["Lise"].id, "scale": "child", "level": 1}]
    response = client.post(f"/api/v1/families/{world.family.id}/meetings", json=_meeting(world, extra))
    assert response.status_code == 201, response.get_json()
    page = client.get(f"/familier/{world.family.id}").get_data(as_text=True)
    row = re.search(r'<tr class="disagree"><th scope="row">Skole</th>.*?</tr>', page, re.S)
    assert row and "Ulike syn" in row.group(0) and "Lise" in row.group(0)
    meeting_page = client.get(f"/familier/{world.family.id}/moter/{response.get_json()['id']}").get_data(as_text=True)
    assert "Ulike syn" in meeting_page


@pytest.mark.parametrize(
    "case, field",
    [
        ("stranger", "given_by"),
        ("subject_stranger", "subject"),
        ("child_scale_adult", "scale"),
        ("child_scale_team", "scale"),
        ("child_scale_four", "level"),
        ("member_without_giver", "given_by"),
        ("giver_with_team_perspective", "perspective"),
        ("twice", "twice"),
    ],
)
def test_bad_voices_are_refused_with_the_field_and_nothing_is_stored(world, login, case, field):
    client = login(world.member)
    m = world.members()
    stranger = factories.family(
        world.lab, name="Familien Fremmed", agency=world.nav, members=[("Frank", "Fremmed", 1990, "parent")]
    ).members[0]
    rating = {
        "stranger": {"theme": "bolig", "given_by": stranger.id, "level": 2},
        "subject_stranger": {"theme": "bolig", "given_by": m["Anne"].id, "subject": stranger.id, "level": 2},
        "child_scale_adult": {"theme": "bolig", "given_by": m["Anne"].id, "scale": "child", "level": 2},
        "child_scale_team": {
            "theme": "bolig",
            "perspective": "team",
            "subject": m["Lise"].id,
            "scale": "child",
            "level": 2,
        },
        "child_scale_four": {"theme": "bolig", "given_by": m["Lise"].id, "scale": "child", "level": 4},
        "member_without_giver": {"theme": "bolig", "perspective": "member", "level": 2},
        "giver_with_team_perspective": {"theme": "bolig", "perspective": "team", "given_by": m["Anne"].id, "level": 2},
        "twice": {"theme": "bolig", "given_by": m["Anne"].id, "level": 2},
    }[case]
    extra = [rating, dict(rating)] if case == "twice" else [rating]
    before = (_count(Meeting), _count(JourneyAssessment), _count(ThemeRating))
    response = client.post(f"/api/v1/families/{world.family.id}/meetings", json=_meeting(world, extra))
    assert response.status_code == 422, response.get_json()
    errors = response.get_json()["errors"]
    if case == "twice":
        assert errors == {f"m{m['Anne'].id}_bolig": ["Temaet er vurdert to ganger fra samme perspektiv."]}
    elif field == "level":
        assert list(errors) == [f"m{m['Lise'].id}_bolig"]
    else:
        [(name, [message])] = errors.items()
        assert name == f"ratings.7.{field}", errors
        assert message
    assert (_count(Meeting), _count(JourneyAssessment), _count(ThemeRating)) == before


def test_the_database_keeps_one_household_rating_per_theme_and_perspective(world):
    from velferdslab.cases.journey.services import create_assessment

    row = create_assessment(world.access(world.member), actor=world.member, assessed_on=world.today, ratings=ratings())
    with pytest.raises(IntegrityError):
        with db.session.begin_nested():
            db.session.add(ThemeRating(assessment_id=row.id, theme="bolig", perspective="team", level=3))
            db.session.flush()
    with pytest.raises(IntegrityError):  # a member's own view names the member
        with db.session.begin_nested():
            db.session.add(ThemeRating(assessment_id=row.id, theme="bolig", perspective="member", level=3))
            db.session.flush()


def _form_url(world):
    return f"/familier/{world.family.id}/moter/ny"


def test_the_meeting_form_has_every_members_voice_and_a_childs_simple_scale(world, login):
    client = login(world.member)
    m = world.members()
    html = client.get(_form_url(world)).get_data(as_text=True)
    lise = f"m{m['Lise'].id}_skole"
    assert re.search(rf'name="{lise}"[^>]*value="1"', html) and "☹ Ikke bra" in html and "🙂 Bra" in html
    assert not re.search(rf'name="{lise}"[^>]*value="4"', html)  # three answers, no fourth step
    assert re.search(rf'name="m{m["Anne"].id}_arbeid"[^>]*value="4"', html)  # the grown-ups' four steps
    assert f'name="{lise}_subject"' in html and 'name="about_skole_subject"' in html
    data = untouched(html)
    data.update({f"team_{t}": ["2"] for t in ("bolig", "arbeid", "skole", "nettverk", "okonomi", "helse", "oppvekst")})
    data.update(
        {"team_skole": ["3"], lise: ["1"], f"{lise}_subject": [str(m["Lise"].id)], f"m{m['Jonas'].id}_skole": ["1"]}
    )
    response = client.post(_form_url(world), data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assessment = db.session.scalar(select(JourneyAssessment).order_by(JourneyAssessment.id.desc()))
    got = {
        (r.theme, r.given_by_member_id, r.subject_member_id, r.scale): r.level
        for r in assessment.ratings
        if r.perspective == "member"
    }
    assert got == {("skole", m["Lise"].id, m["Lise"].id, "child"): 1, ("skole", m["Jonas"].id, None, "four_step"): 1}
    # The next form starts there, and flags the household's skole: team stabil, Jonas ikke bra... uholdbar.
    again = client.get(_form_url(world)).get_data(as_text=True)
    assert re.search(rf'name="{lise}"[^>]*value="1"[^>]*checked', again)
    skole = again[again.index('id="team_skole"') : again.index('id="team_nettverk"')]
    assert "Ulike syn" in skole


def test_the_teams_rating_about_one_member_needs_the_member(world, login):
    client = login(world.member)
    data = untouched(client.get(_form_url(world)).get_data(as_text=True))
    data.update({f"team_{t}": ["2"] for t in ("bolig", "arbeid", "skole", "nettverk", "okonomi", "helse", "oppvekst")})
    data["about_skole"] = ["3"]
    response = client.post(_form_url(world), data=data)
    assert response.status_code == 422 and "Velg hvem vurderingen gjelder." in response.get_data(as_text=True)
    assert _count(Meeting) == 0


def test_a_rating_about_one_member_is_hidden_without_that_members_consent(world, login):
    """The voices meet the consent gate: without Lise's own consent (her parent's, she is 10) to
    bolig, bolig's caseworker sees the household's ratings but not the one about her, and why."""
    lise = world.members()["Lise"]
    for row in db.session.scalars(select(Consent).where(Consent.subject_member_id == lise.id,
                                                          Consent.agency_id == world.bolig.id)):
        db.session.delete(row)
    db.session.flush()
    client = login(world.lead)
    extra = [{"theme": "skole", "perspective": "team", "subject": lise.id, "level": 1}]
    response = client.post(f"/api/v1/families/{world.family.id}/meetings", json=_meeting(world, extra))
    assert response.status_code == 201, response.get_json()
    path = f"/api/v1/families/{world.family.id}/assessments/{response.get_json()['assessment_id']}"
    seen_by_lead = login(world.lead).get(path).get_json()
    assert any(r["subject"] == lise.id for r in seen_by_lead["ratings"])
    seen = login(world.member).get(path).get_json()
    assert [r for r in seen["ratings"] if r["subject"] == lise.id] == []
    assert {r["theme"] for r in seen["ratings"] if r["subject"] is None} >= {"skole", "arbeid"}
    assert any("Lise" in reason for reason in seen["hidden"])
