"""Budget pages (HTML): the family's budget and request form, the approval queues, management's
overview and allocations, delegations, and the administrator's authority rules.

Thin: rules live in ``budget.services``, figures in ``budget.queries``. Money-moving posts run
through ``ledger.run_with_retries``; approve, reject, pay and cancel forms carry a one-time
idempotency key, so a double click or a resent form acts once. Only ``create_app`` imports this.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import Row, select

from velferdslab.audit import services as audit
from velferdslab.audit.actions import AuditAction, Purpose
from velferdslab.auth.models import Agency
from velferdslab.budget import books, forms, ledger, queries, services, vouchers
from velferdslab.budget.models import ApproverRole, AuthorityRuleSet, Delegation, LedgerTransfer, SpendRequest
from velferdslab.cases import gate
from velferdslab.cases.access import Access, Shown
from velferdslab.cases.gate import family_route, note
from velferdslab.cases.household.models import Family
from velferdslab.cases.journey.models import JourneyAssessment, ThemeRating
from velferdslab.cases.plan.models import Goal
from velferdslab.cases.themes import LEVEL_NAMES, THEME_BY_CODE, THEMES
from velferdslab.core import navigation, policy
from velferdslab.core.errors import ServiceError
from velferdslab.core.forms import SelectChoice, add_error, choices, render_form
from velferdslab.core.i18n import translated_tables
from velferdslab.core.models import today_local
from velferdslab.core.money import format_nok
from velferdslab.core.permissions import LOGIN, Permission, requires
from velferdslab.extensions import db

# Routes that name a spend request reach its family through it (``cases.gate``, ``via``).
SPEND = ("spend", SpendRequest)

blueprint = Blueprint("budget", __name__, template_folder="templates")


# Each label table translated once per language, not in every table cell (``core.i18n.TranslatedTable``).
_LABELS = translated_tables({
    "spend_status_labels": forms.STATUS_LABELS, "spend_category_labels": forms.CATEGORY_LABELS,
    "spend_route_labels": forms.ROUTE_LABELS, "approver_role_labels": forms.APPROVER_ROLE_LABELS,
    "themes": THEME_BY_CODE, "levels": LEVEL_NAMES})
_THEMES, _LEVELS = _LABELS.pop("themes"), _LABELS.pop("levels")


@blueprint.app_context_processor
def _labels() -> dict:
    return {**_LABELS,
            "budget_theme_name": lambda code: _THEMES[code].name if code in _THEMES else code,
            "budget_level_name": lambda level: _LEVELS.get(level, "")}


def _user():
    return current_user._get_current_object()


def _year() -> int:
    raw = request.args.get("ar", "")
    return int(raw) if raw.isdigit() and 2000 <= int(raw) <= 2100 else queries.current_year()


def _key() -> str:
    return uuid.uuid4().hex


# --- the family's budget ------------------------------------------------------------------------

def _covered(access: Access | None, budget: queries.FamilyBudget) -> dict:
    """The spends whose theme the reader's agency has consent for, in full; the others as a summary
    (category, theme, amount, status — what a gated member sees) with the reason (issue 15)."""
    if access is None:
        return {"covered_ids": {s.id for s in budget.spends}, "hidden": []}
    shown = access.hide(budget.spends, "spend", subject=lambda _spend: None)
    return {"covered_ids": {s.id for s in shown.items}, "hidden": shown.hidden}


def family_panel(family, user, gated: bool) -> dict:
    """The budget panel on the family page (``cases.panels.FAMILY_PANELS``)."""
    year = queries.current_year()
    budget = queries.family_panel_budget(family.id, year)  # one statement (issue 19)
    # The gate has answered for this family in this request (``policy.remember``): no second look-up.
    access = policy.remember(("family_access", user.id, family.id), lambda: gate.family_access(user, family.id))
    return {"template": "budget/_family_panel.html", "budget": budget, **_covered(access, budget),
            "can_request": not gated and user.has_permission("spend.request"), "full_page": False}


@blueprint.get("/budsjett")
@requires("families.work")
def my_budgets():
    """The families I am on the team of, with this year's budget."""
    year = _year()
    return render_template("budget/my_budgets.html", year=year, years=queries.lab_years(current_user.lab_id),
                           rows=queries.read_my_budgets(_user(), year))


# Family-scoped pages declare only LOGIN: whether this user may see *this* family is decided per
# object by the family gate, so everyone off the team (managers included) gets the audited 404.
@blueprint.get("/familier/<int:family_id>/budsjett")
@requires(LOGIN)
@family_route(AuditAction.BUDGET_VIEW, purpose=Purpose.BUDGET, content=False)
def family_budget(access: Access):
    year = _year()
    budget = queries.family_budget(access.family.id, year)
    note(year=year)
    return render_template("budget/family_budget.html", family=access.family, access=access, budget=budget,
                           gated=access.gated, **_covered(access, budget), years=queries.lab_years(current_user.lab_id),
                           can_request=not access.gated and current_user.has_permission("spend.request"),
                           full_page=True)


def _current_levels(access: Access) -> dict[str, int]:
    """The team's latest level in each theme (from the newest current assessment rating it), in one
    statement: the spend form's "level now" follows the chosen theme. Only ratings the reader's
    agency has consent for (issue 15)."""
    family_id = access.family.id
    levels: dict[str, int] = {}
    for theme, subject, level in db.session.execute(
            select(ThemeRating.theme, ThemeRating.subject_member_id, ThemeRating.level)
            .join(JourneyAssessment, JourneyAssessment.id == ThemeRating.assessment_id)
            .where(JourneyAssessment.family_id == family_id, JourneyAssessment.is_current.is_(True),
                   ThemeRating.perspective == "team")
            .order_by(JourneyAssessment.assessed_on.desc(), JourneyAssessment.id.desc())):
        if access.may_see(subject, theme, "rating"):
            levels.setdefault(theme, level)
    return levels


def _hoped_level(level: int | None) -> int:
    """The hoped level defaults to one step up from now (the top step stays the top)."""
    return min((level or 1) + 1, 4) if level else 2


def _goal_choices(access: Access, keep: int | None = None) -> Shown[Goal]:
    """The family's open goals (and the goal a draft or rejected request already names) that the
    reader's agency has consent for, and why the others are left out (issue 15)."""
    wanted = Goal.status == "open" if keep is None else (Goal.status == "open") | (Goal.id == keep)
    return access.hide(db.session.scalars(select(Goal).where(Goal.family_id == access.family.id, wanted)
                                          .order_by(Goal.theme, Goal.id)), "goal")


def _prefill(form: forms.SpendForm, spend: SpendRequest) -> None:
    form.amount.data = _kroner_text(spend.amount)
    for name in ("payee", "purpose", "category", "theme", "goal_id", "expected_effect", "wanted_on"):
        getattr(form, name).data = getattr(spend, name)
    form.level_from.data = str(spend.level_from) if spend.level_from else ""
    form.level_to.data = str(spend.level_to)
    change = spend.expected_level_change
    form.expected_level_change.data = "" if change is None else str(change)


def _fill_in(form: forms.SpendForm, spend: SpendRequest | None, goals: list[Goal], levels: dict[str, int]) -> None:
    """The form as first shown: the draft's or rejected request's fields, or a new request's defaults."""
    if spend is not None:
        _prefill(form, spend)
        return
    form.wanted_on.data = today_local()
    theme = request.args.get("tema")
    if theme not in THEME_BY_CODE:  # no theme asked for: the first theme with an open goal, if any
        theme = goals[0].theme if goals else None
    if theme:
        form.theme.data = theme
    level = levels.get(form.theme.data or "bolig")
    form.level_from.data = str(level) if level else ""
    form.level_to.data = str(_hoped_level(level))
    own = [g for g in goals if g.theme == form.theme.data]
    if len(own) == 1:  # the theme's only open goal is the one (the script does the same on a change)
        form.goal_id.data = own[0].id


def _funding_choices(form: forms.SpendForm, access: Access, spend: SpendRequest | None, year: int) -> dict:
    """The "who pays" choices — every agency of the lab, with what it has left for the family —
    and, on a first showing, the proposal (the draft's own funding, or the theme's default agency
    or the family's largest allocation) and one split field per agency that gave the family money."""
    family = access.family
    money = services.family_money_by_agency(family.id, year)
    agencies = _agency_choices(family.lab_id)
    names = dict(agencies)

    def label(agency_id: int) -> str:
        found = money.get(agency_id)
        if found is None or found.allocated <= 0:
            return _("%(agency)s (ingen tildeling til familien)", agency=names[agency_id])
        return _("%(agency)s (igjen for familien: %(left)s)", agency=names[agency_id], left=format_nok(found.left))

    form.funding_agency.choices = choices([(str(a), label(a)) for a, _name in agencies]
                                          + [(forms.SPLIT, _("Fordel på flere etater"))])
    if request.method == "GET":
        split_ids = [a for a, _name in agencies if a in money and money[a].allocated > 0]
        parts = {f.agency_id: f.amount for f in spend.funding} if spend is not None else {}
        split_ids += [a for a in parts if a not in split_ids]
        for agency_id in split_ids:
            form.funding_parts.append_entry({"agency_id": str(agency_id),
                                             "amount": _kroner_text(parts[agency_id]) if agency_id in parts else ""})
        if len(parts) > 1:
            form.funding_agency.data = forms.SPLIT
        elif parts:
            form.funding_agency.data = str(next(iter(parts)))
        else:
            proposal = services.propose_funding(family.lab_id, family.id, year, form.theme.data or "bolig", 0)
            form.funding_agency.data = str(proposal[0]["agency"]) if proposal else ""
    return {"agency_labels": {str(a): label(a) for a in names}, "money_by_agency": money}


def _save(mode: str, family_id: int, spend: SpendRequest | None, data: dict, submit: bool) -> SpendRequest:
    """Create, edit (and perhaps send) a draft, or revise a rejected request, through the services."""
    user = _user()
    if spend is None:
        return services.create_spend(family_id, user, data, submit=submit)
    spend_id = spend.id
    if mode == "revise":
        return ledger.run_with_retries(lambda: services.revise_spend(spend_id, user, data, submit=submit))

    def edit_and_send() -> SpendRequest:
        edited = services.update_draft(services.lock_spend(spend_id), user, data)
        return services.submit_spend(spend_id, user) if submit else edited

    return ledger.run_with_retries(edit_and_send)


def _spend_form(access: Access, spend: SpendRequest | None = None, mode: str = "new"):
    """The request form: new (``spend`` None), editing a draft, or revising a rejected request.

    The level "now" follows the chosen theme (the team's latest rating of it) and the hoped level
    defaults to one step up — here for the page as first shown, and in the page's script when the
    theme changes; the goal list shows only the chosen theme's goals (the script), and the service
    refuses a goal of another theme (with or without the script).
    """
    if not current_user.has_permission(Permission.SPEND_REQUEST):
        abort(403)
    family_id = access.family.id
    shown = _goal_choices(access, spend.goal_id if spend is not None else None)
    goals = shown.items
    form = forms.SpendForm()
    # Only the themes a spend may be written in (the service refuses the others, issue 15).
    form.theme.choices = choices((t.code, t.name) for t in THEMES if access.may_see(None, t.code, "spend"))
    form.theme.validate_choice = False  # another theme is refused by the service, with its reason
    form.goal_id.choices = [SelectChoice(0, _("– velg mål –"))] + [
        SelectChoice(g.id, f"{THEME_BY_CODE[g.theme].name}: {g.text[:90]}", render_kw={"data-theme": g.theme})
        for g in goals]
    levels = _current_levels(access)
    if request.method == "GET":
        _fill_in(form, spend, goals, levels)
    year = spend.budget_year if spend is not None else queries.current_year()
    balance = ledger.family_balance(family_id, year)
    funding = _funding_choices(form, access, spend, year)
    if form.validate_on_submit():
        submit = request.form.get("action") == "submit"
        try:
            spend = _save(mode, family_id, spend, form.data_for_service(), submit)
        except ServiceError as error:
            # A funding error names the agency in its message; it is shown at "who pays".
            add_error(form, error, "funding_agency" if (error.field or "").startswith("funding") else "amount")
            if error.status not in (400, 422):
                return render_form("budget/spend_form.html", form, status=error.status, family=access.family,
                                   balance=balance, goals=goals, levels=levels, spend=spend, mode=mode,
                                   hidden=shown.hidden, **funding)
        else:
            flash(_("Forespørselen er sendt til godkjenning.") if submit else _("Utkastet er lagret."), "success")
            return redirect(url_for("budget.spend_detail", spend_id=spend.id))
    return render_form("budget/spend_form.html", form, family=access.family, balance=balance, goals=goals,
                       levels=levels, spend=spend, mode=mode, hidden=shown.hidden, **funding)


@blueprint.route("/familier/<int:family_id>/budsjett/ny", methods=["GET", "POST"])
@requires(LOGIN)
@family_route(AuditAction.FAMILY_FORM, purpose=Purpose.BUDGET)
def spend_new(access: Access):
    """The request form: a team member asks for money for the family, naming theme and goal."""
    return _spend_form(access)


@blueprint.route("/budsjett/utgifter/<int:spend_id>/endre", methods=["GET", "POST"])
@requires("spend.request")
@family_route(AuditAction.SPEND_READ, purpose=Purpose.BUDGET, via=SPEND)
def spend_edit(access: Access | None, spend: SpendRequest):
    """Change a draft and save it again, or send it: its requester, or the family's lead."""
    if access is None or not policy.can(_user(), "edit", spend):
        abort(403)
    if spend.status != "draft":  # the request page, saying why (409 for a post)
        flash(_("Forespørselen er sendt og kan ikke endres."), "error")
        return _detail_page(spend, access, 409 if request.method == "POST" else 200)
    return _spend_form(access, spend, "edit")


@blueprint.route("/budsjett/utgifter/<int:spend_id>/revider", methods=["GET", "POST"])
@requires("spend.request")
@family_route(AuditAction.SPEND_READ, purpose=Purpose.BUDGET, via=SPEND)
def spend_revise(access: Access | None, spend: SpendRequest):
    """A new version of a rejected request, filled in from it; saved as a draft or sent."""
    if access is None or not policy.can(_user(), "revise", spend):
        abort(403)
    if spend.status != "rejected" or services.revision_of(spend) is not None:
        flash(_("Bare en avslått forespørsel som ikke er revidert ennå, kan revideres."), "error")
        return _detail_page(spend, access, 409 if request.method == "POST" else 200)
    return _spend_form(access, spend, "revise")


# --- one spend request ----------------------------------------------------------------------------

def _actions(spend: SpendRequest, access) -> dict:
    """Which buttons to offer; the services decide again on every post."""
    user = _user()
    return {
        "edit": spend.status == "draft" and access is not None and policy.can(user, "edit", spend),
        "revise": spend.status == "rejected" and access is not None and policy.can(user, "revise", spend)
        and user.has_permission(Permission.SPEND_REQUEST) and services.revision_of(spend) is None,
        "submit": spend.status == "draft" and policy.can(user, "submit", spend),
        "decide": spend.status == "requested" and policy.can(user, "approve", spend)
        and policy.can(user, "reject", spend),
        "pay": spend.status == "approved" and policy.can(user, "pay", spend),
        "cancel": spend.status in ("draft", "requested", "approved") and policy.can(user, "cancel", spend),
        "reverse": spend.status == "paid" and policy.can(user, "pay", spend),
    }


def _detail_page(spend: SpendRequest, access, status: int = 200):
    transfers = db.session.scalars(select(LedgerTransfer).where(LedgerTransfer.spend_request_id == spend.id)
                                   .order_by(LedgerTransfer.id)).all()
    leads = queries.team_leads([spend.family_id])[spend.family_id]
    return render_template("budget/spend.html", spend=spend, access=access, transfers=transfers, leads=leads,
                           actions=_actions(spend, access), available=_available(spend),
                           versions=_visible_versions(spend)), status


def _visible_versions(spend: SpendRequest) -> list[SpendRequest]:
    """The request's versions the user may see (management sees only those sent to it)."""
    user = _user()
    return [v for v in services.versions(spend) if v.id == spend.id or policy.can(user, "see", v)]


@blueprint.get("/budsjett/utgifter/<int:spend_id>")
@requires(LOGIN)
@family_route(AuditAction.SPEND_READ, purpose=Purpose.BUDGET, via=SPEND)
def spend_detail(access: Access | None, spend: SpendRequest):
    # A team member's agency needs consent for the spend's theme: the gate has checked (issue 15).
    return _detail_page(spend, access)


def _after_decision(spend: SpendRequest):
    target = request.form.get("next", "")
    if target in ("queue", "management"):
        return redirect(url_for("budget.lead_queue" if target == "queue" else "budget.management_queue"))
    return redirect(url_for("budget.spend_detail", spend_id=spend.id))


@blueprint.post("/budsjett/utgifter/<int:spend_id>/send")
@requires("spend.request")
@family_route(via=SPEND)
def spend_submit(access: Access | None, spend: SpendRequest):
    user = _user()
    try:
        spend = ledger.run_with_retries(lambda: services.submit_spend(spend.id, user))
    except ServiceError as error:
        # An error status, so the request's transaction (and nothing else) is rolled back.
        flash(error.message, "error")
        return _detail_page(spend, access, error.status)
    flash(_("Forespørselen er sendt til godkjenning."), "success")
    return redirect(url_for("budget.spend_detail", spend_id=spend.id))


def _decision_page(spend: SpendRequest, access: Access | None, template: str, form, operation, success: str,
                   **fields):
    """GET: the confirmation form. POST: run the operation (retried, idempotent) and go back."""
    spend_id = spend.id
    if request.method == "GET":
        form.idempotency_key.data = _key()
    if form.validate_on_submit():
        user, key = _user(), form.idempotency_key.data or None
        values = {name: getter(form) for name, getter in fields.items()}
        try:
            spend, replayed = ledger.run_with_retries(
                lambda: operation(spend_id, user, idempotency_key=key, **values))
        except ServiceError as error:
            add_error(form, error, "idempotency_key" if "reason" not in form else "reason")
            if error.status != 422:
                return render_form(template, form, status=error.status, spend=spend, access=access,
                                   next=request.form.get("next", ""), available=_available(spend))
        else:
            flash(success, "success")
            return _after_decision(spend)
    return render_form(template, form, spend=spend, access=access, next=request.values.get("next", ""),
                       available=_available(spend))


def _available(spend: SpendRequest) -> int:
    return ledger.family_balance(spend.family_id, spend.budget_year).available


@blueprint.route("/budsjett/utgifter/<int:spend_id>/godkjenn", methods=["GET", "POST"])
@requires("spend.approve")
@family_route(AuditAction.SPEND_READ, purpose=Purpose.APPROVAL, via=SPEND)
def spend_approve(access: Access | None, spend: SpendRequest):
    """Second click: confirm the approval shown in the queue."""
    return _decision_page(spend, access, "budget/approve.html", forms.ApproveForm(), services.approve_spend,
                          _("Forespørselen er godkjent, og pengene er reservert."))


@blueprint.route("/budsjett/utgifter/<int:spend_id>/avvis", methods=["GET", "POST"])
@requires("spend.approve")
@family_route(AuditAction.SPEND_READ, purpose=Purpose.APPROVAL, via=SPEND)
def spend_reject(access: Access | None, spend: SpendRequest):
    return _decision_page(spend, access, "budget/reason.html", forms.ReasonForm(), services.reject_spend,
                          _("Forespørselen er avslått."), reason=lambda f: f.reason.data)


@blueprint.route("/budsjett/utgifter/<int:spend_id>/avbryt", methods=["GET", "POST"])
@requires(LOGIN)
@family_route(AuditAction.SPEND_READ, purpose=Purpose.BUDGET, via=SPEND)
def spend_cancel(access: Access | None, spend: SpendRequest):
    return _decision_page(spend, access, "budget/reason.html", forms.ReasonForm(), services.cancel_spend,
                          _("Forespørselen er avbrutt."), reason=lambda f: f.reason.data)


@blueprint.route("/budsjett/utgifter/<int:spend_id>/betal", methods=["GET", "POST"])
@requires("spend.approve")
@family_route(AuditAction.SPEND_READ, purpose=Purpose.BUDGET, via=SPEND)
def spend_pay(access: Access | None, spend: SpendRequest):
    form = forms.PayForm()
    if request.method == "GET":
        form.paid_on.data = today_local()
    return _decision_page(spend, access, "budget/pay.html", form, services.pay_spend, _("Betalingen er registrert."),
                          paid_on=lambda f: f.paid_on.data, reference=lambda f: f.reference.data)


@blueprint.route("/budsjett/utgifter/<int:spend_id>/tilbakefor", methods=["GET", "POST"])
@requires("spend.approve")
@family_route(AuditAction.SPEND_READ, purpose=Purpose.BUDGET, via=SPEND)
def spend_reverse(access: Access | None, spend: SpendRequest):
    """Take back a paid spend; the reversal is booked in the first open period."""
    return _decision_page(spend, access, "budget/reverse_payment.html", forms.ReversePaymentForm(),
                          services.reverse_payment, _("Betalingen er tilbakeført."),
                          reason=lambda f: f.reason.data, reversed_on=lambda f: f.reversed_on.data)


# --- queues ------------------------------------------------------------------------------------------

def _queue_context(spends: list[SpendRequest]) -> dict:
    shown = queries.read_queue(_user(), spends)
    return {"available": shown.available, "leads": shown.leads, "hidden": shown.hidden}


@blueprint.get("/budsjett/godkjenning")
@requires("spend.approve")
def lead_queue():
    """The investment lead's queue: requests within the lead's authority, oldest first."""
    user = _user()
    waiting, to_pay = queries.lead_queue(user), queries.lead_to_pay(user)
    if not waiting and not to_pay and user.has_permission(Permission.SPEND_DECIDE_AS_MANAGEMENT) \
            and not user.has_permission(Permission.SPEND_DECIDE_AS_LEAD):
        return redirect(url_for("budget.management_queue"))
    ids = {s.family_id for s in waiting + to_pay}
    rows: Iterable[Row[int, str]] = (db.session.execute(select(Family.id, Family.household_name)
                                                        .where(Family.id.in_(ids))) if ids else [])
    names = {family_id: name for family_id, name in rows}
    return render_template("budget/lead_queue.html", waiting=waiting, to_pay=to_pay, names=names,
                           **_queue_context(waiting + to_pay))


@blueprint.get("/budsjett/ledelse")
@requires("budget.manage")
def management_queue():
    """Management's queue: requests above the teams' limits, oldest first."""
    lab_id = current_user.lab_id
    waiting, to_pay = queries.management_queue(lab_id), queries.management_to_pay(lab_id)
    return render_template("budget/management_queue.html", waiting=waiting, to_pay=to_pay,
                           **_queue_context(waiting + to_pay))


# --- management: overview and allocations ----------------------------------------------------------

@blueprint.get("/budsjett/oversikt")
@requires("budget.manage")
def overview():
    """The pool per agency: delegated, allocated, left. No spend by theme or agency (issue 14)."""
    year = _year()
    data = queries.read_pool_overview(current_user.lab_id, year)
    return render_template("budget/overview.html", overview=data, year=year,
                           years=queries.lab_years(current_user.lab_id))


def _agency_choices(lab_id: int) -> list[tuple[int, str]]:
    return [(a.id, a.name) for a in db.session.scalars(select(Agency).where(Agency.lab_id == lab_id)
                                                           .order_by(Agency.name))]


def _family_label(row: queries.AllocationRow) -> str:
    leads = ", ".join(row.leads) or _("ingen investeringsleder")
    return _("Familie %(id)s (%(leads)s)", id=row.family_id, leads=leads)


@blueprint.route("/budsjett/tildeling", methods=["GET", "POST"])
@requires("budget.manage")
def allocations():
    """Allocate from the pool to families' teams, or move unused allocation back."""
    user, year = _user(), _year()
    rows = queries.read_allocations(user.lab_id, year)
    form = forms.AllocationForm()
    form.family_id.choices = choices((r.family_id, _family_label(r)) for r in rows)
    form.agency_id.choices = choices(_agency_choices(user.lab_id))
    if form.validate_on_submit():
        operation = services.allocate if form.direction.data == "allocate" else services.return_allocation
        amount = form.amount.ore
        assert amount is not None  # DataRequired, and KronerField.pre_validate parsed it
        try:
            ledger.run_with_retries(lambda: operation(user.lab, family_id=form.family_id.data,
                                                      agency_id=form.agency_id.data, year=year,
                                                      amount=amount, actor=user))
        except ServiceError as error:
            add_error(form, error, "amount")
        else:
            flash(_("%(amount)s er %(what)s.", amount=format_nok(form.amount.ore),
                    what=_("tildelt") if form.direction.data == "allocate" else _("flyttet tilbake til potten")),
                  "success")
            return redirect(url_for("budget.allocations", ar=year))
    pool = queries.pool_overview(user.lab_id, year)
    return render_form("budget/allocations.html", form, rows=rows, year=year, pool=pool,
                       years=queries.lab_years(user.lab_id))


# --- delegations ---------------------------------------------------------------------------------

@blueprint.route("/budsjett/delegeringer", methods=["GET", "POST"])
@requires("budget.delegate")
def delegations():
    user, year = _user(), _year()
    form = forms.DelegationForm()
    form.agency_id.choices = choices(_agency_choices(user.lab_id))
    if request.method == "GET":
        form.year.data = year
        form.decided_on.data = today_local()
    if form.validate_on_submit():
        # Every field is DataRequired (and the amount parsed), so a form that validated has them all.
        budget_year, amount = form.year.data, form.amount.ore
        reference, decided_on = form.decision_reference.data, form.decided_on.data
        assert budget_year is not None and amount is not None and reference is not None and decided_on is not None
        try:
            ledger.run_with_retries(lambda: services.delegate(
                user.lab, agency_id=form.agency_id.data, year=budget_year, amount=amount,
                decision_reference=reference, decided_on=decided_on, actor=user))
        except ServiceError as error:
            add_error(form, error, "amount")
        else:
            flash(_("Delegeringen er registrert."), "success")
            return redirect(url_for("budget.delegations", ar=form.year.data))
    rows = db.session.scalars(select(Delegation).where(Delegation.lab_id == user.lab_id, Delegation.year == year)
                              .order_by(Delegation.decided_on, Delegation.id)).all()
    reversed_ids = set(db.session.scalars(select(LedgerTransfer.delegation_id).where(
        LedgerTransfer.lab_id == user.lab_id, LedgerTransfer.kind == "delegation_reversal")))
    return render_form("budget/delegations.html", form, rows=rows, reversed_ids=reversed_ids, year=year,
                       years=queries.lab_years(user.lab_id))


# --- authority rules -------------------------------------------------------------------------------

def _kroner_text(ore: int | None) -> str:
    return "" if ore is None else format_nok(ore, symbol=False).replace(",00", "")


@blueprint.route("/admin/fullmakter", methods=["GET", "POST"])
@requires("admin.rules")
def rules():
    """The administrator's editor: saving stores a new version; earlier versions stay."""
    user = _user()
    current = services.rules_in_force(user.lab_id)
    form = forms.RulesForm()
    agency_choices = [(0, _("Alle etater"))] + _agency_choices(user.lab_id)
    if request.method == "GET":
        while form.rules.entries:
            form.rules.pop_entry()
        for rule in current.rules:
            form.rules.append_entry({"role": rule.role, "agency_id": rule.agency_id or 0,
                                     "funding_agency_id": rule.funding_agency_id or 0, "theme": rule.theme or "",
                                     "category": rule.category or "",
                                     "max_per_spend": _kroner_text(rule.max_per_spend),
                                     "max_per_family_year": _kroner_text(rule.max_per_family_year),
                                     "max_per_agency_year": _kroner_text(rule.max_per_agency_year),
                                     "approvals_required": rule.approvals_required})
        form.rules.append_entry({"role": ApproverRole.TEAM_LEAD.value, "agency_id": 0, "funding_agency_id": 0,
                                 "approvals_required": 1, "remove": True})
    for entry in form.rules:
        entry.form.agency_id.choices = choices(agency_choices)
        entry.form.funding_agency_id.choices = choices(agency_choices)
    if form.validate_on_submit():
        wanted = [{"role": e.form.role.data, "agency_id": e.form.agency_id.data or None,
                   "funding_agency_id": e.form.funding_agency_id.data or None, "theme": e.form.theme.data or None,
                   "category": e.form.category.data or None,
                   "max_per_spend": e.form.max_per_spend.ore, "max_per_family_year": e.form.max_per_family_year.ore,
                   "max_per_agency_year": e.form.max_per_agency_year.ore,
                   "approvals_required": e.form.approvals_required.data}
                  for e in form.rules if not e.form.remove.data]
        try:
            saved = services.save_rules(user.lab, wanted, note=form.note.data, actor=user)
        except ServiceError as error:
            form.note.errors = list(form.note.errors) + [error.message]
        else:
            flash(_("Versjon %(v)s av fullmaktsreglene er lagret.", v=saved.version), "success")
            return redirect(url_for("budget.rules"))
    versions = db.session.scalars(select(AuthorityRuleSet).where(AuthorityRuleSet.lab_id == user.lab_id)
                                  .order_by(AuthorityRuleSet.version.desc())).all()
    agencies = dict(agency_choices)
    return render_form("budget/rules.html", form, current=current, versions=versions, agencies=agencies)


# --- the books (issue 17): codes, voucher export and reconciliation, year-end ---------------------------

def _books_agency(lab_id: int) -> int | None:
    raw = request.values.get("etat", "")
    ids = [agency_id for agency_id, _name in _agency_choices(lab_id)]
    return int(raw) if raw.isdigit() and int(raw) in ids else (ids[0] if ids else None)


def _books_period() -> str:
    raw = request.values.get("periode", "")
    return raw if vouchers.PERIOD.match(raw) else vouchers.period_of(today_local())


@blueprint.route("/budsjett/regnskap", methods=["GET", "POST"])
@requires("budget.delegate")
def books_codes():
    """Accounting codes per agency and year, and the account (art) of each spend category."""
    user, year = _user(), _year()
    codes_form, category_form = forms.CodesForm(prefix="codes"), forms.CategoryAccountForm(prefix="category")
    codes_form.agency_id.choices = choices(_agency_choices(user.lab_id))
    posted = request.form.get("form")
    try:
        if posted == "codes" and codes_form.validate_on_submit():
            books.save_codes(user.lab, agency_id=codes_form.agency_id.data, year=year, ansvar=codes_form.ansvar.data,
                             funksjon=codes_form.funksjon.data, art=codes_form.art.data,
                             prosjekt=codes_form.prosjekt.data, actor=user)
            flash(_("Konteringskodene er lagret."), "success")
            return redirect(url_for("budget.books_codes", ar=year))
        if posted == "category" and category_form.validate_on_submit():
            books.save_category_accounts(user.lab, {category_form.category.data: category_form.category_art.data},
                                         actor=user)
            flash(_("Arten for kategorien er lagret."), "success")
            return redirect(url_for("budget.books_codes", ar=year))
    except ServiceError as error:
        add_error(codes_form if posted == "codes" else category_form, error,
                  "art" if posted == "codes" else "category_art")
    status = 422 if request.method == "POST" else 200
    return render_template("budget/books_codes.html", codes_form=codes_form, category_form=category_form,
                           year=year, years=queries.lab_years(user.lab_id),
                           codes=books.codes_by_agency(user.lab_id, year),
                           categories=books.category_accounts(user.lab_id),
                           agencies=dict(_agency_choices(user.lab_id))), status


@blueprint.route("/budsjett/bilag", methods=["GET", "POST"])
@requires("budget.delegate")
def books_vouchers():
    """One agency's vouchers for a period, with the control sum and the reconciliation; download
    as CSV or xlsx; mark the period exported (locked)."""
    user = _user()
    agency_id, period = _books_agency(user.lab_id), _books_period()
    form, status = forms.MarkExportedForm(), 200
    if form.validate_on_submit() and agency_id is not None:
        try:
            ledger.run_with_retries(lambda: books.mark_exported(user.lab, agency_id=agency_id, period=period,
                                                                actor=user))
        except ServiceError as error:
            flash(error.message, "error")
            status = error.status
        else:
            flash(_("Perioden %(period)s er markert som eksportert og er nå låst.", period=period), "success")
            return redirect(url_for("budget.books_vouchers", etat=agency_id, periode=period))
    file = report = None
    kind = request.args.get("format", "")
    if agency_id is not None:
        with books.snapshot() as session:
            file = books.voucher_file(session, user.lab_id, agency_id, period)
            report = books.reconcile(session, user.lab_id, agency_id, period)
            body = books.voucher_csv(file) if kind == "csv" else books.voucher_xlsx(file) if kind == "xlsx" else None
        if body is not None:
            audit.record(AuditAction.BUDGET_EXPORT, actor=user, lab_id=user.lab_id, object_type="agency",
                         object_id=agency_id, summary={"period": period, "format": kind, "lines": file.count})
            return books.download(body, kind, file)
    return render_template("budget/books.html", form=form, file=file, report=report, period=period,
                           agency_id=agency_id, agencies=_agency_choices(user.lab_id),
                           periods=books.periods_with_lines(user.lab_id), exports=books.exports(user.lab_id),
                           agency_names=dict(_agency_choices(user.lab_id))), status


@blueprint.route("/budsjett/arsavslutning", methods=["GET", "POST"])
@requires("budget.delegate")
def year_end():
    """Close a budget year: each agency's decision on unused allocations and unpaid spend."""
    user = _user()
    raw = request.values.get("ar", "")
    year = int(raw) if raw.isdigit() and 2000 <= int(raw) <= 2100 else today_local().year - 1
    agencies = dict(_agency_choices(user.lab_id))
    form, status = forms.YearEndForm(), None
    if request.method == "GET":
        for agency_id in agencies:
            form.agencies.append_entry({"agency_id": agency_id, "unused": "carry", "unpaid": "carry"})
    if form.validate_on_submit():
        decisions = {e.form.agency_id.data: {"unused": e.form.unused.data, "unpaid": e.form.unpaid.data,
                                             "decision_reference": e.form.decision_reference.data}
                     for e in form.agencies}
        try:
            ledger.run_with_retries(lambda: books.close_year(user.lab, year=year, decisions=decisions, actor=user))
        except ServiceError as error:
            form.confirm.errors = list(form.confirm.errors) + [error.message]
            status = error.status
        else:
            flash(_("Budsjettåret %(year)s er avsluttet.", year=year), "success")
            return redirect(url_for("budget.year_end", ar=year))
    closes = books.year_closes(user.lab_id)
    return render_form("budget/year_end.html", form, status, year=year, agencies=agencies, closes=closes,
                       closed={c.year for c in closes}, years=sorted(set(queries.lab_years(user.lab_id))))


navigation.register(_l("Budsjett"), "budget.my_budgets", "families.work", order=20)
navigation.register(_l("Godkjenning"), "budget.lead_queue", "spend.approve", order=30)
navigation.register(_l("Ledelsens kø"), "budget.management_queue", "budget.manage", order=31)
navigation.register(_l("Budsjettoversikt"), "budget.overview", "budget.manage", order=32)
navigation.register(_l("Tildeling"), "budget.allocations", "budget.manage", order=33)
navigation.register(_l("Delegeringer"), "budget.delegations", "budget.delegate", order=34)
navigation.register(_l("Regnskap"), "budget.books_vouchers", "budget.delegate", order=35)
navigation.register(_l("Fullmakter"), "budget.rules", "admin.rules", order=85)

def start_panel(user) -> dict | None:
    """Work waiting on the start page: the lead's queue, management's queue (counts only)."""
    lead = user.has_permission(Permission.SPEND_DECIDE_AS_LEAD)
    manager = user.has_permission("budget.manage")
    if not lead and not manager:
        return None
    return {"templates": ["budget/_start_panel.html"], "budget_year": queries.current_year(),
            "budget_waiting_lead": len(queries.lead_queue(user)) if lead else None,
            "budget_waiting_management": len(queries.management_queue(user.lab_id)) if manager else None}


navigation.register_start_panel(start_panel, order=30)

try:  # the family page shows the budget panel (cases owns the page, budget owns the panel)
    from velferdslab.cases.panels import FAMILY_PANELS
except ImportError:  # pragma: no cover - cases without the hook
    FAMILY_PANELS = None  # type: ignore[assignment]  # an optional import's fallback, checked just below
if FAMILY_PANELS is not None and family_panel not in FAMILY_PANELS:
    FAMILY_PANELS.append(family_panel)
