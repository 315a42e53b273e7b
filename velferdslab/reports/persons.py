"""Outcomes per person (issue 15): young people in a configured age band who reach *stabil* or
better on the ratings about them, and hold it at the follow-ups — the unit an outcome contract
pays for (Asker's 2024 contract pays per young person at *stabil* or *bærekraftig*).

The rule, in plain words:

* **Who counts.** Every member of the outcome report's families (the same selection:
  ``outcome.selection``) whose age in the year the period ends is within
  ``OUTCOME_PERSON_MIN_AGE``–``OUTCOME_PERSON_MAX_AGE`` (default 16–25), whatever their role.
* **A person's level at an assessment** is the **lowest** of the team's ratings *about that person*
  (``theme_rating.subject_member_id``, perspective ``team``) in the current version of the
  assessment: a young person is at *stabil* only when every theme the team rated about them is.
  The person's own view and the household's ratings are not the payment unit and do not count.
* **Now**: the person's latest rated intake or regular assessment up to the end of the period.
  **Held at the follow-ups**: of those at *stabil* or better at their last rating before the
  enrolment closed, how many are still there at the 6 and 12 months follow-up.

Everything is counted in the database (three statements, whatever the number of families) and
published like the family tables: by the **cell-key method** (``reports.cellkey``) with **person
keys** — every family member has a record key of its own namespace
(``cellkey.record_key(member_id, kind="person")``), summed next to every count — and the section's
counts **protected together** as one linked table (:func:`linked_table`): the young people = those
rated + those never rated about themselves, the rated = at *stabil* or better + not, each follow-up
= held + not. So two reports whose young people differ by one person publish unrelated noise in the
cells that person is in, and the same people always get the same figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Select, and_, case, func, literal, select

from velferdslab.cases.household.models import FamilyMember
from velferdslab.cases.journey.models import JourneyAssessment, ThemeRating
from velferdslab.cases.themes import STABIL
from velferdslab.reports import cellkey, figures, outcome, suppression
from velferdslab.reports.cellkey import record_key
from velferdslab.reports.outcome import (
    FOLLOW_UP_KINDS,
    PROGRESS_KINDS,
    OutcomeFilter,
    built,
    current_version,
    execute_all,
    selection,
)
from velferdslab.reports.suppression import Figure, Table


def age_band() -> tuple[int, int]:
    config = current_app.config
    return config["OUTCOME_PERSON_MIN_AGE"], config["OUTCOME_PERSON_MAX_AGE"]


def _people(f: OutcomeFilter, sel, band: tuple[int, int]):
    """The selected families' members in the age band (in the year the period ends)."""
    m = FamilyMember.__table__
    age = literal(f.end.year) - m.c.birth_year
    return (
        select(m.c.id.label("member_id"), sel.c.id.label("enrolment_id"), sel.c.closed_on)
        .join(sel, sel.c.family_id == m.c.family_id)
        .where(age.between(band[0], band[1]),
               m.c.created_at < outcome.as_of_instant(f) if f.as_of is not None else literal(True))
        .subquery("people")
    )


def _levels(f: OutcomeFilter, people):
    """Per person and assessment (current versions up to the end of the period): the lowest of the
    team's ratings about them."""
    r, a = ThemeRating.__table__, JourneyAssessment.__table__
    return (
        select(
            people.c.member_id,
            people.c.closed_on,
            a.c.id.label("assessment_id"),
            a.c.kind,
            a.c.assessed_on,
            func.min(r.c.level).label("level"),
        )
        .select_from(
            r.join(a, a.c.id == r.c.assessment_id).join(
                people, and_(people.c.member_id == r.c.subject_member_id, people.c.enrolment_id == a.c.enrolment_id)
            )
        )
        .where(r.c.perspective == "team", current_version(f, a), a.c.assessed_on <= f.end)
        .group_by(people.c.member_id, people.c.closed_on, a.c.id, a.c.kind, a.c.assessed_on)
        .subquery("levels")
    )


def _latest(levels, name: str, *conditions, per_kind: bool = False):
    """The latest row per person (and kind) among ``levels`` matching ``conditions``."""
    partition = (levels.c.member_id, levels.c.kind) if per_kind else (levels.c.member_id,)
    ranked = (
        select(
            levels.c.member_id,
            levels.c.kind,
            levels.c.level,
            func.row_number()
            .over(partition_by=partition, order_by=(levels.c.assessed_on.desc(), levels.c.assessment_id.desc()))
            .label("rk"),
        )
        .where(*conditions)
        .subquery(f"{name}_ranked")
    )
    return select(ranked.c.member_id, ranked.c.kind, ranked.c.level).where(ranked.c.rk == 1).subquery(name)


def _key(column):
    """SQL: the person key of the family member id in ``column``."""
    return record_key(column, kind="person")


def now_query(f: OutcomeFilter, band: tuple[int, int]) -> Select:
    """Young people in the band, how many the team rated, and how many are at *stabil* or better now."""
    people = _people(f, selection(f), band)
    levels = _levels(f, people)
    now = _latest(levels, "person_now", levels.c.kind.in_(PROGRESS_KINDS))
    in_band = select(func.count()).select_from(people).scalar_subquery()
    rated = select(func.count()).select_from(now).scalar_subquery()
    stable = select(func.count()).select_from(now).where(now.c.level >= STABIL).scalar_subquery()
    # The person keys of the same groups (reports.cellkey): their own namespace, not the enrolments'.
    in_band_key = select(func.sum(_key(people.c.member_id))).scalar_subquery()
    rated_key = select(func.sum(_key(now.c.member_id))).scalar_subquery()
    stable_key = select(func.sum(_key(now.c.member_id))).where(now.c.level >= STABIL).scalar_subquery()
    return select(in_band.label("people"), rated.label("rated"), stable.label("stable"),
                  in_band_key.label("people_key"), rated_key.label("rated_key"), stable_key.label("stable_key"))


def follow_ups_query(f: OutcomeFilter, band: tuple[int, int]) -> Select:
    """Per follow-up: the young people at *stabil* or better at their last rating before the
    enrolment closed who were rated at the follow-up, and how many of them still were."""
    levels = _levels(f, _people(f, selection(f), band))
    at_close = _latest(
        levels,
        "person_at_close",
        levels.c.kind.in_(PROGRESS_KINDS),
        levels.c.closed_on.is_not(None),
        levels.c.closed_on <= f.end,
        levels.c.assessed_on <= levels.c.closed_on,
    )
    follow_up = _latest(levels, "person_follow_up", levels.c.kind.in_(FOLLOW_UP_KINDS), per_kind=True)
    return (
        select(
            follow_up.c.kind,
            func.count().label("people"),
            func.sum(case((follow_up.c.level >= STABIL, 1), else_=0)).label("stable"),
            func.sum(_key(follow_up.c.member_id)).label("key"),
            func.sum(case((follow_up.c.level >= STABIL, _key(follow_up.c.member_id)), else_=0)).label("stable_key"),
        )
        .join(at_close, and_(at_close.c.member_id == follow_up.c.member_id, at_close.c.level >= STABIL))
        .group_by(follow_up.c.kind)
    )


@dataclass
class PersonData:
    """The raw counts, as the database returned them (not yet suppressed)."""

    band: tuple[int, int]
    people: int = 0
    rated: int = 0
    stable: int = 0
    follow_ups: dict[str, tuple[int, int]] = field(default_factory=dict)
    # The person keys (reports.cellkey) of the same counts: "people", "rated", "stable", and per
    # follow-up kind (people, stable). Empty for made-up data (every key then 0).
    keys: dict = field(default_factory=dict)


def run(f: OutcomeFilter, band: tuple[int, int] | None = None) -> PersonData:
    band = band or age_band()
    data = PersonData(band=band)
    results = execute_all(built(("persons", f, band),
                                lambda: {"now": now_query(f, band), "follow_ups": follow_ups_query(f, band)}), f)
    row = results["now"][0]
    data.people, data.rated, data.stable = int(row.people), int(row.rated), int(row.stable)
    data.follow_ups = {r.kind: (int(r.people), int(r.stable or 0)) for r in results["follow_ups"]}
    data.keys = {"people": int(row.people_key or 0), "rated": int(row.rated_key or 0),
                 "stable": int(row.stable_key or 0),
                 "follow_ups": {r.kind: (int(r.key or 0), int(r.stable_key or 0)) for r in results["follow_ups"]}}
    return data


@dataclass
class PersonReport:
    band: tuple[int, int]
    threshold: int
    people: Figure
    now: figures.ShareRow
    follow_ups: list[figures.ShareRow]
    data: PersonData
    perturbed: bool = False  # published by the cell-key method (reports.cellkey)

    @property
    def noise(self) -> int:
        """How far a published count may be from the true one (young people)."""
        return cellkey.NOISE if self.perturbed else 0

    def table(self) -> figures.ReportTable:
        spec = figures.ReportTable(
            "persons",
            _(
                "Unge %(low)s–%(high)s år: stabil eller bedre på teamets vurderinger av dem",
                low=self.band[0],
                high=self.band[1],
            ),
            [_("Stabil eller bedre"), _("Ikke"), _("Unge vurdert"), _("Andel")],
        )
        for index, row in enumerate([self.now, *self.follow_ups]):
            spec.rows.append((index, row.label, [row.yes, row.no, row.total, row.share or suppression.HIDDEN]))
        return spec

    def json(self) -> dict:
        def share(row: figures.ShareRow) -> dict:
            return {
                "label": row.label,
                "stable": row.yes.json,
                "not_stable": row.no.json,
                "rated": row.total.json,
                "share": row.share,
            }

        return {
            "age_band": list(self.band),
            "threshold": self.threshold,
            "young_people": self.people.json,
            "now": share(self.now),
            "follow_ups": {kind: share(row) for kind, row in zip(FOLLOW_UP_KINDS, self.follow_ups, strict=True)},
            "disclosure": {"cell_key": self.perturbed, "noise": cellkey.NOISE if self.perturbed else 0},
        }


def linked_table(data: PersonData) -> Table:
    """The section's counts as one table, with every sum that ties them (protected together, so no
    count can be worked out from the others: the young people minus the rated is those never rated
    about themselves, not published but a leak if pinned), and their person keys."""
    keys = data.keys or {}
    values: dict = {"people": data.people, "unrated": data.people - data.rated,
                    ("now", "total"): data.rated, ("now", "yes"): data.stable, ("now", "no"): data.rated - data.stable}
    cell_keys: dict = {"people": keys.get("people", 0), "unrated": keys.get("people", 0) - keys.get("rated", 0),
                       ("now", "total"): keys.get("rated", 0), ("now", "yes"): keys.get("stable", 0),
                       ("now", "no"): keys.get("rated", 0) - keys.get("stable", 0)}
    table = Table(values, [("people", [("now", "total"), "unrated"]),
                           (("now", "total"), [("now", "yes"), ("now", "no")])])
    for kind in FOLLOW_UP_KINDS:
        total, yes = data.follow_ups.get(kind, (0, 0))
        total_key, yes_key = keys.get("follow_ups", {}).get(kind, (0, 0))
        values.update({(kind, "total"): total, (kind, "yes"): yes, (kind, "no"): total - yes})
        cell_keys.update({(kind, "total"): total_key, (kind, "yes"): yes_key, (kind, "no"): total_key - yes_key})
        table.add_sum((kind, "total"), [(kind, "yes"), (kind, "no")])
    table.keys = {k: int(v) % cellkey.MODULUS for k, v in cell_keys.items()}
    table.keep = frozenset({"people"})
    table.unpublished = frozenset({"unrated"})
    return table


def build(data: PersonData, threshold: int, noise: bool = False) -> PersonReport:
    """The counts, protected together (:func:`linked_table`) and — with ``noise`` (the app's
    ``REPORT_CELL_KEY``, on by default) — published by the cell-key method with person keys."""
    table = figures.perturb(linked_table(data), threshold, on=noise)
    published = suppression.figures(table, threshold, suppression.decide(table, threshold))

    def row(label: str, part: str) -> figures.ShareRow:
        return figures.ShareRow(label, published[(part, "yes")], published[(part, "no")], published[(part, "total")])

    now = row(_("Nå (siste vurdering i perioden)"), "now")
    follow_ups = [row(_("Holdt det 6 måneder etter avslutning"), "follow_up_6"),
                  row(_("Holdt det 12 måneder etter avslutning"), "follow_up_12")]
    return PersonReport(data.band, threshold, published["people"], now, follow_ups, data, perturbed=noise)


def report(f: OutcomeFilter) -> PersonReport:
    """The per-person section for ``f`` as configured (not audited: the page's read is)."""
    return build(run(f), current_app.config["SUPPRESSION_THRESHOLD"],
                 noise=bool(current_app.config.get("REPORT_CELL_KEY", True)))
