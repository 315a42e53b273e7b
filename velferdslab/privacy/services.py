"""The family's rights: access log, full export, restriction (*sperring*) and erasure (*sletting*).

Who: the family's investment lead (the one who talks with the family), or someone with an active
emergency-access grant — which, once the family is restricted, is the only way in. Every read and
change here is audited with a purpose the family understands.
"""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import gettext as _
from sqlalchemy import column, delete, select, table, update

from velferdslab.audit import access_log
from velferdslab.audit import services as audit
from velferdslab.audit.models import EmergencyAccess
from velferdslab.cases.access import Access
from velferdslab.cases.enrolment.models import Enrolment
from velferdslab.cases.household.models import Family
from velferdslab.core.errors import ConflictError, ForbiddenError, ServiceError
from velferdslab.core.models import utcnow
from velferdslab.extensions import db
from velferdslab.privacy.inventory import ENTRIES

EXPORT_FORMAT = "velferdslab-family-export/1"
REQUEST_PURPOSE = "family_request"
CHANGE_PURPOSE = "data_protection"

_agency = table("agency", column("id"), column("name"), column("lab_id"))
_lab = table("lab", column("id"), column("name"))


def require_handler(access: Access) -> None:
    """The family's investment lead, or an emergency-access holder, handles its requests."""
    if not (access.is_lead or access.emergency is not None):
        raise ForbiddenError(_("Bare familiens investeringsleder (eller nødtilgang) kan gjøre dette."), "family")


def latest_enrolment(family_id: int) -> Enrolment | None:
    return db.session.scalar(select(Enrolment).where(Enrolment.family_id == family_id)
                             .order_by(Enrolment.referred_on.desc(), Enrolment.id.desc()).limit(1))


def is_closed(family: Family) -> bool:
    enrolment = latest_enrolment(family.id)
    return enrolment is not None and enrolment.status == "closed"


# --- the access log and the export -----------------------------------------------------------------

def read_access_log(access: Access, *, fmt: str) -> list[dict]:
    """Record the read, then return the log (which so includes this very read)."""
    require_handler(access)
    audit.record("family.access_log", family_id=access.family.id, object_type="family", object_id=access.family.id,
                 purpose=REQUEST_PURPOSE, summary={"format": fmt})
    return access_log.entries(access.family.id)


def _plain(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return f"[dokument, {len(value)} byte]"  # a stored PDF of data that is in the export already
    return value


def export(access: Access, *, fmt: str) -> dict:
    """Everything stored about the family, table by table (``privacy.inventory``), its access log,
    and the names of the agencies its rows refer to."""
    require_handler(access)
    if access.gated:
        raise ForbiddenError(_("Din etat har ikke samtykke til å se familiens opplysninger."), "consent")
    family = access.family
    audit.record("family.export", family_id=family.id, object_type="family", object_id=family.id,
                 purpose=REQUEST_PURPOSE, summary={"format": fmt})
    tables: dict[str, list[dict]] = {}
    for entry in ENTRIES:
        if entry.table not in db.metadata.tables:
            continue
        tbl = entry.sql_table()
        rows = db.session.execute(select(tbl).where(entry.family_rows(family.id)).order_by(*tbl.primary_key.columns))
        tables[entry.table] = [{k: _plain(v) for k, v in row.items()} for row in rows.mappings()]
    agencies = db.session.execute(select(_agency.c.id, _agency.c.name).where(_agency.c.lab_id == family.lab_id)
                                  .order_by(_agency.c.id)).all()
    lab_name = db.session.scalar(select(_lab.c.name).where(_lab.c.id == family.lab_id))
    return {"format": EXPORT_FORMAT, "family_id": family.id, "lab": lab_name, "exported_at": utcnow().isoformat(),
            "agencies": {str(a.id): a.name for a in agencies}, "tables": tables,
            "access_log": access_log.entries(family.id)}


# --- restriction and erasure ---------------------------------------------------------------------

def _require_closed(family: Family) -> None:
    if not is_closed(family):
        raise ServiceError(_("Bare familier som har avsluttet deltakelsen kan sperres eller slettes."), "family")


def restrict(access: Access, actor) -> Family:
    """Restrict (*sperre*) a closed family: hidden from everyone, its team included; only emergency
    access reaches it from now on."""
    require_handler(access)
    family = access.family
    _require_closed(family)
    if family.restricted_at is not None:
        raise ConflictError(_("Familien er allerede sperret."), "family")
    family.restricted_at = utcnow()
    db.session.flush()
    audit.record("family.restrict", actor=actor, family_id=family.id, object_type="family", object_id=family.id,
                 purpose=CHANGE_PURPOSE)
    return family


def unrestrict(access: Access, actor) -> Family:
    """Lift a restriction; only through emergency access, since nobody else can reach the family."""
    if access.emergency is None:
        raise ForbiddenError(_("Sperringen kan bare oppheves med nødtilgang."), "family")
    family = access.family
    if family.restricted_at is None:
        raise ConflictError(_("Familien er ikke sperret."), "family")
    family.restricted_at = None
    db.session.flush()
    audit.record("family.unrestrict", actor=actor, family_id=family.id, object_type="family", object_id=family.id,
                 purpose=CHANGE_PURPOSE)
    return family


def erase(access: Access, actor, *, confirm_family_id: int | None, no_duty_to_keep: bool) -> Family:
    """Erase the family's personal data where the lab has no duty to keep it.

    Every text classified ``erase`` in ``privacy.inventory`` is overwritten in place (rows stay, so
    journey levels, dates and amounts remain for the statistics, anonymous); emergency grants end;
    the family is hidden from everyone. The audit trail stays as it is: it never held content.
    """
    require_handler(access)
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
        if entry.delete:
            statement = delete(entry.sql_table()).where(entry.family_rows(family.id))
        else:
            statement = update(entry.sql_table()).where(entry.family_rows(family.id)).values(entry.erase_values())
        if db.session.execute(statement.execution_options(synchronize_session=False)).rowcount:
            erased.append(entry.table)
    db.session.execute(update(EmergencyAccess).where(EmergencyAccess.family_id == family.id,
                                                     EmergencyAccess.ended_at.is_(None),
                                                     EmergencyAccess.expires_at > now)
                       .values(ended_at=now).execution_options(synchronize_session=False))
    db.session.expire_all()
    family = db.session.get(Family, family.id)
    family.erased_at = now
    db.session.flush()
    audit.record("family.erase", actor=actor, family_id=family.id, object_type="family", object_id=family.id,
                 purpose=CHANGE_PURPOSE, summary={"tables": sorted(erased), "basis": "no_duty_to_keep"})
    return family
