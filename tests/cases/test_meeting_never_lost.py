"""Issue 13, never lose work: an empty meeting is refused, a note beside an unrated theme is refused
(never dropped), and recording a meeting never erases the family's planned next meeting."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.cases.formdata import untouched
from tests.cases.world import ratings
from velferdslab.cases.journey.models import JourneyAssessment, ThemeRating
from velferdslab.cases.meetings.models import Meeting
from velferdslab.cases.meetings.services import record_meeting
from velferdslab.cases.overview.queries import family_page, my_families
from velferdslab.core.errors import ServiceError
from velferdslab.extensions import db
from velferdslab.reports import progress


def _meetings(family_id) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Meeting).where(Meeting.family_id == family_id))


def test_the_service_refuses_a_meeting_with_nothing_recorded(world):
    access = world.access(world.member)
    with pytest.raises(ServiceError) as error:
        record_meeting(access, actor=world.member, held_on=world.today,
                       next_meeting_on=world.today + timedelta(days=7), notes="   ", decisions="")
    assert error.value.field == "meeting" and "tomt" in error.value.message
    assert _meetings(world.family.id) == 0


@pytest.mark.parametrize("what", [
    {"notes": "Et notat"}, {"decisions": "En beslutning"}, {"attendee_user_ids": "member"},
    {"assessment": "ratings"}, {"new_actions": [{"title": "Søke", "owner_is_family": True}]},
])
def test_any_one_thing_recorded_makes_a_meeting(world, what):
    what = dict(what)
    if what.get("attendee_user_ids") == "member":
        what["attendee_user_ids"] = [world.member.id]
    if what.get("assessment") == "ratings":
        what["assessment"] = {"ratings": ratings()}
    record_meeting(world.access(world.member), actor=world.member, held_on=world.today, **what)
    assert _meetings(world.family.id) == 1


def test_the_api_refuses_an_empty_meeting(world, login):
    response = login(world.member).post(f"/api/v1/families/{world.family.id}/meetings",
                                        json={"held_on": world.today.isoformat()})
    assert response.status_code == 422
    assert "meeting" in response.get_json()["errors"]
    assert _meetings(world.family.id) == 0


def _form(client, world):
    url = f"/familier/{world.family.id}/moter/ny"
    page = client.get(url)
    assert page.status_code == 200
    return url, untouched(page.get_data(as_text=True))


def test_an_untouched_meeting_form_is_refused_with_a_message(world, login):
    client = login(world.member)
    url, data = _form(client, world)
    response = client.post(url, data=data)
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    body = response.get_data(as_text=True)
    assert "Møtet ble ikke lagret" in body and "Møtet er tomt" in body
    assert _meetings(world.family.id) == 0


def test_a_note_beside_an_unrated_theme_is_refused_by_that_field(world, login):
    client = login(world.member)
    url, data = _form(client, world)
    data.update(notes=["Noe skjedde"], family_bolig_note=["Vil flytte"])
    response = client.post(url, data=data)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert 'id="family_bolig_note-error"' in body and "en merknad lagres bare sammen med et nivå" in body
    assert _meetings(world.family.id) == 0 and db.session.scalar(select(func.count()).select_from(ThemeRating)) == 0


def test_a_note_beside_an_unrated_theme_is_refused_on_the_assessment_form_too(world, login):
    client = login(world.member)
    url = f"/familier/{world.family.id}/vurderinger/ny"
    data = untouched(client.get(url).get_data(as_text=True))
    data.update({f"team_{r['theme']}": [str(r["level"])] for r in ratings()})
    data["family_arbeid_note"] = ["Ingen jobb ennå"]
    response = client.post(url, data=data)
    assert response.status_code == 422
    assert 'id="family_arbeid_note-error"' in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(JourneyAssessment)) == 0


def test_recording_a_meeting_never_erases_the_planned_next_meeting(world, login):
    access = world.access(world.member)
    planned = world.today + timedelta(days=30)
    record_meeting(access, actor=world.member, held_on=world.today - timedelta(days=10), notes="Første",
                   next_meeting_on=planned)
    # A meeting today with no next date (a phone call, say) through the form.
    client = login(world.member)
    url, data = _form(client, world)
    data.update(notes=["Kort telefonmøte"])
    assert client.post(url, data=data).status_code == 302
    assert _meetings(world.family.id) == 2
    page = family_page(world.access(world.member))
    assert page.next_meeting_on == planned
    summary = next(s for s in my_families(world.member) if s.family.id == world.family.id)
    assert summary.next_meeting_on == planned and summary.last_meeting_on == world.today
    assert progress.build(world.access(world.member)).next_meeting_on == planned
    html = client.get(f"/familier/{world.family.id}").get_data(as_text=True)
    assert "Ikke avtalt" not in html


def test_the_family_page_and_the_report_agree_on_the_earliest_planned_date(world):
    access = world.access(world.member)
    far = world.today + timedelta(days=60)
    near = world.today + timedelta(days=14)
    # An older meeting planned a later date; the newest planned an earlier one: the earliest future date
    # (the next meeting to happen) wins everywhere, and a past "next" never counts.
    record_meeting(access, actor=world.member, held_on=world.today - timedelta(days=40), notes="a",
                   next_meeting_on=world.today - timedelta(days=5))
    record_meeting(access, actor=world.member, held_on=world.today - timedelta(days=20), notes="b",
                   next_meeting_on=far)
    record_meeting(access, actor=world.member, held_on=world.today - timedelta(days=2), notes="c",
                   next_meeting_on=near)
    fresh = world.access(world.member)
    expected = progress.build(fresh).next_meeting_on
    assert expected == near
    assert family_page(fresh).next_meeting_on == expected
    assert next(s for s in my_families(world.member) if s.family.id == world.family.id).next_meeting_on == expected


def test_no_planned_meeting_when_every_next_date_is_past(world):
    record_meeting(world.access(world.member), actor=world.member, held_on=world.today - timedelta(days=40),
                   notes="a", next_meeting_on=world.today - timedelta(days=5))
    assert family_page(world.access(world.member)).next_meeting_on is None


def test_untouched_reads_the_rendered_form():
    html = ('<form><input type="hidden" name="a" value="1"><input type="checkbox" name="b" value="2">'
            '<select name="c"><option value="x">X</option><option value="y" selected>Y</option></select>'
            '<textarea name="d">\nhei</textarea><button type="submit">Lagre</button></form>')
    assert untouched(html) == {"a": ["1"], "c": ["y"], "d": ["hei"]}
