"""The table: printed at the end of a run and written to docs/benchmarks.md."""

from __future__ import annotations

import math


class NotAvailable(Exception):
    """The feature to measure is not in this version of the app; the table says so."""


# What would fix a missed target, shown under the table only for the targets that were missed.
FIXES = {
    "family_api_rps": "The read returns a summary of the family (members, latest enrolment, current team and "
                      "consents, themes, the latest overall level and its trend, the number of overdue actions, "
                      "the next meeting): it reads the last two assessments' levels, never the ratings' levels or "
                      "notes, in a fixed number of statements whatever the history (the SQL statements row). "
                      "What is left per request is the sign-in (token, user, roles, lab), the gate, the audit "
                      "insert and its seal; levers: session + user + roles + lab in one statement, and more "
                      "cores or hosts.",
    "family_api_floor": "The read itself is one statement; around it the app adds the sign-in (the token with "
                        "its user, roles and lab: one statement), the gate (the family and its team: one), the "
                        "audit insert and its seal (three), the pool's liveness ping, and Flask, flask-smorest's "
                        "marshmallow dump and SQLAlchemy's per-statement work (profiled on the default "
                        "installation: a third of the time is waiting on PostgreSQL). Fewer round trips around "
                        "the read are the lever.",
    "family_page_floor": "Profiled on the default installation, about 40 % of the page is its render (the "
                         "floor), a third loading its data as ORM objects (the latest meetings with their "
                         "attendees, the open actions, the budget panel) and the rest the request around it "
                         "(session, user and roles, the gate, the audit insert and seal, the commit). Loading the "
                         "lists as plain rows, and a summary-first page (fewer meetings and actions, with links "
                         "to the full lists), are the levers.",
    "family_page_p99": "At 16 busy connections a request waits for the ones queued before it, so p99 is about "
                       "16 ÷ throughput: under 100 ms needs some 160 pages/s from these two cores, a few ms of "
                       "server time per page against the in-process time in the server-time row. Less server "
                       "time per page (see that row) and more cores or hosts are what moves it; threads do not "
                       "(2 workers × 4 threads served the API read at the rate of 2 sync workers: the cores "
                       "are busy, not waiting).",
    "family_api_p99": "As for the family page: p99 is queueing behind the throughput; the API read does less "
                      "template work, so fewer round trips (see the API read row) are the lever.",
    "my_families_p99": "The list's audit events are one multi-row INSERT (audit.record_for_families), so the "
                       "page is a fixed number of statements; p99 is queueing behind the throughput, as for the "
                       "family page. Its 40 audit events (the INSERT and the seal's UPDATE of the same rows) are "
                       "about a third of its SQL time on the default installation; less server time per page "
                       "and more cores or hosts are what moves it.",
    "my_families_floor": "Besides its render, the list is its summaries' aggregate queries (levels, due dates, "
                         "actions, meetings: one statement each) and the audit event of every listed family: a "
                         "40-row INSERT and the seal's 40-row UPDATE, about a third of its SQL time on the default "
                         "installation (the rows' five indexes and the append-only triggers, server side).",
    "my_tasks_floor": "As for Mine familier, plus the caseload (consent gaps, budget left, the approval queue) "
                      "and the newest notifications: some 17 statements, with one audit event per listed family.",
    "outcome_report": "Move remaining per-row work into the aggregate SQL, add the missing index the plan "
                      "shows (EXPLAIN ANALYZE), or materialise the per-enrolment intake/latest levels.",
    "outcome_report_large_lab": "As for the one-lab figure above, and the time grows with the lab's families. "
                                "Over the extra lab (half of the installation's payments) each statement about "
                                "money scans the payments again (spend_request joined to its ledger transfers, "
                                "some 300 ms each in EXPLAIN) and the money-to-movement statement looks up the "
                                "family's level at every payment (a subplan per payment, 150 000 loops, about half "
                                "of its 4 s). Keeping the level at each payment with the payment, the paid "
                                "selection once per reading, or computing a long selection ahead on the batch "
                                "queue (as `velferdslab report-publish` does for the default selection) are the "
                                "levers.",
    "outcome_report_large_lab_read_back": "A reading of a kept report is one lookup of its rows plus the page: "
                                          "the summary's live figures (money left over every family of the lab) "
                                          "and the rendering are what is left.",
    "progress_pdf": "The time is WeasyPrint's, not the app's (the ratio to WeasyPrint alone holds), and it grows "
                    "with the table cells. The report covers the last six months by default; trim what it "
                    "lists in that period (the actions, the journey table's perspectives) or render it ahead "
                    "of the meeting on the batch queue.",
    "approvals_rate": "Each approval locks the family's accounts and the audit chain head at commit; with 2 "
                      "sync workers the rate is bounded by per-request server time. More workers (on more "
                      "cores or hosts), fewer statements per approval, or sealing the audit chain asynchronously "
                      "would raise it.",
    "audit_overhead": "audit.record flushes one INSERT per event and the commit seals the chain under the "
                      "head's row lock (two more statements); batching the seal or a lighter INSERT lowers it.",
    "audit_verify": "PostgreSQL builds each row's canonical text while Python hashes the batch before it (the "
                    "next batch is fetched by a thread), so verify runs at about the rate of reading the rows "
                    "alone (the floor); below the target, the server's text building is the bound: verifying "
                    "ranges in parallel (one per core, seeded by signed checkpoints) raises it.",
    "sql_approval": "The requests tried were all refused (422: the probe's family had spent its money in an "
                    "earlier run on this installation, --reuse), so the count is of a refusal; generate the "
                    "installation again.",
    "sql_family_page": "A collection is loaded lazily in a loop somewhere on the page; load it with one query.",
}


def _number(value: float | None, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if unit in ("statements", "problems") or (isinstance(value, int)):
        return f"{value:,.0f}".replace(",", " ")
    if abs(value) >= 1000:
        return f"{value:,.0f}".replace(",", " ")
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.1f}"


def _count(n: int) -> str:
    return f"{n:,}".replace(",", " ")


def _ratio(figure) -> str:
    if figure.ratio is None:
        return "–"
    if figure.ratio_label == "%":
        return f"{figure.ratio * 100:.0f} %"
    return f"{figure.ratio:.2f}×"


def _verdict(figure) -> str:
    if figure.passed is None:
        return "n/a" if figure.value is not None else "–"
    return "pass" if figure.passed else "**miss**"


def rows(figures) -> list[list[str]]:
    out = []
    for f in figures:
        value = f"{_number(f.value, f.unit)} {f.unit}".strip() if f.value is not None else (f.note or "–")
        unit = f.floor_unit or f.unit
        floor = f"{_number(f.floor, unit)} {unit} ({f.floor_label})".strip() if f.floor is not None else "–"
        # one line per cell: a failure's message may hold several (a table row must not)
        out.append([" ".join(c.split()) for c in (f.label, value, floor, _ratio(f), f.target or "–", _verdict(f))])
    return out


HEADER = ["figure", "value", "floor (same run)", "ratio", "target", "verdict"]


def table(figures) -> str:
    data = [HEADER] + [[c.replace("**", "") for c in r] for r in rows(figures)]
    widths = [min(60, max(len(r[i]) for r in data)) for i in range(len(HEADER))]
    lines = []
    for n, r in enumerate(data):
        lines.append("  ".join(c[:60].ljust(w) for c, w in zip(r, widths, strict=True)))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown(ctx: dict) -> str:
    scale, figures = ctx["scale"], ctx.get("figures", [])
    gen, machine, facts = ctx.get("generation", {}), ctx.get("machine", {}), ctx.get("facts", {})
    counts = gen.get("counts", {})
    large = gen.get("large_lab_counts", {})
    out = ["# Benchmarks", "",
           "Written by `make bench` (`python -m bench`); do not edit by hand — run it again. Every figure sits next",
           "to a floor measured in the same run on the same machine, because these machines are noisy and only",
           "ratios travel.", "",
           *(["**This run is at a reduced scale** (`--small`): the figures published for issue 19 need a fresh "
              "default-scale run (`make bench`).", ""] if scale.name != "default" else []),
           f"- **Date**: {ctx['started_at']:%Y-%m-%d %H:%M} UTC; run took {ctx.get('total_seconds', 0) / 60:.1f} min"
           + (" (measurements only: the installation was built by an earlier `--keep` run, described below)"
              if ctx.get("reused") else ""),
           f"- **Other work on the machine**: load average {ctx.get('load_before', '?')} when the run started, "
           f"{ctx.get('load_after', '?')} when it ended (on {machine.get('cores')} cores: the excess is other "
           "processes, which slows every figure and its floor alike)",
           f"- **Machine**: {machine.get('cores')} cores ({machine.get('cpu', '?')}), "
           f"{machine.get('memory_mib', 0) / 1024:.0f} GiB memory, {machine.get('system', '')}, "
           f"Python {machine.get('python', '')}",
           f"- **PostgreSQL** {facts.get('postgresql', '?')} on the same machine (settings: "
           + ", ".join(f"{k} {v}" for k, v in sorted(facts.get("settings", {}).items())) + ")",
           f"- **Scale**: `{scale.name}` — {scale.labs} labs, {_count(scale.families)} families, "
           f"{scale.years} years of history, seed {ctx['seed']}"
           + (f", and one extra lab of {_count(large['family'])} families for the one-lab outcome report figure"
              if large.get("family") else "")
           + f"; database {facts.get('database_bytes', 0) / 2**30:.1f} GiB",
           f"- **Load**: {ctx.get('load_tool', '?')} on loopback, {ctx['connections']} connections, "
           f"{ctx['seconds']:g} s per run after a warm-up until every worker has served "
           f"{ctx.get('steady', '?')} requests on its database connection (steady state); gunicorn with "
           f"{ctx['workers']} sync workers "
           "(one per core), production configuration; the load generator shares the 2 cores with the server "
           "and PostgreSQL",
           "", "## Figures", "", "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    out += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows(figures)]
    notes = [f for f in figures if f.note and f.value is not None]
    if notes:
        out += ["", "Details:", ""] + [f"- *{f.label}*: {f.note}" for f in notes]
    missed = [f for f in figures if f.passed is False]
    if missed:
        out += ["", "## Missed targets and what would fix them", ""]
        out += [f"- *{f.label}*: {_number(f.value, f.unit)} {f.unit} against {f.target}. "
                f"{FIXES.get(f.key, '')}" for f in missed]
    absent = [f for f in figures if f.value is None]
    if absent:
        out += ["", "## Not measured in this run", ""] + [f"- *{f.label}*: {f.note}" for f in absent]
    out += ["", "## The installation", "",
            f"Generated in {gen.get('seconds', {}).get('total', 0):.0f} s with COPY "
            f"(migrations {gen.get('seconds', {}).get('migrate', 0):.0f} s; families, teams, history and budgets "
            f"{gen.get('seconds', {}).get('families_budgets', 0):.0f} s; "
            + (f"the extra lab {gen.get('seconds', {}).get('large_lab', 0):.0f} s; " if large else "")
            + f"audit trail {gen.get('seconds', {}).get('audit_trail', 0):.0f} s), dates relative to "
            f"{gen.get('today', '?')}."
            + (" The extra lab (the one-lab outcome report figure) has the same history per family as the others "
               "and no audit trail of its own; its rows are counted in the table and listed apart." if large else ""),
            "", "| table | rows |" + (" of which the extra lab |" if large else ""),
            "|---|---|" + ("---|" if large else "")]
    for table in ("lab", "user_account", "family", "family_member", "team_membership", "consent", "meeting",
                  "journey_assessment", "theme_rating", "goal", "action", "spend_request", "spend_decision",
                  "ledger_account", "ledger_transfer", "audit_event"):
        if table in counts:
            out.append((f"| {table} | {counts[table]:,} |" + (f" {large.get(table, 0):,} |" if large else ""))
                       .replace(",", " "))
    consistency = gen.get("consistency", {})
    ledger = "BROKEN" if consistency.get("ledger_problems") else \
        "balanced (every balance equals its transfers, each lab sums to zero, none out of bounds)"
    out += ["", f"Checked after loading with the app's own verifiers: ledger {ledger}; "
            f"audit chain {'valid' if consistency.get('chain_ok') else 'BROKEN'} over "
            f"{_count(consistency.get('chain_checked', 0))} events."]
    sizes = ctx.get("sizes", {})
    if sizes:
        out += ["", "Table sizes (rows, with indexes) — the basis of the estimates in `docs/scaling.md`:", "",
                "| table | rows | size | bytes per row |", "|---|---|---|---|"]
        for table, (n, size) in sizes.items():
            out.append(f"| {table} | {n:,} | {size / 2**20:,.0f} MiB | {size / max(n, 1):,.0f} |".replace(",", " "))
    out += ["", "Run it yourself: `make bench` (default scale with its extra lab of 10 000 families, some 40 minutes "
            "on 2 busy cores), `make bench BENCH_ARGS=--small` (five to ten minutes). See `python -m bench --help`.",
            ""]
    return "\n".join(out)
