"""The family's progress report: its content, who may download it, the audit row, and the PDF
payloads of the reliability brief (items 24 and 25)."""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime, timedelta

import pytest
from pypdf import PdfReader

from tests import factories
from tests.reports import factories as rf
from velferdslab.audit.models import AuditEvent
from velferdslab.cases import rules as case_services
from velferdslab.cases.meetings.models import Meeting
from velferdslab.cases.plan.models import Action
from velferdslab.core import pdf as core_pdf
from velferdslab.extensions import db
from velferdslab.reports import progress

KR = 100


def pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF-")
    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(data)).pages)


@pytest.fixture
def family_setup(lab):
    """A family with a journey, a plan, two meetings and a paid spend; its lead has consent."""
    agency = factories.agency(lab, name="NAV Testby", kind="nav")
    fam = rf.journey(lab, [(0, 1), (60, 2), (120, 3)], started=-200, name="Familien Nordmann",
                     themes={"okonomi": [1, 1, 2]})
    spend = rf.paid_spend(lab, fam, agency, 12_500 * KR, theme="okonomi", category="debt_settlement")
    lead = db.session.get(type(spend.requester), spend.decisions[0].user_id)
    enrolment = rf.enrolment_of(fam)
    goal = factories.goal(fam, theme="bolig", text="Flytte til en større leilighet")
    db.session.add(Action(family_id=fam.id, goal_id=goal.id, title="Søke kommunal bolig", owner_is_family=True,
                          due_on=rf.day(20), status="planned"))
    db.session.add(Meeting(family_id=fam.id, enrolment_id=enrolment.id, held_on=rf.day(-30),
                           decisions="Teamet dekker depositum.", next_meeting_on=rf.day(25)))
    db.session.flush()
    return {"family": fam, "lead": lead, "agency": agency, "goal": goal, "spend": spend}


def test_the_lead_downloads_a_readable_report(family_setup, login):
    fam = family_setup["family"]
    client = login(family_setup["lead"])
    response = client.get(f"/familier/{fam.id}/fremdriftsrapport.pdf")
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    text = pdf_text(response.data)
    for expected in ("Fremdriftsrapport", "Familien Nordmann", "Investeringsteamet", "NAV Testby",
                     "Hvor dere startet, og hvor dere er nå", "Investeringsferden over tid",
                     "Flytte til en større leilighet", "Søke kommunal bolig", "Teamet dekker depositum.",
                     "Pengene i perioden", "Innkjøp", "12 500,00 kr", "Bedre hverdag", "Neste steg", "Neste møte",
                     rf.day(25).strftime("%d.%m.%Y")):
        assert expected in text.replace("\u00a0", " "), expected
    # Start and now: uholdbar at the start, stabil now (the team's overall level).
    assert "Samlet Uholdbar Stabil" in text
    # Every goal heads its own rows; one without actions in the period says so.
    assert "Mål for bolig: Flytte til en større leilighet (Kort sikt · Åpent) Søke kommunal bolig Familien" in text
    assert "Ingen tiltak i perioden." in text
    reader = PdfReader(io.BytesIO(response.data))
    assert reader.metadata.title == "Fremdriftsrapport for Familien Nordmann"
    assert reader.trailer["/Root"]["/Lang"] == "nb"
    assert "/StructTreeRoot" in reader.trailer["/Root"]
    assert "Side 1 av" in pdf_text(response.data)


def _table_cells(data: bytes) -> list[tuple[str, str | None, list[str]]]:
    """(role, id, headers) of every TH and TD in the PDF's structure tree."""
    cells = []

    def walk(node):
        node = node.get_object()
        if not hasattr(node, "keys"):
            return
        if node.get("/S") in ("/TH", "/TD"):
            attributes = node.get("/A")
            attributes = attributes.get_object() if attributes is not None else {}
            cells.append((node["/S"], node.get("/ID"), [str(h) for h in attributes.get("/Headers", [])]))
        kids = node.get("/K")
        kids = kids.get_object() if kids is not None else []
        for kid in kids if isinstance(kids, list) else [kids]:
            if hasattr(kid, "get_object"):
                walk(kid)

    walk(PdfReader(io.BytesIO(data)).trailer["/Root"]["/StructTreeRoot"])
    return cells


def test_table_cells_are_tagged_with_their_own_headers(family_setup, login):
    """Screen readers announce a cell with its headers: its column's and at most one row header,
    never every goal of the report (a th per goal made WeasyPrint tag each as a header of column 0)."""
    fam = family_setup["family"]
    data = login(family_setup["lead"]).get(f"/familier/{fam.id}/fremdriftsrapport.pdf").data
    cells = _table_cells(data)
    headers = {cell_id for role, cell_id, _h in cells if role == "/TH"}
    data_cells = [h for role, _id, h in cells if role == "/TD"]
    assert data_cells and all(set(h) <= headers for h in data_cells)

    def row_headers(cell_headers):  # ids are "<table>-<row>-<column>"; row 0 holds the column headers
        return [h for h in cell_headers if h.split("-")[1] != "0"]

    assert [h for h in data_cells if len(row_headers(h)) > 1] == []
    # The actions are row headers: a status cell is announced with its action.
    assert sum(1 for h in data_cells if len(row_headers(h)) == 1) >= 3


def test_downloading_is_audited(family_setup, login):
    fam = family_setup["family"]
    login(family_setup["lead"]).get(f"/familier/{fam.id}/fremdriftsrapport.pdf")
    event = db.session.query(AuditEvent).filter_by(action="family.report_pdf").one()
    assert event.family_id == fam.id and event.actor_id == family_setup["lead"].id
    assert event.purpose == "fremdriftsrapport"
    # What was disclosed: the language and the period (the default one, filled in).
    start = case_services.add_months(rf.day(0), -progress.PERIOD_MONTHS)
    assert event.summary == {"lang": "nb", "period_start": start.isoformat(), "period_end": rf.day(0).isoformat()}


def test_english_on_request(family_setup, login, in_catalogue):
    fam = family_setup["family"]
    response = login(family_setup["lead"]).get(f"/familier/{fam.id}/fremdriftsrapport.pdf?lang=en")
    assert response.status_code == 200
    reader = PdfReader(io.BytesIO(response.data))
    assert reader.trailer["/Root"]["/Lang"] == "en"
    assert reader.metadata.title == "Progress report for Familien Nordmann"
    text = pdf_text(response.data)
    assert "Progress report" in text and "Fremdriftsrapport" not in text
    assert "Page 1 of" in text or "Page 1" in text
    # The family's own words stay as they wrote them.
    assert "Flytte til en større leilighet" in text


@pytest.mark.parametrize("params, field, message", [
    ("lang=de", "lang", "Språket må være nb eller en."), ("fra=i-går", "fra", "Ugyldig dato; bruk ÅÅÅÅ-MM-DD."),
    ("fra=2026-05-01&til=2026-01-01", "til", "Perioden er tom: fra-datoen er etter til-datoen.")])
def test_bad_parameters_are_422_in_the_api_and_a_message_on_the_family_page(family_setup, login, params, field,
                                                                             message):
    fam = family_setup["family"]
    client = login(family_setup["lead"])
    api = client.get(f"/api/v1/families/{fam.id}/progress-report.pdf?{params}")
    assert api.status_code == 422 and api.get_json()["errors"][field] == [message]
    page = client.get(f"/familier/{fam.id}/fremdriftsrapport.pdf?{params}")
    assert page.status_code == 303
    assert page.headers["Location"].endswith(f"/familier/{fam.id}#progress-report-heading")
    shown = client.get(page.headers["Location"]).get_data(as_text=True)
    assert message in shown
    # Nothing was disclosed, so nothing is logged as downloaded.
    assert db.session.query(AuditEvent).filter_by(action="family.report_pdf").count() == 0


def test_a_period_narrows_meetings_and_spend(family_setup, login):
    fam = family_setup["family"]
    client = login(family_setup["lead"])
    early = client.get(f"/familier/{fam.id}/fremdriftsrapport.pdf?fra={rf.day(-200)}&til={rf.day(-100)}")
    text = pdf_text(early.data)
    assert "Ingen møter i perioden." in text and "Ingen utbetalinger i perioden." in text


@pytest.fixture
def long_family(lab):
    """A family 400 days into its enrolment: assessments before and within the last half-year, a
    goal reached long ago, a done action from long ago, an old action still open, fresh ones."""
    agency = factories.agency(lab, name="NAV Langtid", kind="nav")
    fam = rf.journey(lab, [(0, 1), (100, 2), (300, 2), (380, 3)], started=-400, name="Familien Langtid")
    spend = rf.paid_spend(lab, fam, agency, 1_000 * KR)
    lead = db.session.get(type(spend.requester), spend.decisions[0].user_id)
    long_ago = datetime.combine(rf.day(-300), datetime.min.time().replace(hour=12), tzinfo=UTC)
    reached = factories.goal(fam, theme="arbeid", text="Fullføre norskkurset")
    reached.status, reached.created_at, reached.updated_at = "reached", long_ago, long_ago
    open_goal = factories.goal(fam, theme="helse", text="Få fastlege")
    open_goal.created_at = long_ago
    for title, status, due in (("Melde seg på kurset", "done", -310), ("Bestille legetime", "in_progress", -290),
                               ("Gå til time hos fastlegen", "planned", 14)):
        db.session.add(Action(family_id=fam.id, goal_id=(reached if status == "done" else open_goal).id, title=title,
                              owner_is_family=True, due_on=rf.day(due), status=status,
                              created_at=long_ago, updated_at=long_ago))
    db.session.add(Action(family_id=fam.id, goal_id=None, title="Rydde i papirene", owner_is_family=True,
                          due_on=rf.day(-10), status="done"))
    db.session.add(Action(family_id=fam.id, goal_id=None, title="Ringe NAV", owner_is_family=True,
                          due_on=rf.day(-5), status="in_progress"))
    db.session.add(Action(family_id=fam.id, goal_id=open_goal.id, title="Søke om frikort", owner_is_family=True,
                          due_on=rf.day(-60), status="done", created_at=long_ago,
                          updated_at=long_ago + timedelta(days=250)))
    db.session.flush()
    return {"family": fam, "lead": lead}


def journey_table(text: str) -> str:
    """The journey table's text in the report (its caption to the next section)."""
    start = text.index("Nivå per tema ved start")
    ends = [i for i in (text.find("Der vi ser", start), text.find("Målene deres", start)) if i > 0]
    return text[start:min(ends)]


def goals_part(text: str) -> str:
    return text[text.index("Målene deres"):text.index("Møter i perioden")]


def next_steps_part(text: str) -> str:
    return text[text.index("Neste steg"):]


def dates(*offsets: int) -> list[str]:
    return [rf.day(offset).strftime("%d.%m.%Y") for offset in offsets]


def test_the_default_period_is_the_last_half_year(long_family, login):
    client = login(long_family["lead"])
    text = pdf_text(client.get(f"/familier/{long_family['family'].id}/fremdriftsrapport.pdf").data)
    start = case_services.add_months(rf.day(0), -progress.PERIOD_MONTHS)
    assert f"Perioden {start:%d.%m.%Y}–{rf.day(0):%d.%m.%Y}" in text
    # The journey table: where they started, then the period's assessments; not the one in between.
    table = journey_table(text)
    assert all(day in table for day in dates(-400, -100, -20)), table
    assert dates(-300)[0] not in table
    # An action still open is listed however old; one done before the period is counted, not listed.
    goals = goals_part(text)
    assert "Bestille legetime" in goals and "Gå til time hos fastlegen" in goals and "Få fastlege" in goals
    assert "Melde seg på kurset" not in text and "Fullføre norskkurset" not in text
    assert "1 mål som ble nådd eller lagt bort før perioden, er ikke tatt med." in goals
    assert "1 tiltak som ble avsluttet før perioden, er ikke tatt med." in goals
    # Actions in the period without a goal have their own rows.
    assert "Tiltak uten mål" in goals and "Rydde i papirene" in goals and "Ringe NAV" in goals
    # Next steps: what is due today or later; the overdue open actions are counted and stay in the table.
    next_steps = next_steps_part(text)
    assert "Gå til time hos fastlegen" in next_steps
    assert "Bestille legetime" not in next_steps and "Ringe NAV" not in next_steps
    assert "2 åpne tiltak har passert fristen; de står i tabellen over målene og tiltakene." in next_steps


def test_a_period_from_the_start_lists_everything(long_family, login):
    client = login(long_family["lead"])
    fam = long_family["family"]
    text = pdf_text(client.get(f"/familier/{fam.id}/fremdriftsrapport.pdf?fra={rf.day(-400)}").data)
    assert f"Perioden {rf.day(-400):%d.%m.%Y}–" in text
    table = journey_table(text)
    assert all(day in table for day in dates(-400, -300, -100, -20)), table
    assert "Melde seg på kurset" in text and "Fullføre norskkurset" in text
    assert "er ikke tatt med" not in text


def test_a_past_period_lists_what_was_open_then(long_family, login):
    """A quarter long ago (as the batch renders): what was open in it, even if finished since; not
    what came later, nor what was finished before it."""
    fam = long_family["family"]
    text = pdf_text(login(long_family["lead"]).get(
        f"/familier/{fam.id}/fremdriftsrapport.pdf?fra={rf.day(-200)}&til={rf.day(-100)}").data)
    goals = goals_part(text)
    assert "Bestille legetime" in goals  # open since before the period
    assert "Søke om frikort" in goals  # open in the period, done 50 days ago
    assert "Rydde i papirene" not in goals and "Ringe NAV" not in goals  # came after the period
    assert "Melde seg på kurset" not in goals and "Fullføre norskkurset" not in goals  # finished before it
    assert "1 mål som ble nådd eller lagt bort før perioden, er ikke tatt med." in goals
    assert "1 tiltak som ble avsluttet før perioden, er ikke tatt med." in goals
    # The journey table: the start and the period's assessment (day -100), which is also where
    # they were at its end; nothing from before or after it.
    table = journey_table(text)
    assert all(day in table for day in dates(-400, -100)), table
    assert dates(-300)[0] not in table and dates(-20)[0] not in table
    # Next steps are today's: the overdue action the table does not list is there; the listed one is counted.
    next_steps = next_steps_part(text)
    assert "Ringe NAV" in next_steps and "Bestille legetime" not in next_steps
    assert "1 åpent tiltak har passert fristen; det står i tabellen over målene og tiltakene." in next_steps


def test_only_an_end_date_moves_the_whole_period(long_family, login):
    client = login(long_family["lead"])
    fam = long_family["family"]
    text = pdf_text(client.get(f"/familier/{fam.id}/fremdriftsrapport.pdf?til={rf.day(-250)}").data)
    # Six months before day -250 is before the start of the enrolment: the period starts there.
    assert f"Perioden {rf.day(-400):%d.%m.%Y}–{rf.day(-250):%d.%m.%Y}" in text
    future = client.get(f"/familier/{fam.id}/fremdriftsrapport.pdf?fra={rf.day(30)}")
    assert future.status_code == 303  # back to the family page with the reason
    api = client.get(f"/api/v1/families/{fam.id}/progress-report.pdf?fra={rf.day(30)}")
    assert api.status_code == 422 and "fra" in api.get_json()["errors"]


def test_nothing_open_in_the_period_is_said_so(long_family, login):
    from sqlalchemy import update

    from velferdslab.cases.plan.models import Goal

    fam = long_family["family"]
    long_ago = datetime.combine(rf.day(-300), datetime.min.time().replace(hour=12), tzinfo=UTC)
    db.session.execute(update(Action).where(Action.family_id == fam.id)
                       .values(status="done", created_at=long_ago, updated_at=long_ago))
    db.session.execute(update(Goal).where(Goal.family_id == fam.id)
                       .values(status="reached", created_at=long_ago, updated_at=long_ago))
    db.session.flush()
    db.session.expire_all()
    text = pdf_text(login(long_family["lead"]).get(f"/familier/{fam.id}/fremdriftsrapport.pdf").data)
    assert "Ingen mål eller tiltak var åpne i perioden." in text
    assert "Ingen mål er skrevet ned ennå." not in text


def test_a_closed_family_is_reported_on_its_last_months_and_after(lab, login):
    agency = factories.agency(lab, kind="nav")
    fam = rf.journey(lab, [(0, 1), (200, 2), (380, 3)], started=-900, closed=-500,
                     follow_ups={"follow_up_6": 3}, name="Familien Avsluttet")
    factories.consent(fam, agency)
    lead = factories.user(lab, roles=("team_lead",), agency=agency)
    factories.team_member(fam, lead, role="lead")
    text = pdf_text(login(lead).get(f"/familier/{fam.id}/fremdriftsrapport.pdf").data)
    start = case_services.add_months(rf.day(-500), -progress.PERIOD_MONTHS)
    assert f"Perioden {start:%d.%m.%Y}–{rf.day(0):%d.%m.%Y}" in text
    # The last assessment in the lab (day -520) and the follow-up after closure are in the table.
    table = journey_table(text)
    follow_up = rf.enrolment_of(fam).closed_on + timedelta(days=31 * 6)
    assert all(day in table for day in dates(-900, -520)) and f"{follow_up:%d.%m.%Y}" in table, table
    assert dates(-700)[0] not in table


def test_a_family_younger_than_the_period_is_reported_from_its_start(family_setup, login):
    fam = family_setup["family"]  # started 200 days ago: longer than six months
    enrolment = rf.enrolment_of(fam)
    enrolment.started_on = rf.day(-40)
    db.session.flush()
    text = pdf_text(login(family_setup["lead"]).get(f"/familier/{fam.id}/fremdriftsrapport.pdf").data)
    assert f"Perioden {rf.day(-40):%d.%m.%Y}–{rf.day(0):%d.%m.%Y}" in text


def test_off_the_team_gets_the_404_of_a_missing_family_and_it_is_audited(family_setup, lab, login):
    fam = family_setup["family"]
    for outsider in (factories.user(lab, roles=("team_lead",)), factories.user(lab, roles=("manager",))):
        client = login(outsider)
        assert client.get(f"/familier/{fam.id}/fremdriftsrapport.pdf").status_code == 404
        assert client.get(f"/api/v1/families/{fam.id}/progress-report.pdf").status_code == 404
        assert client.get("/familier/99999999/fremdriftsrapport.pdf").status_code == 404
        denied = db.session.query(AuditEvent).filter_by(action="family.denied", actor_id=outsider.id).all()
        assert {e.family_id for e in denied} == {fam.id, 99999999}
    assert db.session.query(AuditEvent).filter_by(action="family.report_pdf").count() == 0


def test_a_member_without_consent_for_their_agency_may_not(family_setup, lab, login):
    fam = family_setup["family"]
    gated = factories.user(lab, roles=("caseworker",), agency=factories.agency(lab, kind="barnevern"))
    factories.team_member(fam, gated)
    assert login(gated).get(f"/familier/{fam.id}/fremdriftsrapport.pdf").status_code == 403


def test_the_api_serves_the_same_pdf(family_setup, login):
    fam = family_setup["family"]
    response = login(family_setup["lead"]).get(f"/api/v1/families/{fam.id}/progress-report.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "Familien Nordmann" in pdf_text(response.data)


def test_the_family_page_links_to_the_report(family_setup, lab, login):
    fam = family_setup["family"]
    page = login(family_setup["lead"]).get(f"/familier/{fam.id}").get_data(as_text=True)
    assert "Last ned fremdriftsrapport" in page
    assert f"/familier/{fam.id}/fremdriftsrapport.pdf" in page
    # A period and a language can be chosen before downloading.
    assert 'name="fra"' in page and 'name="til"' in page and 'name="lang"' in page
    gated = factories.user(lab, roles=("caseworker",), agency=factories.agency(lab, kind="skole"))
    factories.team_member(fam, gated)
    assert "Last ned fremdriftsrapport" not in login(gated).get(f"/familier/{fam.id}").get_data(as_text=True)


# --- reliability items 24 and 25 ------------------------------------------------------------------

SCRIPTS = ['<script>alert(1)</script>', '"><img src=x onerror=alert(1)>', "javascript:alert(1)"]
PAYLOADS = ["file:///etc/passwd", '<link rel="attachment" href="file:///etc/passwd">', "http://169.254.169.254/",
            '<style>@import url("file:///etc/passwd");</style>', "/dev/urandom"]


@pytest.fixture
def fetched(monkeypatch):
    """Every URL the PDF renderer is asked for."""
    seen: list[str] = []
    original = core_pdf.StaticOnlyFetcher.fetch

    def recording(self, url, headers=None):
        seen.append(url)
        return original(self, url, headers)

    monkeypatch.setattr(core_pdf.StaticOnlyFetcher, "fetch", recording)
    return seen


def _fill_user_fields(setup, text: str) -> None:
    fam, goal = setup["family"], setup["goal"]
    goal.text = text
    fam.household_name = f"Familien {text}"[:200]
    db.session.add(Action(family_id=fam.id, goal_id=goal.id, title=text[:300], owner_is_family=True,
                          status="in_progress"))
    meeting = db.session.query(Meeting).filter_by(family_id=fam.id).one()
    meeting.decisions = text
    db.session.flush()


@pytest.mark.parametrize("text", SCRIPTS)
def test_script_in_user_text_is_shown_as_text(family_setup, login, text):
    _fill_user_fields(family_setup, text)
    response = login(family_setup["lead"]).get(f"/familier/{family_setup['family'].id}/fremdriftsrapport.pdf")
    assert response.status_code == 200
    assert text in pdf_text(response.data)
    assert b"/JavaScript" not in response.data and b"/JS " not in response.data


@pytest.mark.parametrize("text", PAYLOADS)
def test_pdf_payloads_in_user_text_fetch_nothing(family_setup, login, fetched, text):
    _fill_user_fields(family_setup, text)
    started = time.monotonic()
    response = login(family_setup["lead"]).get(f"/familier/{family_setup['family'].id}/fremdriftsrapport.pdf")
    assert time.monotonic() - started < 30
    assert response.status_code == 200
    assert text in pdf_text(response.data)
    # The only things fetched are the report's own stylesheet and its charts (inlined SVG images).
    assert any(url.endswith("/static/css/reports-pdf.css") for url in fetched)
    assert all(url.endswith("/static/css/reports-pdf.css") or url.startswith("data:image/svg+xml;base64,")
               for url in fetched), fetched
    reader = PdfReader(io.BytesIO(response.data))
    assert "/EmbeddedFiles" not in (reader.trailer["/Root"].get("/Names") or {})
    assert b"root:x:" not in response.data
