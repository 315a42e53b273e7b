"""Reading the outcome report: built and put on record in one call (the read audit lives here,
not in the handlers), for the page, its PDF and CSV, and the API alike."""

from __future__ import annotations

from decimal import Decimal

from flask import current_app
from flask_login import current_user
from sqlalchemy import select

from velferdslab.audit import services as audit
from velferdslab.audit.actions import AuditAction, Purpose
from velferdslab.auth.models import Agency
from velferdslab.extensions import db
from velferdslab.reports import figures, outcome
from velferdslab.reports.models import AssumptionSet


def lab_agencies() -> list[Agency]:
    return list(db.session.scalars(select(Agency).where(Agency.lab_id == current_user.lab_id).order_by(Agency.name)))


def read_outcome(f: outcome.OutcomeFilter, assumption_set: AssumptionSet | None, success_rate: Decimal | None,
                 agencies: list[Agency], *, action: AuditAction, fmt: str) -> figures.OutcomeReport:
    """The report for ``f`` (suppressed as configured), recorded as read in ``fmt``."""
    data = outcome.run(f)
    report = figures.build(data, current_app.config["SUPPRESSION_THRESHOLD"], assumption_set=assumption_set,
                           success_rate=success_rate, agency_names={a.id: a.name for a in agencies})
    audit.record(action, object_type="report", object_id="outcome", purpose=Purpose.OUTCOME_REPORT,
                 summary={**f.as_dict(), "format": fmt})
    return report
