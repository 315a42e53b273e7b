"""The family's session on Min side, for its pages: the decorator that reads only the family's own
cookie (``FAMILY_SESSION_COOKIE``, path ``/min-side``), never a staff session."""

from __future__ import annotations

from functools import wraps
from typing import Any

from flask import current_app, g, redirect, request, url_for
from flask_wtf import FlaskForm

from velferdslab.cases.minside import services
from velferdslab.core.permissions import ATTR, FAMILY_SESSION

PATH = "/min-side"
ACR = "minside_acr"  # the session key of the assurance level the person signed in with (for signatures)


class ConfirmForm(FlaskForm):
    pass


def _cookie() -> str:
    return current_app.config["FAMILY_SESSION_COOKIE"]


def family_session(view):
    """Only a signed-in family member: the page gets their :class:`FamilyMember`; anyone else goes
    to the family's own sign-in page (a staff session counts for nothing here)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        row = services.live_session(request.cookies.get(_cookie()))
        if row is None:
            response = redirect(url_for("cases.minside_login"))
            if request.cookies.get(_cookie()):
                response.delete_cookie(_cookie(), path=PATH)
            return response
        g.family_session = row
        return view(row.member, *args, **kwargs)

    setattr(wrapper, ATTR, FAMILY_SESSION)
    return wrapper


