"""Deny by default: every endpoint declares a permission; only a short list is public."""

from velferdslab.core.permissions import PUBLIC, declared_permission

# The whole public surface. Adding to it is a security decision: say why in the commit.
PUBLIC_ENDPOINTS = {
    "static",                    # the app's own CSS, JS and images
    "core.healthz",              # load balancer check, no data
    "core.set_language",         # stores the language choice in the session
    "auth.login",                # the sign-in page
    "api-docs.openapi_json",     # the OpenAPI document describes the API, holds no data
    # The family's own sign-in (issue 16): the page with the button, the redirect to the provider,
    # the provider's callback and the one-time code form (it needs a signed-in, not yet linked person).
    "cases.minside_login", "cases.minside_login_start", "cases.minside_callback", "cases.minside_link",
    # Staff sign-in with the municipality's OpenID Provider: the redirect and its callback.
    "auth.oidc_login", "auth.oidc_callback",
    # A user's private calendar feed (issue 18): a calendar program cannot sign in; the secret in
    # the address is the key (only its hash is stored), revocable, 404 when unknown or revoked.
    "notify.calendar_feed",
}


def test_every_endpoint_declares_a_permission(app):
    undeclared, unexpected_public = [], []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        permission = declared_permission(view)
        if rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        if permission is None:
            undeclared.append(f"{rule.endpoint} {rule.rule}")
        elif permission == PUBLIC:
            unexpected_public.append(f"{rule.endpoint} {rule.rule}")
    assert undeclared == [], "routes without a declared permission"
    assert unexpected_public == [], "public routes not on the public list"


def test_the_check_catches_an_undeclared_route(app):
    """The walk above must be able to fail: an undeclared view is found."""

    def naked():
        return "x"

    assert declared_permission(naked) is None


def test_anonymous_requests_to_every_protected_get_route_are_refused(app, client):
    """Not only declared but enforced: anonymous GETs get a login redirect (HTML) or 401 (API)."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC_ENDPOINTS or "GET" not in rule.methods:
            continue
        url = rule.rule
        for argument in rule.arguments:
            url = url.replace(f"<int:{argument}>", "1").replace(f"<{argument}>", "x")
            url = url.replace(f"<string:{argument}>", "x").replace(f"<path:{argument}>", "x")
        response = client.get(url)
        if url.startswith("/api/"):
            assert response.status_code == 401, url
            assert response.is_json
        else:
            assert response.status_code == 302, url
            assert "/logg-inn" in response.headers["Location"], url
