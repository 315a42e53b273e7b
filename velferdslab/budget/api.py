"""JSON API for budgets: delegations, the pool, allocations, spend requests, queues and rules.

Thin: access and rules are in ``budget.services``; figures in ``budget.queries``. Money-moving
calls run through ``ledger.run_with_retries``. ``approve``, ``reject``, ``pay`` and ``cancel``
accept an ``Idempotency-Key`` header: a replay answers 200 with the request as it is now (and
``Idempotent-Replayed: true``) and changes nothing.
"""

from __future__ import annotations

from flask import abort, g, request
from flask.views import MethodView
from flask_login import current_user
from sqlalchemy import select

from velferdslab.audit import services as audit
from velferdslab.audit.actions import AuditAction, Purpose
from velferdslab.budget import books, ledger, queries, schemas, services
from velferdslab.budget.models import AuthorityRuleSet, Delegation, LedgerTransfer, SpendRequest
from velferdslab.cases.access import Access
from velferdslab.cases.gate import family_route, note
from velferdslab.core.api import Blueprint, paged
from velferdslab.core.permissions import LOGIN, Permission, requires
from velferdslab.extensions import db

SPEND = ("spend", SpendRequest)  # routes that name a spend request reach its family through it
blueprint = Blueprint("budget_api", __name__, url_prefix="/api/v1",
                      description="Delegated budgets: delegations, pool, allocations, spend requests, "
                                  "approval queues and authority rules. Amounts are integer øre.")

IDEMPOTENCY_HEADER = {"in": "header", "name": "Idempotency-Key", "required": False,
                      "schema": {"type": "string", "minLength": 8, "maxLength": 100},
                      "description": "Repeat the call with the same key and nothing happens twice."}


def _user():
    return current_user._get_current_object()


def _year(args) -> int:
    return args.get("year") or queries.current_year()


def _idempotency_key() -> str | None:
    value = request.headers.get("Idempotency-Key")
    return value if value is None else value.strip()


def _replay_headers(replayed: bool) -> dict:
    return {"Idempotent-Replayed": "true"} if replayed else {}


# --- delegations ---------------------------------------------------------------------------------

def _delegation_out(row: Delegation, reversed_ids: set[int]) -> dict:
    return {"id": row.id, "agency_id": row.agency_id, "agency_name": row.agency.name, "year": row.year,
            "amount": row.amount, "decision_reference": row.decision_reference, "decided_on": row.decided_on,
            "reversed": row.id in reversed_ids, "created_at": row.created_at}


def _reversed_ids(lab_id: int) -> set[int]:
    return set(db.session.scalars(select(LedgerTransfer.delegation_id).where(
        LedgerTransfer.lab_id == lab_id, LedgerTransfer.kind == "delegation_reversal")))


@blueprint.route("/delegations")
class Delegations(MethodView):
    @requires("budget.delegate")
    @blueprint.arguments(schemas.YearQuerySchema, location="query")
    @blueprint.response(200, schemas.DelegationSchema(many=True))
    @paged(blueprint)
    def get(self, args):
        """Delegations to your lab in a budget year."""
        rows = db.session.scalars(select(Delegation).where(Delegation.lab_id == current_user.lab_id,
                                                           Delegation.year == _year(args))
                                  .order_by(Delegation.decided_on, Delegation.id)).all()
        reversed_ids = _reversed_ids(current_user.lab_id)
        return [_delegation_out(r, reversed_ids) for r in rows]

    @requires("budget.delegate")
    @blueprint.arguments(schemas.DelegationCreateSchema)
    @blueprint.response(201, schemas.DelegationSchema)
    def post(self, data):
        """Record an agency's delegation to the lab's pool for a budget year."""
        user = _user()
        row = ledger.run_with_retries(lambda: services.delegate(user.lab, actor=user, **data))
        return _delegation_out(row, set())


@blueprint.route("/delegations/<int:delegation_id>/reversal")
class DelegationReversal(MethodView):
    @requires("budget.delegate")
    @blueprint.arguments(schemas.EmptySchema)
    @blueprint.response(201, schemas.TransferSchema)
    def post(self, _data, delegation_id: int):
        """Reverse a delegation entered in error (a new transfer; nothing is deleted)."""
        row = db.session.get(Delegation, delegation_id)
        if row is None or row.lab_id != current_user.lab_id:
            abort(404)
        user = _user()
        transfer = ledger.run_with_retries(lambda: services.reverse_delegation(row, actor=user))
        return _transfer_out(transfer)


def _transfer_out(transfer: LedgerTransfer) -> dict:
    return {"id": transfer.id, "kind": transfer.kind, "amount": transfer.amount,
            "debit_account": transfer.debit_account.code, "credit_account": transfer.credit_account.code,
            "created_at": transfer.created_at}


# --- pool and allocations -----------------------------------------------------------------------

@blueprint.route("/pool")
class Pool(MethodView):
    @requires("budget.manage")
    @blueprint.arguments(schemas.YearQuerySchema, location="query")
    @blueprint.response(200, schemas.PoolSchema)
    def get(self, args):
        """Per agency: delegated, unallocated and allocated (to families' teams), and their totals.

        No spend (reserved, paid, waiting) by theme or agency: that is the outcome report's, protected
        there (issue 14). delegated = allocated + unallocated, to the øre."""
        overview = queries.read_pool_overview(current_user.lab_id, _year(args))

        def agency_row(row):
            return {"agency_id": row.key, "agency": row.label or None, "delegated": row.delegated,
                    "unallocated": row.unallocated, "allocated": row.allocated}

        return {"year": overview.year, "agencies": [agency_row(r) for r in overview.agencies],
                "totals": agency_row(overview.agency_total)}


@blueprint.route("/allocations")
class Allocations(MethodView):
    @requires("budget.manage")
    @blueprint.arguments(schemas.YearQuerySchema, location="query")
    @blueprint.response(200, schemas.AllocationRowSchema(many=True))
    @paged(blueprint)
    def get(self, args):
        """Each family's allocation in a year and what is left unused of it (by reference and
        investment lead, never by name); restricted and erased families are not listed (issue 14)."""
        rows = queries.read_allocations(current_user.lab_id, _year(args))
        return [{"family_id": r.family_id, "open": r.open, "team_leads": r.leads, "allocated": r.allocated,
                 "available": r.available} for r in rows]

    @requires("budget.manage")
    @blueprint.arguments(schemas.AllocationCreateSchema)
    @blueprint.response(201, schemas.TransferSchema)
    def post(self, data):
        """Allocate from one agency's part of the pool to a family's team."""
        return _move(services.allocate, data)


@blueprint.route("/allocation-returns")
class AllocationReturns(MethodView):
    @requires("budget.manage")
    @blueprint.arguments(schemas.AllocationCreateSchema)
    @blueprint.response(201, schemas.TransferSchema)
    def post(self, data):
        """Move unused allocation from a family back to the pool."""
        return _move(services.return_allocation, data)


def _move(operation, data: dict) -> dict:
    user = _user()
    return _transfer_out(ledger.run_with_retries(lambda: operation(user.lab, actor=user, **data)))


# --- a family's budget and its spend requests ----------------------------------------------------

@blueprint.route("/families/<int:family_id>/budget")
class FamilyBudget(MethodView):
    @requires(LOGIN)  # per object: off the team is the 404 of a missing family
    @blueprint.arguments(schemas.YearQuerySchema, location="query")
    @blueprint.response(200, schemas.FamilyBudgetSchema)
    @family_route(AuditAction.BUDGET_VIEW, purpose=Purpose.BUDGET, content=False)
    def get(self, args, access: Access):
        """The family's budget for a year: allocated, committed, paid, available and each spend."""
        family_id = access.family.id
        budget = queries.family_budget(family_id, _year(args))
        note(year=budget.year)
        body = {"family_id": family_id, "year": budget.year, "gated": access.gated, "by_agency": budget.by_agency,
                **vars(budget.balance)}
        if access.gated:
            body["spend_summaries"] = budget.spends
        else:
            # A spend in a theme the agency's consents do not cover is a summary, with the reason (issue 15).
            shown = access.hide(budget.spends, "spend", subject=lambda _spend: None)
            body["spend_requests"] = shown.items
            body["spend_summaries"] = [s for s in budget.spends if s not in shown.items]
            body["hidden"] = shown.hidden
        return body


@blueprint.route("/families/<int:family_id>/spend-requests")
class FamilySpendRequests(MethodView):
    @requires(LOGIN)  # per object: off the team is the 404 of a missing family
    @blueprint.arguments(schemas.SpendCreateSchema)
    @blueprint.response(201, schemas.SpendSchema)
    @family_route(content=False)
    def post(self, data, access: Access):
        """Ask for money for the family (a draft, or sent at once with `submit: true`)."""
        if not current_user.has_permission(Permission.SPEND_REQUEST):
            abort(403)
        submit = data.pop("submit", False)
        year = data.pop("budget_year", None)
        spend = services.create_spend(access.family.id, _user(), data, budget_year=year, submit=submit)
        return spend


@blueprint.route("/spend-requests/<int:spend_id>")
class SpendById(MethodView):
    @requires(LOGIN)
    @blueprint.response(200, schemas.SpendSchema)
    @family_route(AuditAction.SPEND_READ, purpose=Purpose.BUDGET, via=SPEND)
    def get(self, access: Access | None, spend: SpendRequest):
        """One spend request with its decisions."""
        if access is not None:  # a team member: the spend's theme needs their agency's consent (issue 15)
            access.require_may_see(None, spend.theme, "spend")
        return spend

    @requires("spend.request")
    @blueprint.arguments(schemas.SpendUpdateSchema)
    @blueprint.response(200, schemas.SpendSchema)
    @family_route(via=SPEND)
    def patch(self, data, access: Access | None, spend: SpendRequest):
        """Change a draft. A sent request is never changed (422)."""
        return services.update_draft(spend, _user(), data)


@blueprint.route("/spend-requests/<int:spend_id>/submit")
class SpendSubmit(MethodView):
    @requires("spend.request")
    @blueprint.arguments(schemas.EmptySchema)
    @blueprint.response(200, schemas.SpendSchema)
    @family_route(via=SPEND)
    def post(self, _data, access: Access | None, spend: SpendRequest):
        """Send a draft for approval; it goes to the lead's or management's queue by the rules."""
        user = _user()
        return ledger.run_with_retries(lambda: services.submit_spend(spend.id, user))


@blueprint.route("/spend-requests/<int:spend_id>/revise")
class SpendRevise(MethodView):
    @requires("spend.request")
    @blueprint.arguments(schemas.SpendReviseSchema)
    @blueprint.response(201, schemas.SpendSchema)
    @family_route(via=SPEND)
    def post(self, data, access: Access | None, spend: SpendRequest):
        """A new version of a rejected request (its fields, changed by the body), as a draft or sent
        at once with `submit: true`. 409 when the request is not rejected or already revised; 403
        for anyone but its requester or the family's investment lead. With an `Idempotency-Key` a
        repeated call answers the first answer and creates nothing."""
        user, spend_id = _user(), spend.id
        submit = data.pop("submit", False)
        g.idempotency_family_id = spend.family_id  # a stored answer goes with the family's data
        return ledger.run_with_retries(lambda: services.revise_spend(spend_id, user, data, submit=submit))


def _decide(operation, spend: SpendRequest, **kwargs):
    user, key, spend_id = _user(), _idempotency_key(), spend.id
    spend, replayed = ledger.run_with_retries(lambda: operation(spend_id, user, idempotency_key=key, **kwargs))
    return spend, 200, _replay_headers(replayed)


@blueprint.route("/spend-requests/<int:spend_id>/approve")
class SpendApprove(MethodView):
    @requires("spend.approve")
    @blueprint.doc(parameters=[IDEMPOTENCY_HEADER])
    @blueprint.arguments(schemas.EmptySchema)
    @blueprint.response(200, schemas.SpendSchema)
    @family_route(via=SPEND)
    def post(self, _data, access: Access | None, spend: SpendRequest):
        """Approve (and reserve the money); 403 for your own request or above your authority,
        409 when already decided, 422 when the family lacks the money."""
        return _decide(services.approve_spend, spend)


@blueprint.route("/spend-requests/<int:spend_id>/reject")
class SpendReject(MethodView):
    @requires("spend.approve")
    @blueprint.doc(parameters=[IDEMPOTENCY_HEADER])
    @blueprint.arguments(schemas.ReasonSchema)
    @blueprint.response(200, schemas.SpendSchema)
    @family_route(via=SPEND)
    def post(self, data, access: Access | None, spend: SpendRequest):
        """Reject with a reason."""
        return _decide(services.reject_spend, spend, reason=data["reason"])


@blueprint.route("/spend-requests/<int:spend_id>/pay")
class SpendPay(MethodView):
    @requires("spend.approve")
    @blueprint.doc(parameters=[IDEMPOTENCY_HEADER])
    @blueprint.arguments(schemas.PaySchema)
    @blueprint.response(200, schemas.SpendSchema)
    @family_route(via=SPEND)
    def post(self, data, access: Access | None, spend: SpendRequest):
        """Record the payment of an approved request (date and reference)."""
        return _decide(services.pay_spend, spend, paid_on=data["paid_on"], reference=data["reference"])


@blueprint.route("/spend-requests/<int:spend_id>/cancel")
class SpendCancel(MethodView):
    @requires(LOGIN)
    @blueprint.doc(parameters=[IDEMPOTENCY_HEADER])
    @blueprint.arguments(schemas.ReasonSchema)
    @blueprint.response(200, schemas.SpendSchema)
    @family_route(via=SPEND)
    def post(self, data, access: Access | None, spend: SpendRequest):
        """Cancel with a reason; approved money goes back to the family's allocation."""
        return _decide(services.cancel_spend, spend, reason=data["reason"])


# --- queues ----------------------------------------------------------------------------------------

def _queue_out(spends: list[SpendRequest]) -> list[SpendRequest]:
    shown = queries.read_queue(_user(), spends)
    # Plain attributes for the response schema, never stored: the model does not declare them (they
    # are there only on a queue's rows), hence the ignores.
    for spend in spends:
        spend.family_available = shown.available[(spend.family_id, spend.budget_year)]  # type: ignore[attr-defined]
        spend.team_leads = shown.leads[spend.family_id]  # type: ignore[attr-defined]
    return spends


@blueprint.route("/queues/team")
class TeamQueue(MethodView):
    @requires("spend.approve")
    @blueprint.response(200, schemas.QueueItemSchema(many=True))
    @paged(blueprint)
    def get(self):
        """Requests waiting for you as investment lead, oldest first."""
        return _queue_out(queries.lead_queue(_user()))


@blueprint.route("/queues/management")
class ManagementQueue(MethodView):
    @requires("budget.manage")
    @blueprint.response(200, schemas.QueueItemSchema(many=True))
    @paged(blueprint)
    def get(self):
        """Requests above the teams' limits, oldest first."""
        return _queue_out(queries.management_queue(current_user.lab_id))


# --- authority rules ---------------------------------------------------------------------------------

@blueprint.route("/authority-rules")
class AuthorityRules(MethodView):
    @requires(LOGIN)
    @blueprint.response(200, schemas.RulesSchema)
    def get(self):
        """The rules in force and every earlier version."""
        current = services.rules_in_force(current_user.lab_id)
        versions = db.session.scalars(select(AuthorityRuleSet).where(AuthorityRuleSet.lab_id == current_user.lab_id)
                                      .order_by(AuthorityRuleSet.version.desc())).all()
        return {"current": current, "versions": versions}

    @requires("admin.rules")
    @blueprint.arguments(schemas.RuleSetCreateSchema)
    @blueprint.response(201, schemas.RuleSetSchema)
    def post(self, data):
        """Store a new version of the rules (the whole list); waiting requests are re-routed."""
        user = _user()
        return services.save_rules(user.lab, data["rules"], note=data.get("note"), actor=user)


@blueprint.route("/budget/theme-agencies")
class ThemeAgencies(MethodView):
    @requires(LOGIN)
    @blueprint.response(200, schemas.ThemeDefaultsSchema)
    def get(self):
        """Each theme's default funding agency: the one the spend form proposes."""
        return {"defaults": services.theme_defaults(current_user.lab_id)}

    @requires("admin.rules")
    @blueprint.arguments(schemas.ThemeDefaultsSchema)
    @blueprint.response(200, schemas.ThemeDefaultsSchema)
    def put(self, data):
        """Choose the default funding agency of some themes (null: back to the default by agency kind)."""
        user = _user()
        return {"defaults": services.set_theme_defaults(user.lab, data["defaults"], actor=user)}
# --- the books (issue 17) ------------------------------------------------------------------------------

def _codes_out(row) -> dict:
    return {"agency_id": row.agency_id, "year": row.year, "ansvar": row.ansvar, "funksjon": row.funksjon,
            "art": row.art, "prosjekt": row.prosjekt}


@blueprint.route("/accounting-codes")
class AccountingCodesView(MethodView):
    @requires("budget.delegate")
    @blueprint.arguments(schemas.YearQuerySchema, location="query")
    @blueprint.response(200, description="JSON as documented in docs/budget.md (the books)")
    def get(self, args):
        """Each agency's accounting dimensions for a budget year, and the category → account map."""
        lab_id = current_user.lab_id
        return {"year": _year(args), "agencies": [_codes_out(r) for r in books.codes_by_agency(lab_id, _year(args))
                                                  .values()],
                "categories": books.category_accounts(lab_id)}

    @requires("budget.delegate")
    @blueprint.arguments(schemas.AccountingCodesSchema)
    @blueprint.response(200, description="JSON as documented in docs/budget.md (the books)")
    def put(self, data):
        """Set one agency's codes for a year (ansvar, KOSTRA funksjon, art, prosjekt); 422 per field."""
        user = _user()
        return _codes_out(books.save_codes(user.lab, actor=user, **data))


@blueprint.route("/category-accounts")
class CategoryAccounts(MethodView):
    @requires("budget.delegate")
    @blueprint.arguments(schemas.CategoryAccountsSchema)
    @blueprint.response(200, description="JSON as documented in docs/budget.md (the books)")
    def put(self, data):
        """Map spend categories to accounts (art); the map in force is returned."""
        user = _user()
        return {"categories": books.save_category_accounts(user.lab, data["categories"], actor=user)}


@blueprint.route("/spend-requests/<int:spend_id>/reverse-payment")
class SpendReversePayment(MethodView):
    @requires("spend.approve")
    @blueprint.doc(parameters=[IDEMPOTENCY_HEADER])
    @blueprint.arguments(schemas.ReversePaymentSchema)
    @blueprint.response(200, schemas.SpendSchema)
    @family_route(via=SPEND)
    def post(self, data, access: Access | None, spend: SpendRequest):
        """Take back a paid spend: the money returns to the family's allocation and a reversal
        voucher line is booked in the first open period; 409 in a closed budget year."""
        return _decide(services.reverse_payment, spend, reason=data["reason"], reversed_on=data["reversed_on"])


def _line_out(line) -> dict:
    return {"id": line.id, "spend_request_id": line.spend_request_id, "kind": line.kind, "period": line.period,
            "voucher_date": line.voucher_date.isoformat(), "budget_year": line.budget_year, "amount": line.amount,
            "category": line.category, "ansvar": line.ansvar, "funksjon": line.funksjon, "art": line.art,
            "prosjekt": line.prosjekt}


@blueprint.route("/books/vouchers")
class Vouchers(MethodView):
    @requires("budget.delegate")
    @blueprint.arguments(schemas.VoucherQuerySchema, location="query")
    @blueprint.response(200, description="JSON as documented in docs/budget.md (the books)")
    def get(self, args):
        """One agency's voucher lines for a period (``format``: json, csv or xlsx), read from one
        snapshot, with the line count and control sum."""
        user = _user()
        with books.snapshot() as session:
            file = books.voucher_file(session, user.lab_id, args["agency_id"], args["period"])
            out = {"agency_id": file.agency.id, "period": file.period, "count": file.count,
                   "control_sum": file.control_sum, "exported": file.exported is not None,
                   "lines": [_line_out(line) for line in file.lines]}
            body = (books.voucher_csv(file) if args["format"] == "csv"
                    else books.voucher_xlsx(file) if args["format"] == "xlsx" else None)
        audit.record(AuditAction.BUDGET_EXPORT, actor=user, lab_id=user.lab_id, object_type="agency",
                     object_id=file.agency.id, summary={"period": file.period, "format": args["format"],
                                                        "lines": file.count})
        if body is None:
            return out
        return books.download(body, args["format"], file)


def _reconciliation_out(report) -> dict:
    names = ("period", "year", "delegated", "carried_in", "carried_out", "allocated", "returned", "reserved",
             "paid", "pool", "unused", "vouchers_count", "vouchers_sum", "balanced")
    return {"agency_id": report.agency.id, **{name: getattr(report, name) for name in names}}


@blueprint.route("/books/reconciliation")
class ReconciliationView(MethodView):
    @requires("budget.delegate")
    @blueprint.arguments(schemas.PeriodQuerySchema, location="query")
    @blueprint.response(200, description="JSON as documented in docs/budget.md (the books)")
    def get(self, args):
        """One agency's budget year at the end of a period, from the ledger, in øre: delegated,
        carried in and out, allocated, returned, reserved, paid, pool, unused; ``balanced`` when
        delegated + carried in − carried out = pool + unused + reserved + paid."""
        user = _user()
        with books.snapshot() as session:
            out = _reconciliation_out(books.reconcile(session, user.lab_id, args["agency_id"], args["period"]))
        audit.record(AuditAction.BUDGET_EXPORT, actor=user, lab_id=user.lab_id, object_type="agency",
                     object_id=out["agency_id"], summary={"period": out["period"], "format": "reconciliation"})
        return out


@blueprint.route("/books/exports")
class PeriodExports(MethodView):
    @requires("budget.delegate")
    @blueprint.response(200, description="JSON as documented in docs/budget.md (the books)")
    def get(self):
        """The periods marked exported (locked), newest first."""
        return [{"agency_id": r.agency_id, "period": r.period, "line_count": r.line_count,
                 "control_sum": r.control_sum, "exported_at": r.exported_at.isoformat()}
                for r in books.exports(current_user.lab_id)]

    @requires("budget.delegate")
    @blueprint.arguments(schemas.PeriodExportCreateSchema)
    @blueprint.response(200, description="JSON as documented in docs/budget.md (the books)")
    def post(self, data):
        """Mark a period exported for an agency: locked from now on (409 when it already is; 422
        when lines lack codes or the period has not begun)."""
        user = _user()
        row = ledger.run_with_retries(lambda: books.mark_exported(user.lab, actor=user, **data))
        return {"agency_id": row.agency_id, "period": row.period, "line_count": row.line_count,
                "control_sum": row.control_sum, "exported_at": row.exported_at.isoformat()}, 201


@blueprint.route("/year-ends")
class YearEnds(MethodView):
    @requires("budget.delegate")
    @blueprint.response(200, description="JSON as documented in docs/budget.md (the books)")
    def get(self):
        """The lab's closed budget years, with each agency's decision and what it moved."""
        return [_year_close_out(c) for c in books.year_closes(current_user.lab_id)]

    @requires("budget.delegate")
    @blueprint.arguments(schemas.YearEndCreateSchema)
    @blueprint.response(201, description="JSON as documented in docs/budget.md (the books)")
    def post(self, data):
        """Close a budget year (each agency with money in it needs a decision); 409 for a second
        year-end or while requests of the year wait for a decision."""
        user = _user()
        close = ledger.run_with_retries(lambda: books.close_year(user.lab, actor=user, **data))
        return _year_close_out(close), 201


def _year_close_out(close) -> dict:
    return {"year": close.year, "closed_at": close.closed_at.isoformat(),
            "agencies": [{"agency_id": a.agency_id, "unused": a.unused, "unpaid": a.unpaid,
                          "decision_reference": a.decision_reference, "carried": a.carried,
                          "returned": a.returned, "commitments_carried": a.commitments_carried,
                          "released": a.released} for a in close.agencies]}
