"""JSON API for reports: the outcome report, the benefit model, assumption sets and the family's
progress report (PDF). Same rules and figures as the pages; suppressed counts are the string "<5"
(for the configured threshold) and values hidden to protect another are "×"."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from flask.views import MethodView
from flask_babel import gettext as _
from flask_login import current_user

from velferdslab.audit.actions import AuditAction
from velferdslab.cases.access import Access
from velferdslab.core.api import Blueprint, paged
from velferdslab.core.errors import ForbiddenError, ServiceError
from velferdslab.core.models import today_local
from velferdslab.core.permissions import LOGIN, requires
from velferdslab.reports import benefit, cellkey, exports, figures, outcome, persons, reading, schemas, services, views
from velferdslab.reports import policy as report_policy
from velferdslab.reports.models import RATE_FIELDS

blueprint = Blueprint("reports_api", __name__, url_prefix="/api/v1",
                      description="Outcome report, benefit model, assumption sets and progress reports")


def _user():
    return current_user._get_current_object()


def _assumption_set(set_id: int | None):
    if set_id is None:
        return services.default_set(current_user.lab_id)
    row = services.get_set(current_user.lab_id, set_id)
    if row is None:
        raise ServiceError(_("Ukjent sett med forutsetninger."), "assumption_set_id")
    return row


def _filter(args: dict, agencies: list | None = None, lab_ids: tuple[int, ...] = ()) -> outcome.OutcomeFilter:
    as_of = args.get("as_of")
    start, end = reading.period(args.get("start"), args.get("end"), as_of, today_local())
    agency_id = args.get("agency_id")
    known = agencies if agencies is not None else reading.lab_agencies()
    if agency_id is not None and agency_id not in {a.id for a in known}:
        raise ServiceError(_("Ukjent etat."), "agency_id")
    return reading.published(outcome.OutcomeFilter(
        lab_id=current_user.lab_id, start=start, end=end, cohort=args.get("cohort"), agency_id=agency_id,
        theme=args.get("theme"), as_of=as_of, lab_ids=lab_ids))


def set_out(row) -> dict:
    return {**{k: getattr(row, k) for k in ("id", "series_id", "version", "is_current", "retired", "supersedes_id",
                                            "name", "source_note", "horizon_years", "target_level",
                                            "staff_cost_per_family_month", "created_at", "created_by_id")},
            **{rate: float(row.rate(rate)) for rate in RATE_FIELDS},
            "costs": [{"level": c.level, "agency_id": c.agency_id, "yearly_cost": c.yearly_cost} for c in row.costs]}


def _fraction(value) -> float | None:
    return None if value is None else float(value)


def result_out(view: figures.BenefitView | None, result: benefit.BenefitResult | None, assumption_set,
               families=None) -> dict:
    body: dict[str, Any] = {"assumption_set": set_out(assumption_set) if assumption_set else None,
                            "shown": result is not None, "hidden_reason": view.hidden_reason if view else None}
    if result is None:
        return body
    per_agency = []
    for index, row in enumerate(result.per_agency):
        shown = view.per_agency[index] if view else None
        per_agency.append({"agency_id": row.agency, "name": shown.name if shown else str(row.agency),
                           "invested": shown.invested.json if shown else row.invested,
                           "yearly_saving": row.yearly_saving, "present_value": row.present_value,
                           "net_benefit": shown.net_benefit.json if shown else row.net_benefit})
    body.update({
        "saving_unit": result.saving_unit, "families": families if families is not None else result.families,
        "benefit_factor": float(result.factor), "yearly_saving": result.yearly_saving,
        "present_value": result.present_value, "spend_paid": result.spend_paid, "staff_cost": result.staff_cost,
        "invested": result.invested, "net_benefit": result.net_benefit,
        "return_per_krone": _fraction(result.return_per_krone), "payback_year": result.payback_year,
        "years": [vars(y) for y in result.years], "success_rate": float(result.success_rate),
        "potential_yearly_saving": result.potential_yearly_saving,
        "projected_present_value": result.projected_present_value,
        "projected_net_benefit": result.projected_net_benefit,
        "break_even_success_rate": _fraction(result.break_even_success_rate), "per_agency": per_agency,
        # The same words as the page: a rate outside 0–100 %, and no payback with nothing invested.
        "break_even_text": views.break_even(result.break_even_success_rate),
        "payback_text": views.payback(result),
        "sensitivity": [{"varied": t.varied, "columns": [float(c) for c in t.columns],
                         "rows": [{"success_rate": float(s), "net_benefit": values} for s, values in t.rows]}
                        for t in result.sensitivity]})
    return body


def outcome_out(report: figures.OutcomeReport, assumption_set) -> dict:
    sections = {}
    for typed in exports.typed_tables(report):
        table = typed.table
        rows = []
        for (key, label, cells), (_key, _label, values) in zip(table.rows, typed.rows, strict=True):
            row: dict[str, Any] = {"key": str(key), "label": label, "values": [figures.cell_json(c) for c in cells],
                                   "numbers": [v.json for v in values]}
            shares = [v for v in values if v.kind == exports.SHARE]
            if shares:
                share = shares[0].number
                row["share"] = float(share) if share is not None else None
                row["share_percent"] = int(share * 100) if share is not None else None
            rows.append(row)
        sections[table.id] = {"title": table.title, "columns": table.columns, "rows": rows,
                              "units": [exports.API_UNITS[kind] if kind else None for kind in typed.kinds]}
    return {"filters": report.data.filter.as_dict(), "threshold": report.threshold, "families": report.families.json,
            "disclosure": {"cell_key": report.perturbed, "noise": cellkey.NOISE if report.perturbed else 0,
                           "money_base": cellkey.MONEY_BASE if report.perturbed else 1, "note": report.noise_note},
            "sections": sections,
            "benefit": result_out(report.benefit, report.benefit.result, assumption_set,
                                  families=report.overall.total.json)}


@blueprint.route("/reports/outcome")
class Outcome(MethodView):
    @requires("reports.read")
    @blueprint.arguments(schemas.OutcomeQuerySchema, location="query")
    @blueprint.response(200, schemas.OutcomeSchema)
    def get(self, args):
        """The outcome report for your lab: aggregates only, small counts suppressed."""
        f = _filter(args)
        assumption_set = _assumption_set(args.get("assumption_set_id"))
        report = reading.read_outcome(f, assumption_set, args.get("success_rate"), reading.lab_agencies(),
                                      action=AuditAction.REPORT_OUTCOME_VIEW, fmt="json")
        return outcome_out(report, assumption_set)


@blueprint.route("/reports/outcome/labs")
class OutcomeAcrossLabs(MethodView):
    @requires("reports.across_labs")
    @blueprint.arguments(schemas.OutcomeQuerySchema, location="query")
    @blueprint.response(200, schemas.OutcomeSchema)
    def get(self, args):
        """The outcome report over the labs assigned to you (county or national level), as one
        selection, protected like any report; no benefit model (it is per lab)."""
        labs = report_policy.readable_labs(current_user)
        if not labs:
            raise ForbiddenError(_("Ingen laber er knyttet til deg for resultatrapporten."), "lab_ids")
        if args.get("assumption_set_id") is not None:
            raise ServiceError(_("Gevinstmodellen vises ikke for flere laber samlet."), "assumption_set_id")
        f = _filter(args, reading.agencies_of(labs), tuple(lab.id for lab in labs))
        report = reading.read_across_labs(f, labs, action=AuditAction.REPORT_OUTCOME_VIEW, fmt="json")
        return outcome_out(report, None)


@blueprint.route("/reports/outcome/persons")
class OutcomePersons(MethodView):
    @requires("reports.read")
    @blueprint.arguments(schemas.OutcomeQuerySchema, location="query")
    @blueprint.response(200, schemas.OutcomePersonsSchema)
    def get(self, args):
        """Outcomes per person: young people in the configured age band at *stabil* or better on the
        team's ratings about them, now and at the follow-ups (same filters, same suppression)."""
        f = _filter(args)
        result = persons.report(f)
        reading._record(f, AuditAction.REPORT_OUTCOME_VIEW, "json", persons=True)
        return result.json()


@blueprint.route("/reports/benefit")
class BenefitModel(MethodView):
    @requires("reports.read")
    @blueprint.arguments(schemas.BenefitInputSchema)
    @blueprint.response(200, schemas.BenefitResultSchema)
    def post(self, data):
        """Run the benefit model on the outcome report's selection (filters), or on your own
        numbers (``transitions`` and ``spend_paid``: a planning calculation, nothing suppressed)."""
        assumption_set = _assumption_set(data.get("assumption_set_id"))
        if assumption_set is None:
            raise ServiceError(_("Ingen forutsetninger for gevinstmodellen er lagt inn ennå."), "assumption_set_id")
        if "transitions" not in data:
            f = _filter(data)
            report = reading.read_outcome(f, assumption_set, data.get("success_rate"), reading.lab_agencies(),
                                          action=AuditAction.REPORT_BENEFIT_VIEW, fmt="json")
            return result_out(report.benefit, report.benefit.result, assumption_set,
                              families=report.overall.total.json)
        try:
            selection = benefit.Selection(
                transitions={(t["intake_level"], t["now_level"]): t["families"] for t in data["transitions"]},
                spend_paid=data.get("spend_paid", 0), family_months=data.get("family_months", 0),
                spend_paid_by_agency={a["agency_id"]: a["amount"] for a in data.get("spend_paid_by_agency", [])})
            success = Fraction(data["success_rate"]) if data.get("success_rate") is not None else None
            result = benefit.compute(figures.to_assumptions(assumption_set), selection, success_rate=success)
        except benefit.BenefitInputError as error:
            raise ServiceError(error.message, error.field) from None
        return result_out(None, result, assumption_set)


@blueprint.route("/assumption-sets")
class AssumptionSets(MethodView):
    @requires(LOGIN)
    @blueprint.response(200, schemas.AssumptionSetSchema(many=True))
    @paged(blueprint)
    def get(self):
        """The assumption sets in use in your lab (their current versions)."""
        views.may_read_assumptions()
        return [set_out(row) for row in services.current_sets(current_user.lab_id)]

    @requires("reports.assumptions")
    @blueprint.arguments(schemas.AssumptionSetInputSchema)
    @blueprint.response(201, schemas.AssumptionSetSchema)
    def post(self, data):
        """A new named assumption set (version 1). Omitted rates take the defaults."""
        data = {k: v for k, v in data.items() if v is not None or k == "staff_cost_per_family_month"}
        return set_out(services.create_set(current_user.lab, data, actor=_user()))


@blueprint.route("/assumption-sets/<int:set_id>")
class AssumptionSetById(MethodView):
    @requires(LOGIN)
    @blueprint.response(200, schemas.AssumptionSetSchema)
    def get(self, set_id: int):
        """One version of an assumption set (any version: reports name the one they used)."""
        views.may_read_assumptions()
        return set_out(views.lab_set(set_id))

    @requires("reports.assumptions")
    @blueprint.arguments(schemas.AssumptionSetUpdateSchema)
    @blueprint.response(200, schemas.AssumptionSetSchema)
    def patch(self, data, set_id: int):
        """Revise: writes a new version (the old one stays). Send ``version`` to guard against
        overwriting someone else's change (409)."""
        expected = data.pop("version", None)
        changes = {k: v for k, v in data.items() if v is not None or k == "staff_cost_per_family_month"}
        return set_out(services.revise_set(views.lab_set(set_id), changes, actor=_user(), expected_version=expected))

    @requires("reports.assumptions")
    @blueprint.response(204)
    def delete(self, set_id: int):
        """Take the set out of use; its versions stay for the reports that used them."""
        services.retire_set(views.lab_set(set_id), actor=_user())


@blueprint.route("/assumption-sets/<int:set_id>/versions")
class AssumptionSetVersions(MethodView):
    @requires(LOGIN)
    @blueprint.response(200, schemas.AssumptionSetSchema(many=True))
    @paged(blueprint)
    def get(self, set_id: int):
        """Every version of the set, newest first."""
        views.may_read_assumptions()
        return [set_out(row) for row in services.versions(views.lab_set(set_id))]


@blueprint.route("/families/<int:family_id>/progress-report.pdf")
class ProgressReport(MethodView):
    @requires(LOGIN)
    @blueprint.response(200, content_type="application/pdf",
                        description="The progress report (A4 PDF). Query: lang=nb|en, fra, til (YYYY-MM-DD; "
                                    "default: the last six months, or since the family started if shorter).")
    @views.progress_route
    def get(self, access: Access):
        """The family's progress report as PDF; the same rules as the family page, and audited."""
        return views.progress_pdf_response(access)
