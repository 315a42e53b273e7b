"""Issue 13, the meeting and the journey: the meeting form's scale is pre-filled with the last
rating (a draft wins), a pre-filled rating sent unchanged is that day's rating, "not assessed this
time" leaves the assessment out, the distance since the start is shown, an interpreter is recorded
per meeting, family attendees show role and age, and the meeting's page shows its ratings and the
action changes it made."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select

from tests.cases.formdata import untouched
from tests.cases.world import ALL_THEMES
from velferdslab.cases.journey.models import JourneyAssessment
from velferdslab.cases.journey.services import create_assessment
from velferdslab.cases.meetings.models import Meeting, MeetingActionChange
from velferdslab.cases.meetings.services import record_meeting
from velferdslab.cases.plan.services import create_action
from velferdslab.extensions import db

INTAKE = {"bolig": 1, "arbeid": 2, "skole": 2, "nettverk": 3, "okonomi": 1, "helse": 2, "oppvekst": 3}
LATEST = {"bolig": 2, "arbeid": 2, "skole": 3, "nettverk": 3, "okonomi": 2, "helse": 2, "oppvekst": 4}


def _assess(world, on, levels, family_levels=None):
    rows = [{"theme": t, "perspective": "team", "level": levels[t]} for t in ALL_THEMES]
    rows += [{"theme": t, "perspective": "family", "level": lv} for t, lv in (family_levels or {}).items()]
    return create_assessment(world.access(world.member), actor=world.member, assessed_on=on, ratings=rows,
                             kind="intake" if levels is INTAKE else "regular")


def _history(world):
    _assess(world, world.today - timedelta(days=370), INTAKE, {"bolig": 1})
    return _assess(world, world.today - timedelta(days=30), LATEST, {"bolig": 3})


def _url(world, tail=""):
    return f"/familier/{world.family.id}/moter/ny{tail}"


def _meetings(world) -> list[Meeting]:
    db.session.expire_all()
    return list(db.session.scalars(select(Meeting).where(Meeting.family_id == world.family.id)))


def _checked(html: str, name: str) -> str | None:
    found = re.search(rf'name="{name}" id="{name}-\d" value="(\d?)" checked', html)
    return found.group(1) if found else None


def test_the_form_starts_at_the_last_rating_of_each_theme_and_perspective(world, login):
    _history(world)
    html = login(world.member).get(_url(world)).get_data(as_text=True)
    for theme, level in LATEST.items():
        assert _checked(html, f"team_{theme}") == str(level), theme
    assert _checked(html, "family_bolig") == "3"
    assert _checked(html, "family_arbeid") == ""  # not rated by the family last time: "Ikke vurdert"
    assert _checked(html, "young_person_bolig") == ""
    assert not re.search(r'aria-live="polite">Endret fra', html) and 'class="perspective changed' not in html
    # The distance travelled since the intake, per theme and perspective.
    assert "Siden start: uholdbar → utsatt (+1)" in html  # the team's bolig
    assert "Siden start: uholdbar → stabil (+2)" in html  # the family's bolig
    assert "Siden start: utsatt → utsatt (±0)" in html  # arbeid


def test_a_meeting_with_every_rating_unchanged_is_recorded_with_that_days_assessment(world, login):
    _history(world)
    client = login(world.member)
    data = untouched(client.get(_url(world)).get_data(as_text=True))
    response = client.post(_url(world), data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    [meeting] = _meetings(world)
    assessment = db.session.scalar(select(JourneyAssessment).where(JourneyAssessment.meeting_id == meeting.id))
    assert assessment.assessed_on == world.today
    got = {(r.theme, r.perspective): r.level for r in assessment.ratings}
    assert got == {**{(t, "team"): lv for t, lv in LATEST.items()}, ("bolig", "family"): 3}


def test_a_draft_wins_over_the_last_rating_and_the_change_is_marked(world, login):
    _history(world)
    client = login(world.member)
    saved = client.post(_url(world, "/utkast"), json={"fields": {"team_bolig": ["4"]}})
    assert saved.status_code == 200
    html = client.get(_url(world)).get_data(as_text=True)
    assert _checked(html, "team_bolig") == "4"
    assert _checked(html, "team_arbeid") == "2"  # not in the draft: the last rating
    assert 'aria-live="polite">Endret fra utsatt<' in html and 'class="perspective changed' in html
    assert "Siden start: uholdbar → bærekraftig (+3)" in html


def test_a_changed_rating_sent_without_javascript_is_marked_on_a_refused_form(world, login):
    _history(world)
    client = login(world.member)
    data = untouched(client.get(_url(world)).get_data(as_text=True))
    data["team_helse"] = ["1"]
    data["family_arbeid_note"] = ["Uten nivå"]  # refused: a note needs its level
    html = client.post(_url(world), data=data).get_data(as_text=True)
    assert _checked(html, "team_helse") == "1" and 'aria-live="polite">Endret fra utsatt<' in html
    assert "Siden start: utsatt → uholdbar (−1)" in html
    assert _meetings(world) == []


def test_not_assessed_this_time_leaves_the_assessment_out_and_an_untouched_form_is_empty(world, login):
    _history(world)
    client = login(world.member)
    data = untouched(client.get(_url(world)).get_data(as_text=True))
    refused = client.post(_url(world), data={**data, "skip_assessment": ["y"]})
    assert refused.status_code == 422 and "Møtet er tomt" in refused.get_data(as_text=True)
    noted = client.post(_url(world), data={**data, "skip_assessment": ["y"], "team_bolig_note": ["Bedre"]})
    assert "Temaene vurderes ikke på dette møtet" in noted.get_data(as_text=True)
    assert _meetings(world) == []
    done = client.post(_url(world), data={**data, "skip_assessment": ["y"], "notes": ["Telefonsamtale"]})
    assert done.status_code == 302
    [meeting] = _meetings(world)
    assert db.session.scalar(select(func.count()).select_from(JourneyAssessment)
                             .where(JourneyAssessment.meeting_id == meeting.id)) == 0


def test_the_interpreter_is_recorded_per_meeting_and_shown(world, login):
    client = login(world.member)
    data = untouched(client.get(_url(world)).get_data(as_text=True))
    assert "interpreter_used" not in data  # the family does not need one: unticked
    response = client.post(_url(world), data={**data, "notes": ["Med tolk"], "interpreter_used": ["y"]})
    assert response.status_code == 302
    [meeting] = _meetings(world)
    assert meeting.interpreter_used is True
    page = client.get(f"/familier/{world.family.id}/moter/{meeting.id}").get_data(as_text=True)
    assert "Tolk var med" in page
    api = client.get(f"/api/v1/families/{world.family.id}/meetings/{meeting.id}").get_json()
    assert api["interpreter_used"] is True


def test_the_form_ticks_the_interpreter_for_a_family_that_needs_one(world, login):
    world.family.interpreter_needed = True
    db.session.flush()
    data = untouched(login(world.member).get(_url(world)).get_data(as_text=True))
    assert data["interpreter_used"] == ["y"]


def test_the_api_takes_and_gives_interpreter_used(world, login):
    client = login(world.member)
    base = f"/api/v1/families/{world.family.id}/meetings"
    created = client.post(base, json={"held_on": world.today.isoformat(), "notes": "Telefon",
                                      "interpreter_used": True})
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["interpreter_used"] is True
    patched = client.patch(f"{base}/{created.get_json()['id']}", json={"interpreter_used": False})
    assert patched.status_code == 200 and patched.get_json()["interpreter_used"] is False
    assert client.patch(f"{base}/{created.get_json()['id']}", json={"notes": "x"}).get_json()[
        "interpreter_used"] is False  # a PATCH without it keeps it
    bad = client.post(base, json={"held_on": world.today.isoformat(), "notes": "x", "interpreter_used": "kanskje"})
    assert bad.status_code == 422 and "interpreter_used" in bad.get_json()["errors"]
    listed = client.get(base).get_json()
    assert "interpreter_used" in listed[0]


def test_the_api_schema_describes_interpreter_used(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    out = [name for name, s in schemas.items() if "assessment_id" in s.get("properties", {})]
    create = [name for name, s in schemas.items() if "action_updates" in s.get("properties", {})]
    assert out and create
    assert schemas[out[0]]["properties"]["interpreter_used"]["type"] == "boolean"
    assert schemas[create[0]]["properties"]["interpreter_used"]["type"] == "boolean"


def test_family_attendees_show_role_and_age_on_the_form_and_the_meeting_page(world, login):
    client = login(world.member)
    html = client.get(_url(world)).get_data(as_text=True)
    assert "Jonas Berg (ungdom, 16 år)" in html and "Lise Berg (barn, 10 år)" in html
    assert f"Anne Berg (forelder, {world.today.year - 1985} år)" in html
    jonas = world.members()["Jonas"]
    meeting = record_meeting(world.access(world.member), actor=world.member, held_on=world.today,
                             attendee_member_ids=[jonas.id])
    page = client.get(f"/familier/{world.family.id}/moter/{meeting.id}").get_data(as_text=True)
    assert "Jonas Berg (ungdom, 16 år)" in page
    # A member without consent for their agency sees names and roles, never birth years (or ages).
    gated = login(world.gated).get(f"/familier/{world.family.id}/moter/{meeting.id}").get_data(as_text=True)
    assert "Jonas Berg (ungdom)" in gated and "16 år" not in gated and "Uten tolk" not in gated


def test_the_meeting_page_shows_its_ratings_and_the_action_changes_it_made(world, login):
    _history(world)
    access = world.access(world.member)
    action = create_action(access, actor=world.member, title="Søke bostøtte", owner_is_family=True)
    untouched_action = create_action(access, actor=world.member, title="Ringe NAV", owner_is_family=True)
    rows = [{"theme": t, "perspective": "team", "level": 3, "note": "Bedre" if t == "bolig" else None}
            for t in ALL_THEMES] + [{"theme": "bolig", "perspective": "family", "level": 2}]
    meeting = record_meeting(access, actor=world.member, held_on=world.today,
                             assessment={"ratings": rows},
                             action_updates=[{"id": action.id, "status": "in_progress"},
                                             {"id": untouched_action.id, "status": "planned"}],
                             new_actions=[{"title": "Søke fritidskort", "owner_is_family": True}])
    [change] = db.session.scalars(select(MeetingActionChange).where(MeetingActionChange.meeting_id == meeting.id))
    assert (change.action_id, change.from_status, change.to_status) == (action.id, "planned", "in_progress")
    page = login(world.member).get(f"/familier/{world.family.id}/moter/{meeting.id}").get_data(as_text=True)
    table = page[page.index('<table class="meeting-ratings">'):page.index("</table>", page.index("meeting-ratings"))]
    assert table.count('<tr><th scope="row">') == len(ALL_THEMES)
    assert ">Teamet<" in table and ">Familien<" in table and ">Ungdommen<" not in table
    assert "Bedre" in table and "Utsatt" in table and "Stabil" in table
    assert "«Søke bostøtte»: planlagt → pågår" in page
    assert "Ringe NAV" not in page  # its status did not change
    assert "Søke fritidskort" in page
    # The gated member sees neither.
    gated = login(world.gated).get(f"/familier/{world.family.id}/moter/{meeting.id}").get_data(as_text=True)
    assert "meeting-ratings" not in gated and "Søke bostøtte" not in gated
