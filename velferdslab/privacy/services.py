"""The family's rights: access log, full export, restriction (*sperring*) and erasure (*sletting*).

Who: the family's investment lead (the one who talks with the family), or someone with an active
emergency-access grant — which, once the family is restricted, is the only way in. Every read and
change here is audited with a purpose the family understands.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, cast

from flask_babel import gettext as _
from sqlalchemy import CursorResult, Delete, Update, delete, select, update

from velferdslab.audit import access_log
from velferdslab.audit import services as audit
from velferdslab.audit.actions import AuditAction, Purpose
from velferdslab.audit.models import EmergencyAccess
from velferdslab.auth.models import Agency, Lab, User
from velferdslab.cases.access import Access
from velferdslab.cases.enrolment.models import Enrolment
from velferdslab.cases.household.models import Family
from velferdslab.core import policy
from velferdslab.core.errors import ConflictError, ForbiddenError, ServiceError
from velferdslab.core.models import utcnow
from velferdslab.extensions import db
from velferdslab.privacy.inventory import ENTRIES

EXPORT_FORMAT = "velferdslab-family-export/1"
REQUEST_PURPOSE = Purpose.FAMILY_REQUEST
CHANGE_PURPOSE = Purpose.DATA_PROTECTION



def require_handler(actor: User, access: Access) -> None:
    """The family's investment lead, or an emergency-access holder, handles its requests
    (``cases.policy``: ``handle_privacy``)."""
    if not policy.can(actor, "handle_privacy", access):
        raise ForbiddenError(_("Bare familiens investeringsleder (eller nødtilgang) kan gjøre dette."), "family")


def latest_enrolment(family_id: int) -> Enrolment | None:
    return db.session.scalar(select(Enrolment).where(Enrolment.family_id == family_id)
                             .order_by(Enrolment.referred_on.desc(), Enrolment.id.desc()).limit(1))


def is_closed(family: Family) -> bool:
    enrolment = latest_enrolment(family.id)
    return enrolment is not None and enrolment.status == "closed"


# --- the access log and the export -----------------------------------------------------------------

def read_access_log(access: Access, actor: User, *, fmt: str, since: date | None = None,
                    until: date | None = None) -> list[dict]:
    """Record the read, then return the log (which so includes this very read), optionally for a
    period of Oslo dates."""
    require_handler(actor, access)
    if since is not None and until is not None and until < since:
        raise ServiceError(_("Til-datoen kan ikke være før fra-datoen."), "til")
    audit.record(AuditAction.FAMILY_ACCESS_LOG, family_id=access.family.id, object_type="family",
                 object_id=access.family.id,
                 purpose=REQUEST_PURPOSE, summary={"format": fmt, "since": since, "until": until})
    return access_log.entries(access.family.id, since, until)


def _plain(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return f"[dokument, {len(value)} byte]"  # a stored PDF of data that is in the export already
    return value


def export(access: Access, actor: User, *, fmt: str) -> dict:
    """Everything stored about the family, table by table (``privacy.inventory``), its access log,
    and the names of the agencies its rows refer to."""
    require_handler(actor, access)
    if access.gated:
        raise ForbiddenError(_("Din etat har ikke samtykke til å se familiens opplysninger."), "consent")
    family = access.family
    audit.record(AuditAction.FAMILY_EXPORT, family_id=family.id, object_type="family", object_id=family.id,
                 purpose=REQUEST_PURPOSE, summary={"format": fmt})
    tables: dict[str, list[dict]] = {}
    for entry in ENTRIES:
        if entry.table not in db.metadata.tables:
            continue
        tbl = entry.sql_table()
        rows = db.session.execute(select(tbl).where(entry.family_rows(family.id)).order_by(*tbl.primary_key.columns))
        tables[entry.table] = [{k: _plain(v) for k, v in row.items()} for row in rows.mappings()]
    agencies = db.session.execute(select(Agency.id, Agency.name).where(Agency.lab_id == family.lab_id)
                                  .order_by(Agency.id)).all()
    lab_name = db.session.scalar(select(Lab.name).where(Lab.id == family.lab_id))
    return {"format": EXPORT_FORMAT, "family_id": family.id, "lab": lab_name, "exported_at": utcnow().isoformat(),
            "agencies": {str(a.id): a.name for a in agencies}, "tables": tables, "persons": _persons(tables),
            "access_log": access_log.entries(family.id)}


def _persons(tables: dict[str, list[dict]]) -> list[dict]:
    """Per family member (issue 15), from the rows exported above: the consents about them and those
    they gave (each with the kinds of information it covers), and the theme ratings they gave in
    their own voice and those about them — so one person's request is answered from one place.
    The rows themselves are in ``tables``; here they are referred to by id."""
    categories: dict[int, list[str]] = {}
    for row in tables.get("consent_category", []):
        categories.setdefault(row["consent_id"], []).append(row["category"])

    def consent(row: dict) -> dict:
        return {"id": row["id"], "agency_id": row["agency_id"], "purpose": row["purpose"],
                "subject_member_id": row["subject_member_id"], "given_by_member_id": row["given_by_member_id"],
                "given_on": row["given_on"], "method": row["method"], "expires_on": row["expires_on"],
                "withdrawn_on": row["withdrawn_on"], "withdrawn_by_member_id": row["withdrawn_by_member_id"],
                "supersedes_id": row["supersedes_id"], "categories": sorted(categories.get(row["id"], []))}

    def rating(row: dict) -> dict:
        return {"id": row["id"], "assessment_id": row["assessment_id"], "theme": row["theme"],
                "perspective": row["perspective"], "level": row["level"], "scale": row["scale"], "note": row["note"],
                "subject_member_id": row["subject_member_id"], "given_by_member_id": row["given_by_member_id"]}

    consents, ratings = tables.get("consent", []), tables.get("theme_rating", [])
    return [{"member_id": m["id"], "name": f"{m['first_name']} {m['last_name']}", "role": m["role"],
             "consents_about": [consent(c) for c in consents if c.get("subject_member_id") == m["id"]],
             "consents_given": [consent(c) for c in consents if c.get("given_by_member_id") == m["id"]],
             "ratings_given": [rating(r) for r in ratings if r.get("given_by_member_id") == m["id"]],
             "ratings_about": [rating(r) for r in ratings if r.get("subject_member_id") == m["id"]]}
            for m in tables.get("family_member", [])]


# --- restriction and erasure ---------------------------------------------------------------------

def _require_closed(family: Family) -> None:
    if not is_closed(family):
        raise ServiceError(_("Bare familier som har avsluttet deltakelsen kan sperres eller slettes."), "family")


def restrict(access: Access, actor: User) -> Family:
    """Restrict (*sperre*) a closed family: hidden from everyone, its team included; only emergency
    access reaches it from now on."""
    require_handler(actor, access)
    family = access.family
    _require_closed(family)
    if family.restricted_at is not None:
        raise ConflictError(_("Familien er allerede sperret."), "family")
    family.restricted_at = utcnow()
    db.session.flush()
    audit.record(AuditAction.FAMILY_RESTRICT, actor=actor, family_id=family.id, object_type="family",
                 object_id=family.id,
                 purpose=CHANGE_PURPOSE)
    return family


def unrestrict(access: Access, actor: User) -> Family:
    """Lift a restriction; only through emergency access, since nobody else can reach the family."""
    if access.emergency is None:
        raise ForbiddenError(_("Sperringen kan bare oppheves med nødtilgang."), "family")
    family = access.family
    if family.restricted_at is None:
        raise ConflictError(_("Familien er ikke sperret."), "family")
    family.restricted_at = None
    db.session.flush()
    audit.record(AuditAction.FAMILY_UNRESTRICT, actor=actor, family_id=family.id, object_type="family",
                 object_id=family.id,
                 purpose=CHANGE_PURPOSE)
    return family


def erase(access: Access, actor: User, *, confirm_family_id: int | None, no_duty_to_keep: bool) -> Family:
    """Erase the family's personal data where the lab has no duty to keep it.

    Every text classified ``erase`` in ``privacy.inventory`` is overwritten in place (rows stay, so
    journey levels, dates and amounts remain for the statistics, anonymous); emergency grants end;
    the family is hidden from everyone. The audit trail stays as it is: it never held content.
    """
    require_handler(actor, access)
    family = access.family
    _require_closed(family)
    if family.erased_at is not None:
        raise ConflictError(_("Familiens personopplysninger er allerede slettet."), "family")
    if not no_duty_to_keep:
        raise ServiceError(_("Bekreft at laben ikke har plikt til å oppbevare opplysningene."), "no_duty_to_keep")
    if confirm_family_id != family.id:
        raise ServiceError(_("Skriv familienummeret for å bekrefte."), "confirm_family_id")
    now = utcnow()
    erased = []
    for entry in ENTRIES:
        if not (entry.erase or entry.delete) or entry.table not in db.metadata.tables:
            continue
        statement: Delete | Update
        if entry.delete:
            statement = delete(entry.sql_table()).where(entry.family_rows(family.id))
        else:
            statement = update(entry.sql_table()).where(entry.family_rows(family.id)).values(entry.erase_values())
        # cast: Session.execute() is typed as returning Result, but a DELETE or UPDATE gives a CursorResult.
        done = cast(CursorResult[Any], db.session.execute(statement.execution_options(synchronize_session=False)))
        if done.rowcount:
            erased.append(entry.table)
    db.session.execute(update(EmergencyAccess).where(EmergencyAccess.family_id == family.id,
                                                     EmergencyAccess.ended_at.is_(None),
                                                     EmergencyAccess.expires_at > now)
                       .values(ended_at=now).execution_options(synchronize_session=False))
    db.session.expire_all()
    # get_one: the family's row was overwritten in place above, never deleted.
    family = db.session.get_one(Family, family.id)
    family.erased_at = now
    db.session.flush()
    audit.record(AuditAction.FAMILY_ERASE, actor=actor, family_id=family.id, object_type="family", object_id=family.id,
                 purpose=CHANGE_PURPOSE, summary={"tables": sorted(erased), "basis": "no_duty_to_keep"})
    return family
