"""A meeting of the family and its team, and who was there."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from velferdslab.auth.models import User
from velferdslab.cases.household.models import FamilyMember
from velferdslab.core.models import UTCDateTime, utcnow
from velferdslab.extensions import Model


class Meeting(Model):
    __tablename__ = "meeting"

    id: Mapped[int] = mapped_column(primary_key=True)
    family_id: Mapped[int] = mapped_column(ForeignKey("family.id"))
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolment.id"))
    held_on: Mapped[date] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text)
    decisions: Mapped[str | None] = mapped_column(Text)
    next_meeting_on: Mapped[date | None] = mapped_column(Date)
    # Whether an interpreter took part in this meeting (the family's ``interpreter_needed`` is the
    # standing need; this is what happened on the day).
    interpreter_used: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    attendees: Mapped[list[MeetingAttendee]] = relationship(back_populates="meeting", cascade="all, delete-orphan")

    __table_args__ = (Index("ix_meeting_family_held", "family_id", "held_on"),)


class MeetingAttendee(Model):
    """Someone at a meeting: a staff user or a family member (exactly one of the two)."""

    __tablename__ = "meeting_attendee"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("family_member.id"))

    meeting: Mapped[Meeting] = relationship(back_populates="attendees")
    user: Mapped[User | None] = relationship()
    member: Mapped[FamilyMember | None] = relationship()

    __table_args__ = (
        CheckConstraint("(user_id IS NULL) <> (member_id IS NULL)", name="exactly_one_person"),
        UniqueConstraint("meeting_id", "user_id", "member_id"),
    )


class MeetingActionChange(Model):
    """A status change of an existing action made at a meeting (``from_status`` → ``to_status``),
    so the meeting's page can show what it changed. New actions carry ``action.meeting_id``."""

    __tablename__ = "meeting_action_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"), index=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("action.id", ondelete="CASCADE"))
    from_status: Mapped[str] = mapped_column(String(12))
    to_status: Mapped[str] = mapped_column(String(12))


class FormDraft(Model):
    """A form being filled in, saved by the page while the user types (one per user, family and
    kind of form), so that an expired session or a closed tab loses nothing. Discarded when the
    form is saved or the user throws the draft away. ``payload`` is the form's fields as JSON
    (``{name: [values]}``); it is personal content, and erasure deletes the rows whole."""

    __tablename__ = "form_draft"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    family_id: Mapped[int] = mapped_column(ForeignKey("family.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    payload: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("user_id", "family_id", "kind"),)
