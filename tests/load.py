"""Load test: the whole team opens the dashboard at once, optionally while imports swap the store.

    .venv/bin/python -m tests.load                          # 20 sessions, 1,000,000 leads
    .venv/bin/python -m tests.load --imports 2              # the same with two imports during it
    .venv/bin/python -m tests.load --control                # negative control: an in-place overwrite
    .venv/bin/python -m tests.load --sessions 3 --leads 3000  # small (what the test suite runs)

    .venv/bin/python -m tests.load --no-warm --random-views # views no cache can have seen

Starts `streamlit run dashboard.py` on 127.0.0.1 (a free port, loopback only) over a copy of a
generated store and, as a deployment does before the meeting, runs the script health check and
waits until the server's cache warm-up (ui/warm.py) has finished (`--no-warm`: start cold). Then
it drives N concurrent sessions over Streamlit's own websocket protocol (the
protobuf messages the browser sends and receives, from `streamlit.proto`), not a browser: 20
headless Chromium pages need more than the machine's two cores just to draw, which would measure
the browser rather than the server. Each session opens Funnel health, changes the date filter,
opens two more pages, changing the filter on each: 3 first renders and 3 reruns per session.

With `--random-views` each session instead opens 3 views no warm-up or earlier session can have
computed, drawn from a seeded generator (`--seed`; every view is printed with `--show-views`): a
random page (Funnel health, Teams, Content or Pipeline) opened from a shared link whose URL holds
a random subset of the list filters (channel, region, segment, owner; one to three values each),
a custom date range of 2 to 52 weeks inside the store's dates and, on Funnel health, the flow view
one time in three. The rerun then picks a random breakdown attribute on Funnel health, or a date
preset on the other pages (with the link's list filters still applied).

A run's time is from the message that asks for it to the server's "script finished"; the first
render of the first page also includes opening the websocket. Bounded: a fixed number of
sessions and runs, a timeout per run and for the whole test; the server is stopped at the end.

Errors counted: an exception or error box on the page, a "store is busy" warning, a run that
does not finish in time, a closed connection. With `--imports N`, N sample builds (seeds 8, 7,
...) swap a new store in with data.store.replacing() during the load, the same atomic switch as
the importer; afterwards one session per store version records what each page shows, and every
run of the load must match the old or the new version exactly: a page that shows numbers from
both is counted as a mix. `--control` instead overwrites the live store in place with the other
store's bytes, a slice at a time (no atomic switch): the harness must then report errors. (A
plain read-write connection no longer makes a control: the dashboard keeps its read-only handle
on the live file, so such a writer cannot get the file at all.)

Prints errors, first-render and rerun p50/p95 (all and per page), the server's CPU time during
the load, its peak memory (VmHWM) and the machine's load average; exit status 1 if any error (0 for --control only if errors were seen).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime as dt
import hashlib
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
PAGES = ("health", "teams", "weekly")  # Funnel health (the default page) and two others
PRESETS = ("Last 90 days", "Year to date", "Last 30 days")  # the filter changes, in order
PRESET_LABEL = "Leads that started in"  # the frame's date filter (ui/filters.py), counting leads
BREAKDOWN_LABEL = "Break down by"  # Funnel health's breakdown attribute (pages/health.py)
RANDOM_PAGES = ("health", "teams", "content", "pipeline")  # the pages the sidebar filters apply to
RANDOM_LISTS = ("channel", "region", "segment", "owner")  # URL parameters (queries/filters.py LIST_FILTERS)
VIEWS_PER_SESSION = 3
BUSY = re.compile(r"being (updated|written)|is busy|try again", re.IGNORECASE)
RUN_TIMEOUT = 120.0  # seconds for one script run before it counts as an error
TOTAL_TIMEOUT = 900.0  # the whole load phase


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the process has used so far, from /proc; 0 if unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def peak_rss_mb(pid: int) -> float | None:
    """The process's peak resident memory (VmHWM) in MB, from /proc."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


WARM_LINE = re.compile(r"handoff: cache warm for store version \S+: .*")
WARM_TIMEOUT = 900.0  # seconds for the server's first cache warm-up (1M leads: about a minute)


@contextlib.contextmanager
def server(
    db: Path, log: Path, timeout: float = 120, warm: bool = True, health_check: bool = False
) -> Iterator[tuple[str, subprocess.Popen]]:
    """`streamlit run dashboard.py` on 127.0.0.1 with HANDOFF_DB=db; yields (host:port, process).

    With `warm`, as a deployment would be before the meeting: the script health check starts
    the server's cache warmer (ui/warm.py) and this waits until its first pass has finished."""
    port = free_port()
    env = {**os.environ, "HANDOFF_DB": str(db), "PYTHONPATH": str(ROOT), "HANDOFF_WARM": "1" if warm else "0"}
    cmd = [
        PYTHON,
        "-m",
        "streamlit",
        "run",
        "dashboard.py",
        "--server.headless=true",
        "--server.address=127.0.0.1",
        f"--server.port={port}",
        "--server.fileWatcherType=none",
        "--browser.gatherUsageStats=false",
        "--server.scriptHealthCheckEnabled=true",
    ]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {proc.returncode}; see {log}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                    if r.read() == b"ok":
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not answer within {timeout:.0f} s; see {log}")
            time.sleep(0.3)
        if warm:
            wait_until_warm(port, proc, log)
        elif health_check:
            # One run of the frame (dashboard.py), as a deployment's health check makes: until the
            # frame has once called st.navigation, Streamlit runs a page requested first without
            # it (ui/state.py run_in_frame), which a browser's reload hides and this client
            # does not. It computes the default view only, which no random view asks for.
            with urllib.request.urlopen(
                f"http://127.0.0.1:{port}/_stcore/script-health-check", timeout=300
            ) as r:
                r.read()
        yield f"127.0.0.1:{port}", proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_until_warm(port: int, proc: subprocess.Popen, log: Path) -> str:
    """Run the script once (Streamlit's script health check) so the warmer starts, then wait
    for its "cache warm" line in the server log; returns that line."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/script-health-check", timeout=300) as r:
        r.read()
    deadline = time.monotonic() + WARM_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}; see {log}")
        found = WARM_LINE.search(log.read_text(errors="replace"))
        if found:
            return found.group(0)
        time.sleep(0.5)
    raise RuntimeError(f"the cache warm-up did not finish within {WARM_TIMEOUT:.0f} s; see {log}")


# --- one session over the websocket --------------------------------------------------------------


@dataclasses.dataclass
class Run:
    """One script run as a session saw it."""

    session: int
    kind: str  # "first" (a page opened) or "rerun" (a filter changed)
    page: str
    preset: str
    seconds: float = 0.0
    errors: list[str] = dataclasses.field(default_factory=list)
    fingerprint: str = ""
    shown: dict = dataclasses.field(default_factory=dict, repr=False)  # what the page drew
    view: str = ""  # --random-views: the URL and the rerun's choice, as printed


class Session:
    """A Streamlit client: sends BackMsg rerun requests, reads ForwardMsgs until the run ends."""

    def __init__(self, address: str, number: int):
        self.address = address
        self.number = number
        self.ws = None
        self.query_string = ""
        self.pages: dict[str, tuple[str, str]] = {}  # url path -> (script hash, url path)
        self.page_hash = ""
        self.widgets: dict[str, object] = {}  # widget id -> WidgetState for the filters we set
        self.preset_id: str | None = None
        self.breakdown_id: str | None = None

    async def connect(self) -> None:
        import websockets

        self.ws = await websockets.connect(
            f"ws://{self.address}/_stcore/stream",
            subprotocols=["streamlit"],
            max_size=256 * 1024 * 1024,
            open_timeout=RUN_TIMEOUT,
        )

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()

    async def run(self, run: Run, page: str | None = None) -> Run:
        """Ask for a script run (of `page`, or the current page) and wait until it finishes."""
        from streamlit.proto.BackMsg_pb2 import BackMsg

        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = self.query_string
        if page is not None and page in self.pages:
            self.page_hash, state.page_name = self.pages[page]
        elif page is not None:  # a link to a page, before the server has listed its pages
            state.page_name = page
        state.page_script_hash = self.page_hash
        state.widget_states.widgets.extend(self.widgets.values())
        started = time.perf_counter()
        await self.ws.send(msg.SerializeToString())
        try:
            await asyncio.wait_for(self._read_run(run), RUN_TIMEOUT)
        except TimeoutError:
            run.errors.append(f"no answer within {RUN_TIMEOUT:.0f} s")
        except Exception as exc:  # a closed connection, a bad frame: the session is broken
            run.errors.append(f"{type(exc).__name__}: {exc}")
        run.seconds = time.perf_counter() - started
        return run

    async def _read_run(self, run: Run) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        shown: dict[tuple, str] = {}  # delta path -> what is drawn there (the last write wins)
        while True:
            raw = await self.ws.recv()
            fwd = ForwardMsg()
            fwd.ParseFromString(raw)
            kind = fwd.WhichOneof("type")
            if kind == "new_session":
                self.page_hash = fwd.new_session.page_script_hash
                shown.clear()  # a new run (also after an st.rerun()) draws the page afresh
            elif kind == "navigation":
                for p in fwd.navigation.app_pages:
                    path = p.url_pathname or "health"
                    self.pages[path] = (p.page_script_hash, p.url_pathname)
                self.page_hash = fwd.navigation.page_script_hash or self.page_hash
            elif kind == "page_info_changed":
                self.query_string = fwd.page_info_changed.query_string
            elif kind == "page_not_found":
                run.errors.append("page not found")
            elif kind == "session_event" and fwd.session_event.WhichOneof("type") == (
                "script_compilation_exception"
            ):
                run.errors.append("script compilation error")
            elif kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
                self._element(fwd.delta.new_element, tuple(fwd.metadata.delta_path), shown, run)
            elif kind == "script_finished":
                status = ForwardMsg.ScriptFinishedStatus.Name(fwd.script_finished)
                if status == "FINISHED_SUCCESSFULLY":
                    run.fingerprint = hashlib.sha256(repr(sorted(shown.items())).encode()).hexdigest()[:16]
                    run.shown = dict(shown)
                    return
                if status == "FINISHED_WITH_COMPILE_ERROR":
                    run.errors.append("compile error")
                    return
                # FINISHED_EARLY_FOR_RERUN: the page asked for a rerun; keep reading.

    def _element(self, el, path: tuple, shown: dict, run: Run) -> None:
        kind = el.WhichOneof("type")
        if kind == "exception":
            run.errors.append(f"exception: {el.exception.type}: {el.exception.message[:200]}")
        elif kind == "alert":
            body = el.alert.body
            if BUSY.search(body):  # the store-busy message, as a warning or an error box
                run.errors.append(f"busy: {body[:200]}")
            elif el.alert.format == 1:  # ERROR
                run.errors.append(f"error box: {body[:200]}")
            shown[path] = f"alert:{body}"
        elif kind == "metric":
            shown[path] = f"metric:{el.metric.label}={el.metric.body}|{el.metric.delta}"
        elif kind in ("markdown", "text", "heading"):
            shown[path] = f"{kind}:{getattr(el, kind).body}"
        elif kind == "dataframe":
            frame = type(el.dataframe)()
            frame.CopyFrom(el.dataframe)
            frame.ClearField("id")  # the widget id, not the data
            shown[path] = (
                "dataframe:" + hashlib.sha256(frame.SerializeToString(deterministic=True)).hexdigest()[:16]
            )
        elif kind == "plotly_chart":
            shown[path] = "plotly:" + hashlib.sha256(el.plotly_chart.spec.encode()).hexdigest()[:16]
        elif kind == "selectbox" and el.selectbox.label == PRESET_LABEL:
            self.preset_id = el.selectbox.id
        elif kind == "selectbox" and el.selectbox.label == BREAKDOWN_LABEL:
            self.breakdown_id = el.selectbox.id

    def set_preset(self, label: str) -> None:
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        if self.preset_id is None:
            raise RuntimeError("the date filter was not drawn")
        self.widgets[self.preset_id] = WidgetState(id=self.preset_id, string_value=label)

    def set_breakdown(self, label: str) -> None:
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        if self.breakdown_id is None:
            raise RuntimeError("the breakdown choice was not drawn")
        self.widgets[self.breakdown_id] = WidgetState(id=self.breakdown_id, string_value=label)


async def scenario(address: str, number: int, runs: list[Run], jitter: float, think: float = 0.0) -> None:
    """One person: open Funnel health, change the date filter; two more pages, the same.
    Arrives within `jitter` seconds and reads each page for up to `think` seconds."""
    rng = random.Random(number)
    await asyncio.sleep(rng.uniform(0, jitter))
    session = Session(address, number)
    started = time.perf_counter()
    try:
        await session.connect()
    except Exception as exc:
        runs.append(Run(number, "first", PAGES[0], "default", errors=[f"connect: {exc}"]))
        return
    try:
        preset = "Last full quarter"
        for i, page in enumerate(PAGES):
            first = Run(number, "first", page, preset)
            await session.run(first, page=None if i == 0 else page)
            if i == 0:
                first.seconds = time.perf_counter() - started  # includes the websocket handshake
            runs.append(first)
            if first.errors and session.preset_id is None:
                return  # nothing to click on: the session is over
            await asyncio.sleep(rng.uniform(0, think))
            preset = PRESETS[i % len(PRESETS)]
            session.set_preset(preset)
            runs.append(await session.run(Run(number, "rerun", page, preset)))
            await asyncio.sleep(rng.uniform(0, think))
    except Exception as exc:
        runs.append(Run(number, "rerun", "?", "?", errors=[f"{type(exc).__name__}: {exc}"]))
    finally:
        await session.close()


@dataclasses.dataclass(frozen=True)
class View:
    """One random view (--random-views): a page opened from a link, then one change on it."""

    page: str
    query: str  # the link's query string: list filters, a custom range, maybe the flow view
    rerun: str  # the label picked on the rerun: a breakdown (Funnel health) or a date preset
    label: str  # what is printed


@dataclasses.dataclass(frozen=True)
class StoreValues:
    """What a random view picks from: the store's filter values and its dates."""

    lists: dict[str, list[str]]  # URL parameter -> the values the store holds
    first: dt.date
    last: dt.date
    breakdowns: list[str]  # Funnel health's breakdown choices, as labelled


RERUN_PRESETS = ("Last 90 days", "Year to date", "Last 30 days", "All data", "Last full month")


def store_values(db: Path) -> StoreValues:
    """The filter values and date bounds of a store, read as the sidebar reads them."""
    from queries import options
    from queries.filters import ATTRIBUTES
    from reports import health_view

    choices = options.filter_choices(db)
    first, last = options.date_bounds(db)
    return StoreValues(
        lists={name: sorted(choices.get(name, {})) for name in RANDOM_LISTS},
        first=first,
        last=last,
        breakdowns=[health_view.by_label(a) for a in ATTRIBUTES],
    )


def random_views(rng: random.Random, values: StoreValues, n: int) -> list[View]:
    """n views drawn from `rng`: each a page, a link with a random subset of the list filters
    (each filter in two of five views, one to three of its values), a custom range of 2 to 52
    weeks, the flow view one time in three on Funnel health, and the rerun's choice."""
    from urllib.parse import urlencode

    views = []
    span = max((values.last - values.first).days, 0)
    for _ in range(n):
        page = rng.choice(RANDOM_PAGES)
        params: list[tuple[str, str]] = []
        for name in RANDOM_LISTS:
            held = values.lists[name]
            if held and rng.random() < 0.4:
                params += [(name, v) for v in rng.sample(held, min(len(held), rng.randint(1, 3)))]
        days = min(span, rng.randint(14, 364))
        start = values.first + dt.timedelta(days=rng.randint(0, span - days))
        params += [("preset", "custom"), ("start", start.isoformat())]
        params += [("end", (start + dt.timedelta(days=days)).isoformat())]
        if page == "health" and rng.random() < 1 / 3:
            params.append(("view", "flow"))
        rerun = rng.choice(values.breakdowns) if page == "health" else rng.choice(RERUN_PRESETS)
        query = urlencode(params)
        views.append(View(page, query, rerun, f"{page}?{query} then {rerun!r}"))
    return views


async def random_scenario(
    address: str, number: int, runs: list[Run], jitter: float, think: float, views: list[View]
) -> None:
    """One person opening each of `views` from its link (a new browser tab each: the URL is
    read when a session starts), then making the view's one change."""
    rng = random.Random(number)
    await asyncio.sleep(rng.uniform(0, jitter))
    for view in views:
        session = Session(address, number)
        session.query_string = view.query
        started = time.perf_counter()
        try:
            await session.connect()
            first = Run(number, "first", view.page, "link", view=view.label)
            await session.run(first, page=None if view.page == "health" else view.page)
            first.seconds = time.perf_counter() - started  # includes the websocket handshake
            runs.append(first)
            if first.errors:
                continue
            await asyncio.sleep(rng.uniform(0, think))
            if view.page == "health":
                session.set_breakdown(view.rerun)
            else:
                session.set_preset(view.rerun)
            runs.append(await session.run(Run(number, "rerun", view.page, view.rerun, view=view.label)))
            await asyncio.sleep(rng.uniform(0, think))
        except Exception as exc:
            runs.append(
                Run(number, "rerun", view.page, "?", errors=[f"{type(exc).__name__}: {exc}"], view=view.label)
            )
        finally:
            await session.close()


async def load(
    addresses: list[str], sessions: int, jitter: float, think: float, views: list[list[View]] | None = None
) -> list[Run]:
    runs: list[Run] = []
    if views is not None:
        tasks = [
            random_scenario(addresses[n % len(addresses)], n, runs, jitter, think, views[n])
            for n in range(sessions)
        ]
    else:
        tasks = [scenario(addresses[n % len(addresses)], n, runs, jitter, think) for n in range(sessions)]
    try:
        await asyncio.wait_for(asyncio.gather(*tasks), TOTAL_TIMEOUT)
    except TimeoutError:
        runs.append(Run(-1, "rerun", "?", "?", errors=[f"load did not end within {TOTAL_TIMEOUT:.0f} s"]))
    return runs


# --- stores, imports, the control writer ----------------------------------------------------------


def store_code_digest() -> str:
    """A digest of the code that writes a store (data/, as the store itself records it in
    store_meta journey_code): a kept store built by other code may lack a derived table the
    pages now read, so it is not reused."""
    from data import incremental

    return incremental.code_digest()[:10]


def ensure_store(path: Path, leads: int, seed: int) -> Path:
    """A sample store built once per (size, seed) and the code that writes stores, kept for
    later runs; stores of the same size and seed kept for other code are removed."""
    if not path.exists():
        for old in path.parent.glob(f"store-{leads}-seed{seed}-*.duckdb"):
            old.unlink()
        subprocess.run(
            [
                PYTHON,
                "-m",
                "data.store",
                "sample",
                "--leads",
                str(leads),
                "--seed",
                str(seed),
                "--db",
                str(path),
            ],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return path


def swap_in(copy_of: Path, live: Path) -> None:
    """Put a copy of a store in place of the live one atomically (what replacing() does)."""
    tmp = live.with_name(live.name + ".load-swap")
    shutil.copyfile(copy_of, tmp)
    os.replace(tmp, live)


def start_imports(live: Path, leads: int, seeds: list[int], delay: float) -> subprocess.Popen:
    """A process that, after `delay` s, builds each seed's sample into the live store in turn
    (data.store.build_sample: a new file beside the live one, then an atomic os.replace),
    leaving the edits file beside it alone, as an import does."""
    code = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from data import store\n"
        f"time.sleep({delay})\n"
        f"for seed in {seeds!r}:\n"
        # An import never touches the team's edits file: neither does this stand-in for one.
        f"    t = time.perf_counter(); store.build_sample(Path({str(live)!r}), {leads}, seed, edits_afresh=False)\n"
        "    print(f'import seed {seed}: {time.perf_counter() - t:.1f} s', flush=True)\n"
    )
    return subprocess.Popen(
        [PYTHON, "-c", code], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE
    )


def start_control_writer(live: Path, delay: float, hold: float, other: Path) -> subprocess.Popen:
    """A process that, after `delay` s, overwrites the live store in place with another store's
    bytes (the same file, no atomic switch), a slice at a time over `hold` seconds: what a copy
    over the live file does. The dashboard's readers keep the live file open between queries,
    so a plain read-write connection cannot even get it (the control of an earlier harness);
    an overwrite needs no lock, and readers must see it."""
    code = (
        "import os, time\n"
        f"time.sleep({delay})\n"
        f"data = open({str(other)!r}, 'rb').read()\n"
        "slices = 40\n"
        "step = len(data) // slices + 1\n"
        "print('control: overwriting the store in place', flush=True)\n"
        f"with open({str(live)!r}, 'r+b') as f:\n"
        "    for i in range(slices):\n"
        "        f.seek(i * step)\n"
        "        f.write(data[i * step:(i + 1) * step])\n"
        "        f.flush()\n"
        "        os.fsync(f.fileno())\n"
        f"        time.sleep({hold} / slices)\n"
        "    f.truncate(len(data))\n"
    )
    return subprocess.Popen([PYTHON, "-c", code], cwd=ROOT, stdout=subprocess.PIPE)


# --- figures --------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


@dataclasses.dataclass
class Result:
    runs: list[Run]
    errors: list[str]
    mixes: int
    first_p50: float
    first_p95: float
    rerun_p50: float
    rerun_p95: float
    peak_mb: float | None
    seconds: float


def summarise(runs: list[Run], references: dict[tuple, list[dict]] | None, peak, seconds) -> Result:
    errors = [f"session {r.session} {r.page} ({r.kind}): {e}" for r in runs for e in r.errors]
    mixes = 0
    if references is not None:
        for r in runs:
            if r.errors:
                continue
            known = references.get((r.page, r.preset), [])
            if r.shown not in known:
                mixes += 1
                # How much of the page agrees with each version: a real mix agrees with both
                # in part; a page that agrees with neither points at the harness instead.
                agree = [sum(r.shown.get(k) == v for k, v in ref.items()) for ref in known]
                errors.append(
                    f"session {r.session} {r.page} ({r.kind}, {r.preset}): the page matches neither "
                    f"the old nor the new store (a mix; elements agreeing with each version: {agree} "
                    f"of {len(r.shown)})"
                )
    first = [r.seconds for r in runs if r.kind == "first" and not r.errors]
    rerun = [r.seconds for r in runs if r.kind == "rerun" and not r.errors]
    return Result(
        runs,
        errors,
        mixes,
        percentile(first, 50),
        percentile(first, 95),
        percentile(rerun, 50),
        percentile(rerun, 95),
        peak,
        seconds,
    )


async def reference(address: str) -> dict[tuple, dict]:
    """What one lone session sees for each (page, preset) on the store that is live now."""
    runs: list[Run] = []
    await scenario(address, 10_000, runs, jitter=0)
    bad = [e for r in runs for e in r.errors]
    if bad:
        raise RuntimeError(f"the reference session failed: {bad[:3]}")
    return {(r.page, r.preset): r.shown for r in runs}


def run_load(
    *,
    leads: int,
    sessions: int,
    imports: int = 0,
    control: bool = False,
    workdir: Path,
    jitter: float = 10.0,
    think: float = 3.0,
    import_delay: float = 3.0,
    control_hold: float = 20.0,
    servers: int = 1,
    warm: bool = True,
    random_views_seed: int | None = None,
    show_views: bool = False,
    say=print,
) -> Result:
    """Build (or reuse) the stores, start the server, run the sessions; see the module docstring."""
    workdir.mkdir(parents=True, exist_ok=True)
    seeds = [7, 8]
    stores = {
        seed: ensure_store(workdir / f"store-{leads}-seed{seed}-{store_code_digest()}.duckdb", leads, seed)
        for seed in seeds
    }
    live = workdir / "live.duckdb"
    swap_in(stores[7], live)
    # The sample's targets live in the edits file beside it (data/edits.py): the live store's too.
    from data import edits

    if edits.path_for(stores[7]).exists():
        shutil.copyfile(edits.path_for(stores[7]), edits.path_for(live))
    helper = None
    with contextlib.ExitStack() as stack:
        # More than one server: what a reverse proxy with sticky sessions in front of one
        # Streamlit process per core gives (docs/deploy.md); sessions are dealt out in turn.
        started_servers = [
            stack.enter_context(
                server(
                    live,
                    workdir / f"streamlit-{i}.log",
                    warm=warm,
                    health_check=random_views_seed is not None,
                )
            )
            for i in range(servers)
        ]
        addresses = [a for a, _ in started_servers]
        procs = [p for _, p in started_servers]
        say(
            f"server {', '.join(addresses)} (pid {', '.join(str(p.pid) for p in procs)}), store {live} "
            f"({leads:,} leads), {sessions} sessions arriving within {jitter:g} s, reading up to "
            f"{think:g} s between clicks"
        )
        for i in range(servers) if warm else ():
            found = WARM_LINE.search((workdir / f"streamlit-{i}.log").read_text(errors="replace"))
            say(f"  before the load: {found.group(0) if found else 'no warm-up line'}")
        views = None
        if random_views_seed is not None:
            values = store_values(live)
            rng = random.Random(random_views_seed)
            views = [random_views(rng, values, VIEWS_PER_SESSION) for _ in range(sessions)]
            say(
                f"random views: seed {random_views_seed}, {VIEWS_PER_SESSION} per session, "
                f"{len({v.label for vs in views for v in vs})} different of {sessions * VIEWS_PER_SESSION}"
            )
            for n, vs in enumerate(views) if show_views else ():
                for v in vs:
                    say(f"  session {n}: {v.label}")
        if imports:
            helper = start_imports(live, leads, [seeds[(i + 1) % 2] for i in range(imports)], import_delay)
        elif control:
            helper = start_control_writer(live, delay=import_delay, hold=control_hold, other=stores[8])
        started = time.perf_counter()
        cpu_before = sum(cpu_seconds(p.pid) for p in procs)
        runs = asyncio.run(load(addresses, sessions, jitter, think, views))
        seconds = time.perf_counter() - started
        say(
            f"server CPU during the load: {sum(cpu_seconds(p.pid) for p in procs) - cpu_before:.1f} s "
            f"in {seconds:.1f} s"
        )
        if helper is not None:
            out, _ = helper.communicate(timeout=600)
            for line in (out or b"").decode().splitlines():
                if line.startswith(("import", "control")):  # not DuckDB's progress bar
                    say(f"  {line}")
            if helper.returncode:
                raise RuntimeError(f"the import/control process failed with {helper.returncode}")
        references = None
        if imports:
            # What each version shows, seen by a lone session after the load: every run of the
            # load must be exactly one of these.
            references = {}
            for seed in seeds:
                swap_in(stores[seed], live)
                for a in addresses:
                    for key, shown in asyncio.run(reference(a)).items():
                        references.setdefault(key, []).append(shown)
        peaks = [peak_rss_mb(p.pid) or 0.0 for p in procs]
        peak = sum(peaks)
        if servers > 1:
            say(f"peak memory per server (MB): {', '.join(f'{x:.0f}' for x in peaks)}")
    return summarise(runs, references, peak, seconds)


def report(result: Result, say=print) -> None:
    n_first = sum(r.kind == "first" for r in result.runs)
    n_rerun = sum(r.kind == "rerun" for r in result.runs)
    say(f"runs: {n_first} first renders, {n_rerun} reruns in {result.seconds:.1f} s")
    say(
        f"errors: {len(result.errors)}" + (f" (of which mixed pages: {result.mixes})" if result.mixes else "")
    )
    for e in result.errors[:10]:
        say(f"  {e}")
    say(f"first render p50 {result.first_p50:.2f} s, p95 {result.first_p95:.2f} s")
    say(f"rerun        p50 {result.rerun_p50:.2f} s, p95 {result.rerun_p95:.2f} s")
    for page in dict.fromkeys(r.page for r in result.runs if r.page in (*PAGES, *RANDOM_PAGES)):
        for kind in ("first", "rerun"):
            times = [r.seconds for r in result.runs if r.page == page and r.kind == kind and not r.errors]
            if times:
                say(
                    f"  {page:8} {kind:6} p50 {percentile(times, 50):.2f} s, p95 {percentile(times, 95):.2f} s"
                )
    peak = f"{result.peak_mb:.0f} MB" if result.peak_mb else "unknown"
    say(f"server peak memory (VmHWM, all server processes): {peak}")
    say(f"load average (1, 5, 15 min): {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.load", description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=20, help="concurrent sessions (default 20)")
    parser.add_argument("--leads", type=int, default=1_000_000, help="store size (default 1,000,000)")
    parser.add_argument("--imports", type=int, default=0, help="sample builds swapped in during the load")
    parser.add_argument(
        "--control", action="store_true", help="overwrite the store in place instead (no atomic switch)"
    )
    parser.add_argument(
        "--jitter", type=float, default=10.0, help="sessions arrive within this many seconds (default 10)"
    )
    parser.add_argument(
        "--think",
        type=float,
        default=3.0,
        help="each person reads a page up to this many seconds (default 3)",
    )
    parser.add_argument(
        "--servers", type=int, default=1, help="Streamlit processes, sessions dealt out in turn"
    )
    parser.add_argument(
        "--no-warm",
        action="store_true",
        help="start the load at once, without the server's cache warm-up (a cold server)",
    )
    parser.add_argument(
        "--random-views",
        action="store_true",
        help="each session opens random views (filters, custom ranges, breakdowns, the flow view)",
    )
    parser.add_argument(
        "--seed", type=int, default=None, help="--random-views: the seed (default: from the clock)"
    )
    parser.add_argument("--show-views", action="store_true", help="--random-views: print every view")
    parser.add_argument("--import-delay", type=float, default=5.0, help="seconds before the first import")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp") / f"handoff-load-{os.getuid()}")
    args = parser.parse_args(argv)
    if not 1 <= args.sessions <= 50:
        parser.error("--sessions: 1 to 50 (the machine is shared)")
    if args.imports and args.control:
        parser.error("--imports and --control are separate runs")
    if args.random_views and (args.imports or args.control):
        parser.error("--random-views is a run of its own (the import check compares fixed views)")
    seed = None
    if args.random_views:
        seed = args.seed if args.seed is not None else int(time.time()) % 100_000
    result = run_load(
        leads=args.leads,
        sessions=args.sessions,
        imports=args.imports,
        control=args.control,
        workdir=args.workdir,
        jitter=args.jitter,
        think=args.think,
        import_delay=args.import_delay,
        servers=args.servers,
        warm=not args.no_warm,
        random_views_seed=seed,
        show_views=args.show_views,
    )
    report(result)
    if args.control:
        ok = bool(result.errors)
        print(
            "negative control: "
            + ("errors detected, as expected" if ok else "NO ERRORS DETECTED (harness blind)")
        )
        return 0 if ok else 1
    return 1 if result.errors else 0


if __name__ == "__main__":
    sys.exit(main())
