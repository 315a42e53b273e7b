"""Words for stored audit codes: what an action was and why it happened, in plain words.

Used by the review screen and by the family's own access log. The words are the labels of the
closed vocabularies in ``audit.actions``; a code that is not (or no longer) a member falls back to
a plain label for its object (the part before the dot), never to the raw code.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from velferdslab.audit.actions import DEFAULT_PURPOSE, DENIED_PURPOSE, AuditAction, Purpose

OBJECT_LABELS = {
    "family": _l("Familien"), "member": _l("Familiemedlem"), "enrolment": _l("Deltakelse"),
    "consent": _l("Samtykke"), "assessment": _l("Vurdering"), "plan": _l("Plan"), "goal": _l("Mål"),
    "action": _l("Tiltak"), "meeting": _l("Møte"), "team": _l("Team"), "budget": _l("Budsjett"),
    "spend": _l("Utgift"), "report": _l("Rapport"), "reports": _l("Rapport"), "emergency": _l("Nødtilgang"),
    "auth": _l("Innlogging"), "user": _l("Bruker"), "agency": _l("Etat"), "lab": _l("Lab"),
    "token": _l("API-nøkkel"), "audit": _l("Revisjon"),
}
OTHER = _l("Annen hendelse")


def action_label(action: str) -> str:
    member = AuditAction.get(action)
    if member is not None:
        return member.label
    return str(OBJECT_LABELS.get(action.split(".", 1)[0], OTHER))


def purpose_label(purpose: str | None, action: str) -> str:
    """Why the access happened, as the family would understand it."""
    member = AuditAction.get(action)
    if action.endswith(("denied", "refused")) or (member is not None and member.is_refusal):
        return str(DENIED_PURPOSE)
    known = Purpose.get(purpose)
    if known is not None:
        return known.label
    if action.startswith("emergency."):
        return Purpose.EMERGENCY.label
    return DEFAULT_PURPOSE.label
