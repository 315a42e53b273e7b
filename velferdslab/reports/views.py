"""Report pages (HTML), their PDF and CSV downloads, the assumption-set editor and the family's
progress report. Thin: the figures come from ``reports.outcome``/``figures``, the rules from
``reports.services``. Only ``create_app`` imports this module.
"""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from fractions import Fraction
from types import SimpleNamespace

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup

from velferdslab.audit import services as audit
from velferdslab.audit.actions import AuditAction, Purpose
from velferdslab.auth.models import Agency, User
from velferdslab.cases.access import Access
from velferdslab.cases.gate import family_route, note
from velferdslab.cases.minside.access import FamilyAccess
from velferdslab.cases.minside.services import FamilyActor
from velferdslab.cases.minside.web import family_session
from velferdslab.cases.themes import LEVEL_NAMES, LEVELS, THEME_BY_CODE
from velferdslab.core import navigation, spreadsheet
from velferdslab.core import pdf as pdf_renderer
from velferdslab.core.errors import ServiceError
from velferdslab.core.forms import add_error, choices, render_form
from velferdslab.core.models import today_local, utcnow
from velferdslab.core.money import parse_kroner
from velferdslab.core.permissions import LOGIN, requires
from velferdslab.core.routing import MAX_ID
from velferdslab.extensions import db
from velferdslab.reports import charts, exports, figures, outcome, persons, progress, reading, services
from velferdslab.reports.forms import (
    ConfirmForm,
    OutcomeFilterForm,
    ReportAccessGrantForm,
    ReportAccessRevokeForm,
    assumption_form_class,
    level_cost_field_name,
)
from velferdslab.reports.models import RATE_FIELDS

blueprint = Blueprint("reports", __name__, template_folder="templates")


def pct(value) -> str:
    """A rate as a Norwegian percentage: 0.2 → "20 %", 0.045 → "4,5 %"."""
    if value is None:
        return "–"
    hundredths = round(Fraction(value) * 10_000)
    whole, rest = divmod(abs(hundredths), 100)
    text = f"{whole},{rest:02d}".rstrip("0").rstrip(",")
    return f"{'−' if hundredths < 0 else ''}{text} %"


def ratio(value) -> str:
    """Return per krone: "1,72 kr" (two decimals), or "ikke definert" when nothing was invested."""
    if value is None:
        return _("ikke definert (ingenting investert)")
    hundredths = round(Fraction(value) * 100)
    sign = "−" if hundredths < 0 else ""
    whole, rest = divmod(abs(hundredths), 100)
    return f"{sign}{whole},{rest:02d} kr"


def break_even(value) -> str:
    if value is None:
        return _("ikke definert (ingen familier under målnivået)")
    if value <= 0:
        return _("0 % (lønnsomt allerede uten flere som lykkes)")
    if value > 1:
        return _("over 100 % (ikke oppnåelig)")
    return pct(value)


def payback(result) -> str:
    """The benefit model's payback year in words: never "paid back" when nothing was invested."""
    if not result.invested:
        return _("ingenting investert, så ingenting å betale tilbake")
    if result.payback_year:
        return _("i år %(year)s", year=result.payback_year)
    return _("ikke innen horisonten")


def level_total(row, level: int) -> int:
    return sum(c.yearly_cost for c in row.costs if c.level == level)


@blueprint.record_once
def _helpers(state) -> None:
    """Formatting helpers as one Jinja global, ``rfmt``, so imported macros see them too."""
    state.app.jinja_env.globals["rfmt"] = SimpleNamespace(pct=pct, ratio=ratio, break_even=break_even, payback=payback,
                                                          cell=figures.cell_text, level_total=level_total)


# --- the outcome report -------------------------------------------------------------------------

def _filter_form(agencies: list[Agency]) -> OutcomeFilterForm:
    form = OutcomeFilterForm(request.args)
    form.agency_id.choices = choices([(0, _("Alle etater"))] + [(a.id, a.name) for a in agencies])
    form.assumption_set_id.choices = choices(
        [(0, _("Standard (sist endret)"))]
        + [(s.id, _("%(name)s, versjon %(version)s", name=s.name, version=s.version))
           for s in services.current_sets(current_user.lab_id)])
    return form


def outcome_from_form(form: OutcomeFilterForm, *, lab_ids: tuple[int, ...] = ()):
    """(filter, assumption set, success rate) from a validated form, or None with the form's errors set."""
    if request.args and not form.validate():
        return None
    as_of = form.as_of.data
    try:
        start, end = reading.period(form.start.data, form.end.data, as_of, today_local())
    except ServiceError as error:
        field = getattr(form, error.field)
        field.errors = list(field.errors) + [error.message]
        return None
    _show(form, start, end)
    chosen = form.assumption_set_id.data or None
    if lab_ids:  # across labs: no benefit model (each lab has its own assumptions)
        assumption_set = None
    else:
        assumption_set = services.get_set(current_user.lab_id, chosen) if chosen else services.default_set(
            current_user.lab_id)
    success = Decimal(form.success_rate.data) / 100 if form.success_rate.data is not None else None
    f = reading.published(outcome.OutcomeFilter(
        lab_id=current_user.lab_id, start=start, end=end, cohort=form.cohort.data or None,
        agency_id=form.agency_id.data or None, theme=form.theme.data or None, as_of=as_of, lab_ids=lab_ids))
    # A held-back quarter is replaced by the one before: the form shows the period the figures cover
    # (the page's note names the quarter that was asked for).
    _show(form, f.start, f.end)
    return f, assumption_set, success


def _show(form: OutcomeFilterForm, start, end) -> None:
    """The form shows the period the report covers (whole quarters), not the dates as typed: a
    field renders what was sent (``raw_data``) before its value."""
    for field, day in ((form.start, start), (form.end, end)):
        field.data, field.raw_data = day, []


def trend_chart(points) -> Markup:
    return charts.share_by_quarter(
        chart_id="chart-trend", title=_("Andel stabile eller bedre per kvartal"),
        points=[(p.label, p.percent, p.text) for p in points])


def outcome_context(report, f, assumption_set, *, for_pdf: bool = False, summary=None, trend=None) -> dict:
    names = {level: str(LEVEL_NAMES[level]) for level in LEVELS}
    agency = db.session.get(Agency, f.agency_id) if f.agency_id else None
    context = {"report": report, "filter": f, "assumption_set": assumption_set, "tables": figures.tables(report),
               "level_names": names, "themes_by_code": THEME_BY_CODE, "printed_at": utcnow(),
               "agency_name": agency.name if agency else "", "summary": summary, "trend": trend or []}
    if trend:
        context["trend_chart"] = trend_chart(trend)
        if for_pdf:
            context["trend_chart"] = pdf_renderer.svg_image(context["trend_chart"])
    if not report.empty:
        context["distribution_chart"] = charts.grouped_bars(
            chart_id="chart-distribution", title=_("Samlet nivå ved inntak og nå"),
            categories=[names[level] for level in LEVELS],
            series=[(_("Ved inntak"), [report.overall.intake(level) for level in LEVELS]),
                    (_("Nå"), [report.overall.now(level) for level in LEVELS])])
        context["spend_chart"] = charts.horizontal_bars(
            chart_id="chart-spend-theme", title=_("Utbetalt per tema"),
            rows=[(row.label, row.amount) for row in report.spend_by_theme.rows])
        if for_pdf:
            for name in ("distribution_chart", "spend_chart"):
                context[name] = pdf_renderer.svg_image(context[name])
    return context


def _outcome_download(render, action: AuditAction, fmt: str, *, with_summary: bool = False):
    """The report in one format: ``render(form, report, filter, assumption_set)`` makes the
    response (``with_summary``: ``render(…, summary, trend)``); the report is read (and so audited)
    in ``fmt``. A bad filter answers 422 with the page and its form messages, whatever the format."""
    agencies = reading.lab_agencies()
    form = _filter_form(agencies)
    parsed = outcome_from_form(form)
    if parsed is None:
        return render_template("reports/outcome.html", form=form, report=None), 422
    f, assumption_set, success = parsed
    # Every section's statements (the report, its trend, the per-person figures the page reads) on one
    # report connection: custom plans set once for the page, not once per section.
    with outcome.report_connection():
        if with_summary:
            report, summary, trend = reading.read_summary(f, assumption_set, success, agencies, action=action,
                                                          fmt=fmt)
            return render(form, report, f, assumption_set, summary, trend)
        report = reading.read_outcome(f, assumption_set, success, agencies, action=action, fmt=fmt)
        return render(form, report, f, assumption_set)


@blueprint.get("/rapporter/resultater")
@requires("reports.read")
def outcome_page():
    def page(form, report, f, assumption_set, summary, trend):
        return render_template("reports/outcome.html", form=form, query=request.query_string.decode(),
                               persons=None if report.empty else persons.report(f),
                               **outcome_context(report, f, assumption_set, summary=summary, trend=trend))

    return _outcome_download(page, AuditAction.REPORT_OUTCOME_VIEW, "html", with_summary=True)


@blueprint.get("/rapporter/resultater.pdf")
@requires("reports.read")
def outcome_pdf():
    def as_pdf(_form, report, f, assumption_set, summary, trend):
        html = render_template("reports/outcome_pdf.html", **outcome_context(
            report, f, assumption_set, for_pdf=True, summary=summary, trend=trend))
        return pdf_renderer.pdf_download(pdf_renderer.render_pdf(html), f"resultatrapport-{f.start}-{f.end}.pdf")

    return _outcome_download(as_pdf, AuditAction.REPORT_OUTCOME_PDF, "pdf", with_summary=True)


@blueprint.get("/rapporter/resultater.csv")
@requires("reports.read")
def outcome_csv():
    def as_csv(_form, report, f, _assumption_set):
        name = f"resultatrapport-{f.start}-{f.end}.csv"
        return pdf_renderer.attachment("\ufeff" + outcome_csv_text(report), name, "text/csv")

    return _outcome_download(as_csv, AuditAction.REPORT_OUTCOME_CSV, "csv")


@blueprint.get("/rapporter/resultater.xlsx")
@requires("reports.read")
def outcome_xlsx():
    def as_xlsx(_form, report, f, assumption_set):
        agency = db.session.get(Agency, f.agency_id) if f.agency_id else None
        data = exports.outcome_xlsx(report, title=_("Resultatrapport"), scope=exports.scope_lines(
            f, assumption_set, current_user.lab.name, agency.name if agency else "", report.threshold,
            report.noise_note))
        return pdf_renderer.attachment(data, f"resultatrapport-{f.start}-{f.end}.xlsx", exports.XLSX_MIMETYPE)

    return _outcome_download(as_xlsx, AuditAction.REPORT_OUTCOME_XLSX, "xlsx")


def outcome_csv_text(report) -> str:
    """Long format, one figure a line: table;table title;row;column;value;unit (semicolons for Excel).
    Values are numbers (kroner with a decimal comma and no thousands separator, shares as percent),
    the unit in its own column; marks stay marks (``reports.exports`` types every cell)."""
    units = {exports.COUNT: _("familier"), exports.MONEY: _("kr"), exports.SHARE: "%",
             exports.MONTHS: _("måneder"), exports.TEXT: ""}
    out = io.StringIO()
    writer = spreadsheet.writer(out)  # every cell formula-safe: agency names are typed by people
    writer.writerow([_("tabell"), _("tittel"), _("rad"), _("kolonne"), _("verdi"), _("enhet")])
    for typed in exports.typed_tables(report):
        table = typed.table
        for _key, label, values in typed.rows:
            for index, (column, v) in enumerate(zip(table.columns, values, strict=True)):
                kind = v.kind if v.kind != exports.TEXT else (typed.kinds[index] or exports.TEXT)
                writer.writerow([table.id, table.title, label, column, exports.csv_number(v), units[kind]])
    return out.getvalue()


# --- assumption sets ----------------------------------------------------------------------------

def may_read_assumptions() -> None:
    if not (current_user.has_permission("reports.read") or current_user.has_permission("reports.assumptions")):
        abort(403)


def lab_set(set_id: int):
    """A version of a set in the user's lab, or 404."""
    row = services.get_set(current_user.lab_id, set_id)
    if row is None:
        abort(404)
    return row


@blueprint.get("/rapporter/forutsetninger")
@requires(LOGIN)
def assumption_sets():
    """Management reads the assumptions the model rests on; administrators keep them."""
    may_read_assumptions()
    return render_template("reports/assumption_sets.html", sets=services.current_sets(current_user.lab_id),
                           can_edit=current_user.has_permission("reports.assumptions"))


@blueprint.get("/rapporter/forutsetninger/<int:set_id>")
@requires(LOGIN)
def assumption_set(set_id: int):
    may_read_assumptions()
    row = lab_set(set_id)
    return render_template("reports/assumption_set.html", row=row, versions=services.versions(row),
                           agencies=reading.lab_agencies(), level_names=LEVEL_NAMES,
                           can_edit=current_user.has_permission("reports.assumptions") and row.is_current
                           and not row.retired)


def _fill(form, row, agencies) -> None:
    form.name.data, form.source_note.data = row.name, row.source_note
    for rate in RATE_FIELDS:
        getattr(form, rate).data = Decimal(getattr(row, f"{rate}_bp")) / 100
    form.horizon_years.data, form.target_level.data = row.horizon_years, row.target_level
    form.staff_cost.data = "" if row.staff_cost_per_family_month is None else \
        str(Decimal(row.staff_cost_per_family_month) / 100)
    form.version.data = row.version
    costs = {(c.level, c.agency_id): c.yearly_cost for c in row.costs}
    for level in LEVELS:
        for agency in agencies:
            value = costs.get((level, agency.id))
            getattr(form, level_cost_field_name(level, agency.id)).data = \
                "" if value is None else str(Decimal(value) / 100)


def _form_data(form, agencies) -> dict:
    """The form as service input; a malformed amount raises ServiceError naming its field."""
    data = {"name": form.name.data, "source_note": form.source_note.data,
            "horizon_years": form.horizon_years.data, "target_level": form.target_level.data}
    for rate in RATE_FIELDS:
        data[rate] = Decimal(getattr(form, rate).data) / 100
    data["staff_cost_per_family_month"] = _amount(form.staff_cost, "staff_cost") if form.staff_cost.data else None
    data["costs"] = []
    for level in LEVELS:
        for agency in agencies:
            field = getattr(form, level_cost_field_name(level, agency.id))
            if field.data:
                data["costs"].append({"level": level, "agency_id": agency.id,
                                      "yearly_cost": _amount(field, field.name)})
    return data


def _amount(field, name: str) -> int:
    try:
        value = parse_kroner(field.data)
    except ValueError as error:
        raise ServiceError(str(error), name) from None
    if value < 0:
        raise ServiceError(_("Beløpet kan ikke være negativt."), name)
    return value


def _editor(row=None):
    agencies = [a for a in reading.lab_agencies() if a.active or (row and any(c.agency_id == a.id for c in row.costs))]
    form = assumption_form_class(agencies)()
    if request.method == "GET" and row is not None:
        _fill(form, row, agencies)
    if form.validate_on_submit():
        try:
            data = _form_data(form, agencies)
            if row is None:
                saved = services.create_set(current_user.lab, data, actor=current_user._get_current_object())
            else:
                saved = services.revise_set(row, data, actor=current_user._get_current_object(),
                                            expected_version=form.version.data)
        except ServiceError as error:
            field = error.field if error.field != "costs" else "name"
            add_error(form, ServiceError(error.message, field), "name")
        else:
            flash(_("Forutsetningene er lagret (versjon %(version)s).", version=saved.version), "success")
            return redirect(url_for("reports.assumption_set", set_id=saved.id))
    return render_form("reports/assumption_form.html", form, row=row, agencies=agencies, level_names=LEVEL_NAMES,
                       cost_field=level_cost_field_name)


@blueprint.route("/rapporter/forutsetninger/ny", methods=["GET", "POST"])
@requires("reports.assumptions")
def assumption_set_new():
    return _editor()


@blueprint.route("/rapporter/forutsetninger/<int:set_id>/endre", methods=["GET", "POST"])
@requires("reports.assumptions")
def assumption_set_edit(set_id: int):
    return _editor(lab_set(set_id))


@blueprint.post("/rapporter/forutsetninger/<int:set_id>/ta-ut-av-bruk")
@requires("reports.assumptions")
def assumption_set_retire(set_id: int):
    row = lab_set(set_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        services.retire_set(row, actor=current_user._get_current_object())
    except ServiceError as error:
        flash(error.message, "error")
        return redirect(url_for("reports.assumption_set", set_id=row.id), 303)
    flash(_("Forutsetningene er tatt ut av bruk."), "success")
    return redirect(url_for("reports.assumption_sets"))


# --- the family's progress report ---------------------------------------------------------------

def _period_arg(name: str) -> date | None:
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ServiceError(_("Ugyldig dato; bruk ÅÅÅÅ-MM-DD."), name) from None


# The progress report's download, on the page and in the API: the gate checks access and audits it.
progress_route = family_route(AuditAction.FAMILY_REPORT_PDF, purpose=Purpose.PROGRESS_REPORT)


def progress_pdf_response(access: Access) -> Response:
    """The progress report as PDF, for the API and the page alike (behind ``progress_route``)."""
    family_id = access.family.id
    lang = request.args.get("lang", "nb")
    if lang not in progress.LANGUAGES:
        raise ServiceError(_("Språket må være nb eller en."), "lang")
    start, end = progress.resolve_period(family_id, _period_arg("fra"), _period_arg("til"))
    note(lang=lang, period_start=start, period_end=end)
    data = progress.render_progress_pdf(access, start=start, end=end, language=lang)
    return pdf_renderer.pdf_download(data, f"fremdriftsrapport-familie-{family_id}.pdf")


PERIOD_FIELDS = ("fra", "til", "lang")


@blueprint.get("/familier/<int:family_id>/fremdriftsrapport.pdf")
@requires(LOGIN)
@progress_route
def progress_pdf(access: Access):
    """The download from the family page. A bad period or language (the *Velg periode* form) goes
    back to the family page with the reason; the API answers 422 for the same input."""
    try:
        return progress_pdf_response(access)
    except ServiceError as error:
        if error.field not in PERIOD_FIELDS:
            raise
        flash(error.message, "error")
        return redirect(url_for("cases.family_page", family_id=access.family.id, _anchor="progress-report-heading"),
                        303)


def progress_panel(family, user, gated: bool) -> dict | None:
    """The "Last ned fremdriftsrapport" link on the family page (``cases.panels.FAMILY_PANELS``)."""
    if gated:
        return None
    return {"template": "reports/_progress_panel.html",
            "url": url_for("reports.progress_pdf", family_id=family.id),
            "url_en": url_for("reports.progress_pdf", family_id=family.id, lang="en")}


def _register_panels() -> None:
    from velferdslab.cases.panels import FAMILY_PANELS

    if progress_panel not in FAMILY_PANELS:
        FAMILY_PANELS.append(progress_panel)


def summary_panel(user) -> dict | None:
    """The one-page summary on management's start page: the default report (this year so far, the
    default assumption set), read and audited like the report page, with a link to it."""
    if not user.has_permission("reports.read"):
        return None
    start, end = reading.period(None, None, None, today_local())
    f = reading.published(outcome.OutcomeFilter(lab_id=user.lab_id, start=start, end=end))
    report, summary, _trend = reading.read_summary(f, services.default_set(user.lab_id), None, reading.lab_agencies(),
                                                   action=AuditAction.REPORT_OUTCOME_VIEW, fmt="start_page",
                                                   trend=False, themes=False)
    return {"templates": ["reports/_summary_panel.html"], "report_summary": summary, "report_summary_filter": f,
            "report_summary_empty": report.empty}


_register_panels()
navigation.register_start_panel(summary_panel, order=5)


@blueprint.get("/rapporter/resultater/laber")
@requires("reports.across_labs")
def outcome_across_labs():
    """The outcome report over the labs assigned to a county or national user, as one selection."""
    from velferdslab.reports import policy as report_policy

    labs = report_policy.readable_labs(current_user)
    agencies = reading.agencies_of(labs)
    form = OutcomeFilterForm(request.args)
    form.agency_id.choices = choices([(0, _("Alle etater"))] + [(a.id, a.name) for a in agencies])
    form.assumption_set_id.choices = choices([(0, _("Ikke for flere laber samlet"))])
    context = {"form": form, "labs": labs, "query": request.query_string.decode()}
    if not labs:
        return render_template("reports/outcome_labs.html", report=None, **context), 403
    parsed = outcome_from_form(form, lab_ids=tuple(lab.id for lab in labs))
    if parsed is None:
        return render_template("reports/outcome_labs.html", report=None, **context), 422
    f, _assumption_set, _success = parsed
    report = reading.read_across_labs(f, labs, action=AuditAction.REPORT_OUTCOME_VIEW, fmt="html")
    return render_template("reports/outcome_labs.html", **context, **outcome_context(report, f, None))


# --- administrators: who reads the lab's report across labs (role ``region``) --------------------

def _report_access_page(grant: ReportAccessGrantForm, revoke: ReportAccessRevokeForm, status: int = 200):
    lab = current_user.lab
    grant.user_lab_id.choices = choices([(0, _("Finn brukeren ut fra e-postadressen"))]
                                        + [(each.id, each.name) for each in services.all_labs()])
    return render_template("reports/report_access.html", form=grant, revoke=revoke, lab=lab,
                           readers=services.lab_readers(lab)), status


@blueprint.route("/admin/resultatrapport-tilgang", methods=["GET", "POST"])
@requires("admin.users")
def report_access():
    """Which county or national users read this lab's outcome report, with their other labs; the
    lab's administrator gives it (a grant for their own lab only: ``reports.policy``)."""
    form = ReportAccessGrantForm()
    if form.validate_on_submit():
        try:
            user = services.region_user(form.email.data or "", form.user_lab_id.data or None)
            services.grant_lab_access(user, current_user.lab, actor=current_user)
        except ServiceError as error:
            add_error(form, error, "email")
        else:
            flash(_("%(name)s leser nå resultatrapporten for %(lab)s.", name=user.name, lab=current_user.lab.name),
                  "success")
            return redirect(url_for("reports.report_access"))
    return _report_access_page(form, ReportAccessRevokeForm(formdata=None),
                               422 if request.method == "POST" else 200)


@blueprint.post("/admin/resultatrapport-tilgang/trekk-tilbake")
@requires("admin.users")
def report_access_revoke():
    form = ReportAccessRevokeForm()
    if form.validate_on_submit():
        raw = (form.user_id.data or "").strip()
        user = db.session.get(User, int(raw)) if raw.isdigit() and int(raw) <= MAX_ID else None
        try:
            if user is None:
                raise ServiceError(_("Brukeren leser ikke rapporten for denne laben."), "user_id")
            services.revoke_lab_access(user, current_user.lab, actor=current_user)
        except ServiceError as error:
            add_error(form, error, "user_id")
        else:
            flash(_("%(name)s leser ikke lenger resultatrapporten for %(lab)s.", name=user.name,
                    lab=current_user.lab.name), "success")
            return redirect(url_for("reports.report_access"))
    return _report_access_page(ReportAccessGrantForm(formdata=None), form, 422)


navigation.register(_l("Resultater"), "reports.outcome_page", "reports.read", order=60)
navigation.register(_l("Resultater for flere laber"), "reports.outcome_across_labs", "reports.across_labs",
                    order=61)
navigation.register(_l("Gevinstmodell"), "reports.assumption_sets", "reports.assumptions", order=65)
navigation.register(_l("Rapporttilgang for fylke"), "reports.report_access", "admin.users", order=82)


# --- the family's own download on Min side (issue 16) ----------------------------------------------

@blueprint.get("/min-side/framdriftsrapport.pdf")
@family_session
def minside_progress_pdf(member):
    """The progress report for a signed-in family member: what the family's own view of the gate
    (``FamilyAccess``) shows, never blocked by a staff member's consent; audited with the member."""
    access = FamilyAccess.of(member)
    lang = request.args.get("lang", "nb")
    if lang not in progress.LANGUAGES:
        lang = "nb"
    audit.record(AuditAction.FAMILY_REPORT_PDF, actor=FamilyActor.of(member), family_id=access.family.id,
                 object_type="member", object_id=member.id, purpose=Purpose.FAMILY_REQUEST, summary={"lang": lang})
    return pdf_renderer.pdf_download(progress.render_progress_pdf(access, language=lang), "framdriftsrapport.pdf")
