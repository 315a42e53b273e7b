"""The consent form (issue 15): one consent record as a PDF in plain bokmål or English, for the
family to read and sign — recipient, purpose, whom it is about, the information it covers, how
long it lasts and how to withdraw it. Rendered through the one PDF path (``core.pdf``)."""

from __future__ import annotations

from contextlib import nullcontext

from flask import current_app, has_request_context, render_template
from flask_babel import force_locale

from velferdslab.cases.consent.models import CATEGORY_LABELS, Consent, ConsentMethod, purpose_label
from velferdslab.core import pdf
from velferdslab.core.models import utcnow

LANGUAGES = ("nb", "en")


def render_html(consent: Consent, language: str = "nb") -> str:
    with force_locale(language):
        method = ConsentMethod.get(consent.method)
        return render_template(
            "cases/consent_form_pdf.html",
            lang=language,
            consent=consent,
            purpose=purpose_label(consent.purpose),
            categories=[str(CATEGORY_LABELS[c]) for c in consent.categories],
            method=method.label if method else consent.method,
            printed_at=utcnow(),
        )


def render_consent_form(consent: Consent, *, language: str = "nb") -> bytes:
    """The consent form as PDF bytes (the caller has checked access and writes the audit row)."""
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}")
    scope = nullcontext() if has_request_context() else current_app.test_request_context("/")
    with scope:
        html = render_html(consent, language)
    return pdf.render_pdf(html, lang=language)
