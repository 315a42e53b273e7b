"""JSON API for the signed-in user, API tokens, users and agencies."""

from __future__ import annotations

from flask import abort
from flask.views import MethodView
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from velferdslab.auth import schemas, services
from velferdslab.auth.models import Agency, ApiToken, User
from velferdslab.core.api import Blueprint, paged
from velferdslab.core.permissions import LOGIN, permissions_for, requires
from velferdslab.extensions import db

blueprint = Blueprint("auth_api", __name__, url_prefix="/api/v1", description="Users, agencies, tokens")


@blueprint.route("/me")
class Me(MethodView):
    @requires(LOGIN)
    @blueprint.response(200, schemas.MeSchema)
    def get(self):
        """The signed-in user, with roles and permissions."""
        user = current_user._get_current_object()
        return {**{k: getattr(user, k) for k in ("id", "name", "email", "agency_id", "lab_id", "active")},
                "roles": sorted(user.roles), "permissions": sorted(permissions_for(user.roles))}


@blueprint.route("/tokens")
class Tokens(MethodView):
    @requires(LOGIN)
    @blueprint.response(200, schemas.TokenSchema(many=True))
    @paged(blueprint)
    def get(self):
        """Your API tokens (never their values)."""
        return db.session.scalars(select(ApiToken).where(ApiToken.user_id == current_user.id)
                                  .order_by(ApiToken.id)).all()

    @requires(LOGIN)
    @blueprint.arguments(schemas.TokenSchema)
    @blueprint.response(201, schemas.TokenCreatedSchema)
    def post(self, data):
        """Create a token. Its value is in this response only."""
        token, plain = services.create_api_token(current_user, data["name"], days=data.get("expires_in_days"))
        fields = ("id", "name", "prefix", "created_at", "last_used_at", "revoked_at", "expires_at")
        return {**{name: getattr(token, name) for name in fields}, "token": plain}


@blueprint.route("/tokens/<int:token_id>")
class TokenById(MethodView):
    @requires(LOGIN)
    @blueprint.response(204)
    def delete(self, token_id: int):
        """Revoke one of your tokens."""
        services.revoke_api_token(current_user, token_id)


def _lab_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None or user.lab_id != current_user.lab_id:
        abort(404)
    return user


def _user_out(user: User) -> dict:
    return {**{k: getattr(user, k) for k in ("id", "name", "email", "agency_id", "lab_id", "active")},
            "roles": sorted(user.roles)}


@blueprint.route("/users")
class Users(MethodView):
    @requires("admin.users")
    @blueprint.response(200, schemas.UserSchema(many=True))
    @paged(blueprint)
    def get(self):
        """Users of your lab."""
        rows = db.session.scalars(select(User).where(User.lab_id == current_user.lab_id)
                                  .options(selectinload(User.role_rows)).order_by(User.id))
        return [_user_out(u) for u in rows]

    @requires("admin.users")
    @blueprint.arguments(schemas.UserCreateSchema)
    @blueprint.response(201, schemas.UserSchema)
    def post(self, data):
        """Create a user in your lab."""
        user = services.create_user(current_user.lab, actor=current_user, **data)
        return _user_out(user)


@blueprint.route("/users/<int:user_id>")
class UserById(MethodView):
    @requires("admin.users")
    @blueprint.response(200, schemas.UserSchema)
    def get(self, user_id: int):
        return _user_out(_lab_user(user_id))

    @requires("admin.users")
    @blueprint.arguments(schemas.UserUpdateSchema)
    @blueprint.response(200, schemas.UserSchema)
    def patch(self, data, user_id: int):
        """Change a user; `active: false` disables the account and ends its sessions and tokens."""
        user = _lab_user(user_id)
        merged = {"name": user.name, "email": user.email, "roles": sorted(user.roles),
                  "agency_id": user.agency_id, "active": user.active, **data}
        services.update_user(user, actor=current_user, **merged)
        return _user_out(user)


@blueprint.route("/agencies")
class Agencies(MethodView):
    @requires(LOGIN)
    @blueprint.response(200, schemas.AgencySchema(many=True))
    @paged(blueprint)
    def get(self):
        """Agencies of your lab."""
        return db.session.scalars(select(Agency).where(Agency.lab_id == current_user.lab_id)
                                  .order_by(Agency.name)).all()

    @requires("admin.agencies")
    @blueprint.arguments(schemas.AgencySchema)
    @blueprint.response(201, schemas.AgencySchema)
    def post(self, data):
        return services.create_agency(current_user.lab, name=data["name"], kind=data["kind"],
                                      actor=current_user)


@blueprint.route("/agencies/<int:agency_id>")
class AgencyById(MethodView):
    @requires("admin.agencies")
    @blueprint.arguments(schemas.AgencyUpdateSchema)
    @blueprint.response(200, schemas.AgencySchema)
    def patch(self, data, agency_id: int):
        agency = db.session.get(Agency, agency_id)
        if agency is None or agency.lab_id != current_user.lab_id:
            abort(404)
        merged = {"name": agency.name, "kind": agency.kind, "active": agency.active, **data}
        return services.update_agency(agency, actor=current_user, **merged)
