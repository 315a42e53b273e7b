"""Min side: the family member's own sign-in (OpenID Connect, ID-porten in production) and page,
and the team lead's page that gives a family member the one-time code that links their sign-in.

The family's session is its own: a cookie of its own (``FAMILY_SESSION_COOKIE``, path ``/min-side``)
that names a :class:`FamilySession`, with shorter limits than staff's. It never signs anyone in as
staff (flask-login never sees it), so every staff route refuses it; the family's routes in turn
read only it, never a staff session.
"""

from __future__ import annotations

from flask import current_app, flash, g, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from velferdslab.audit import services as audit
from velferdslab.audit.actions import AuditAction
from velferdslab.auth import oidc
from velferdslab.cases.access import Access
from velferdslab.cases.gate import family_route
from velferdslab.cases.household.models import FamilyMember
from velferdslab.cases.household.services import family_members
from velferdslab.cases.minside import services
from velferdslab.cases.minside.web import ACR, PATH, ConfirmForm, _cookie, family_session
from velferdslab.cases.web import _user, blueprint
from velferdslab.core import policy
from velferdslab.core.errors import ServiceError
from velferdslab.core.forms import render_form
from velferdslab.core.permissions import LOGIN, public, requires
from velferdslab.extensions import limiter

PROVIDER = "family"
PENDING = "minside_pending"  # the keyed hash of a signed-in person not yet linked (signed cookie)
# The session key of the ID token, for the provider's sign-out (id_token_hint); kept in the browser only.
ID_TOKEN = "minside_id_token"  # noqa: S105 - a key name, not a secret


class LinkForm(FlaskForm):
    code = StringField(
        _l("Koden du fikk av investeringslederen"),
        validators=[DataRequired(_l("Feltet må fylles ut.")), Length(max=40)],
        render_kw={"autocomplete": "one-time-code"},
    )


def _set_cookie(response, token: str) -> None:
    config = current_app.config
    response.set_cookie(
        _cookie(), token, path=PATH, httponly=True, samesite="Lax", secure=config["SESSION_COOKIE_SECURE"]
    )


@blueprint.get(PATH + "/logg-inn")
@public
def minside_login():
    return render_template("minside/login.html", form=ConfirmForm(), enabled=oidc.enabled(PROVIDER))


# A link (GET), not a form: the page's CSP (form-action 'self') would stop a form's redirect to the
# provider. Starting the flow changes nothing but this browser's own state, nonce and PKCE verifier.
@blueprint.get(PATH + "/logg-inn/start")
@public
def minside_login_start():
    if not oidc.enabled(PROVIDER):
        return redirect(url_for("cases.minside_login"))
    try:
        return oidc.begin(PROVIDER, url_for("cases.minside_callback", _external=True))
    except oidc.SignInRefused:
        flash(_("Innloggingstjenesten svarer ikke. Prøv igjen om litt."), "error")
        return redirect(url_for("cases.minside_login"))


@blueprint.get(PATH + "/logg-inn/tilbake")
@public
def minside_callback():
    try:
        claims, id_token = oidc.finish(PROVIDER)
        identity = oidc.identity_hash(oidc.issuer(PROVIDER), str(claims["sub"]))
    except oidc.SignInRefused as refused:
        audit.record_even_if_request_fails(
            AuditAction.AUTH_OIDC_REFUSED, summary={"provider": PROVIDER, "reason": refused.reason}
        )
        # An answer of 400, so the request rolls back and the refusal is written (``audit.services``).
        return render_template(
            "minside/login.html", form=ConfirmForm(), enabled=oidc.enabled(PROVIDER), refused=True
        ), 400
    session[ID_TOKEN] = id_token
    session[ACR] = str(claims.get("acr") or "")[:60]  # how strongly the person signed in: for signatures
    member = services.member_for_identity(identity)
    if member is None:
        session[PENDING] = identity
        return redirect(url_for("cases.minside_link"))
    return _signed_in(member)


def _signed_in(member: FamilyMember):
    session.pop(PENDING, None)
    token = services.start_session(member)
    response = redirect(url_for("cases.minside"))
    _set_cookie(response, token)
    return response


@blueprint.route(PATH + "/koble", methods=["GET", "POST"])
@public
@limiter.limit(
    lambda: current_app.config["LOGIN_ADDRESS_LIMITS"],
    methods=["POST"],
    deduct_when=lambda response: response.status_code != 302,
)
def minside_link():
    """First sign-in: the person enters the one-time code from the team lead, once."""
    identity = session.get(PENDING)
    if not identity:
        return redirect(url_for("cases.minside_login"))
    form = LinkForm()
    if form.validate_on_submit():
        try:
            member = services.redeem_invitation(form.code.data or "", identity)
        except ServiceError as error:
            form.code.errors = [*form.code.errors, error.message]
        else:
            return _signed_in(member)
    return render_form("minside/link.html", form)


@blueprint.post(PATH + "/logg-ut")
@family_session
def minside_logout(member: FamilyMember):
    services.end_session(g.family_session)
    id_token = session.pop(ID_TOKEN, None)
    session.pop(PENDING, None)
    session.pop(ACR, None)
    back = url_for("cases.minside_login", _external=True)
    # A page that goes on to the provider's sign-out (a redirect from this form would be stopped by
    # the CSP's form-action 'self'), so the provider's own session ends too.
    response = current_app.make_response(
        render_template("minside/logged_out.html", provider_logout=oidc.logout_url(PROVIDER, id_token, back))
    )
    response.delete_cookie(_cookie(), path=PATH)
    return response


# --- the team lead: invitations ---------------------------------------------------------------------


@blueprint.get("/familier/<int:family_id>/innlogging")
@requires(LOGIN)
@family_route(AuditAction.MEMBER_LIST)
def family_logins(access: Access):
    return _logins_page(access)


def _logins_page(access: Access, *, code: str | None = None, invited: FamilyMember | None = None):
    access.require_consent()
    return render_template(
        "minside/logins.html",
        family=access.family,
        members=family_members(access.family.id),
        status=services.login_status(access.family.id),
        form=ConfirmForm(),
        code=code,
        invited=invited,
        is_lead=policy.can(current_user, "lead", access),
        enabled=oidc.enabled(PROVIDER),
    )


@blueprint.post("/familier/<int:family_id>/medlemmer/<int:member_id>/invitasjon")
@requires(LOGIN)
@family_route(load={"member": FamilyMember})
def member_invite(access: Access, member: FamilyMember):
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("cases.family_logins", family_id=access.family.id))
    _invitation, code = services.create_invitation(access, member, actor=_user())
    # Shown once, on this answer only: it is stored hashed and cannot be shown again.
    return _logins_page(access, code=code, invited=member)


@blueprint.post("/familier/<int:family_id>/medlemmer/<int:member_id>/innlogging/fjern")
@requires(LOGIN)
@family_route(load={"member": FamilyMember})
def member_unlink(access: Access, member: FamilyMember):
    if ConfirmForm().validate_on_submit():
        services.unlink(access, member, actor=_user())
        flash(_("Innloggingen til %(name)s er fjernet.", name=member.first_name), "success")
    return redirect(url_for("cases.family_logins", family_id=access.family.id))


# The content of Min side (its first page, the rating, consents, the access log and the export).
from velferdslab.cases.minside import pages  # noqa: E402,F401
