"""Team management (HTML): the team lead adds and ends memberships and hands the lead over.

Every team member sees the team (who, from which agency, since when); only the team's current
investment lead changes it. Off the team, the page is the audited 404 of a family that does not
exist. Only ``create_app`` imports this module.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from velferdslab.audit import services as audit
from velferdslab.auth.models import User
from velferdslab.core.errors import ServiceError
from velferdslab.core.forms import add_error, choices
from velferdslab.core.models import today_local
from velferdslab.core.permissions import LOGIN, requires
from velferdslab.extensions import db
from velferdslab.teams import policy, services
from velferdslab.teams.forms import AddMemberForm, EndMembershipForm, TransferLeadForm
from velferdslab.teams.models import TeamMembership

blueprint = Blueprint("teams", __name__, template_folder="templates")


def _team(family_id: int, *, change: bool = False):
    """(team, the user's membership) or the audited 404; with ``change``, 403 unless the lead."""
    mine = policy.membership(current_user, family_id) if current_user.is_authenticated else None
    # An active emergency-access grant shows the team (read only: ``mine`` stays None).
    allowed = mine is not None or (current_user.is_authenticated and not change
                                   and policy.emergency_grant(current_user, family_id) is not None)
    team = services.current_team(family_id) if allowed else None
    if team is None:
        policy.deny(family_id)
    if change:
        services.require_lead(current_user, team)
    return team, mine


def _candidates(lab_id: int) -> list:
    users = db.session.scalars(select(User).where(User.lab_id == lab_id, User.active.is_(True)).order_by(User.name))
    return choices((u.id, f"{u.name} ({u.agency.name if u.agency else _('ingen etat')})") for u in users
                   if u.has_permission("families.work"))


def _leads(lab_id: int) -> list:
    users = db.session.scalars(select(User).where(User.lab_id == lab_id, User.active.is_(True)).order_by(User.name))
    return choices((u.id, u.name) for u in users if u.has_permission("teams.manage"))


def _forms(team, add=None, transfer=None):
    add = add or AddMemberForm(formdata=None, start_date=today_local())
    add.user_id.choices = _candidates(team.lab_id)
    transfer = transfer or TransferLeadForm(formdata=None, on=today_local(), prefix="lead")
    transfer.user_id.choices = _leads(team.lab_id)
    return add, transfer


def _page(team, mine, add=None, transfer=None, end_errors=None, status=200):
    add, transfer = _forms(team, add, transfer)
    rows = services.memberships(team.id)
    today = today_local()
    return render_template("teams/team.html", team=team, mine=mine, family=team.family,
                           current=[r for r in rows if r.is_current(today) or r.start_date > today],
                           former=[r for r in rows if r.end_date is not None and r.end_date < today],
                           add=add, transfer=transfer, end_form=EndMembershipForm(formdata=None, end_date=today),
                           end_errors=end_errors or {},
                           is_lead=mine is not None and mine.role == "lead" and mine.team_id == team.id,
                           family_id=team.family_id), status


@blueprint.get("/familier/<int:family_id>/team")
@requires(LOGIN)
def team(family_id: int):
    team, mine = _team(family_id)
    audit.record("team.view", family_id=family_id, object_type="investment_team", object_id=team.id)
    return _page(team, mine)


@blueprint.post("/familier/<int:family_id>/team/medlemmer")
@requires(LOGIN)
def add_member(family_id: int):
    team, mine = _team(family_id, change=True)
    form, _transfer = _forms(team, AddMemberForm())
    if form.validate_on_submit():
        try:
            services.add_member(team, db.session.get(User, form.user_id.data), role=form.role.data,
                                start_date=form.start_date.data, end_date=form.end_date.data,
                                actor=current_user._get_current_object())
        except ServiceError as error:
            add_error(form, error, "user_id")
        else:
            flash(_("Personen er lagt til i teamet."), "success")
            return redirect(url_for("teams.team", family_id=family_id))
    return _page(team, mine, add=form, status=422)


@blueprint.post("/familier/<int:family_id>/team/medlemmer/<int:membership_id>/avslutt")
@requires(LOGIN)
def end_member(family_id: int, membership_id: int):
    team, mine = _team(family_id, change=True)
    row = db.session.get(TeamMembership, membership_id)
    if row is None or row.team_id != team.id:
        abort(404)
    form = EndMembershipForm()
    if form.validate_on_submit():
        try:
            services.end_membership(row, form.end_date.data, actor=current_user._get_current_object())
        except ServiceError as error:
            form.end_date.errors = list(form.end_date.errors) + [error.message]
        else:
            flash(_("Medlemskapet er avsluttet."), "success")
            return redirect(url_for("teams.team", family_id=family_id))
    return _page(team, mine, end_errors={row.id: form.end_date.errors or [_("Ugyldig dato.")]}, status=422)


@blueprint.post("/familier/<int:family_id>/team/leder")
@requires(LOGIN)
def transfer_lead(family_id: int):
    team, mine = _team(family_id, change=True)
    _add, form = _forms(team, None, TransferLeadForm(prefix="lead"))
    if form.validate_on_submit():
        try:
            services.transfer_lead(team, db.session.get(User, form.user_id.data), on=form.on.data,
                                   keep_old_as_member=form.keep_old_as_member.data,
                                   actor=current_user._get_current_object())
        except ServiceError as error:
            add_error(form, error, "user_id")
        else:
            flash(_("Ledelsen av teamet er overlatt."), "success")
            return redirect(url_for("teams.team", family_id=family_id))
    if request.method == "POST":
        return _page(team, mine, transfer=form, status=422)
    return _page(team, mine)
