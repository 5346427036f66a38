"""The filters every view takes, validated before any SQL runs.

A `Filters` value is frozen and hashable, so it keys the result cache as it is. Its `params()`
are the bound parameters shared by every funnel query.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

from data.contract import GRAINS, SKIP_POLICIES, Contract

MAX_LIST = 200  # more values than this in one filter is not a real selection
MAX_TEXT = 200
# "No conversion window" reaches SQL as a window longer than any CRM's history, so every query
# keeps one exact rule (reached in time = on or before start + window, and by the as-of date).
NO_WINDOW_DAYS = 36_500
NO_WINDOW = 0  # Filters.window_days = 0: no window (all time), whatever the contract says


class FilterError(ValueError):
    """A filter value is not acceptable; the message names it and says what is expected."""


# Lead attributes a view may filter or break down by. Identifiers never come from input: a
# requested attribute is looked up here and only the mapped column name reaches SQL.
ATTRIBUTES = {
    "channel": "channel",
    "campaign": "campaign",
    "region": "region",
    "segment": "segment",
    "owner": "owner_id",
    "team": "owner_team",
    # From lookup files (docs/import.md, "Lookup files"): the owner's manager and office, the
    # account's sector and size.
    "manager": "manager",
    "office": "office",
    "sector": "sector",
    "size": "account_size",
}


# The list filters: the attribute each one filters on (a name of ATTRIBUTES, as the URL and the
# options say it) -> the Filters field and bound $parameter that carry its values. The sidebar,
# the URL, the options (filter_options.sql's list_filter_values) and Filters.params all follow
# this; the SQL predicate is the macro queries/sql/macros/lead_filters.sql. Adding a list
# filter: a line here with its Filters field, and a line in that macro (docs/design.md
# "Referenced SQL").
LIST_FILTERS = {"channel": "channels", "region": "regions", "segment": "segments", "owner": "owners"}


def list_filter_params(lists: dict) -> dict:
    """The bound parameters of list filters ({field: values}): $<field>, the values as a list that
    is never null (an empty one when nothing is picked), and $all_<field>, true when nothing is
    picked (every value passes). The macro lead_filters.sql reads `($all_x or list_contains($x, col))`,
    which means the same on DuckDB, ClickHouse and Spark (neither of the last two has a null
    list)."""
    params = {}
    for name, values in lists.items():
        params[name] = list(values or ())
        params[f"all_{name}"] = not params[name]
    return params


def attribute_column(name: str) -> str:
    """The column for an allowed attribute name; refuses anything else before SQL runs."""
    try:
        return ATTRIBUTES[name]
    except (KeyError, TypeError):
        raise FilterError(f"cannot group by {name!r}; choose one of {sorted(ATTRIBUTES)}") from None


def _texts(name: str, values) -> tuple[str, ...]:
    if values is None:
        return ()
    if isinstance(values, str):
        values = (values,)
    values = tuple(values)
    if len(values) > MAX_LIST:
        raise FilterError(f"{name}: at most {MAX_LIST} values, got {len(values)}")
    for v in values:
        if not isinstance(v, str) or len(v) > MAX_TEXT:
            raise FilterError(f"{name}: each value must be text of at most {MAX_TEXT} characters")
    return tuple(sorted(set(values)))


@dataclass(frozen=True)
class Filters:
    """What a view is computed over. Dates are inclusive calendar days (UTC)."""

    start: dt.date
    end: dt.date
    channels: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()
    owners: tuple[str, ...] = ()
    as_of: dt.datetime | None = None  # None: the latest event in the store
    window_days: int | None = None  # None: the contract's window; 0 (NO_WINDOW): no window
    skip_policy: str | None = None  # None: the contract's skip policy
    grain: str | None = (
        None  # "lead" or "opportunity": what one counted record is; None: the contract's default
    )
    # Which owner per-owner views count: None, the record's own owner; else a role a file
    # names (an SDR, a closing rep: record_owners).
    owner_role: str | None = None
    extra: tuple = field(default=(), compare=True)  # reserved for later filters

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            if isinstance(value, dt.datetime):
                object.__setattr__(self, name, value.date())
            elif not isinstance(value, dt.date):
                raise FilterError(f"{name}: expected a date, got {value!r}")
        if self.start > self.end:
            raise FilterError(f"date range: start {self.start} is after end {self.end}")
        for name in LIST_FILTERS.values():
            object.__setattr__(self, name, _texts(name, getattr(self, name)))
        if self.window_days is not None and (
            isinstance(self.window_days, bool)
            or not isinstance(self.window_days, int)
            or not 0 <= self.window_days <= NO_WINDOW_DAYS
        ):
            raise FilterError(
                f"conversion window: expected a number of days (0 for no window), got {self.window_days!r}"
            )
        if self.owner_role is not None and (
            not isinstance(self.owner_role, str) or len(self.owner_role) > 60
        ):
            raise FilterError("owner role: expected a role name of at most 60 characters")
        if self.grain is not None and self.grain not in GRAINS:
            raise FilterError(f"grain: expected one of {list(GRAINS)}, got {self.grain!r}")
        if self.skip_policy is not None and self.skip_policy not in SKIP_POLICIES:
            raise FilterError(f"skip policy: expected one of {list(SKIP_POLICIES)}, got {self.skip_policy!r}")
        if self.as_of is not None:
            if isinstance(self.as_of, dt.date) and not isinstance(self.as_of, dt.datetime):
                # A date means the whole day: as of its last moment.
                object.__setattr__(self, "as_of", dt.datetime.combine(self.as_of, dt.time.max))
            elif not isinstance(self.as_of, dt.datetime):
                raise FilterError(f"as of: expected a date, got {self.as_of!r}")

    @property
    def n_days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Filters:
        """The period of equal length just before this one, other filters unchanged."""
        return replace(
            self, start=self.start - dt.timedelta(days=self.n_days), end=self.start - dt.timedelta(days=1)
        )

    def window(self, contract: Contract) -> int | None:
        """The conversion window of this view in days; None: no window (all time)."""
        if self.window_days is None:
            return contract.conversion_window_days
        return self.window_days or None

    def horizon(self, contract: Contract) -> int:
        """Days after which this view treats a cohort as settled where a page needs a number
        (a mature look-back): the window, or the contract's horizon with no window."""
        return self.window(contract) or contract.horizon_days

    def policy(self, contract: Contract) -> str:
        return self.skip_policy or contract.skip_policy

    def grain_of(self, contract: Contract) -> str:
        """What this view counts: leads or opportunities (the contract's default when unset)."""
        return self.grain or contract.default_grain

    def params(self, contract: Contract, as_of: dt.datetime) -> dict:
        """Bound parameters common to the funnel queries (list filters: list_filter_params())."""
        return {
            "start_at": dt.datetime.combine(self.start, dt.time.min),
            "end_before": dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time.min),
            **list_filter_params({field: getattr(self, field) for field in LIST_FILTERS.values()}),
            "as_of": as_of,
            "window_days": self.window(contract) or NO_WINDOW_DAYS,
            # The window as a bound interval: `start_at + $window` means the same on DuckDB,
            # ClickHouse and Spark, where `$window_days * interval 1 day` does not.
            "window": dt.timedelta(days=self.window(contract) or NO_WINDOW_DAYS),
            "is_strict": self.policy(contract) == "strict",
            "grain": self.grain_of(contract),
            "owner_role": self.owner_role,
        }
