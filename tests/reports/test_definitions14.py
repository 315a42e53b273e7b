"""The outcome report's definitions made honest (issue 14): unknowns stay in the base, the
follow-up window, the intake assessment, theme filters by the period's end, enrolments as the unit,
and how many are still on the way to stable."""

from __future__ import annotations

from datetime import timedelta

from tests import factories
from tests.reports import factories as rf
from velferdslab.cases.rules import add_months
from velferdslab.core.models import today_local
from velferdslab.reports import figures, outcome
from velferdslab.reports.outcome import OutcomeFilter

KR = 100


def period(lab, start: int = -700, end: int = 0, **kwargs) -> OutcomeFilter:
    return OutcomeFilter(lab_id=lab.id, start=rf.day(start), end=rf.day(end), **kwargs)


def exact(data) -> figures.OutcomeReport:
    return figures.build(data, 1)


def test_families_without_an_assessment_by_6_or_12_months_are_unknown_not_dropped(lab):
    rf.journey(lab, [(0, 1), (300, 3)], started=-400)  # assessed at both points; stable by 12 months
    rf.journey(lab, [(250, 2)], started=-400)  # first assessed after 6 months: unknown then
    rf.journey(lab, [], started=-400)  # never assessed: unknown at both
    rf.journey(lab, [(0, 2)], started=-100)  # not yet 6 months in the lab: not in the base
    data = outcome.run(period(lab))
    assert data.milestones == {6: (3, 0, 1), 12: (3, 1, 2)}
    six, twelve = exact(data).milestones
    assert (six.yes.value, six.no.value, six.unknown.value, six.total.value) == (0, 1, 2, 3)
    assert (twelve.yes.value, twelve.no.value, twelve.unknown.value, twelve.total.value) == (1, 1, 1, 3)
    assert twelve.share == "33 %"  # of the base, the unknown included
    table = next(t for t in figures.tables(exact(data)) if t.id == "milestones")
    assert table.columns[2] == "Ukjent"
    assert [figures.cell_text(c) for c in table.rows[1][2]] == ["1", "1", "1", "3", "33 %"]


def test_closed_families_without_a_follow_up_in_the_window_are_unknown(lab):
    on_time = rf.journey(lab, [(0, 1), (300, 3)], started=-900, closed=-500, follow_ups={"follow_up_6": 3})
    # A "12-month" follow-up two months after closure (recorded before the window was enforced):
    # not counted, so that family is unknown at 12 months.
    closed_on = rf.enrolment_of(on_time).closed_on
    factories.assessment(on_time, {"bolig": 3}, assessed_on=closed_on + timedelta(days=60), overall=3,
                         kind="follow_up_12")
    rf.journey(lab, [(0, 1), (300, 3)], started=-900, closed=-500)  # stable at closure, never followed up
    rf.journey(lab, [(0, 1), (300, 2)], started=-900, closed=-500)  # not stable at closure: not in the base
    rf.journey(lab, [(0, 1), (300, 3)], started=-600, closed=-30)  # follow-ups not due yet
    data = outcome.run(period(lab))
    assert data.follow_ups == {"follow_up_6": (2, 1, 1), "follow_up_12": (2, 0, 0)}
    six, twelve = exact(data).follow_ups
    assert (six.yes.value, six.no.value, six.unknown.value) == (1, 0, 1)
    assert (twelve.unknown.value, twelve.total.value) == (2, 2)


def test_a_follow_up_made_early_inside_the_window_counts_before_its_due_date(lab):
    fam = rf.journey(lab, [(0, 1), (300, 3)], started=-600, closed=-150)
    closed_on = rf.enrolment_of(fam).closed_on
    factories.assessment(fam, {"bolig": 3}, assessed_on=add_months(closed_on, 4), overall=3, kind="follow_up_6")
    assert add_months(closed_on, 6) > today_local()
    assert outcome.run(period(lab)).follow_ups["follow_up_6"] == (1, 1, 1)


def test_intake_is_the_assessment_marked_intake(lab):
    fam = rf.journey(lab, [], started=-400)
    start = rf.enrolment_of(fam).started_on
    factories.assessment(fam, {"bolig": 1}, assessed_on=start, overall=1, kind="regular")
    factories.assessment(fam, {"bolig": 2}, assessed_on=start + timedelta(days=30), overall=2, kind="intake")
    factories.assessment(fam, {"bolig": 3}, assessed_on=start + timedelta(days=200), overall=3, kind="regular")
    # No assessment marked intake: the intake is unknown — out of the matrix, with those without one.
    other = rf.journey(lab, [], started=-400)
    factories.assessment(other, {"bolig": 1}, assessed_on=start, overall=1, kind="regular")
    factories.assessment(other, {"bolig": 3}, assessed_on=start + timedelta(days=90), overall=3, kind="regular")
    data = outcome.run(period(lab))
    assert data.transitions == {(2, 3): 1}
    report = exact(data)
    assert report.families.value == 2 and report.movement_families["unassessed"].value == 1
    assert figures.movement_labels()["unassessed"] == "Uten inntaksvurdering"


def test_a_theme_filter_uses_only_ratings_up_to_the_period_end(lab):
    fam = rf.journey(lab, [(0, 2)], started=-300)
    factories.assessment(fam, {"bolig": 2, "okonomi": 2}, assessed_on=rf.day(-5), overall=2)
    assert outcome.run(period(lab, end=-10, theme="okonomi")).families == 0
    assert outcome.run(period(lab, end=0, theme="okonomi")).families == 1


def test_a_re_referral_counts_both_enrolments_and_its_spend_once(lab):
    from velferdslab.cases.enrolment.models import Enrolment
    from velferdslab.extensions import db
    from velferdslab.teams.models import InvestmentTeam

    agency = factories.agency(lab, name="Etat X", kind="nav")
    fam = rf.journey(lab, [(0, 1), (100, 2)], started=-500, closed=-300)
    again = Enrolment(family_id=fam.id, lab_id=lab.id, status="active", referred_on=rf.day(-100),
                      started_on=rf.day(-90))
    db.session.add(again)
    db.session.flush()
    db.session.add(InvestmentTeam(lab_id=lab.id, enrolment_id=again.id, family_id=fam.id))
    db.session.flush()
    factories.assessment(fam, {"bolig": 3}, assessed_on=rf.day(-90), kind="intake")
    rf.paid_spend(lab, fam, agency, 2_000 * KR)
    data = outcome.run(period(lab))
    assert data.families == 2
    assert (data.paid, data.paid_families) == (2_000 * KR, 1)
    # Paid today: it belongs to the enrolment open then (the second one, unchanged at stabil).
    assert data.movement_spend == {"better": (1, 0, 0), "same": (1, 2_000 * KR, 1)}
    assert data.spend_by_theme == {"bolig": (2_000 * KR, 1)}


def test_time_to_stable_reports_how_many_are_still_on_the_way(lab_data):
    lab = lab_data["lab"]
    rf.journey(lab, [(0, 1)], started=-400, closed=-100)  # below stabil, left without reaching it
    f = OutcomeFilter(lab_id=lab.id, start=rf.day(-700), end=today_local())
    data = outcome.run(f)
    # Below stabil at intake: A, B, C, F and the new one (16); reached: A, C, F (10); B still active (5).
    assert (data.started_below, data.reached_stable, data.on_way) == (16, 10, 5)
    assert figures.build(data, 1).on_way.value == 5
    # Protected with the rest: on the way + left without reaching it = not reached; the one who left
    # is "<5", so the 5 on the way are hidden too (else 16 − 10 − 5 gives the one away).
    report = figures.build(data, 5)
    assert report.on_way.hidden
    table = next(t for t in figures.tables(report) if t.id == "time_to_stable")
    assert [key for key, _label, _cells in table.rows] == ["started_below", "reached", "on_way", "median_months"]
