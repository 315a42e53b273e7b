"""Sign-in, sign-out, own password and API tokens, and user and agency administration (HTML)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from velferdslab.audit import services as audit
from velferdslab.audit.actions import AuditAction
from velferdslab.auth import oidc, services
from velferdslab.auth.forms import (
    AgencyForm,
    LoginForm,
    PasswordChangeForm,
    TokenForm,
    UserForm,
)
from velferdslab.auth.login import log_in, log_out, refuse_log_in, session_seconds_left, sign_in
from velferdslab.auth.models import Agency, AgencyKind, ApiToken, User
from velferdslab.core import navigation
from velferdslab.core.errors import ServiceError
from velferdslab.core.forms import add_error, choices, render_form
from velferdslab.core.models import utcnow
from velferdslab.core.permissions import LOGIN, Role, public, requires
from velferdslab.core.routing import is_safe_redirect
from velferdslab.extensions import db, limiter

blueprint = Blueprint("auth", __name__, template_folder="templates")


def _login_account_key() -> str:
    return "login-account:" + services.normalise_email(request.form.get("email", ""))[:254]


def _failed(response) -> bool:
    # Only failed attempts count towards the limits; a successful sign-in redirects.
    return response.status_code != 302


@blueprint.route("/logg-inn", methods=["GET", "POST"])
@public
@limiter.limit(lambda: current_app.config["LOGIN_ADDRESS_LIMITS"], methods=["POST"], deduct_when=_failed)
@limiter.limit(lambda: current_app.config["LOGIN_LIMITS"], methods=["POST"], key_func=_login_account_key,
               deduct_when=_failed)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    form = LoginForm()
    password_login = current_app.config["PASSWORD_LOGIN"]
    if request.method == "POST" and not password_login:
        abort(403)  # VELFERDSLAB_PASSWORD_LOGIN=off: only the OpenID Connect button signs in
    if form.validate_on_submit():
        user = services.authenticate(form.email.data or "", form.password.data or "")
        if user is not None:
            lang = session.get("lang")
            log_in(user)
            if lang:
                session["lang"] = lang
            target = request.args.get("next", "")
            return redirect(target if is_safe_redirect(target) else url_for("dashboard.index"))
        refuse_log_in()
        form.password.errors = list(form.password.errors) + [_("Feil e-post eller passord.")]
    return render_form("auth/login.html", form, password_login=password_login, oidc_staff=oidc.enabled("staff"))


def _after_sign_in_target() -> str:
    target = session.pop("oidc_next", "") or ""
    return target if is_safe_redirect(target) else url_for("dashboard.index")


@blueprint.get("/logg-inn/oidc")
@public
def oidc_login():
    # A link, not a form: the CSP's form-action 'self' would stop a form's redirect to the provider.
    """Staff sign-in with the municipality's provider (Entra ID or another OpenID Provider)."""
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    target = request.args.get("next", "")
    if is_safe_redirect(target):
        session["oidc_next"] = target
    try:
        return oidc.begin("staff", url_for("auth.oidc_callback", _external=True))
    except oidc.SignInRefused:
        flash(_("Innloggingstjenesten svarer ikke. Prøv igjen om litt."), "error")
        return redirect(url_for("auth.login"))


@blueprint.get("/logg-inn/oidc/tilbake")
@public
def oidc_callback():
    try:
        claims, _id_token = oidc.finish("staff")
        user = services.user_for_oidc_claims(claims)
    except oidc.SignInRefused as refused:
        audit.record_even_if_request_fails(AuditAction.AUTH_OIDC_REFUSED,
                                           summary={"provider": "staff", "reason": refused.reason})
        form = LoginForm()
        form.email.errors = [_("Innloggingen kunne ikke bekreftes, eller du har ingen tilgang i Velferdslab.")]
        # 400: the request rolls back and the refusal is written (``audit.services``).
        return render_form("auth/login.html", form, status=400, password_login=current_app.config["PASSWORD_LOGIN"],
                           oidc_staff=oidc.enabled("staff"))
    lang = session.get("lang")
    target = _after_sign_in_target()
    log_in(user, method="oidc")
    if lang:
        session["lang"] = lang
    return redirect(target)


@blueprint.post("/okt/aktiv")
@requires(LOGIN)
def keep_alive():
    """A form that is being filled in (the meeting form) calls this every few minutes: the request
    itself keeps the server-side session from going idle. The answer says how long the session may
    still last (its absolute limit), so the page can warn before it ends."""
    return jsonify({"idle_seconds": int(current_app.config["SESSION_IDLE_TIMEOUT"].total_seconds()),
                    "seconds_left": session_seconds_left()})


@blueprint.post("/logg-ut")
@requires(LOGIN)
def logout():
    lang = session.get("lang")
    log_out(current_user._get_current_object())
    if lang:  # the chosen language outlives the session, as it does at sign-in
        session["lang"] = lang
    flash(_("Du er logget ut."), "info")
    return redirect(url_for("auth.login"))


@blueprint.route("/konto/passord", methods=["GET", "POST"])
@requires(LOGIN)
def change_password():
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            services.change_own_password(current_user, form.current_password.data or "", form.new_password.data or "")
        except ServiceError as error:
            add_error(form, error, "new_password")
        else:
            sign_in(current_user._get_current_object())
            flash(_("Passordet er endret. Andre innlogginger er avsluttet."), "success")
            return redirect(url_for("dashboard.index"))
    return render_form("auth/password.html", form)


@blueprint.route("/konto/nokler", methods=["GET", "POST"])
@requires(LOGIN)
def tokens():
    form = TokenForm()
    created = created_token = None
    if form.validate_on_submit():
        try:
            created_token, created = services.create_api_token(current_user, form.name.data or "")
        except ServiceError as error:
            add_error(form, error, "name")
    rows = db.session.scalars(select(ApiToken).where(ApiToken.user_id == current_user.id)
                              .order_by(ApiToken.created_at.desc())).all()
    now, idle = utcnow(), services.token_idle_timeout()
    return render_form("auth/tokens.html", form, tokens=[(t, t.ended(now, idle)) for t in rows], created=created,
                       created_token=created_token, idle_days=idle.days)


@blueprint.post("/konto/nokler/<int:token_id>/trekk-tilbake")
@requires(LOGIN)
def revoke_token(token_id: int):
    try:
        services.revoke_api_token(current_user, token_id)
    except ServiceError:
        abort(404)
    flash(_("Nøkkelen er trukket tilbake."), "success")
    return redirect(url_for("auth.tokens"))


# --- administration ------------------------------------------------------------------------------

def _lab_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None or user.lab_id != current_user.lab_id:
        abort(404)
    return user


def _agency_choices():
    agencies = db.session.scalars(select(Agency).where(Agency.lab_id == current_user.lab_id)
                                  .order_by(Agency.name)).all()
    return choices([(0, _("Ingen etat"))] + [(a.id, a.name) for a in agencies])


@blueprint.get("/admin/brukere")
@requires("admin.users")
def users():
    rows = db.session.scalars(select(User).where(User.lab_id == current_user.lab_id)
                              .options(selectinload(User.role_rows))  # the list shows every user's roles
                              .order_by(User.active.desc(), User.name)).all()
    return render_template("auth/users.html", users=rows, role_labels=Role.labels())


@blueprint.route("/admin/brukere/ny", methods=["GET", "POST"])
@requires("admin.users")
def user_new():
    form = UserForm()
    form.agency_id.choices = _agency_choices()
    if form.validate_on_submit():
        if not form.password.data:
            form.password.errors = [_("Nye brukere må få et passord.")]
        else:
            try:
                services.create_user(current_user.lab, name=form.name.data or "", email=form.email.data or "",
                                     password=form.password.data, roles=form.roles.data,
                                     agency_id=form.agency_id.data or None, actor=current_user)
            except ServiceError as error:
                add_error(form, error, "name")
            else:
                flash(_("Brukeren er opprettet."), "success")
                return redirect(url_for("auth.users"))
    return render_form("auth/user_form.html", form, user=None)


@blueprint.route("/admin/brukere/<int:user_id>", methods=["GET", "POST"])
@requires("admin.users")
def user_edit(user_id: int):
    user = _lab_user(user_id)
    form = UserForm(obj=user) if request.method == "GET" else UserForm()
    form.agency_id.choices = _agency_choices()
    if request.method == "GET":
        form.roles.data = sorted(user.roles)
        form.agency_id.data = user.agency_id or 0
    if form.validate_on_submit():
        try:
            services.update_user(user, name=form.name.data or "", email=form.email.data or "", roles=form.roles.data,
                                 agency_id=form.agency_id.data or None, active=form.active.data,
                                 actor=current_user)
            if form.password.data:
                services.set_password(user, form.password.data, actor=current_user)
        except ServiceError as error:
            add_error(form, error, "name")
        else:
            flash(_("Endringene er lagret."), "success")
            return redirect(url_for("auth.users"))
    return render_form("auth/user_form.html", form, user=user)


@blueprint.get("/admin/etater")
@requires("admin.agencies")
def agencies():
    rows = db.session.scalars(select(Agency).where(Agency.lab_id == current_user.lab_id)
                              .order_by(Agency.name)).all()
    return render_template("auth/agencies.html", agencies=rows, kind_labels=AgencyKind.labels())


@blueprint.route("/admin/etater/ny", methods=["GET", "POST"])
@requires("admin.agencies")
def agency_new():
    form = AgencyForm()
    if form.validate_on_submit():
        try:
            services.create_agency(current_user.lab, name=form.name.data or "", kind=form.kind.data,
                                   actor=current_user)
        except ServiceError as error:
            add_error(form, error, "name")
        else:
            flash(_("Etaten er opprettet."), "success")
            return redirect(url_for("auth.agencies"))
    return render_form("auth/agency_form.html", form, agency=None)


@blueprint.route("/admin/etater/<int:agency_id>", methods=["GET", "POST"])
@requires("admin.agencies")
def agency_edit(agency_id: int):
    agency = db.session.get(Agency, agency_id)
    if agency is None or agency.lab_id != current_user.lab_id:
        abort(404)
    form = AgencyForm(obj=agency)
    if form.validate_on_submit():
        try:
            services.update_agency(agency, name=form.name.data or "", kind=form.kind.data,
                                   active=form.active.data, actor=current_user)
        except ServiceError as error:
            add_error(form, error, "name")
        else:
            flash(_("Endringene er lagret."), "success")
            return redirect(url_for("auth.agencies"))
    return render_form("auth/agency_form.html", form, agency=agency)


navigation.register(_l("Brukere"), "auth.users", "admin.users", order=80)
navigation.register(_l("Etater"), "auth.agencies", "admin.agencies", order=81)
