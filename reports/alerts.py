"""Alerts: the contract's rules checked on the last complete week, in words, and posted to a
webhook as a Slack- and Teams-compatible JSON message.

    python -m reports.alerts --db PATH [--week 2026-W43] [--post] [--json] [--quiet]

Prints every rule with its status (fired, quiet, within the noise, not checked and why). With
--post, the fired ones are sent to the configured webhook (data.alert_hook.webhook_url: the
HANDOFF_ALERT_WEBHOOK environment variable or `[alerts] webhook_url` in .streamlit/secrets.toml),
each attempt with a timeout and retried, every outcome logged beside the store
(<stem>.alerts.log, one JSON line each); a message already posted for the same week and numbers
is not posted again. Run it from a scheduler (cron, a systemd timer) to hear about a change
before the next meeting; the importer runs it after every import that changed the store.

Exit codes: 0 checked (and posted, or nothing to post); 2 bad arguments or no store; 3 the
webhook did not take the message after every attempt (logged).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import logging
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pandas as pd

from data import alert_hook
from data.contract import Contract
from queries import alerts, contracts, executor, weekly
from reports import format as f

log = logging.getLogger("handoff.alerts")

ATTEMPTS = 3
TIMEOUT_SECONDS = 10.0
BACKOFF_SECONDS = (1.0, 3.0)  # before the second and the third attempt


def checked(contract: Contract, monday: dt.date | None, call=None) -> pd.DataFrame | None:
    """The contract's rules checked on the week starting `monday` (None: the last complete one),
    as queries.alerts.evaluate returns them, the query run through `call` (the pages pass
    queries.cache.call; default: directly); None when the contract has no rules."""
    if not contract.alerts:
        return None
    return call(alerts.evaluate, monday) if call else alerts.evaluate(monday)


def _stage(contract: Contract, key: str | None) -> str:
    return f.stage(contract, key) if key else ""


def what(row, contract: Contract) -> str:
    """What a rule watches, in the contract's words."""
    if row["metric"] == "conversion":
        stage = contract.stage(row["stage"])
        nxt = contract.stages[stage.order] if stage.order < len(contract.stages) else None
        return f"{stage.label} → {nxt.label if nxt else 'next stage'} (decided records that moved on)"
    if row["metric"] == "entries":
        return f"entries into {_stage(contract, row['stage'])}"
    return "SLA breaches (handed over, no action within the SLA)"


def sentence(row, contract: Contract) -> str:
    """One alert as a sentence: the rule, this week's and last week's numbers, the change and
    the noise verdict (or why it was not checked)."""
    rate = row["metric"] == "conversion"
    if str(row["status"]).startswith("not checked"):
        return f"{row['name']} ({row['week']}): {row['status']}."
    if rate:
        now = f"{f.pct(row['value'])} of {f.whole(row['n'])}"
        before = f"{f.pct(row['previous'])} of {f.whole(row['n_previous'])}"
        change = f.points(row["change"])
    else:
        now, before, change = f.whole(row["value"]), f.whole(row["previous"]), f.signed_pct(row["change"])
    noise = (
        "no test"
        if pd.isna(row["p_value"])
        else f"{'outside' if row['p_value'] < alerts.ALPHA else 'within'} the noise, p = {row['p_value']:.3f}"
    )
    small = f", {f.SMALL_TEXT}" if min(row["n"], row["n_previous"]) < f.SMALL_N else ""
    return (
        f"{row['name']} ({row['week']}): {what(row, contract)} {now} against {before} the week before "
        f"({change}; {noise}{small})."
    )


def _slack_text(text: str) -> str:
    """Slack reads &, < and > as markup (links, mentions): escaped as its docs say."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def message(fired: pd.DataFrame, contract: Contract, store_name: str) -> dict:
    """The JSON message for the fired alerts: Slack's incoming webhooks read `text`; Microsoft
    Teams' connectors read the same `text` of a MessageCard (`@type`, `summary`, `title`)."""
    week = fired["week"].iloc[0] if len(fired) else ""
    lines = [f"• {sentence(r, contract)}" for _, r in fired.iterrows()]
    title = f"Handoff: {len(fired)} alert{'s' if len(fired) != 1 else ''} fired for {week} ({store_name})"
    text = _slack_text("\n".join([title, *lines]))
    return {
        "text": text,
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "summary": _slack_text(title),
        "title": _slack_text(title),
    }


def _write_log(path: Path, **entry) -> None:
    entry = {"at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), **entry}
    try:
        with path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(entry, ensure_ascii=False, default=str) + "\n")
    except OSError as exc:  # a log that cannot be written must not stop the check
        log.warning("alerts log %s not written: %s", path, exc)


def post(
    url: str,
    payload: dict,
    log_file: Path,
    attempts: int = ATTEMPTS,
    timeout: float = TIMEOUT_SECONDS,
    backoff: tuple[float, ...] = BACKOFF_SECONDS,
) -> bool:
    """POST `payload` as JSON to `url`, each attempt with `timeout` seconds, retried after a
    failure (an error status, a refused connection, a timeout) up to `attempts` times; every
    attempt's outcome is logged. Returns whether the webhook took it (a 2xx answer). Never raises."""
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    for attempt in range(1, attempts + 1):
        request = urllib.request.Request(
            url, data=body, method="POST", headers={"Content-Type": "application/json; charset=utf-8"}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 (configured URL)
                status = answer.status
        except urllib.error.HTTPError as exc:
            status, error = exc.code, f"HTTP {exc.code}"
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            status, error = None, f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
        else:
            error = None if 200 <= status < 300 else f"HTTP {status}"
        _write_log(log_file, event="post", attempt=attempt, of=attempts, status=status, error=error)
        if error is None:
            return True
        log.warning("alert webhook attempt %d of %d failed: %s", attempt, attempts, error)
        if attempt < attempts:
            time.sleep(backoff[min(attempt - 1, len(backoff) - 1)] if backoff else 0)
    return False


def _key(fired: pd.DataFrame) -> str:
    """The identity of a message: its week, rules and numbers (the same news is posted once)."""
    text = json.dumps(
        fired[["week", "name", "value", "previous", "n", "n_previous"]].values.tolist(), default=str
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def already_posted(log_file: Path, key: str) -> bool:
    try:
        lines = log_file.read_text(encoding="utf-8").splitlines()
    except OSError:
        return False
    for line in lines:
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if entry.get("event") == "posted" and entry.get("key") == key:
            return True
    return False


def check(
    db: Path,
    monday: dt.date | None = None,
    do_post: bool = False,
    url: str | None = None,
    **post_options,
) -> tuple[pd.DataFrame, bool | None]:
    """Evaluate the rules on the store at `db`; with `do_post`, post the fired ones to `url`
    (default: the configured webhook). Returns (the evaluation, posted: True / False after
    every attempt failed / None when nothing was posted)."""
    db = Path(db)
    contract = contracts.current(db).effective()
    result = alerts.evaluate(monday, db=db, contract=contract)
    log_file = alert_hook.log_path(db)
    fired = result[result["fired"]]
    _write_log(
        log_file,
        event="checked",
        week=result.attrs.get("week_start"),
        fired=list(fired["name"]),
        rules=len(result),
    )
    if not do_post or fired.empty:
        return result, None
    url = url or alert_hook.webhook_url()
    if not url:
        _write_log(log_file, event="not posted", reason="no webhook configured")
        return result, None
    key = _key(fired)
    if already_posted(log_file, key):
        _write_log(log_file, event="not posted", reason="already posted", key=key)
        return result, None
    ok = post(url, message(fired, contract, db.stem), log_file, **post_options)
    _write_log(log_file, event="posted" if ok else "gave up", key=key)
    return result, ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reports.alerts", description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, default=None, help="the store (default: $HANDOFF_DB)")
    parser.add_argument("--week", help="ISO week such as 2026-W43 (default: the last complete week)")
    parser.add_argument("--post", action="store_true", help="post the fired alerts to the webhook")
    parser.add_argument("--json", action="store_true", help="print the evaluation as JSON")
    parser.add_argument("--quiet", action="store_true", help="print nothing (a scheduler's run)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    db = Path(args.db) if args.db else executor.current_path()
    if not db.exists():
        print(f"error: no store at {db}", file=sys.stderr)
        return 2
    try:
        monday = weekly.parse_week(args.week) if args.week else None
    except weekly.WeekError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    result, posted = check(db, monday, do_post=args.post)
    if not args.quiet:
        contract = contracts.current(db).effective()
        if args.json:
            records = [
                {k: (None if pd.isna(v) else v) if not isinstance(v, str | bool) else v for k, v in r.items()}
                for r in result.to_dict("records")
            ]
            json.dump(records, sys.stdout, indent=2, ensure_ascii=False, default=str)
            sys.stdout.write("\n")
        else:
            if result.empty:
                print("The contract has no alert rules ([[alerts]]).")
            for _, r in result.iterrows():
                print(f"[{r['status']}] {sentence(r, contract)}")
            if posted is not None:
                print("posted to the webhook" if posted else "the webhook did not take it (see the log)")
    return 3 if posted is False else 0


if __name__ == "__main__":
    sys.exit(main())
