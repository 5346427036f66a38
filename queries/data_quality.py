"""Data-quality checks and import history: readers over queries/sql/dq_*.sql and import_*.sql.

Each check is a query that returns the failing rows (zero rows = pass), with `n_total`, the
exact number of failing rows counted in DuckDB before the row limit. The Data page shows each
count with the rows behind it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from data.import_read import LAST_CHANGE_SUFFIX
from queries import contracts, executor

MAX_ROWS = 1_000  # failing rows returned per check; the count is always exact


@dataclass(frozen=True)
class Check:
    key: str
    query: str  # queries/sql/<query>.sql
    title: str
    meaning: str  # what a failing row means and who should act


CHECKS = (
    Check(
        "missing_attribute_rows",
        "dq_missing_attribute_rows",
        "Missing attributes",
        "A lead without channel, campaign, region, segment or company drops out of every breakdown "
        "by that field. One row per lead and missing field; the team is the lead owner's.",
    ),
    Check(
        "out_of_order",
        "dq_out_of_order",
        "Events out of order",
        "A stage event dated before the lead was created, or a first entry dated before the first "
        "entry into an earlier stage. Kept as the source says; under the implied skip policy it "
        "counts as reached.",
    ),
    Check(
        "skipped_stages",
        "dq_skipped_stages",
        "Skipped stages",
        "A stage a lead passed without an event of its own. Stages before a lead's start (a "
        "Sales-sourced lead entering at SQL) are expected; the others are gaps in the record.",
    ),
    Check(
        "unknown_reasons",
        "dq_unknown_reasons",
        "Unknown reason codes",
        "An exit reason that funnel.toml does not list, so the drop-off cannot be charged to a "
        "team. Add the code to funnel.toml or fix it in the CRM.",
    ),
    Check(
        "no_owner",
        "dq_no_owner",
        "Leads without an owner",
        "Nobody is asked to act on these leads: no owner, or an owner the store does not know.",
    ),
    Check(
        "duplicate_leads",
        "dq_duplicate_leads",
        "Duplicate leads",
        "Leads sharing name and company (ignoring case): one person may be counted twice.",
    ),
    Check(
        "account_matches",
        "dq_account_matches",
        "Unresolved account matches",
        "A lead without an account id whose email domain or company name points to two or more "
        "accounts, or whose domain points to one account and its name to another. It is given no "
        "account (never guessed): add its account id in the CRM, or fix the names and domains of "
        "the accounts.",
    ),
    Check(
        "undated_exits",
        "dq_undated_exits",
        "Exits without a date",
        "A record whose status is an exit (Closed - Not Converted, say) that the export gives no "
        "date for. Dated by the record's last change (its LastModifiedDate): the exit may really "
        "be earlier. With no date at all: not counted as an exit, so the record counts as open. "
        "Import the status history (Salesforce's LeadHistory) to date them exactly.",
    ),
)


def _params(name: str, db: Path | None = None) -> dict:
    contract = contracts.current(db).effective()
    available = {
        "stage_keys": contract.stage_keys,
        "stage_rows": contracts.stage_rows(contract),
        "reason_keys": [r.key for r in contract.reason_codes],
        "exit_keys": list(contract.exit_keys),
        "last_change_suffix": LAST_CHANGE_SUFFIX,
        "max_rows": MAX_ROWS,
    }
    return executor.bind(name, available)


def check_rows(key: str, db: Path | None = None) -> pd.DataFrame:
    """The failing rows of one check (at most MAX_ROWS), with n_total = all failing rows.

    Columns depend on the check (see its .sql header); every check has n_total.
    """
    check = next((c for c in CHECKS if c.key == key), None)
    if check is None:
        raise KeyError(f"no data-quality check {key!r}")
    return executor.run(check.query, _params(check.query, db), db=db)


def summary(db: Path | None = None) -> pd.DataFrame:
    """One row per check, in CHECKS order.

    Columns: key, title, n_failing (failing rows), detail (a split of the count where one
    matters: gaps vs expected skips, people behind duplicate leads; else empty), meaning.
    """
    rows = []
    for c in CHECKS:
        df = check_rows(c.key, db=db)
        n = int(df["n_total"].iloc[0]) if len(df) else 0
        detail = ""
        if n and c.key == "skipped_stages":
            gaps = int(df["n_gaps"].iloc[0])
            detail = (
                f"{gaps:,} gaps in the record; {n - gaps:,} before a later-starting lead's start (expected)"
            )
        elif n and c.key == "duplicate_leads":
            detail = f"{int(df['n_groups'].iloc[0]):,} people recorded more than once"
        rows.append({"key": c.key, "title": c.title, "n_failing": n, "detail": detail, "meaning": c.meaning})
    return pd.DataFrame(rows)


def missing_attributes(db: Path | None = None) -> pd.DataFrame:
    """Missing attributes: one row per (field, team) with any lead missing it.

    Columns: field, team (the lead owner's team, or 'no owner'), n_missing, n_leads (leads of
    that team), missing_rate (n_missing / n_leads, 0-1).
    """
    return executor.run("dq_missing_attributes", db=db)


def import_history(db: Path | None = None) -> pd.DataFrame:
    """Every load, newest first. Columns: load_id, loaded_at, kind ('sample' or 'import'),
    description, n_rows_in, n_accepted, n_rejected, n_duplicate, is_reconciled."""
    return executor.run("import_history", db=db)


def has_import_issues(db: Path | None = None) -> bool:
    """True when the store has the importer's tables (a store that never had an import has not)."""
    df = executor.run_sql(
        "select count(*) as n from information_schema.tables where table_name = $name",
        {"name": "import_issues"},
        db=db,
    )
    return bool(df["n"].iloc[0])


def import_issues(load_id: str, db: Path | None = None) -> pd.DataFrame:
    """Rejected and flagged rows of one import, in file order (at most MAX_ROWS).

    Columns: row_number (header = row 1), column_name, severity ('rejected', 'flagged'),
    reason, raw (the row as read), n_total. Empty when the store has no import tables.
    """
    if not has_import_issues(db):
        return pd.DataFrame(columns=["row_number", "column_name", "severity", "reason", "raw", "n_total"])
    return executor.run("import_issues", {"load_id": str(load_id), "max_rows": MAX_ROWS}, db=db)
