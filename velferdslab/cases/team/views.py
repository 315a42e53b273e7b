"""The family's investment team (HTML): who is on it, and — for its lead — adding and ending
memberships and handing the lead over. Thin: the family gate (``cases.gate``) decides who sees the
page, ``core.policy`` who may change the team, ``teams.services`` makes every change. Only
``create_app`` imports this module.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from velferdslab.audit.actions import AuditAction
from velferdslab.auth.models import User
from velferdslab.cases.access import Access
from velferdslab.cases.gate import family_route
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


def _forms(team: InvestmentTeam, add: AddMemberForm | None = None,
           transfer: TransferLeadForm | None = None) -> tuple[AddMemberForm, TransferLeadForm]:
    users = _lab_users(team.lab_id)
    add = add or AddMemberForm(formdata=None, start_date=today_local())
    add.user_id.choices = choices((u.id, f"{u.name} ({u.agency.name if u.agency else _('ingen etat')})")
                                  for u in users if policy.can(u, "join", team))
    transfer = transfer or TransferLeadForm(formdata=None, on=today_local(), prefix="lead")
    transfer.user_id.choices = choices((u.id, u.name) for u in users if policy.can(u, "lead", team))
    return add, transfer


def _page(access: Access, team: InvestmentTeam, add: AddMemberForm | None = None,
          transfer: TransferLeadForm | None = None, end_errors: Mapping[int, Sequence[str]] | None = None,
          status: int = 200) -> tuple[str, int]:
    rows = services.memberships(team.id)
    today = today_local()
    manages = policy.can(current_user, "manage", team)
    if manages:
        add, transfer = _forms(team, add, transfer)
    return render_template("teams/team.html", team=team, family=access.family, access=access,
                           current=[r for r in rows if r.is_current(today) or r.start_date > today],
                           former=[r for r in rows if r.end_date is not None and r.end_date < today],
                           add=add, transfer=transfer, end_form=EndMembershipForm(formdata=None, end_date=today),
                           end_errors=end_errors or {}, is_lead=manages, family_id=access.family.id), status


def _back(access: Access, message: str) -> Any:
    flash(message, "success")
    return redirect(url_for("teams.team", family_id=access.family.id))


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
    form, _transfer = _forms(team, AddMemberForm())
    if form.validate_on_submit():
        user = db.session.get(User, form.user_id.data)
        try:
            services.add_member(team, user, role=form.role.data, start_date=form.start_date.data,
                                end_date=form.end_date.data, actor=current_user._get_current_object())
        except ServiceError as error:
            add_error(form, error, "user_id")
        else:
            return _back(access, _("%(name)s er lagt til i teamet.", name=user.name if user else ""))
    return _page(access, team, add=form, status=422)


@blueprint.post("/familier/<int:family_id>/team/medlemmer/<int:membership_id>/avslutt")
@requires(LOGIN)
@family_route(content=False, load={"membership": TeamMembership}, emergency="none")
def end_member(access: Access, membership: TeamMembership) -> Any:
    team = managed_team(access)
    if membership.team_id != team.id:
        abort(404)
    form = EndMembershipForm()
    if form.validate_on_submit():
        try:
            services.end_membership(membership, form.end_date.data, actor=current_user._get_current_object())
        except ServiceError as error:
            form.end_date.errors = list(form.end_date.errors) + [error.message]
        else:
            return _back(access, _("Medlemskapet til %(name)s er avsluttet.", name=membership.user.name))
    return _page(access, team, end_errors={membership.id: form.end_date.errors or [_("Ugyldig dato.")]}, status=422)


@blueprint.post("/familier/<int:family_id>/team/leder")
@requires(LOGIN)
@family_route(content=False, emergency="none")
def transfer_lead(access: Access) -> Any:
    team = managed_team(access)
    _add, form = _forms(team, None, TransferLeadForm(prefix="lead"))
    if form.validate_on_submit():
        new_lead = db.session.get(User, form.user_id.data)
        try:
            services.transfer_lead(team, new_lead, on=form.on.data, keep_old_as_member=form.keep_old_as_member.data,
                                   actor=current_user._get_current_object())
        except ServiceError as error:
            add_error(form, error, "user_id")
        else:
            return _back(access, _("Ledelsen av teamet er overlatt til %(name)s.",
                                   name=new_lead.name if new_lead else ""))
    return _page(access, team, transfer=form, status=422)
