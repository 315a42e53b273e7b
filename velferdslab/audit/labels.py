"""Words for audit codes: what an action was and why it happened, in plain Norwegian.

Used by the review screen and by the family's own access log. Unknown codes fall back to a label
for their object (the part before the dot), so a new action never shows up as nothing.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

ACTION_LABELS = {
    "family.view": _l("Åpnet familiesiden"),
    "family.list": _l("Familien vist i en liste"),
    "family.search_hit": _l("Familien vist i et søkeresultat"),
    "family.denied": _l("Forsøk på tilgang avvist"),
    "family.gated_denied": _l("Avvist: mangler samtykke"),
    "family.create": _l("Familien registrert"),
    "family.update": _l("Familiens opplysninger endret"),
    "family.themes_view": _l("Så temaene"),
    "family.theme": _l("Endret hvilke temaer som gjelder"),
    "family.access_log": _l("Innsynslogg hentet"),
    "family.export": _l("Alle opplysninger hentet ut (innsyn)"),
    "family.restrict": _l("Familien sperret"),
    "family.unrestrict": _l("Sperringen opphevet"),
    "family.erase": _l("Personopplysninger slettet"),
    "member.list": _l("Så familiemedlemmene"),
    "member.view": _l("Så et familiemedlem"),
    "member.create": _l("Familiemedlem lagt til"),
    "member.update": _l("Familiemedlem endret"),
    "enrolment.view": _l("Så deltakelsen"),
    "enrolment.refer": _l("Henvist til laben"),
    "enrolment.activate": _l("Deltakelsen startet"),
    "enrolment.close": _l("Deltakelsen avsluttet"),
    "consent.view": _l("Så samtykkene"),
    "consent.give": _l("Samtykke registrert"),
    "consent.withdraw": _l("Samtykke trukket tilbake"),
    "assessment.list": _l("Så investeringsferden"),
    "assessment.view": _l("Så en vurdering"),
    "assessment.create": _l("Ny vurdering"),
    "assessment.correct": _l("Vurdering rettet"),
    "plan.view": _l("Så planen (duken)"),
    "goal.view": _l("Så et mål"),
    "goal.create": _l("Nytt mål"),
    "goal.update": _l("Mål endret"),
    "action.view": _l("Så et tiltak"),
    "action.create": _l("Nytt tiltak"),
    "action.update": _l("Tiltak endret"),
    "meeting.list": _l("Så møtene"),
    "meeting.view": _l("Så et møte"),
    "meeting.form": _l("Åpnet et møteskjema"),
    "meeting.create": _l("Møte registrert"),
    "meeting.update": _l("Møte endret"),
    "team.view": _l("Så teamet"),
    "team.create": _l("Team opprettet"),
    "team.member_add": _l("Nytt medlem i teamet"),
    "team.member_end": _l("Medlem gikk ut av teamet"),
    "team.lead_transfer": _l("Ny investeringsleder"),
    "team.carry_over": _l("Teamet videreført"),
    "budget.view": _l("Så budsjettet"),
    "spend.read": _l("Så en utgift"),
    "spend.create": _l("Utgift foreslått"),
    "spend.update": _l("Utgift endret"),
    "spend.submit": _l("Utgift sendt til godkjenning"),
    "spend.approve": _l("Utgift godkjent"),
    "spend.reject": _l("Utgift avvist"),
    "spend.pay": _l("Utgift utbetalt"),
    "spend.cancel": _l("Utgift kansellert"),
    "report.progress": _l("Framdriftsrapport laget"),
    "emergency.grant": _l("Nødtilgang gitt"),
    "emergency.end": _l("Nødtilgang avsluttet"),
    "emergency.review": _l("Nødtilgang gjennomgått"),
    "emergency.refused": _l("Nødtilgang avvist"),
    "auth.login": _l("Logget inn"),
    "auth.logout": _l("Logget ut"),
    "auth.login_failed": _l("Mislykket innlogging"),
}

OBJECT_LABELS = {
    "family": _l("Familien"), "member": _l("Familiemedlem"), "enrolment": _l("Deltakelse"),
    "consent": _l("Samtykke"), "assessment": _l("Vurdering"), "plan": _l("Plan"), "goal": _l("Mål"),
    "action": _l("Tiltak"), "meeting": _l("Møte"), "team": _l("Team"), "budget": _l("Budsjett"),
    "spend": _l("Utgift"), "report": _l("Rapport"), "emergency": _l("Nødtilgang"), "auth": _l("Innlogging"),
    "user": _l("Bruker"), "agency": _l("Etat"), "lab": _l("Lab"), "token": _l("API-nøkkel"),
    "audit": _l("Revisjon"),
}

PURPOSE_LABELS = {
    "emergency": _l("Nødtilgang (akutt behov, begrunnet og tidsbegrenset)"),
    "review": _l("Kontroll av tilgang (revisjon)"),
    "family_request": _l("Familiens egen forespørsel (innsyn)"),
    "data_protection": _l("Personvern: sperring eller sletting"),
    "familieside": _l("Oppfølging i investeringsteamet"),
    "budsjett": _l("Budsjett og utgifter for familien"),
    "tildeling": _l("Fordeling av budsjett"),
    "oversikt": _l("Oversikt over teamets familier"),
    "søk": _l("Søk etter familie"),
    "api": _l("Oppfølging i investeringsteamet (fagsystem)"),
    "report": _l("Rapport til investeringsmøtet"),
}
DEFAULT_PURPOSE = _l("Oppfølging i investeringsteamet")
DENIED_PURPOSE = _l("Ingen: tilgangen ble avvist")


def action_label(action: str) -> str:
    if action in ACTION_LABELS:
        return str(ACTION_LABELS[action])
    prefix = action.split(".", 1)[0]
    return str(OBJECT_LABELS.get(prefix, action)) + f" ({action})"


def purpose_label(purpose: str | None, action: str) -> str:
    """Why the access happened, as the family would understand it."""
    if action.endswith(("denied", "refused")):
        return str(DENIED_PURPOSE)
    if purpose in PURPOSE_LABELS:
        return str(PURPOSE_LABELS[purpose])
    if action.startswith("emergency."):
        return str(PURPOSE_LABELS["emergency"])
    if purpose:
        return purpose
    return str(DEFAULT_PURPOSE)
