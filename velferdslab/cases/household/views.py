"""The household's pages: registering a family, editing it, and its members."""

from __future__ import annotations

from flask import request
from flask_babel import gettext as _
from flask_login import current_user

from velferdslab.audit.actions import AuditAction
from velferdslab.cases.access import Access
from velferdslab.cases.enrolment import services as enrolment_services
from velferdslab.cases.gate import family_route
from velferdslab.cases.household import forms, services
from velferdslab.cases.household.models import FamilyMember
from velferdslab.cases.web import _agency_choices, _attach, _done, _user, blueprint, template_globals
from velferdslab.core.errors import ServiceError
from velferdslab.core.forms import render_form
from velferdslab.core.models import today_local
from velferdslab.core.permissions import LOGIN, requires

template_globals(member_role_labels=forms.MEMBER_ROLE_LABELS)


@blueprint.route("/familier/ny", methods=["GET", "POST"])
@requires("teams.manage")
def family_new():
    form = forms.RegisterFamilyForm()
    form.referred_by_agency_id.choices = _agency_choices(current_user.lab_id, _("Ikke oppgitt"))
    if request.method == "GET":
        form.referred_on.data = today_local()
    if form.validate_on_submit():
        try:
            family = enrolment_services.create_family(
                current_user.lab, actor=_user(), household_name=form.household_name.data,
                language=form.language.data, interpreter_needed=form.interpreter_needed.data,
                referred_on=form.referred_on.data, referred_by_agency_id=form.referred_by_agency_id.data or None,
                referral_reason=form.referral_reason.data,
                members=[{"first_name": form.first_name.data, "last_name": form.last_name.data,
                          "birth_year": form.birth_year.data, "role": form.role.data, "is_contact": True}])
        except ServiceError as error:
            _attach(form, error, "household_name")
        else:
            return _done(_("Familien er registrert. Registrer samtykke før teamet starter arbeidet."), family.id,
                         "cases.consents")
    return render_form("cases/family_new.html", form)


@blueprint.route("/familier/<int:family_id>/endre", methods=["GET", "POST"])
@requires(LOGIN)
@family_route(AuditAction.FAMILY_FORM)
def family_edit(access: Access):
    family_id = access.family.id
    form = forms.FamilyForm(obj=access.family)
    if form.validate_on_submit():
        try:
            services.update_family(access, actor=_user(), household_name=form.household_name.data,
                                   language=form.language.data, interpreter_needed=form.interpreter_needed.data)
        except ServiceError as error:
            _attach(form, error, "household_name")
        else:
            return _done(_("Endringene er lagret."), family_id)
    return render_form("cases/simple_form.html", form, family=access.family, title=_("Endre familie"),
                       fields=["household_name", "language", "interpreter_needed"])


def _member_form(access: Access, member: FamilyMember | None):
    family_id = access.family.id
    form = forms.MemberForm(obj=member)
    if form.validate_on_submit():
        values = {k: form[k].data for k in ("first_name", "last_name", "birth_year", "role", "is_contact")}
        try:
            if member is None:
                services.add_member(access, actor=_user(), **values)
            else:
                services.update_member(access, member, actor=_user(), **values)
        except ServiceError as error:
            _attach(form, error, "first_name")
        else:
            name = " ".join((values["first_name"] or "", values["last_name"] or "")).strip()
            return _done(_("%(name)s er lagret.", name=name), family_id)
    title = _("Nytt familiemedlem") if member is None else member.full_name
    return render_form("cases/simple_form.html", form, family=access.family, title=title,
                       fields=["first_name", "last_name", "birth_year", "role", "is_contact"],
                       hint=_("Lagre bare det teamet trenger. Aldri fødselsnummer."))


@blueprint.route("/familier/<int:family_id>/medlemmer/ny", methods=["GET", "POST"])
@requires(LOGIN)
@family_route(AuditAction.FAMILY_FORM)
def member_new(access: Access):
    return _member_form(access, None)


@blueprint.route("/familier/<int:family_id>/medlemmer/<int:member_id>", methods=["GET", "POST"])
@requires(LOGIN)
@family_route(AuditAction.MEMBER_VIEW, load={"member": FamilyMember})
def member_edit(access: Access, member: FamilyMember):
    return _member_form(access, member)
