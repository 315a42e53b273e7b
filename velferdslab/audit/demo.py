"""Demo step 45: something for the audit review to show — an emergency access from last week that
nobody has reviewed yet, with the reads made under it, and a caseworker's late-evening reads."""

from __future__ import annotations

from datetime import timedelta

from velferdslab.audit import chain
from velferdslab.audit.models import AuditEvent, EmergencyAccess
from velferdslab.core import demo
from velferdslab.core.models import utcnow
from velferdslab.extensions import db

REASON = "Barnevernet meldte akutt bekymring en fredag kveld; teamleder var på ferie og ikke tilgjengelig."


def _event(user, family_id: int, at, action: str, purpose: str | None = None, **summary) -> None:
    row = AuditEvent(occurred_at=at, lab_id=user.lab_id, actor_id=user.id, actor_role=user.primary_role,
                     agency_id=user.agency_id, family_id=family_id, action=action, object_type="family",
                     object_id=str(family_id), purpose=purpose, summary=summary or None)
    db.session.add(row)
    db.session.flush()
    chain.track(db.session(), row)


@demo.step(45)
def audit_history(ctx: demo.DemoContext) -> None:
    families = ctx.extra.get("families", {})
    for lab in ctx.labs[:1]:
        lab_families = families.get(lab.id) or []
        if len(lab_families) < 2:
            continue
        manager = next(iter(ctx.staff_with_role(lab, "manager")), None)
        worker = next((u for u in ctx.staff_with_role(lab, "caseworker") if u.email.startswith("teammedlem@")), None)
        if manager is None or worker is None:
            continue
        target = lab_families[-1].id
        granted = utcnow().replace(microsecond=0) - timedelta(days=5, hours=3)
        grant = EmergencyAccess(lab_id=lab.id, family_id=target, user_id=manager.id, reason=REASON,
                                granted_at=granted, expires_at=granted + timedelta(hours=2))
        db.session.add(grant)
        db.session.flush()
        _event(manager, target, granted, "emergency.grant", "emergency", hours=2)
        for minutes in (2, 9, 31):
            _event(manager, target, granted + timedelta(minutes=minutes), "family.view", "familieside")
        night = granted.replace(hour=21, minute=40) - timedelta(days=1)  # 22:40 or 23:40 in Oslo
        for family in lab_families[:3]:
            _event(worker, family.id, night, "family.view", "familieside")
            night += timedelta(minutes=7)
