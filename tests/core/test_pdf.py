"""The one PDF path fetches nothing but the package's static files (reliability item 25)."""

from __future__ import annotations

import io
import socket
import time

import pytest
from markupsafe import escape
from pypdf import PdfReader

from velferdslab.core import pdf as pdfmod
from velferdslab.core.pdf import BASE_URL, StaticOnlyFetcher, render_pdf

PAYLOADS = [
    "file:///etc/passwd",
    '<link rel="attachment" href="file:///etc/passwd">',
    "http://169.254.169.254/latest/meta-data/",
    '<style>@import url("file:///etc/passwd"); @import "http://169.254.169.254/";</style>',
    "/dev/urandom",
]

# The same payloads as markup that reached the HTML unescaped: the fetcher is the last line.
RAW_HTML = """<!doctype html><html lang="nb"><head><title>Fremdriftsrapport</title>
<link rel="stylesheet" href="/static/css/app.css">
<link rel="attachment" href="file:///etc/passwd" title="passwd">
<link rel="attachment" href="/static/favicon.svg">
<link rel="stylesheet" href="http://169.254.169.254/latest/meta-data/">
<style>@import url("file:///etc/passwd"); @import "/dev/urandom";
  body { background: url(file:///dev/urandom) } @font-face { font-family: x; src: url(/dev/urandom) }</style>
</head><body><h1>Rapport</h1>
<img src="file:///etc/passwd" alt=""><img src="/dev/urandom" alt=""><img src="../../../../etc/passwd" alt="">
<img src="http://169.254.169.254/" alt=""><img src="/static/../../setup.cfg" alt="">
<img src="/static/%2e%2e/%2e%2e/setup.cfg" alt="">
<svg width="10" height="10"><image href="file:///etc/passwd" width="10" height="10"/></svg>
<a rel="attachment" href="/static/favicon.svg" download="x.svg">vedlegg</a>
<object data="file:///etc/passwd"></object><iframe src="file:///etc/passwd"></iframe>
<p>Tekst med æøå</p></body></html>"""


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a socket fails the test."""
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise AssertionError(f"the PDF renderer tried to open a connection: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    return attempts


def _reader(data: bytes) -> PdfReader:
    assert data.startswith(b"%PDF-")
    return PdfReader(io.BytesIO(data))


def _has_attachment(reader: PdfReader) -> bool:
    root = reader.trailer["/Root"]
    if "/Names" in root and "/EmbeddedFiles" in root["/Names"]:
        return True
    for page in reader.pages:
        for annotation in page.get("/Annots") or []:
            if annotation.get_object().get("/Subtype") == "/FileAttachment":
                return True
    return False


def test_raw_payloads_fetch_nothing_embed_nothing_and_finish_quickly(no_network):
    fetcher = StaticOnlyFetcher()
    started = time.monotonic()
    data = render_pdf(RAW_HTML, fetcher=fetcher)
    assert time.monotonic() - started < 10
    reader = _reader(data)
    text = "".join(page.extract_text() for page in reader.pages)
    assert "Rapport" in text and "æøå" in text
    assert "root:" not in text and b"root:x:" not in data
    assert not _has_attachment(reader)
    assert no_network == []
    refused = " ".join(fetcher.refused)
    for url in ("file:///etc/passwd", "169.254.169.254", "/dev/urandom", "file:///dev/urandom"):
        assert url in refused
    # The package's own stylesheet was served, not refused.
    assert not any("app.css" in url for url in fetcher.refused)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payloads_in_user_text_are_shown_as_text(payload, no_network):
    """User text reaches templates escaped: the payload is printed, never loaded."""
    fetcher = StaticOnlyFetcher()
    html = (f'<!doctype html><html lang="nb"><head><title>T</title></head><body>'
            f"<h1>Mål</h1><p>{escape(payload)}</p></body></html>")
    started = time.monotonic()
    data = render_pdf(html, fetcher=fetcher)
    assert time.monotonic() - started < 10
    reader = _reader(data)
    text = " ".join(reader.pages[0].extract_text().split())
    assert "169.254" in text or "passwd" in text or "urandom" in text
    assert fetcher.refused == []  # nothing was even attempted
    assert not _has_attachment(reader)
    assert no_network == []


@pytest.mark.parametrize("url", [
    "file:///etc/passwd", "file:///dev/urandom", "http://169.254.169.254/", "https://example.com/static/x.css",
    "data:text/plain,hello", "ftp://example.com/x", BASE_URL + "dev/urandom", BASE_URL + "static/../setup.cfg",
    BASE_URL + "static/%2e%2e/%2e%2e/setup.cfg", BASE_URL + "static/", BASE_URL + "static/css",
    BASE_URL + "static/css/app.css?x=1", "https://pdf.velferdslab.invalid:8443/static/css/app.css",
    "https://user@pdf.velferdslab.invalid/static/css/app.css",
])
def test_fetcher_refuses_everything_but_static_files(url):
    with pytest.raises(pdfmod.RefusedURL):
        StaticOnlyFetcher().fetch(url)


def test_fetcher_serves_a_static_file():
    response = StaticOnlyFetcher().fetch(BASE_URL + "static/css/app.css")
    assert response.content_type == "text/css"
    assert response.read() == (pdfmod.STATIC_DIR / "css" / "app.css").read_bytes()


def test_fetcher_refuses_a_symlink_out_of_static(tmp_path):
    static = tmp_path / "static"
    static.mkdir()
    (static / "ok.css").write_text("p{}")
    (static / "passwd.css").symlink_to("/etc/passwd")
    fetcher = StaticOnlyFetcher(static_dir=static)
    assert fetcher.fetch(BASE_URL + "static/ok.css").read() == b"p{}"
    with pytest.raises(pdfmod.RefusedURL):
        fetcher.fetch(BASE_URL + "static/passwd.css")


def test_title_language_and_tags_are_set():
    html = ('<!doctype html><html lang="nb"><head><title>Fremdrift for familien</title></head>'
            "<body><h1>Hei</h1></body></html>")
    reader = _reader(render_pdf(html))
    assert reader.metadata.title == "Fremdrift for familien"
    root = reader.trailer["/Root"]
    assert root["/Lang"] == "nb"
    assert "/StructTreeRoot" in root  # tagged for screen readers
    assert root["/MarkInfo"]["/Marked"]
    english = _reader(render_pdf(html, lang="en"))
    assert english.trailer["/Root"]["/Lang"] == "en"


def test_render_refuses_another_base_url():
    with pytest.raises(ValueError):
        render_pdf("<p>x</p>", base_url="file:///")


def test_fetcher_serves_inlined_images_and_nothing_else_from_data_urls():
    import base64

    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4" height="4"/></svg>'
    response = StaticOnlyFetcher().fetch("data:image/svg+xml;base64," + base64.b64encode(svg).decode())
    assert response.read() == svg and response.content_type == "image/svg+xml"
    for url in ("data:text/html;base64,PHNjcmlwdD4=", "data:application/pdf,x", "data:image/svg+xml;base64,@@@",
                "data:image/svg+xml", "data:," + "x"):
        with pytest.raises(pdfmod.RefusedURL):
            StaticOnlyFetcher().fetch(url)


def test_an_inlined_svg_cannot_reach_out_either(no_network):
    """A chart image's own references go through the same fetcher."""
    from velferdslab.core.pdf import svg_image

    evil = ('<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="20" '
            'height="20"><title>T</title><desc>D</desc><image xlink:href="file:///etc/passwd" width="9" height="9"/>'
            '<image href="http://169.254.169.254/" width="9" height="9"/></svg>')
    html = f'<!doctype html><html lang="nb"><head><title>T</title></head><body>{svg_image(evil)}</body></html>'
    fetcher = StaticOnlyFetcher()
    reader = _reader(render_pdf(html, fetcher=fetcher))
    assert any("file:///etc/passwd" in url for url in fetcher.refused)
    assert any("169.254.169.254" in url for url in fetcher.refused)
    assert no_network == [] and not _has_attachment(reader)


def test_svg_image_takes_its_size_and_alternative_text_from_the_chart():
    from velferdslab.core.pdf import svg_image

    markup = str(svg_image('<svg width="320" height="130"><title>Bolig &amp; mer</title><desc>Stabil nå</desc></svg>'))
    assert 'width="320" height="130"' in markup
    assert 'alt="Bolig &amp; mer. Stabil nå"' in markup
    assert markup.startswith('<img class="chart-image" src="data:image/svg+xml;base64,')
