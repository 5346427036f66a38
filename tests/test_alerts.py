"""Alerts (docs/design.md "Alerts"): the contract's rules checked on the last complete week,
shown on the pages and posted to a webhook, tested against a local HTTP server on 127.0.0.1 that
records what it receives.

Story (the default contract's rules: "MQL → SAL conversion fell" by 5 points or more, outside
the noise, at least 30 decided each week; "SLA breaches doubled"):
  2025-W10 (3-9 March): 40 leads become MQLs on Monday and Sales accepts every one on Tuesday:
           40 of 40 decided at MQL moved on, 100%.
  2025-W11 (10-16 March): 40 more MQLs on Monday; Sales accepts 10 and rejects 30 (not_a_fit)
           on Tuesday, all within the 48-hour SLA: 10 of 40 moved on, 25%.
  A lead on 18 March makes W11 the last complete week.
By hand: the conversion fell 75 points; two-proportion test: pooled 50/80 = 0.625, standard
error sqrt(0.625 * 0.375 * (1/40 + 1/40)) = 0.108253, z = 0.75 / 0.108253 = 6.9282, p = 4.3e-12:
outside the noise. No SLA breach in either week (0 against 0): quiet.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import http.server
import json
import threading
import time
from pathlib import Path

import pytest

from data import alert_hook
from data import contract as contract_mod
from data.contract import AlertRule, ContractError
from queries import alerts, cube
from reports import alerts as report
from tests import import_helpers, stories


def story() -> dict:
    leads = {}
    for i in range(40):
        leads[f"W10-{i}"] = {
            "events": [("lead", "2025-03-03 09:00"), ("mql", "2025-03-03 10:00"), ("sal", "2025-03-04 09:00")]
        }
    for i in range(40):
        last = ("sal", "2025-03-11 09:00") if i < 10 else ("rejected", "2025-03-11 09:00", "not_a_fit")
        leads[f"W11-{i}"] = {"events": [("lead", "2025-03-10 09:00"), ("mql", "2025-03-10 10:00"), last]}
    leads["LAST"] = {"events": [("lead", "2025-03-18 09:00")]}
    return leads


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    return stories.build(tmp_path_factory.mktemp("alerts") / "alerts.duckdb", story())


class Recorder:
    """A local webhook: records each POST's body; answers with `statuses` in turn (then 200),
    holding each answer until `release` is set when `hold` is on."""

    def __init__(self, statuses=(), delay: float = 0.0, hold: bool = False):
        self.bodies: list[dict] = []
        self.statuses = list(statuses)
        self.delay = delay
        self.release = threading.Event()
        self.hold = hold
        self.received = threading.Event()
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length", 0))
                recorder.bodies.append(json.loads(self.rfile.read(length)))
                recorder.received.set()
                if recorder.hold:
                    recorder.release.wait(120)
                if recorder.delay:
                    time.sleep(recorder.delay)
                status = recorder.statuses.pop(0) if recorder.statuses else 200
                try:
                    self.send_response(status)
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:  # the client gave up waiting (a timeout test)
                    pass

            def log_message(self, *args):  # quiet
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def log_entries(db: Path) -> list[dict]:
    path = alert_hook.log_path(db)
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture(params=["journeys", "rollup"])
def decisions_from(request, monkeypatch):
    """The week's decisions counted over the journeys, or summed from the rollup of every
    day's decisions (queries/cube.py HISTORY): the same numbers either way."""
    cube.clear()
    if request.param == "rollup":
        monkeypatch.setattr(cube, "WAIT", True)
    else:
        monkeypatch.setattr(cube, "answers", lambda *args: False)
    yield request.param
    cube.clear()


def test_the_conversion_alert_fires_on_the_hand_computed_week(db, decisions_from):
    result = alerts.evaluate(db=db)
    assert result.attrs["week_start"] == dt.date(2025, 3, 10)
    by_name = {r["name"]: r for _, r in result.iterrows()}
    fell = by_name["MQL → SAL conversion fell"]
    assert (fell["week"], fell["value"], fell["previous"], fell["n"], fell["n_previous"]) == (
        "2025-W11",
        0.25,
        1.0,
        40,
        40,
    )
    assert fell["change"] == pytest.approx(-0.75)
    assert fell["p_value"] == pytest.approx(4.3e-12, rel=0.05)
    assert (fell["fired"], fell["status"]) == (True, "fired")
    breaches = by_name["SLA breaches doubled"]
    assert (breaches["value"], breaches["previous"], breaches["fired"]) == (0, 0, False)
    # The sentence says the numbers.
    text = report.sentence(fell, contract_mod.load())
    assert "25.0% of 40 against 100.0% of 40 the week before (-75.0 pts; outside the noise" in text
    assert cube.ANSWERED["weekly_decisions"] == (decisions_from == "rollup")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (dict(min_n=41), "not checked: fewer than 41 in a week's base"),  # 40 decided each week
        (dict(threshold=0.8), "quiet"),  # fell 75 points, not 80
        (dict(comparison="below", threshold=0.3), "fired"),  # 25% is below 30%
        (dict(comparison="rose_by"), "quiet"),
    ],
)
def test_minimum_n_threshold_and_comparison(db, change, expected):
    rule = dataclasses.replace(contract_mod.load().alerts[0], **change)
    contract = dataclasses.replace(contract_mod.load(), alerts=(rule,))
    assert alerts.evaluate(db=db, contract=contract).iloc[0]["status"] == expected


def test_the_noise_test_holds_back_a_small_change(tmp_path):
    # 40 of 40 against 37 of 40 (a 7.5-point fall): two-proportion p = 0.077, within the noise,
    # so the rule with noise_test stays quiet; without the test it fires.
    leads = story()
    for i in range(10, 37):
        leads[f"W11-{i}"]["events"][-1] = ("sal", "2025-03-11 09:00")
    path = stories.build(tmp_path / "noise.duckdb", leads)
    row = alerts.evaluate(db=path).set_index("name").loc["MQL → SAL conversion fell"]
    assert row["p_value"] == pytest.approx(0.0774, abs=1e-3)
    assert row["status"] == "within the noise" and not row["fired"]
    rule = dataclasses.replace(contract_mod.load().alerts[0], noise_test=False)
    contract = dataclasses.replace(contract_mod.load(), alerts=(rule,))
    assert alerts.evaluate(db=path, contract=contract).iloc[0]["fired"]


def test_the_alert_is_posted_to_the_webhook_once(db, monkeypatch):
    with Recorder() as hook:
        monkeypatch.setenv(alert_hook.ENV_URL, hook.url)
        assert report.main(["--db", str(db), "--post", "--quiet"]) == 0
        assert len(hook.bodies) == 1
        body = hook.bodies[0]
        # Slack reads `text`; Teams' connectors read the same text of a MessageCard.
        assert body["@type"] == "MessageCard" and body["summary"].startswith(
            "Handoff: 1 alert fired for 2025-W11"
        )
        assert "MQL → SAL conversion fell (2025-W11)" in body["text"] and "25.0% of 40" in body["text"]
        # The same news is not posted twice (a second import, a scheduler's next run).
        assert report.main(["--db", str(db), "--post", "--quiet"]) == 0
        assert len(hook.bodies) == 1
    events = [e["event"] for e in log_entries(db)]
    assert "posted" in events and events[-1] == "not posted"


def test_a_failing_webhook_is_retried_and_logged(tmp_path):
    db = stories.build(tmp_path / "retry.duckdb", story())
    with Recorder(statuses=[500, 503]) as hook:
        _, posted = report.check(db, do_post=True, url=hook.url, backoff=(0, 0))
    assert posted is True and len(hook.bodies) == 3  # two failures, then taken
    attempts = [e for e in log_entries(db) if e["event"] == "post"]
    assert [(e["attempt"], e["status"], e["error"]) for e in attempts] == [
        (1, 500, "HTTP 500"),
        (2, 503, "HTTP 503"),
        (3, 200, None),
    ]


def test_a_webhook_that_times_out_is_retried_then_given_up_and_logged(tmp_path):
    db = stories.build(tmp_path / "timeout.duckdb", story())
    with Recorder(hold=True) as hook:
        _, posted = report.check(db, do_post=True, url=hook.url, timeout=0.2, backoff=(0, 0))
        assert posted is False and len(hook.bodies) == 3
    attempts = [e for e in log_entries(db) if e["event"] == "post"]
    assert len(attempts) == 3 and all(e["status"] is None and "timed out" in e["error"] for e in attempts)
    assert log_entries(db)[-1]["event"] == "gave up"
    # Nobody listening at all: refused, retried, logged; the command says so by its exit code.
    refused = "http://127.0.0.1:9/hook"  # the discard port: nothing listens on it here
    _, again = report.check(db, do_post=True, url=refused, backoff=(0, 0))
    assert again is False


def import_rows() -> list[str]:
    rows, n = [], 0
    for lead, data in story().items():
        for event in data["events"]:
            n += 1
            kind, when = event[0], event[1]
            reason = event[2] if len(event) > 2 else ""
            team = "sales" if kind in ("sal", "rejected") else "marketing"
            rows.append(f"E{n},{lead},,{kind},{when}:00,O-{team[0].upper()}1,{team},{reason},")
    return rows


def test_an_import_posts_the_alert_and_never_waits_for_the_webhook(tmp_path, monkeypatch):
    # The webhook holds its answer until the test lets it go: the import has returned before
    # that (it started the check in a process of its own), and the message arrives anyway.
    source = import_helpers.log_file(tmp_path, import_rows())
    with Recorder(hold=True) as hook:
        monkeypatch.setenv(alert_hook.ENV_URL, hook.url)
        report_ = import_helpers.run(
            tmp_path, source, contract_text=contract_mod.default_text(), contract_source="test"
        )
        assert report_.swapped and report_.ok
        assert not hook.release.is_set()  # the webhook has not answered anything yet
        assert hook.received.wait(120), "the alert never reached the webhook"
        body = hook.bodies[0]
        assert "MQL → SAL conversion fell (2025-W11)" in body["text"]
        hook.release.set()


def test_an_import_with_a_webhook_that_fails_still_completes(tmp_path, monkeypatch):
    source = import_helpers.log_file(tmp_path, import_rows())
    with Recorder(statuses=[500, 500, 500]) as hook:
        monkeypatch.setenv(alert_hook.ENV_URL, hook.url)
        done = import_helpers.run(tmp_path, source, contract_text=contract_mod.default_text())
        assert done.swapped and done.ok


def test_no_webhook_configured_means_no_process_and_no_post(tmp_path, monkeypatch):
    monkeypatch.delenv(alert_hook.ENV_URL, raising=False)
    monkeypatch.setattr(alert_hook, "secrets_files", lambda: [tmp_path / "none.toml"])
    assert alert_hook.webhook_url() is None
    assert alert_hook.after_import(tmp_path / "store.duckdb") is None
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('[alerts]\nwebhook_url = "https://hooks.example.com/T000/B000"\n')
    monkeypatch.setattr(alert_hook, "secrets_files", lambda: [secrets])
    assert alert_hook.webhook_url() == "https://hooks.example.com/T000/B000"


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"metric": "conversion", "comparison": "fell_by", "threshold": 0.05}, "missing key 'stage'"),
        ({"metric": "conversion", "stage": "won", "comparison": "fell_by", "threshold": 0.05}, "last stage"),
        ({"metric": "entries", "stage": "nope", "comparison": "rose_by", "threshold": 1}, "unknown stage"),
        (
            {"metric": "sla_breaches", "stage": "mql", "comparison": "rose_by", "threshold": 1},
            "watches the handoff",
        ),
        (
            {"metric": "conversion", "stage": "mql", "comparison": "fell_by", "threshold": 5},
            "share from 0 to 1",
        ),
        ({"metric": "revenue", "comparison": "fell_by", "threshold": 1}, "expected one of"),
        ({"metric": "entries", "stage": "mql", "comparison": "halved", "threshold": 1}, "expected one of"),
        ({"metric": "entries", "stage": "mql", "comparison": "rose_by", "threshold": -1}, "at least 0"),
    ],
)
def test_alert_rules_are_validated(rule, message):
    import tomllib

    raw = tomllib.loads(contract_mod.default_text())
    raw["alerts"] = [{"name": "x", **rule}]
    with pytest.raises(ContractError, match=message):
        contract_mod.parse(raw)


def test_a_contract_without_alerts_stays_valid_and_round_trips():
    import tomllib

    raw = tomllib.loads(contract_mod.default_text())
    raw.pop("alerts")
    plain = contract_mod.parse(raw)
    assert plain.alerts == ()
    full = contract_mod.load()
    assert contract_mod.loads(contract_mod.dumps(full)) == full
    assert full.alerts[1] == AlertRule("SLA breaches doubled", "sla_breaches", "rose_by", 1.0, None, 10, True)
