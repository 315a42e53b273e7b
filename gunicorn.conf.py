"""gunicorn settings for Velferdslab (``gunicorn -c gunicorn.conf.py wsgi:app``, see the README).

gunicorn reads this file from the working directory by default, too. Settings given on the command
line (``--workers``, ``--bind``, ``--access-logfile``) override the ones here.
"""

from gunicorn.http import wsgi as _gunicorn_wsgi

# --- no "Server: gunicorn" banner (issue 12, item 24) ---------------------------------------------
# gunicorn writes the header itself and has no setting for it; leave it out of the headers it writes.
_default_headers = _gunicorn_wsgi.Response.default_headers


def _headers_without_banner(self):
    return [line for line in _default_headers(self) if not line.lower().startswith("server:")]


_gunicorn_wsgi.Response.default_headers = _headers_without_banner


# --- the access log: method, path and status only (issue 12, item 22) -----------------------------
# gunicorn's default line carries the request line with its query string ("%(r)s": /familier?q=<a
# national id number>), the referrer (another URL with its query) and the user agent. %(U)s is the
# path without the query string; nothing else of the request is written. Where the log goes is the
# command's choice (the README's: --access-logfile -); without it gunicorn writes no access log.
access_log_format = "%(t)s %(m)s %(U)s %(s)s"
