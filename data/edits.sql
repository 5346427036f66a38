-- The team's edits: what people type into the dashboard (meeting notes, targets and their
-- history), kept in a DuckDB file of its own beside the analytics store (data/edits.py), so that
-- saving one never rewrites the store. All timestamps are UTC, stored as plain TIMESTAMP.

-- One row per decision or note recorded in a weekly alignment meeting.
create table if not exists meeting_notes (
    note_id     varchar primary key,
    week_start  date not null,              -- Monday of the ISO week the note belongs to
    author      varchar not null,           -- free text: rendered as plain text only
    note        varchar not null,           -- free text: rendered as plain text only
    created_at  timestamp not null
);

-- One row per (month, team, metric): a quota ('marketing', 'sales') or a shared target.
create table if not exists targets (
    period      date not null,              -- first day of the month
    team        varchar not null,           -- 'marketing', 'sales' or 'shared'
    metric      varchar not null,
    value       double not null,
    set_at      timestamp not null,
    set_by      varchar not null,
    primary key (period, team, metric)
);

-- One row per change to a target, newest last; targets holds the current values.
create table if not exists target_history (
    period      date not null,
    team        varchar not null,
    metric      varchar not null,
    old_value   double,
    new_value   double not null,
    set_at      timestamp not null,
    set_by      varchar not null
);

-- One row per key: the version of each kind of edit ('version:notes', 'version:targets',
-- changed by every save of that kind: the cache key of what reads it) and where the file's
-- first rows came from ('migrated_from').
create table if not exists edits_meta (
    key         varchar primary key,
    value       varchar not null
);
