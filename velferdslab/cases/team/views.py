"""The family's investment team (HTML): who is on it, and — for its lead — adding and ending
memberships and handing the lead over. Thin: the family gate (``cases.gate``) decides who sees the
page, ``core.policy`` who may change the team, ``teams.services`` makes every change. Only
``create_app`` imports this module.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from velferdslab.audit import undo
from velferdslab.audit.actions import AuditAction
from velferdslab.auth.models import User
from velferdslab.cases.access import Access
from velferdslab.cases.confirm import confirmation_page, confirmed, flash_done
from velferdslab.cases.gate import family_route
from velferdslab.cases.team import checks
from velferdslab.cases.team.forms import AddMemberForm, EndMembershipForm, TransferLeadForm
from velferdslab.cases.team.web import current_team, managed_team
from velferdslab.core import policy
from velferdslab.core.errors import ServiceError
from velferdslab.core.forms import add_error, choices
from velferdslab.core.models import today_local
from velferdslab.core.permissions import LOGIN, requires
from velferdslab.extensions import db
from velferdslab.teams import services
from velferdslab.teams.models import InvestmentTeam, TeamMembership

blueprint = Blueprint("teams", __name__, template_folder="templates")


def _lab_users(lab_id: int) -> list[User]:
    return list(db.session.scalars(select(User).where(User.lab_id == lab_id, User.active.is_(True))
                                   .order_by(User.name)))


def _candidate_label(user: User, consented: set[int]) -> str:
    agency = user.agency.name if user.agency else _("ingen etat")
    if user.agency_id is None or user.agency_id not in consented:
        return _("%(name)s (%(agency)s – uten samtykke fra familien)", name=user.name, agency=agency)
    return f"{user.name} ({agency})"


def _forms(team: InvestmentTeam, consented: set[int], add: AddMemberForm | None = None,
           transfer: TransferLeadForm | None = None) -> tuple[AddMemberForm, TransferLeadForm]:
    users = _lab_users(team.lab_id)
    add = add or AddMemberForm(formdata=None, start_date=today_local())
    add.user_id.choices = choices((u.id, _candidate_label(u, consented)) for u in users if policy.can(u, "join", team))
    transfer = transfer or TransferLeadForm(formdata=None, on=today_local(), prefix="lead")
    transfer.user_id.choices = choices((u.id, u.name) for u in users if policy.can(u, "lead", team))
    return add, transfer


def _page(access: Access, team: InvestmentTeam, add: AddMemberForm | None = None,
          transfer: TransferLeadForm | None = None, end_errors: Mapping[int, Sequence[str]] | None = None,
          status: int = 200) -> tuple[str, int]:
    rows = services.memberships(team.id)
    today = today_local()
    facts = checks.facts(access.family, rows, today)
    warnings = checks.team_warnings(facts)
    manages = policy.can(current_user, "manage", team)
    if manages:
        add, transfer = _forms(team, facts.consented_agency_ids, add, transfer)
    return render_template("teams/team.html", team=team, family=access.family, access=access,
                           current=[r for r in rows if r.is_current(today) or r.start_date > today],
                           former=[r for r in rows if r.end_date is not None and r.end_date < today],
                           add=add, transfer=transfer, end_form=EndMembershipForm(formdata=None, end_date=today),
                           end_errors=end_errors or {}, is_lead=manages, family_id=access.family.id,
                           warnings=warnings, unconsented={w.user_id for w in warnings if w.user_id}), status


def _back(access: Access) -> Any:
    return redirect(url_for("teams.team", family_id=access.family.id))


def _long(day: date) -> str:
    return format_date(day, "long")


@blueprint.get("/familier/<int:family_id>/team")
@requires(LOGIN)
@family_route(AuditAction.TEAM_VIEW, content=False)
def team(access: Access) -> Any:
    return _page(access, current_team(access))


@blueprint.post("/familier/<int:family_id>/team/medlemmer")
@requires(LOGIN)
@family_route(content=False, emergency="none")
def add_member(access: Access) -> Any:
    team = managed_team(access)
    facts = checks.facts(access.family, services.memberships(team.id))
    form, _transfer = _forms(team, facts.consented_agency_ids, AddMemberForm())
    if form.validate_on_submit():
        user = db.session.get(User, form.user_id.data)
        try:
            services.add_member(team, user, role=form.role.data, start_date=form.start_date.data,
                                end_date=form.end_date.data, actor=current_user._get_current_object())
        except ServiceError as error:
            add_error(form, error, "user_id")
        else:
            assert user is not None  # add_member refuses a missing user
            flash_done(_("%(name)s er lagt til i teamet.", name=user.name))
            for warning in (checks.member_warnings(facts, user.id, user.name, user.agency_id,
                                                   user.agency.name if user.agency else None)
                            + checks.family_warnings(facts)):
                flash(warning.message, "warning")
            return _back(access)
    return _page(access, team, add=form, status=422)


def _own_team_row(team: InvestmentTeam, membership: TeamMembership) -> None:
    if membership.team_id != team.id:
        abort(404)


@blueprint.post("/familier/<int:family_id>/team/medlemmer/<int:membership_id>/avslutt")
@requires(LOGIN)
@family_route(content=False, load={"membership": TeamMembership}, emergency="none")
def end_member(access: Access, membership: TeamMembership) -> Any:
    """End a membership — after a confirmation page that says from when the person loses access."""
    team = managed_team(access)
    _own_team_row(team, membership)
    form = EndMembershipForm()
    if form.validate_on_submit():
        name = membership.user.name
        try:
            end_date = services.check_end_membership(membership, form.end_date.data)
            if not confirmed():
                return confirmation_page(
                    family=access.family, title=_("Avslutte medlemskapet til %(name)s?", name=name),
                    consequences=[_("%(name)s mister tilgang til familien fra %(date)s.", name=name,
                                    date=_long(end_date + timedelta(days=1))),
                                  _("Siste dag i teamet er %(date)s. Historikken beholdes.", date=_long(end_date))],
                    confirm=_("Ja, avslutt medlemskapet"), back=url_for("teams.team", family_id=access.family.id),
                    note=_undo_note())
            services.end_membership(membership, end_date, actor=current_user._get_current_object())
        except ServiceError as error:
            form.end_date.errors = list(form.end_date.errors) + [error.message]
        else:
            flash_done(_("Medlemskapet til %(name)s er avsluttet.", name=name),
                       undo.latest(AuditAction.TEAM_MEMBER_END, "team_membership", membership.id),
                       url_for("teams.undo_end_member", family_id=access.family.id))
            return _back(access)
    return _page(access, team, end_errors={membership.id: form.end_date.errors or [_("Ugyldig dato.")]}, status=422)


def _undo_note() -> str:
    return _("Du kan angre i %(minutes)s minutter etterpå, så lenge ingenting har kommet til som bygger på "
             "endringen.", minutes=int(undo.window().total_seconds() // 60))


@blueprint.post("/familier/<int:family_id>/team/leder")
@requires(LOGIN)
@family_route(content=False, emergency="none")
def transfer_lead(access: Access) -> Any:
    """Hand the lead over — after a confirmation page that says who becomes what."""
    team = managed_team(access)
    facts = checks.facts(access.family, services.memberships(team.id))
    _add, form = _forms(team, facts.consented_agency_ids, None, TransferLeadForm(prefix="lead"))
    if form.validate_on_submit():
        new_lead = db.session.get(User, form.user_id.data)
        try:
            plan = services.check_transfer_lead(team, new_lead, on=form.on.data)
            if not confirmed():
                return confirmation_page(family=access.family, title=_("Overlate ledelsen til %(name)s?",
                                                                         name=plan.new_lead.name),
                                         consequences=_handover_consequences(plan, form.keep_old_as_member.data),
                                         confirm=_("Ja, overlat ledelsen"),
                                         back=url_for("teams.team", family_id=access.family.id), note=_undo_note())
            services.transfer_lead(team, new_lead, on=form.on.data, keep_old_as_member=form.keep_old_as_member.data,
                                   actor=current_user._get_current_object())
        except ServiceError as error:
            add_error(form, error, "user_id")
        else:
            flash_done(_("Ledelsen av teamet er overlatt til %(name)s.", name=plan.new_lead.name),
                       undo.latest(AuditAction.TEAM_LEAD_TRANSFER, "investment_team", team.id),
                       url_for("teams.undo_transfer_lead", family_id=access.family.id)
                       if form.keep_old_as_member.data else None)
            return _back(access)
    return _page(access, team, transfer=form, status=422)


def _handover_consequences(plan: services.LeadHandover, keep_old_as_member: bool) -> list[str]:
    you = plan.old.user_id == current_user.id
    new, old, on = plan.new_lead.name, plan.old.user.name, _long(plan.on)
    if keep_old_as_member:
        first = (_("Du blir vanlig medlem; %(new)s blir investeringsleder fra %(date)s.", new=new, date=on) if you
                 else _("%(old)s blir vanlig medlem; %(new)s blir investeringsleder fra %(date)s.", old=old, new=new,
                        date=on))
        lines = [first]
    else:
        first = (_("Du går ut av teamet og mister tilgang til familien fra %(date)s; %(new)s blir investeringsleder.",
                   date=on, new=new) if you
                 else _("%(old)s går ut av teamet fra %(date)s; %(new)s blir investeringsleder.", old=old, date=on,
                        new=new))
        lines = [first, _("Du kan ikke angre dette selv, for du er ikke lenger med i teamet.")] if you else [first]
    lines.append(_("Bare investeringslederen endrer teamet, registrerer samtykker og avslutter deltakelsen."))
    return lines


@blueprint.post("/familier/<int:family_id>/team/medlemmer/angre")
@requires(LOGIN)
@family_route(content=False, emergency="none")
def undo_end_member(access: Access) -> Any:
    """Undo ending a membership (within the window, if the person has not been added anew)."""
    team = managed_team(access)
    try:
        row = services.undo_end_membership(team, request.form.get(undo.FIELD),
                                           actor=current_user._get_current_object())
    except ServiceError as error:
        flash(error.message, "error")
        return _back(access)
    flash_done(_("Avslutningen er angret: %(name)s er med i teamet igjen.", name=row.user.name))
    return _back(access)


@blueprint.post("/familier/<int:family_id>/team/leder/angre")
@requires(LOGIN)
@family_route(content=False, emergency="none")
def undo_transfer_lead(access: Access) -> Any:
    """Undo a handover (within the window, if the new lead has done nothing with the family yet)."""
    team = current_team(access)
    try:
        row = services.undo_transfer_lead(team, request.form.get(undo.FIELD), actor=current_user._get_current_object())
    except ServiceError as error:
        flash(error.message, "error")
        return _back(access)
    flash_done(_("Lederskiftet er angret: %(name)s er investeringsleder igjen.", name=row.user.name))
    return _back(access)
