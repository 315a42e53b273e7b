"""One family's progress report as PDF bytes, for the queue's jobs.

The report is the reports module's (``reports.progress``), rendered through the one PDF path in
``core.pdf``; this seam exists so the job has one function to call (and the tests one to fail).
Access is checked by the job before it calls; the job writes the audit event.
"""

from __future__ import annotations

from datetime import date

from velferdslab.reports import progress


def progress_pdf(user, access, start: date, end: date, language: str = "nb") -> bytes:
    return progress.render_progress_pdf(access, start=start, end=end, language=language, actor=user)
