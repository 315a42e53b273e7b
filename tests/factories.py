"""Test data. Factories flush; the test's transaction is rolled back afterwards."""

from __future__ import annotations

import itertools
import re

from velferdslab.auth.models import Agency, Lab, User
from velferdslab.auth.services import hash_password
from velferdslab.extensions import db

PASSWORD = "correct horse battery staple"
_PASSWORD_HASH = None
_counter = itertools.count(1)


def _password_hash(password: str) -> str:
    global _PASSWORD_HASH
    if password != PASSWORD:
        return hash_password(password)
    if _PASSWORD_HASH is None:
        _PASSWORD_HASH = hash_password(PASSWORD)
    return _PASSWORD_HASH


def lab(**kwargs) -> Lab:
    n = next(_counter)
    obj = Lab(slug=kwargs.pop("slug", f"lab{n}"), name=kwargs.pop("name", f"Testlab {n}"),
              municipality=kwargs.pop("municipality", f"Kommune {n}"), consent_age=kwargs.pop("consent_age", 15),
              **kwargs)
    db.session.add(obj)
    db.session.flush()
    return obj


def agency(lab: Lab, name: str | None = None, kind: str = "nav") -> Agency:
    obj = Agency(lab=lab, name=name or f"Etat {next(_counter)}", kind=kind, active=True)
    db.session.add(obj)
    db.session.flush()
    return obj


def user(lab: Lab, roles=("caseworker",), agency: Agency | None = None, password: str = PASSWORD,
         active: bool = True, name: str | None = None, email: str | None = None) -> User:
    n = next(_counter)
    obj = User(lab=lab, name=name or f"Bruker {n}", email=email or f"user{n}@test.example",
               password_hash=_password_hash(password), agency_id=agency.id if agency else None, active=active)
    obj.set_roles(set(roles))
    db.session.add(obj)
    db.session.flush()
    return obj


CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)


class SignedInClient:
    """A Flask test client that carries the CSRF token of its session on every write."""

    def __init__(self, client, csrf: str):
        self.client = client
        self.csrf = csrf

    def __getattr__(self, name):
        return getattr(self.client, name)

    def _write(self, method, url, **kwargs):
        headers = dict(kwargs.pop("headers", {}) or {})
        headers.setdefault("X-CSRFToken", self.csrf)
        return getattr(self.client, method)(url, headers=headers, **kwargs)

    def post(self, url, **kwargs):
        return self._write("post", url, **kwargs)

    def put(self, url, **kwargs):
        return self._write("put", url, **kwargs)

    def patch(self, url, **kwargs):
        return self._write("patch", url, **kwargs)

    def delete(self, url, **kwargs):
        return self._write("delete", url, **kwargs)


def login_client(client, email: str, password: str):
    page = client.get("/logg-inn")
    token = csrf_from(page.get_data(as_text=True))
    return client.post("/logg-inn", data={"email": email, "password": password, "csrf_token": token})


def signed_in_client(app, user: User, password: str = PASSWORD) -> SignedInClient:
    client = app.test_client()
    response = login_client(client, user.email, password)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    page = client.get("/konto/passord")
    return SignedInClient(client, csrf_from(page.get_data(as_text=True)))
