"""A funnel contract proposed from the data: the team's own stages, in their own words and order.

Input is what an export says about its records: for each record, the stage (or status) names
it entered and when, in any language or encoding, plus what the mapping knows of outcomes (the
values a CRM marks won or lost, such as Salesforce's IsWon/IsClosed). Output is a contract the
team confirms or edits (order, labels, owners, exits) before anything is written, with a
plain-language account of each decision (`Proposal.notes`):

- **stages**: every name that looks like a step of the journey, ordered by when records
  usually reach it (the median days from a record's first stage entry; ties by count), labelled
  as the data spells it, keyed by a plain ASCII form of the name;
- **won**: the name the mapping marks won, else one that reads as won ("Closed Won", "Cerrada
  ganada", "Gewonnen", ...), becomes the last stage;
- **exits**: names the mapping marks lost, or that read as lost, rejected, disqualified or
  recycled, become exits of that kind (lost is an outcome: win rate = won / (won + lost));
- **window**: the longest time from a record's first entry to an outcome, rounded up to whole
  months (30 days) so the window covers every outcome the data holds; no window past two years.

Nothing here reads a file or the store: data/importer.py (an export) and data.contract's
command line (the store) gather the observations.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
import statistics
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from data import contract as contract_mod
from data.contract import Change, Contract, Exit, Stage

# Words that say what a stage or status name means, in the languages CRMs are set up in most.
# Matched on the name's plain lower-case ASCII form: a word start ("ganad" in "cerrada ganada"),
# or a whole word where it ends in "$" ("won$" in "closed won", not in "wonderful").
WON_WORDS = ("won$", "ganad", "ganhad", "gagne", "gewonn", "vint[oa]$", "customer$", "cliente$", "signed$")
LOST_WORDS = ("lost$", "perdid", "perdu", "verloren", "pers[oa]$", "churn")
EXIT_WORDS = {
    "disqualified": (
        "disqualif",
        "unqualif",
        "not convert",
        "no convert",
        "descalific",
        "no calific",
        "nicht qualif",
        "junk",
        "spam",
        "invalid",
    ),
    "rejected": ("reject", "rechaz", "rejet", "abgelehnt", "declined"),
    "recycled": ("recycl", "nurtur", "recicl", "back to marketing"),
}
MQL_WORDS = ("mql", "marketing qualified", "marketingqualified")
MAX_WINDOW_DAYS = 730
DEFAULT_WINDOW_DAYS = 180


_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


@functools.lru_cache(maxsize=1 << 14)
def plain(text: str) -> str:
    """'Cerrada Ganada ' -> 'cerrada ganada': lower-case ASCII, single spaces. Cached: it is
    called for every row's stage name, and a file has few."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return " ".join(_NOT_ALNUM.sub(" ", folded.lower()).split())


def base_key(text: str) -> str:
    """The contract key a name is proposed under (before making it unique): plain ASCII with
    '_', starting with a letter. The importer matches a name to a stage by it too, so a stage
    proposed from 'Prospección' (or an id such as 3206386937) is found under any label."""
    base = plain(text).replace(" ", "_")[:36] or "stage"
    if not base[0].isalpha():
        base = "s_" + base
    if base in contract_mod.RESERVED_KEYS:
        base += "_stage"
    return base


def key_for(text: str, taken: set[str]) -> str:
    """A contract key for a name: plain ASCII with '_', starting with a letter, unique."""
    base = base_key(text)
    key, n = base, 2
    while key in taken:
        key, n = f"{base[:36]}_{n}", n + 1
    taken.add(key)
    return key


def _reads_as(name: str, words: Iterable[str]) -> bool:
    text = plain(name)
    patterns = (rf"\b{w[:-1]}\b" if w.endswith("$") else rf"\b{w}" for w in words)
    return any(re.search(pattern, text) for pattern in patterns)


def meaning(name: str) -> str:
    """'won', 'lost', an exit kind, or 'stage' for a name, from its words alone."""
    if _reads_as(name, LOST_WORDS):
        return "lost"
    if _reads_as(name, WON_WORDS):
        return "won"
    for kind, words in EXIT_WORDS.items():
        if _reads_as(name, words):
            return kind
    return "stage"


@dataclass
class Observations:
    """What an export says about its records' stages, gathered row by row."""

    names: Counter = field(default_factory=Counter)  # plain name -> rows naming it
    spelling: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))  # plain -> raw forms
    # record -> name -> first: read through `firsts`, which adds the entries still `pending`
    _firsts: dict[str, dict[str, dt.datetime]] = field(default_factory=lambda: defaultdict(dict))
    undated: Counter = field(default_factory=Counter)  # plain name -> records in it with no date
    grains: dict[str, str] = field(default_factory=dict)  # plain name -> grain of the file naming it
    won: set[str] = field(default_factory=set)  # plain names the source marks won
    lost: set[str] = field(default_factory=set)  # plain names the source marks lost (closed, not won)
    # First entries still to add, in order (a file read in bulk groups them in SQL:
    # data/import_bulk.py). Added when `firsts` is first read, so a proposal that needs only
    # the names (the default funnel) never builds a dict entry per record.
    pending: list[Callable[[dict], None]] = field(default_factory=list, repr=False, compare=False)

    @property
    def firsts(self) -> dict[str, dict[str, dt.datetime]]:
        """record -> name -> when it first entered it."""
        while self.pending:
            self.pending.pop(0)(self._firsts)
        return self._firsts

    def mark(self, name: str, outcome: str) -> None:
        """The source says `name` is a won or lost status (Salesforce's IsWon and IsClosed on an
        opportunity's current stage), without a dated entry of its own."""
        p = plain(name) or name.casefold()
        (self.won if outcome == "won" else self.lost).add(p)

    def add(
        self, record: str, name: str, at: dt.datetime | None, outcome: str | None = None, grain: str = "lead"
    ) -> None:
        """One row: `record` entered stage `name` at `at` (None: no date, e.g. an open
        opportunity still in its first stage); `outcome` 'won'/'lost' when the source says;
        `grain`: what the record is (a lead, or an opportunity)."""
        name = (name or "").strip()
        if not name:
            return
        p = plain(name) or name.casefold()
        self.names[p] += 1
        # A name files of both grains use (a lead's status and a deal's stage) is the lead's.
        if self.grains.get(p) != "lead":
            self.grains[p] = grain
        record = f"{grain}:{record}"
        self.spelling[p][name] += 1
        if outcome == "won":
            self.won.add(p)
        elif outcome == "lost":
            self.lost.add(p)
        if at is None:
            self.undated[p] += 1
            return
        seen = self.firsts[record]
        if p not in seen or at < seen[p]:
            seen[p] = at


@dataclass
class Proposal:
    contract: Contract
    notes: list[str]  # one sentence per decision, for the person who confirms it
    counts: dict[str, int]  # contract key -> records that entered it (dated)
    names: dict[str, str]  # plain name in the data -> contract key (for the mapping)
    intro: str = "A funnel proposed from your export."
    # exit key -> records that entered it (dated), as `counts` for stages
    exit_counts: dict[str, int] = field(default_factory=dict)

    def toml(self) -> str:
        header = (
            f"{self.intro} Check each stage's order, label and owner,\n"
            "which names are exits (and of which kind), and the window; edit freely, then apply.\n\n"
            + "\n".join(self.notes)
        )
        return contract_mod.dumps(self.contract, header=header)


def _label(obs: Observations, p: str) -> str:
    return obs.spelling[p].most_common(1)[0][0]


def propose(
    obs: Observations,
    *,
    grain: str = "lead",
    name: str = "Our funnel",
    today: dt.date | None = None,
    teams: tuple[str, ...] = ("marketing", "sales"),
) -> Proposal:
    """The contract these observations suggest. `grain` says what a record is ("lead": a
    person, "opportunity": a deal), which decides the noun and who owns the moves."""
    if not obs.names:
        raise contract_mod.ContractError("no stage or status names in the data: nothing to propose")
    notes: list[str] = []
    kinds: dict[str, str] = {}
    for p in obs.names:
        if p in obs.won:
            kinds[p] = "won"
        elif p in obs.lost:
            kinds[p] = "lost"
        else:
            kinds[p] = meaning(p)
    won = [p for p, k in kinds.items() if k == "won"]
    if len(won) > 1:  # several "won" names: the most used is the outcome, the others stages
        won.sort(key=lambda p: -obs.names[p])
        for p in won[1:]:
            kinds[p] = "stage"
        notes.append(f"Several names read as won; '{_label(obs, won[0])}' (the most used) is the won stage.")
        won = won[:1]

    # Order: median days from each record's first entry to its entry into the stage.
    offsets: dict[str, list[float]] = defaultdict(list)
    for seen in obs.firsts.values():
        start = min(seen.values())
        for p, at in seen.items():
            offsets[p].append((at - start).total_seconds() / 86400)
    dated = {p for seen in obs.firsts.values() for p in seen}
    # A status only ever seen without a date (where an open record stands now) cannot be
    # counted as a stage entry: it stays a status of open records, listed in the notes.
    undated_only = sorted(
        (p for p, k in kinds.items() if k == "stage" and p not in dated), key=lambda p: -obs.names[p]
    )
    if undated_only:
        notes.append(
            "Open statuses with no date, counted as open records rather than stages: "
            + ", ".join(f"'{_label(obs, p)}' ({obs.names[p]:,})" for p in undated_only)
            + "."
        )
    open_stages = [p for p, k in kinds.items() if k == "stage" and p in dated]

    # Files of both grains (a lead's statuses and its opportunity's stages): each record's days
    # count from its own first entry, so a lead's stages come first, then the opportunity's.
    mixed = len({obs.grains.get(p, grain) for p in kinds if kinds[p] in ("stage", "won")}) > 1

    def position(p: str) -> tuple:
        days = offsets.get(p)
        rank = (0 if obs.grains.get(p, grain) == "lead" else 1) if mixed else 0
        return (rank, statistics.median(days) if days else math.inf, -obs.names[p], p)

    open_stages.sort(key=position)
    ordered = open_stages + won
    if not won:
        notes.append(
            "No name reads as won: the furthest stage is the last one and no win rate can be shown "
            "until a won stage is named."
        )
    if len(ordered) < 2:
        raise contract_mod.ContractError(
            "the data names fewer than two stages: a funnel needs at least two (an entry stage and a later one)"
        )

    taken: set[str] = set()
    keys = {p: key_for(_label(obs, p), taken) for p in ordered}
    counts = {keys[p]: sum(1 for seen in obs.firsts.values() if p in seen) for p in ordered}
    owner = "sales" if grain == "opportunity" and not mixed else None
    handoff = (
        next((p for p in open_stages[:-1] if _reads_as(p, MQL_WORDS)), None) if grain == "lead" else None
    )
    stages = []
    for i, p in enumerate(ordered, start=1):
        last = i == len(ordered)
        stage_owner = None
        if not last:
            if owner:
                stage_owner = owner
            elif handoff is not None:
                stage_owner = "marketing" if open_stages.index(p) < open_stages.index(handoff) else "sales"
            else:
                stage_owner = "sales"
        days = offsets.get(p)
        when = f", usually {statistics.median(days):.0f} days after the first" if days and i > 1 else ""
        undated = f"; {obs.undated[p]:,} more are in it with no date" if obs.undated.get(p) else ""
        stages.append(
            Stage(
                order=i,
                key=keys[p],
                label=_label(obs, p),
                definition=(
                    f"Proposed from the export: records entered '{_label(obs, p)}' "
                    f"({counts[keys[p]]:,} records{when}{undated}). Write what it means for your team."
                ),
                owner=stage_owner,
                expected_days=None,
                grain=obs.grains.get(p, grain) if mixed else grain,
            )
        )
    if mixed:
        notes.append(
            "Lead statuses first, then the opportunity's stages: a lead goes on through the opportunity "
            "it became (its converted opportunity or its contact role)."
        )
    notes.append(
        "Stages in the order records usually reach them: " + " → ".join(s.label for s in stages) + "."
    )

    exits = []
    exit_counts: dict[str, int] = {}
    for p, kind in sorted(kinds.items(), key=lambda kv: (-obs.names[kv[0]], kv[0])):
        if kind in ("stage", "won"):
            continue
        label = _label(obs, p)
        exits.append(
            Exit(
                key_for(label, taken),
                label,
                f"Proposed from the export: '{label}' ends a record's journey ({kind}).",
                kind,
            )
        )
        keys[p] = exits[-1].key
        exit_counts[exits[-1].key] = sum(1 for seen in obs.firsts.values() if p in seen)
    if exits:
        notes.append(
            "Exits: "
            + "; ".join(f"'{e.label}' ({e.kind})" for e in exits)
            + ". Lost is an outcome in the win rate."
        )

    window = _window(obs, {keys[p] for p in won} | {e.key for e in exits if e.kind == "lost"}, keys)
    if window is None:
        notes.append(
            f"Window: outcomes come more than {MAX_WINDOW_DAYS} days after the first stage: no window."
        )
    elif window == DEFAULT_WINDOW_DAYS and not any(obs.firsts.values()):
        notes.append(f"Window: {window} days (no dated outcomes to measure).")
    else:
        notes.append(
            f"Window: {window} days, the longest time from a record's first stage to its outcome "
            "in this data, rounded up to whole months; change it if your cycle is longer."
        )
    if handoff:
        notes.append(f"Handoff: '{_label(obs, handoff)}' is where Marketing hands records to Sales.")
    today = today or dt.date.today()
    contract = Contract(
        name=name,
        stages=tuple(stages),
        exits=tuple(exits),
        reason_codes=(),
        changelog=(Change(today, "Proposed from the export and confirmed on import."),),
        teams=teams,
        conversion_window_days=window,
        skip_policy="implied",
        handoff_stage=keys[handoff] if handoff else None,
        handoff_sla_hours=48.0,
    )
    contract_mod.loads(contract_mod.dumps(contract))  # the proposal is always a valid contract
    return Proposal(contract, notes, counts, dict(keys), exit_counts=exit_counts)


def _window(obs: Observations, outcome_keys: set[str], keys: dict[str, str]) -> int | None:
    """Days covering every dated outcome: max(first entry -> outcome), rounded up to 30."""
    longest = None
    for seen in obs.firsts.values():
        start = min(seen.values())
        for p, at in seen.items():
            if keys.get(p) in outcome_keys:
                days = (at - start).total_seconds() / 86400
                longest = days if longest is None else max(longest, days)
    if longest is None:
        return DEFAULT_WINDOW_DAYS
    rounded = max(30, int(math.ceil(longest / 30) * 30))
    return None if rounded > MAX_WINDOW_DAYS else rounded


def from_default(tracked: Iterable[str], today: dt.date | None = None) -> Proposal:
    """The default contract with the stages the data does not record marked so: for an export
    mapped onto the default stage keys (an event log, a lifecycle-dates export)."""
    base = contract_mod.load()
    tracked = set(tracked)
    missing = [s.label for s in base.stages if s.key not in tracked]
    notes = ["The export uses the default funnel's stages."]
    if missing:
        notes.append("Not recorded in this data (shown as such, never counted): " + ", ".join(missing) + ".")
    del today
    return Proposal(base, notes, {}, {})


def extend_default(obs: Observations, known: dict[str, str], today: dt.date | None = None) -> Proposal:
    """The default contract, extended by the names of its own an export adds to the default
    stages it uses (a HubSpot portal's custom lifecycle stage, named only by its id, say).

    `known` maps plain names to the default's keys. An unknown name that reads as won or lost
    relabels the default's won stage or lost exit (so the data's own word for it is the label);
    one that reads as another exit relabels the default exit of that kind, or becomes an exit;
    any other is a new stage, placed among the default stages by when records usually reach it
    (an opportunity's own stage: before won), owned by the team that owns the stage before it."""
    import dataclasses

    base = contract_mod.load()
    unknown = [p for p in obs.names if p not in known]
    offsets: dict[str, list[float]] = defaultdict(list)
    for seen in obs.firsts.values():
        start = min(seen.values())
        for p, at in seen.items():
            offsets[known.get(p, p)].append((at - start).total_seconds() / 86400)

    def median(name: str) -> float | None:
        days = offsets.get(name)
        return statistics.median(days) if days else None

    notes = ["The export uses the default funnel's stages, and names of its own."]
    stages = list(base.stages)
    exits = list(base.exits)
    taken = set(base.stage_keys) | set(base.exit_keys)
    names = dict(known)
    relabelled: set[str] = set()
    new_stages = []
    for p in sorted(unknown, key=lambda q: -obs.names[q]):
        label = _label(obs, p)
        kind = "won" if p in obs.won else "lost" if p in obs.lost else meaning(p)
        if kind == "won" and stages[-1].key not in relabelled:
            stages[-1] = dataclasses.replace(stages[-1], label=label)
            relabelled.add(stages[-1].key)
            names[p] = stages[-1].key
            notes.append(f"'{label}' is the won stage ({stages[-1].key}).")
            continue
        if kind in EXIT_KINDS_OF_WORDS:
            same = next((i for i, e in enumerate(exits) if e.kind == kind and e.key not in relabelled), None)
            if same is not None:
                exits[same] = dataclasses.replace(exits[same], label=label)
                relabelled.add(exits[same].key)
                names[p] = exits[same].key
            else:
                exits.append(
                    Exit(key_for(label, taken), label, f"Proposed from the export: '{label}' ({kind}).", kind)
                )
                names[p] = exits[-1].key
            notes.append(f"'{label}' is an exit ({kind}).")
            continue
        new_stages.append((p, label))
    lead_stage_seen = any(obs.grains.get(p) == "lead" for p in known)
    for p, label in sorted(new_stages, key=lambda t: (median(t[0]) is None, median(t[0]) or 0, t[0])):
        grain = obs.grains.get(p, "lead")
        m = median(p)
        at = len(stages) - 1  # before won, by default
        if grain == "lead" or not lead_stage_seen:
            # Right after the last stage of its grain that records usually reach before it.
            earlier = [
                i
                for i, st in enumerate(stages[:-1])
                if st.grain == grain and (mm := median(st.key)) is not None and m is not None and mm <= m
            ]
            at = earlier[-1] + 1 if earlier else 0
        previous = stages[at - 1] if at > 0 else None
        key = key_for(label, taken)
        names[p] = key
        stages.insert(
            at,
            Stage(
                order=0,
                key=key,
                label=label,
                definition=f"Proposed from the export: records entered '{label}'. Write what it means for your team.",
                owner=(previous.owner if previous else stages[0].owner) or "sales",
                expected_days=None,
                grain=grain,
            ),
        )
        where = (
            f"after '{previous.label}'" if previous else "first"
        ) + f", by when records usually reach it ({obs.names[p]:,} rows name it)"
        notes.append(
            f"'{label}' is not one of the default stages: a stage of its own, {where}. Give it a label."
        )
    stages = [dataclasses.replace(st, order=i) for i, st in enumerate(stages, start=1)]
    stages[-1] = dataclasses.replace(stages[-1], owner=None)
    del today
    contract = dataclasses.replace(base, stages=tuple(stages), exits=tuple(exits))
    contract_mod.loads(contract_mod.dumps(contract))  # always a valid contract
    counts = {
        k: sum(1 for seen in obs.firsts.values() if any(names.get(p) == k for p in seen))
        for k in contract.stage_keys
    }
    exit_counts = {
        k: sum(1 for seen in obs.firsts.values() if any(names.get(p) == k for p in seen))
        for k in contract.exit_keys
    }
    tracked = {names[p] for p in obs.names if p in names}
    missing = [st.label for st in contract.stages if st.key not in tracked]
    if missing:
        notes.append("Not recorded in this data (shown as such, never counted): " + ", ".join(missing) + ".")
    return Proposal(contract, notes, counts, names, exit_counts=exit_counts)


EXIT_KINDS_OF_WORDS = ("lost", "rejected", "recycled", "disqualified")


def revise(contract: Contract, con) -> Proposal:
    """The store's contract in force, revised by its data: stages its events never record are
    marked `recorded = false`, and the window is measured from its outcomes. `con` reads the
    store (data.store.reading)."""
    import dataclasses

    tracked = contract.tracked if contract.tracked is not None else frozenset(contract.stage_keys)
    stages = tuple(dataclasses.replace(s, recorded=s.recorded and s.key in tracked) for s in contract.stages)
    notes = []
    missing = [s.label for s in stages if not s.recorded]
    if missing:
        notes.append("Not recorded in this data (shown as such, never counted): " + ", ".join(missing) + ".")
    outcome_keys = [contract.stages[-1].key, *contract.exit_keys_of("lost")]
    row = con.execute(
        """
        with
        events as (select * from events),
        per_record as (
            select
                lead_id,
                min(occurred_at) filter (where list_contains($stage_keys, event_type)) as first_at,
                max(occurred_at) filter (where list_contains($outcome_keys, event_type)) as outcome_at
            from events
            group by lead_id
        )
        select max(date_diff('second', first_at, outcome_at)) / 86400.0 from per_record
        """,
        {"stage_keys": contract.stage_keys, "outcome_keys": outcome_keys},
    ).fetchone()
    window = contract.conversion_window_days
    if row and row[0] is not None:
        rounded = max(30, int(math.ceil(row[0] / 30) * 30))
        window = None if rounded > MAX_WINDOW_DAYS else rounded
        notes.append(
            f"Window: {'none' if window is None else f'{window} days'}: the longest time from a record's "
            f"first stage to its outcome here is {row[0]:.0f} days (the contract says "
            f"{contract.conversion_window_days or 'none'})."
        )
    revised = dataclasses.replace(
        contract.with_tracked(None, None), stages=stages, conversion_window_days=window, sla_recorded=None
    )
    notes = notes or ["The contract in force fits the data."]
    return Proposal(revised, notes, {}, {}, intro="The store's contract, revised by its data.")
