"""One stay in the lab: referred → active → closed."""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from velferdslab.auth.models import Agency
from velferdslab.cases.household.models import Family
from velferdslab.core.models import UTCDateTime, one_of, utcnow
from velferdslab.core.vocabulary import Vocabulary
from velferdslab.extensions import Model
from velferdslab.teams.models import InvestmentTeam


class EnrolmentStatus(Vocabulary):
    REFERRED = "referred", _l("Henvist")
    ACTIVE = "active", _l("Aktiv")
    CLOSED = "closed", _l("Avsluttet")


class CloseReason(Vocabulary):
    GOALS_REACHED = "goals_reached", _l("Målene er nådd")
    MOVED = "moved", _l("Flyttet")
    WITHDREW = "withdrew", _l("Trakk seg")
    OTHER = "other", _l("Annet")


ENROLMENT_STATUSES = EnrolmentStatus.codes()
CLOSE_REASONS = CloseReason.codes()


class Enrolment(Model):
    """One stay in the lab: referred → active → closed. A family may enrol again later."""

    __tablename__ = "enrolment"

    id: Mapped[int] = mapped_column(primary_key=True)
    family_id: Mapped[int] = mapped_column(ForeignKey("family.id"), index=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("lab.id"), index=True)
    status: Mapped[str] = mapped_column(String(10), default="referred")
    referred_on: Mapped[date] = mapped_column(Date)
    referred_by_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    referral_reason: Mapped[str | None] = mapped_column(Text)
    started_on: Mapped[date | None] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    close_reason: Mapped[str | None] = mapped_column(String(20))
    # When the start and the closure were recorded (the days above may be backdated): the outcome
    # report's as-of date reads them (NULL before issue 14: the day itself counts).
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # Both directions are declared here (``Family.enrolments`` is the backref), because the
    # household may not import enrolment.
    family: Mapped[Family] = relationship(backref=backref("enrolments", order_by="Enrolment.referred_on"))
    referred_by_agency: Mapped[Agency | None] = relationship()
    team: Mapped[InvestmentTeam | None] = relationship(primaryjoin="Enrolment.id == InvestmentTeam.enrolment_id",
                                                       foreign_keys="InvestmentTeam.enrolment_id", uselist=False,
                                                       viewonly=True)

    __table_args__ = (
        CheckConstraint(one_of("status", ENROLMENT_STATUSES), name="status_known"),
        CheckConstraint("close_reason IS NULL OR " + one_of("close_reason", CLOSE_REASONS), name="close_reason_known"),
        CheckConstraint("started_on IS NULL OR started_on >= referred_on", name="starts_after_referral"),
        CheckConstraint("closed_on IS NULL OR (started_on IS NOT NULL AND closed_on >= started_on)",
                        name="closes_after_start"),
        CheckConstraint("status <> 'closed' OR (closed_on IS NOT NULL AND close_reason IS NOT NULL)",
                        name="closed_has_date_and_reason"),
    )
