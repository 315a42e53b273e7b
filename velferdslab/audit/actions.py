"""What an audit event records: the action (what was done) and the purpose (why), as closed sets.

Every call of :func:`velferdslab.audit.services.record` names an :class:`AuditAction` and, where
the reason is not the team's ordinary follow-up, a :class:`Purpose`. The codes are what is stored
(they never change: the audit table is append-only, so a renamed code would orphan old rows); the
labels are what the review screen and the family's own access log show, in plain words.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from velferdslab.core.vocabulary import Vocabulary


class AuditAction(Vocabulary):
    # families and their members
    FAMILY_VIEW = "family.view", _l("Åpnet familiesiden")
    FAMILY_FORM = "family.form", _l("Åpnet et skjema for familien")
    FAMILY_LIST = "family.list", _l("Familien vist i en liste")
    FAMILY_SEARCH_HIT = "family.search_hit", _l("Familien vist i et søkeresultat")
    FAMILY_DENIED = "family.denied", _l("Forsøk på tilgang avvist")
    FAMILY_GATED_DENIED = "family.gated_denied", _l("Avvist: mangler samtykke")
    FAMILY_EMERGENCY_WRITE_DENIED = "family.emergency_write_denied", _l("Avvist: nødtilgang gir bare innsyn")
    FAMILY_CREATE = "family.create", _l("Familien registrert")
    FAMILY_UPDATE = "family.update", _l("Familiens opplysninger endret")
    FAMILY_THEMES_VIEW = "family.themes_view", _l("Så temaene")
    FAMILY_THEME = "family.theme", _l("Endret hvilke temaer som gjelder")
    FAMILY_PRIVACY_VIEW = "family.privacy_view", _l("Åpnet familiens personvernside")
    FAMILY_ACCESS_LOG = "family.access_log", _l("Innsynslogg hentet")
    FAMILY_EXPORT = "family.export", _l("Alle opplysninger hentet ut (innsyn)")
    FAMILY_RESTRICT = "family.restrict", _l("Familien sperret")
    FAMILY_UNRESTRICT = "family.unrestrict", _l("Sperringen opphevet")
    FAMILY_ERASE = "family.erase", _l("Personopplysninger slettet")
    FAMILY_REPORT_PDF = "family.report_pdf", _l("Framdriftsrapport laget")
    MEMBER_LIST = "member.list", _l("Så familiemedlemmene")
    MEMBER_VIEW = "member.view", _l("Så et familiemedlem")
    MEMBER_CREATE = "member.create", _l("Familiemedlem lagt til")
    MEMBER_UPDATE = "member.update", _l("Familiemedlem endret")
    # enrolment and consent
    ENROLMENT_VIEW = "enrolment.view", _l("Så deltakelsen")
    ENROLMENT_REFER = "enrolment.refer", _l("Henvist til laben")
    ENROLMENT_ACTIVATE = "enrolment.activate", _l("Deltakelsen startet")
    ENROLMENT_CLOSE = "enrolment.close", _l("Deltakelsen avsluttet")
    CONSENT_VIEW = "consent.view", _l("Så samtykkene")
    CONSENT_GIVE = "consent.give", _l("Samtykke registrert")
    CONSENT_WITHDRAW = "consent.withdraw", _l("Samtykke trukket tilbake")
    CONSENT_CONFIRM = "consent.confirm", _l("Samtykke bekreftet av en annen person")
    CONSENT_WITHDRAW_UNDO = "consent.withdraw_undo", _l("Tilbaketrekning av samtykke angret")
    CONSENT_DENIED = "consent.denied", _l("Avvist: samtykke registrert av noen som ikke kan")
    # the journey, the plan and meetings
    ASSESSMENT_LIST = "assessment.list", _l("Så investeringsferden")
    ASSESSMENT_VIEW = "assessment.view", _l("Så en vurdering")
    ASSESSMENT_CREATE = "assessment.create", _l("Ny vurdering")
    ASSESSMENT_CORRECT = "assessment.correct", _l("Vurdering rettet")
    PLAN_VIEW = "plan.view", _l("Så planen (duken)")
    GOAL_VIEW = "goal.view", _l("Så et mål")
    GOAL_CREATE = "goal.create", _l("Nytt mål")
    GOAL_UPDATE = "goal.update", _l("Mål endret")
    ACTION_VIEW = "action.view", _l("Så et tiltak")
    ACTION_CREATE = "action.create", _l("Nytt tiltak")
    ACTION_UPDATE = "action.update", _l("Tiltak endret")
    MEETING_LIST = "meeting.list", _l("Så møtene")
    MEETING_VIEW = "meeting.view", _l("Så et møte")
    MEETING_FORM = "meeting.form", _l("Åpnet et møteskjema")
    MEETING_CREATE = "meeting.create", _l("Møte registrert")
    MEETING_UPDATE = "meeting.update", _l("Møte endret")
    # the investment team
    TEAM_VIEW = "team.view", _l("Så teamet")
    TEAM_CREATE = "team.create", _l("Team opprettet")
    TEAM_MEMBER_ADD = "team.member_add", _l("Nytt medlem i teamet")
    TEAM_MEMBER_END = "team.member_end", _l("Medlem gikk ut av teamet")
    TEAM_LEAD_TRANSFER = "team.lead_transfer", _l("Ny investeringsleder")
    TEAM_CARRY_OVER = "team.carry_over", _l("Teamet videreført")
    TEAM_MEMBER_END_UNDO = "team.member_end_undo", _l("Avsluttet medlemskap angret")
    TEAM_LEAD_TRANSFER_UNDO = "team.lead_transfer_undo", _l("Lederskifte angret")
    # budgets and spend
    BUDGET_VIEW = "budget.view", _l("Så budsjettet")
    BUDGET_LIST_VIEW = "budget.list_view", _l("Familien vist i budsjettlisten")
    BUDGET_OVERVIEW_VIEW = "budget.overview_view", _l("Så budsjettoversikten")
    BUDGET_ALLOCATIONS_VIEW = "budget.allocations_view", _l("Så tildelingene")
    BUDGET_ALLOCATE = "budget.allocate", _l("Budsjett tildelt familien")
    BUDGET_ALLOCATION_RETURN = "budget.allocation_return", _l("Ubrukt tildeling ført tilbake")
    BUDGET_DELEGATE = "budget.delegate", _l("Midler delegert til laben")
    BUDGET_DELEGATION_REVERSE = "budget.delegation_reverse", _l("Delegering reversert")
    BUDGET_RULES_DEFAULT = "budget.rules_default", _l("Standard fullmaktsregler lagt inn")
    BUDGET_RULES_UPDATE = "budget.rules_update", _l("Fullmaktsregler endret")
    SPEND_READ = "spend.read", _l("Så en utgift")
    SPEND_QUEUE_VIEW = "spend.queue_view", _l("Utgiften vist i en godkjenningskø")
    SPEND_CREATE = "spend.create", _l("Utgift foreslått")
    SPEND_UPDATE = "spend.update", _l("Utgift endret")
    SPEND_SUBMIT = "spend.submit", _l("Utgift sendt til godkjenning")
    SPEND_REVISE = "spend.revise", _l("Utgift revidert etter avslag")
    SPEND_REROUTE = "spend.reroute", _l("Utgift sendt videre til ledelsen")
    SPEND_APPROVE = "spend.approve", _l("Utgift godkjent")
    SPEND_APPROVE_FIRST = "spend.approve_first", _l("Første av to godkjenninger av en utgift")
    SPEND_REJECT = "spend.reject", _l("Utgift avvist")
    SPEND_PAY = "spend.pay", _l("Utgift utbetalt")
    SPEND_CANCEL = "spend.cancel", _l("Utgift kansellert")
    SPEND_DENIED = "spend.denied", _l("Forsøk på tilgang til en utgift avvist")
    SPEND_APPROVE_DENIED = "spend.approve_denied", _l("Avvist: godkjenning uten fullmakt")
    SPEND_REJECT_DENIED = "spend.reject_denied", _l("Avvist: avslag uten fullmakt")
    SPEND_PAY_DENIED = "spend.pay_denied", _l("Avvist: utbetaling uten fullmakt")
    SPEND_CANCEL_DENIED = "spend.cancel_denied", _l("Avvist: kansellering uten fullmakt")
    # the municipal books (issue 17)
    SPEND_PAYMENT_REVERSE = "spend.payment_reverse", _l("Utbetaling tilbakeført")
    BUDGET_CODES_UPDATE = "budget.codes_update", _l("Konteringskoder endret")
    BUDGET_CATEGORY_ACCOUNT = "budget.category_account", _l("Art for en utgiftskategori endret")
    BUDGET_EXPORT = "budget.export", _l("Bilagsfil eller avstemming lastet ned")
    BUDGET_PERIOD_EXPORTED = "budget.period_exported", _l("Periode markert som eksportert og låst")
    BUDGET_CARRY_OUT = "budget.carry_out", _l("Ubrukte midler overført fra et avsluttet år")
    BUDGET_CARRY_IN = "budget.carry_in", _l("Overførte midler ført inn i neste år")
    BUDGET_YEAR_CLOSE = "budget.year_close", _l("Budsjettår avsluttet")
    # reports
    REPORT_OUTCOME_VIEW = "reports.outcome_view", _l("Så resultatrapporten")
    REPORT_OUTCOME_PDF = "reports.outcome_pdf", _l("Resultatrapport som PDF")
    REPORT_OUTCOME_CSV = "reports.outcome_csv", _l("Resultatrapport som CSV")
    REPORT_OUTCOME_XLSX = "reports.outcome_xlsx", _l("Resultatrapport som regneark (xlsx)")
    REPORT_BENEFIT_VIEW = "reports.benefit_view", _l("Så gevinstmodellen")
    REPORT_ASSUMPTIONS_CREATED = "reports.assumptions_created", _l("Forutsetninger for gevinstmodellen laget")
    REPORT_ASSUMPTIONS_REVISED = "reports.assumptions_revised", _l("Forutsetninger for gevinstmodellen endret")
    REPORT_ASSUMPTIONS_RETIRED = "reports.assumptions_retired", _l("Forutsetninger for gevinstmodellen tatt ut")
    REPORT_BATCH_START = "report.batch_start", _l("Kvartalsrapporter bestilt")
    REPORT_BATCH_RENDER = "report.batch_render", _l("Kvartalsrapport laget")
    REPORT_BATCH_REQUEUE = "report.batch_requeue", _l("Kvartalsrapporter startet på nytt")
    REPORT_BATCH_DOWNLOAD = "report.batch_download", _l("Kvartalsrapporter lastet ned")
    REPORT_BATCH_PURGE = "report.batch_purge", _l("Gamle kvartalsrapporter slettet")
    # emergency access
    EMERGENCY_GRANT = "emergency.grant", _l("Nødtilgang gitt")
    EMERGENCY_END = "emergency.end", _l("Nødtilgang avsluttet")
    EMERGENCY_REVIEW = "emergency.review", _l("Nødtilgang gjennomgått")
    EMERGENCY_REFUSED = "emergency.refused", _l("Nødtilgang avvist")
    # sign-in, users and the lab's set-up
    AUTH_LOGIN = "auth.login", _l("Logget inn")
    AUTH_LOGOUT = "auth.logout", _l("Logget ut")
    AUTH_LOGIN_FAILED = "auth.login_failed", _l("Mislykket innlogging")
    USER_CREATE = "user.create", _l("Bruker opprettet")
    USER_UPDATE = "user.update", _l("Bruker endret")
    USER_ENABLE = "user.enable", _l("Bruker aktivert")
    USER_DISABLE = "user.disable", _l("Bruker deaktivert")
    USER_PASSWORD = "user.password", _l("Passord endret")
    TOKEN_CREATE = "token.create", _l("API-nøkkel laget")
    TOKEN_REVOKE = "token.revoke", _l("API-nøkkel trukket tilbake")
    LAB_CREATE = "lab.create", _l("Lab opprettet")
    AGENCY_CREATE = "agency.create", _l("Etat opprettet")
    AGENCY_UPDATE = "agency.update", _l("Etat endret")
    AUDIT_REVIEW = "audit.review", _l("Revisjon av tilganger")
    PERMISSION_DENIED = "auth.permission_denied", _l("Avvist: rollen gir ikke tilgang")
    AUDIT_REVIEW_EXPORT = "audit.review_export", _l("Revisjon eksportert")

    @property
    def is_refusal(self) -> bool:
        """An attempt that was refused (the family's log says "no access was given")."""
        return self.value.endswith(("denied", "refused"))


class Purpose(Vocabulary):
    """Why an event happened, in the words the family reads in its access log."""

    FOLLOW_UP = "familieside", _l("Oppfølging i investeringsteamet")
    MY_FAMILIES = "mine familier", _l("Oversikt over teamets familier")
    SEARCH = "søk", _l("Søk etter familie")
    API = "api", _l("Oppfølging i investeringsteamet (fagsystem)")
    BUDGET = "budsjett", _l("Budsjett og utgifter for familien")
    ALLOCATION = "tildeling", _l("Fordeling av budsjett")
    OVERVIEW = "oversikt", _l("Oversikt over budsjett og godkjenning")
    APPROVAL = "godkjenning", _l("Godkjenning av utgifter")
    PROGRESS_REPORT = "fremdriftsrapport", _l("Rapport til investeringsmøtet")
    QUARTERLY_REPORT = "kvartalsrapport", _l("Kvartalsrapport til investeringsmøtet")
    OUTCOME_REPORT = "resultatrapport", _l("Resultatrapport for ledelsen (uten navn)")
    EMERGENCY = "emergency", _l("Nødtilgang (akutt behov, begrunnet og tidsbegrenset)")
    REVIEW = "review", _l("Kontroll av tilgang (revisjon)")
    FAMILY_REQUEST = "family_request", _l("Familiens egen forespørsel (innsyn)")
    DATA_PROTECTION = "data_protection", _l("Personvern: sperring eller sletting")
    REPORT = "report", _l("Rapport til investeringsmøtet")


DEFAULT_PURPOSE = Purpose.FOLLOW_UP
DENIED_PURPOSE = _l("Ingen: tilgangen ble avvist")
