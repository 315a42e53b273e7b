"""What the lab stores about a family, table by table, and what erasure does with each text.

Every table that holds a family's data is listed with how its rows belong to the family, and
every text column in it is classified:

* ``erase`` — personal content: names, notes, goals, meeting notes, consent purposes, payees…
  Erasure replaces a stored value with ``[slettet]`` (so NOT NULL and CHECK constraints still
  hold, and "there was a note" stays visible, never what it said), or with the expression given.
* ``keep`` — codes from a fixed list (theme, status, role…): no personal content; they and every
  number and date (journey levels, amounts, dates) stay for the statistics.
* ``retained`` — content the lab must keep, with the reason.

A table whose rows are copies of the family's data (a rendered progress-report PDF) is marked
``delete``: erasure removes the family's rows whole.

``tests/privacy/test_inventory.py`` walks the metadata and fails for any table that refers to a
family (or to one of these tables) and is missing here, and for any text column not classified.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext as _lp  # context "table": a table of the export ("Mål" = goals)
from sqlalchemy import LargeBinary, String, Table, case, cast, false, literal, null, select
from sqlalchemy.sql.elements import ColumnElement

from velferdslab.extensions import db

ERASED = "[slettet]"
EMERGENCY_REASON_ERASED = "[slettet sammen med familiens personopplysninger]"


def _erased(column) -> ColumnElement:
    return case((column.is_(None), null()), else_=literal(ERASED))


@dataclass(frozen=True)
class Entry:
    table: str
    # How a row belongs to family ``:family_id``: a column holding the family id, or a column
    # pointing at a row of another entry (``("assessment_id", "journey_assessment")``).
    family_column: str = "family_id"
    via: tuple[str, str] | None = None
    erase: dict[str, Callable[[Table], ColumnElement] | None] = field(default_factory=dict)
    keep: tuple[str, ...] = ()
    retained: dict[str, str] = field(default_factory=dict)
    delete: bool = False
    label: object = ""  # lazy text: the export shows it in the reader's language

    def sql_table(self) -> Table:
        return db.metadata.tables[self.table]

    def family_rows(self, family_id: int):
        """A WHERE clause selecting the family's rows of this table."""
        tbl = self.sql_table()
        if self.via is None:
            return tbl.c[self.family_column] == family_id
        column, parent_name = self.via
        parent = BY_TABLE[parent_name]
        parent_tbl = parent.sql_table()
        return tbl.c[column].in_(select(parent_tbl.c.id).where(parent.family_rows(family_id)))

    def erase_values(self) -> dict:
        tbl = self.sql_table()
        return {name: (make(tbl) if make else _erased(tbl.c[name])) for name, make in self.erase.items()}


ENTRIES: tuple[Entry, ...] = (
    Entry("family", family_column="id", label=_l("Familien"), erase={
        "household_name": lambda t: literal("Slettet familie ") + cast(t.c.id, String),
        "language": lambda t: null(),
        "interpreter_needed": lambda t: false(),
    }),
    Entry("family_member", label=_l("Familiemedlemmer"), erase={
        "first_name": None,
        # Unique per family together with the birth year: the member's id keeps it so.
        "last_name": lambda t: cast(t.c.id, String),
        "birth_year": lambda t: (t.c.birth_year // 10) * 10,  # the decade stays for the statistics
        "is_contact": lambda t: false(),
    }, keep=("role",)),
    Entry("enrolment", label=_lp("table", "Deltakelse"), erase={"referral_reason": None},
          keep=("status", "close_reason")),
    Entry("consent", label=_l("Samtykker"), erase={"purpose": None, "witness_name": None}, keep=("method",)),
    Entry("consent_category", via=("consent_id", "consent"), label=_l("Hva samtykkene omfatter"),
          keep=("category",)),
    Entry("family_theme", label=_l("Temaer"), keep=("theme",)),
    Entry("investment_team", label=_lp("table", "Investeringsteam")),
    Entry("team_membership", label=_l("Teammedlemskap"), keep=("role",)),
    Entry("meeting", label=_l("Møter"), erase={"notes": None, "decisions": None}),
    Entry("meeting_attendee", via=("meeting_id", "meeting"), label=_l("Møtedeltakere")),
    Entry("meeting_action_change", via=("meeting_id", "meeting"), label=_l("Endringer i tiltak på møter"),
          keep=("from_status", "to_status")),
    Entry("form_draft", label=_l("Utkast til skjemaer (lagret mens noen skriver)"), keep=("kind",), delete=True),
    Entry("journey_assessment", label=_l("Vurderinger"),
          erase={"override_reason": None, "correction_reason": None}, keep=("kind",)),
    Entry("theme_rating", via=("assessment_id", "journey_assessment"), label=_l("Nivå per tema"),
          erase={"note": None}, keep=("theme", "perspective", "scale")),
    Entry("goal", label=_lp("table", "Mål"), erase={"text": None}, keep=("theme", "horizon", "status")),
    Entry("action", label=_lp("table", "Tiltak"), erase={"title": None}, keep=("status",)),
    Entry("spend_request", label=_l("Utgifter"), erase={
        "payee": None, "purpose": None, "expected_effect": None, "rejection_reason": None,
        "payment_reference": None, "cancellation_reason": None,
    }, keep=("category", "theme", "status", "route", "approved_role")),
    Entry("spend_decision", via=("spend_request_id", "spend_request"), label=_l("Beslutninger om utgifter"),
          keep=("decision", "role"),
          retained={"reason": "Godkjenninger og avslag er bilag i regnskapet; tabellen er bare-tilføy "
                              "(budsjett), og begrunnelsen oppbevares så lenge bokføringsplikten gjelder."}),
    Entry("ledger_account", label=_l("Budsjettkontoer"), keep=("kind", "code")),
    Entry("budget_idempotency_key", via=("spend_request_id", "spend_request"), label=_l("Tekniske nøkler"),
          keep=("key", "operation")),
    Entry("report_batch_item", label=_l("Framdriftsrapporter (PDF) i kø"), keep=("status", "error"), delete=True),
    Entry("notification", label=_l("Varsler til de ansatte (uten innhold om familien)"), keep=("kind", "link"),
          delete=True),
    Entry("api_idempotency", label=_l("Lagrede API-svar (for gjentatte forespørsler)"),
          keep=("key", "fingerprint", "location"), delete=True),
    # The family's own sign-in (Min side): keyed hashes only, never an identifier; erasure removes them.
    Entry("family_login", via=("member_id", "family_member"), label=_l("Innlogging for familien"),
          keep=("identity_hash",), delete=True),
    Entry("family_invitation", via=("member_id", "family_member"), label=_l("Invitasjoner til innlogging"),
          keep=("code_hash",), delete=True),
    Entry("family_session", via=("member_id", "family_member"), label=_l("Familiens innloggede økter"),
          keep=("token_hash",), delete=True),
    # Min side (issue 16): the family's own ratings before a meeting, and its electronic signatures.
    Entry("family_own_rating", label=_l("Familiens egne vurderinger før møter"), erase={"note": None},
          keep=("theme", "scale")),
    Entry("consent_signature", via=("consent_id", "consent"), label=_l("Elektroniske signaturer på samtykker"),
          keep=("method", "acr")),
    Entry("emergency_access", label=_l("Nødtilganger"),
          erase={"reason": lambda t: case((t.c.reason.is_(None), null()), else_=literal(EMERGENCY_REASON_ERASED))}),
)
BY_TABLE = {entry.table: entry for entry in ENTRIES}

# Tables that point at families (or at the tables above) but hold no personal content of their
# own, with the reason. The audit trail is the family's access log and is never erased: its
# summaries hold codes and ids only (``audit.services``), which the erasure tests prove.
NOT_PERSONAL = {
    "audit_event": "audit trail: ids and codes only; exported as the access log, never erased",
    "ledger_transfer": "amounts between ledger accounts, no text; the ledger must balance",
    "voucher_line": "accounting codes and amounts of a paid spend, no text; a voucher the books must keep",
    "spend_funding": "which agency funds how much of a spend request: an agency and an amount, no text",
    "report_lab_access": "which labs a county or national user reads the outcome report of: two ids, no family",
}


def text_columns(table: Table) -> list[str]:
    """Columns that can hold text or a document (``Text`` is a ``String`` too)."""
    return [c.name for c in table.columns if isinstance(c.type, String | LargeBinary)]
