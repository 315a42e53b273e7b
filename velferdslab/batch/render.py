"""One family's progress report as PDF bytes, for the queue's jobs.

The report itself belongs to ``velferdslab.reports`` (the family's progress report, issue 6). Until
that module offers its renderer, a plain summary — the family, the period, the journey per theme at
the period's start and end — is rendered through the same ``core.pdf`` path, so the queue, its
retries and the download work end to end either way.
"""

from __future__ import annotations

from datetime import date

from flask import render_template

from velferdslab.core import pdf


def _reports_renderer():
    try:
        from velferdslab.reports import progress
    except ImportError:
        return None
    return getattr(progress, "render_progress_pdf", None)


def progress_pdf(user, access, start: date, end: date, language: str = "nb") -> bytes:
    renderer = _reports_renderer()
    if renderer is not None:
        return renderer(access, start=start, end=end, language=language, actor=user)
    return _summary_pdf(access, start, end, language)


def _summary_pdf(access, start: date, end: date, language: str) -> bytes:
    from velferdslab.cases import queries, services
    from velferdslab.cases.themes import LEVEL_NAMES, THEME_BY_CODE

    family = access.family
    history = queries.journey_history(family.id, services.applicable_themes(family.id))
    before = [p for p in history.points if p.assessed_on < start]
    within = [p for p in history.points if start <= p.assessed_on <= end]
    first = within[0] if within else (before[-1] if before else None)
    last = within[-1] if within else first
    rows = [{"theme": THEME_BY_CODE[code].name,
             "start": LEVEL_NAMES.get(first.level(code)) if first and first.level(code) else None,
             "end": LEVEL_NAMES.get(last.level(code)) if last and last.level(code) else None}
            for code in history.rated_themes()]
    html = render_template("batch/progress_summary.html", family=family, start=start, end=end, rows=rows,
                           assessments=len(within), language=language)
    return pdf.render_pdf(html, lang=language)
