"""The one PDF path: HTML from the app's own Jinja templates, rendered by WeasyPrint.

Every PDF in Velferdslab (progress reports, outcome reports, access logs) goes through
:func:`render_pdf`. Its URL fetcher is the security boundary for item 25 of the reliability brief:
whatever a template or a user's text manages to put into the HTML or CSS (``file:///etc/passwd``,
``http://169.254.169.254/``, ``@import``, ``<link rel="attachment">``, ``/dev/urandom``), WeasyPrint
can load nothing but the regular files under ``velferdslab/static/``, and it embeds no attachment.

Charts may be embedded as ``data:image/svg+xml`` images (:func:`svg_image`): that costs WeasyPrint
a fraction of an inline ``<svg>`` (no CSS cascade over every shape) and tags the chart as a figure
with its description as alternative text. ``data:`` URLs of any other type are refused; an SVG
image's own references go through the same fetcher.

The HTML is rendered against a virtual origin, ``https://pdf.velferdslab.invalid/`` (the ``.invalid``
top-level domain never resolves), so the same ``url_for('static', ...)`` paths work in a page and in
its PDF. The fetcher never opens a socket or a path outside the static folder: it maps
``/static/<file>`` on that origin to the file and refuses every other URL before any I/O.
"""

from __future__ import annotations

import base64
import binascii
import html as html_lib
import logging
import mimetypes
import os
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

# WeasyPrint reports each step (even parsing its own stylesheets at import) at INFO: noise in the
# application log. Quieted before the import, hence the E402s below.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
# Without libharfbuzz-subset0 WeasyPrint subsets fonts with fontTools, which logs some 30 INFO
# lines per font and PDF (the glyphs it kept); its warnings still reach the log.
logging.getLogger("fontTools").setLevel(logging.WARNING)

from flask import Response  # noqa: E402
from markupsafe import Markup, escape  # noqa: E402
from weasyprint import HTML  # noqa: E402
from weasyprint.urls import URLFetcher, URLFetcherResponse  # noqa: E402

log = logging.getLogger(__name__)

STATIC_DIR = (Path(__file__).resolve().parent.parent / "static").resolve()
PDF_ORIGIN = "https://pdf.velferdslab.invalid"
BASE_URL = PDF_ORIGIN + "/"
STATIC_PREFIX = "/static/"
MAX_STATIC_BYTES = 5 * 1024 * 1024  # a stylesheet, a logo or a font; nothing the app ships is bigger
DATA_IMAGE_TYPES = ("image/svg+xml", "image/png")
MAX_DATA_BYTES = 2 * 1024 * 1024

# The rendering options every PDF uses. PDF/UA-1 makes WeasyPrint tag the structure (headings,
# tables, lists) and write the title and language into the document, so screen readers can read
# it. The benchmark renders "the same finished HTML alone" with exactly these options.
PDF_OPTIONS: dict = {"pdf_variant": "pdf/ua-1", "attachments": None}


class RefusedURL(ValueError):
    """The PDF tried to load something that is not one of the package's static files."""


class StaticOnlyFetcher(URLFetcher):
    """A WeasyPrint URL fetcher that serves the package's static files and nothing else.

    It subclasses :class:`weasyprint.urls.URLFetcher` (WeasyPrint ≥ 70 calls ``fetch`` and reads
    ``_fail_on_errors`` on it) but never calls the parent's ``fetch``: no urllib handler (file,
    http, ftp, data) is ever reached. ``allowed_protocols`` is set to ``https`` as a second lock.
    """

    def __init__(self, static_dir: Path = STATIC_DIR) -> None:
        super().__init__(timeout=1, allowed_protocols=("https",), allow_redirects=False, fail_on_errors=False)
        self.static_dir = Path(static_dir).resolve()
        self.refused: list[str] = []

    def fetch(self, url, headers=None):
        if url[:5].lower() == "data:":
            return self._data_image(url)
        path = self._static_path(url)
        data = path.read_bytes()
        mime, _encoding = mimetypes.guess_type(path.name)
        headers = {"Content-Type": mime or "application/octet-stream"}
        return URLFetcherResponse(PDF_ORIGIN + STATIC_PREFIX + path.relative_to(self.static_dir).as_posix(),
                                  body=data, headers=headers)

    def _static_path(self, url: str) -> Path:
        try:
            parts = urlsplit(url)
        except ValueError:
            return self._refuse(url)
        if parts.scheme != "https" or parts.netloc != urlsplit(PDF_ORIGIN).netloc:
            return self._refuse(url)
        if parts.query or not parts.path.startswith(STATIC_PREFIX):
            return self._refuse(url)
        relative = unquote(parts.path[len(STATIC_PREFIX):])
        if not relative or "\x00" in relative or "\\" in relative:
            return self._refuse(url)
        candidate = (self.static_dir / relative).resolve()
        # resolve() follows symlinks, so a link pointing out of static/ is caught here too.
        if not candidate.is_relative_to(self.static_dir) or not candidate.is_file():
            return self._refuse(url)
        if os.path.getsize(candidate) > MAX_STATIC_BYTES:
            return self._refuse(url)
        return candidate

    def _data_image(self, url: str):
        """An image the app generated and inlined (a chart); no other ``data:`` content."""
        header, comma, payload = url[5:].partition(",")
        parts = [p.strip().lower() for p in header.split(";")]
        if not comma or parts[0] not in DATA_IMAGE_TYPES or len(payload) > MAX_DATA_BYTES * 2:
            return self._refuse(url)
        try:
            body = base64.b64decode(payload, validate=True) if "base64" in parts[1:] else \
                unquote(payload).encode("utf-8")
        except (binascii.Error, ValueError):
            return self._refuse(url)
        if len(body) > MAX_DATA_BYTES:
            return self._refuse(url)
        return URLFetcherResponse("data:" + parts[0], body=body, headers={"Content-Type": parts[0]})

    def _refuse(self, url: str):
        shown = url[:120]  # a URL may come from user text; keep the log line short
        self.refused.append(shown)
        log.warning("PDF renderer refused to fetch %r", shown)
        raise RefusedURL(f"not a static file of the application: {shown}")


_SVG_SIZE = re.compile(r'<svg\b[^>]*?\swidth="(\d+(?:\.\d+)?)"[^>]*?\sheight="(\d+(?:\.\d+)?)"')
_SVG_TEXT = re.compile(r"<(title|desc)\b[^>]*>(.*?)</\1>", re.S)


def svg_image(svg: str, alt: str | None = None, css_class: str = "chart-image") -> Markup:
    """An ``<img>`` carrying an SVG the app generated, for a PDF. The alternative text is ``alt``, or
    the SVG's own ``<title>`` and ``<desc>``."""
    size = _SVG_SIZE.search(svg)
    if alt is None:
        alt = ". ".join(html_lib.unescape(text).strip() for _tag, text in _SVG_TEXT.findall(svg))
    data = base64.b64encode(str(svg).encode("utf-8")).decode("ascii")
    dimensions = f' width="{size.group(1)}" height="{size.group(2)}"' if size else ""
    return Markup(f'<img class="{escape(css_class)}" src="data:image/svg+xml;base64,{data}" '  # noqa: S704
                  f'alt="{escape(alt)}"{dimensions}>')


def render_pdf(html: str, *, base_url: str = BASE_URL, lang: str | None = None,
               fetcher: StaticOnlyFetcher | None = None) -> bytes:
    """Render finished HTML (from one of the app's templates) to PDF bytes.

    ``lang`` overrides the document language (otherwise ``<html lang>``); the title comes from
    ``<title>``. Attachments are never embedded, whether asked for by ``<link rel="attachment">``
    or ``<a rel="attachment">``: the metadata list is emptied and every link of that kind is
    turned into a plain link before the PDF is written.
    """
    if not base_url.startswith(PDF_ORIGIN + "/"):
        raise ValueError("PDFs are rendered against the virtual static origin only")
    fetcher = fetcher or StaticOnlyFetcher()
    document = HTML(string=html, base_url=base_url, url_fetcher=fetcher).render(**PDF_OPTIONS)
    document.metadata.attachments = []
    if lang:
        document.metadata.lang = lang
    for page in document.pages:
        page.links = [(("external" if kind == "attachment" else kind), target, rect, box)
                      for kind, target, rect, box in page.links]
    return document.write_pdf(**PDF_OPTIONS)


def attachment(body: bytes | str, filename: str, mimetype: str) -> Response:
    """A download: ``body`` sent as a file named ``filename`` (never cached: see core.security)."""
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def pdf_download(pdf: bytes, filename: str) -> Response:
    """Rendered PDF bytes as a download."""
    return attachment(pdf, filename, "application/pdf")
