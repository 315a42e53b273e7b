"""Consent to share between agencies: about whom, given by whom, to which agency, for which purpose,
covering which kinds of information (issue 15)."""

from __future__ import annotations

from collections.abc import Set
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, CheckConstraint, ColumnElement, Date, ForeignKey, Index, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from velferdslab.auth.models import Agency
from velferdslab.cases.household.models import FamilyMember
from velferdslab.cases.themes import THEMES
from velferdslab.core.models import UTCDateTime, one_of, utcnow
from velferdslab.core.vocabulary import Vocabulary
from velferdslab.extensions import Model


class ConsentPurpose(Vocabulary):
    """What the information may be used for: the configured list a consent names one of."""

    TEAM = "team", _l("Samarbeid i investeringsteamet")
    FOLLOW_UP = "follow_up", _l("Kartlegging og oppfølging av familien")
    WORK_SCHOOL = "work_school", _l("Arbeid, skole og kvalifisering")
    HEALTH = "health", _l("Helse- og omsorgstjenester")
    HOUSING = "housing", _l("Bolig og økonomi")


class ConsentMethod(Vocabulary):
    """How the consent was given."""

    SIGNED = "signed", _l("Signert skjema")
    VERBAL = "verbal", _l("Muntlig, med vitne")
    MIGRATED = "migrated", _l("Overført fra husstandssamtykke (før samtykke per person)")


class NoteCategory(Vocabulary):
    """Kinds of information that are not a theme: what a consent may cover besides the seven themes."""

    MEETING_NOTES = "meeting_notes", _l("Møtenotater og beslutninger")
    GENERAL = "general", _l("Felles plan og samlet nivå")


# The kinds of information a consent covers: the seven themes, then the note categories.
CATEGORY_LABELS: dict[str, object] = {**{t.code: t.name for t in THEMES}, **NoteCategory.lazy_labels()}
CATEGORY_CODES = tuple(CATEGORY_LABELS)

# The consent age set by the sector's own law, where it is above the lab's (``lab.consent_age``):
# health care from 16 (pasient- og brukerrettighetsloven § 4-3), and so substance-abuse services.
SECTOR_CONSENT_AGE = {"helse": 16, "rus": 16}


def consent_age_for(lab_age: int, agency_kind: str | None) -> int:
    """The age from which a young person decides alone about sharing with an agency of that kind."""
    return max(lab_age, SECTOR_CONSENT_AGE.get(agency_kind or "", 0))


class Consent(Model):
    """Consent to share with an agency, for a purpose, about one member (``subject``) or the household
    (no subject), covering stated kinds of information (:class:`ConsentCategory`). Rows are never edited.

    A change (renewal, confirmation, withdrawal) is a new row that names the row it ``supersedes``; the
    current state of a (family, agency, purpose, subject) is its one row that nothing supersedes.
    """

    __tablename__ = "consent"

    id: Mapped[int] = mapped_column(primary_key=True)
    family_id: Mapped[int] = mapped_column(ForeignKey("family.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    purpose: Mapped[str] = mapped_column(String(200))
    # Whom it is about: a member, or the household's shared matters (None).
    subject_member_id: Mapped[int | None] = mapped_column(ForeignKey("family_member.id"))
    given_by_member_id: Mapped[int] = mapped_column(ForeignKey("family_member.id"))
    given_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date)
    method: Mapped[str] = mapped_column(String(12), default=ConsentMethod.SIGNED.value,
                                        server_default=ConsentMethod.MIGRATED.value)
    witness_name: Mapped[str | None] = mapped_column(String(200))
    withdrawn_on: Mapped[date | None] = mapped_column(Date)
    withdrawn_by_member_id: Mapped[int | None] = mapped_column(ForeignKey("family_member.id"))
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("consent.id"), unique=True)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Recorded by someone of the agency it opens: valid only when another person confirms it (a
    # new row that supersedes this one) — nobody opens their own access on their word alone.
    awaiting_confirmation: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    agency: Mapped[Agency] = relationship()
    subject: Mapped[FamilyMember | None] = relationship(foreign_keys=[subject_member_id])
    given_by: Mapped[FamilyMember] = relationship(foreign_keys=[given_by_member_id])
    withdrawn_by: Mapped[FamilyMember | None] = relationship(foreign_keys=[withdrawn_by_member_id])
    category_rows: Mapped[list[ConsentCategory]] = relationship(order_by="ConsentCategory.category",
                                                                lazy="selectin", cascade="all, delete-orphan")

    __table_args__ = (
        CheckConstraint("expires_on IS NULL OR expires_on >= given_on", name="expires_after_given"),
        CheckConstraint("withdrawn_on IS NULL OR withdrawn_on >= given_on", name="withdrawn_after_given"),
        CheckConstraint(one_of("method", ConsentMethod.codes()), name="method_known"),
        CheckConstraint("method <> 'verbal' OR witness_name IS NOT NULL", name="verbal_has_witness"),
        Index("ix_consent_family_agency", "family_id", "agency_id"),
    )

    @property
    def categories(self) -> list[str]:
        """The kinds of information covered, in the order of :data:`CATEGORY_CODES`."""
        mine = {row.category for row in self.category_rows}
        return [code for code in CATEGORY_CODES if code in mine]


class ConsentCategory(Model):
    """One kind of information a consent covers (a theme or a note category)."""

    __tablename__ = "consent_category"

    consent_id: Mapped[int] = mapped_column(ForeignKey("consent.id", ondelete="CASCADE"), primary_key=True)
    category: Mapped[str] = mapped_column(String(20), primary_key=True)

    __table_args__ = (CheckConstraint(one_of("category", CATEGORY_CODES), name="category_known"),)


def valid_on(on: date | ColumnElement[date]) -> list:
    """SQL conditions: a consent row given, confirmed, not expired or withdrawn on ``on`` (whether
    it is the current row of its key is the caller's: no row supersedes it)."""
    return [Consent.given_on <= on, (Consent.expires_on.is_(None)) | (Consent.expires_on >= on),
            Consent.withdrawn_on.is_(None), Consent.awaiting_confirmation.is_(False)]


def consent_is_valid(consent: Consent, on: date, superseded_ids: Set[int] = frozenset()) -> bool:
    """The rule of :func:`valid_on`, for a row in hand."""
    return (consent.id not in superseded_ids and consent.given_on <= on and consent.withdrawn_on is None
            and not consent.awaiting_confirmation and (consent.expires_on is None or consent.expires_on >= on))


def purpose_label(purpose: str) -> str:
    """A purpose as people read it: the label of its code (rows from before hold free text)."""
    known = ConsentPurpose.get(purpose)
    return known.label if known is not None else purpose
