"""The rewrite layer between SQLGlot's DuckDB parse and its ClickHouse output: AST transforms
for what SQLGlot translates wrong, or into something that means another thing on ClickHouse.
rewrite() applies them in order and binds the $named values as ClickHouse query parameters
(queries/engines.py says how). What it handles:

- stars and qualified stars beside a join, written out over the store's schema, every column
  qualified (expand_stars: SQLGlot's qualify_columns), and the names a union's later branches
  would clash on left off;
- `lead`/`lag` past a partition's edge: null, not the type's default (offsets);
- exact interpolated quantiles: quantile_cont and percentile_cont … within group as
  quantileExactInclusive (exact_quantiles). This one stays: the exact quantile has no spelling
  common to DuckDB (quantile_cont), ClickHouse (quantileExactInclusive) and Spark (whose
  percentile_cont SQLGlot makes approximate);
- array_position as indexOf, its ClickHouse name; arg_min_null/arg_max_null as argMin/argMax
  of a tuple (a null argument kept); regexp_replace(…, 'g') as replaceRegexpAll (functions);
- bool_or/bool_and as max/min (booleans); struct literals as named tuples (structs);
- a CTE reading the table of its own name (qualify_shadowed_tables), qualified columns
  selected without an alias named as DuckDB names them (name_qualified_columns), comparisons
  returned as Bool rather than UInt8 (boolean_results).

No longer here, because the SQL says them portably at the source (the same on DuckDB,
ClickHouse and Spark): null list parameters (a list filter is `($all_x or list_contains($x, col))` over
a list that is never null, queries/filters.py list_filter_params); a number times an interval
(a window, an SLA, a landmark is bound as an interval, `$window`; bind_parameters types it
IntervalMicrosecond); time between two timestamps (`date_diff('microsecond', a, b)`, exact,
where `extract(epoch from b - a)` is refused by Spark); a stage's position
(`nullif(array_position($stage_keys, x), 0)`, null when absent everywhere); and small tables
from parallel lists (`generate_subscripts` beside `unnest`, which ClickHouse multiplies), now one
list of rows unnested once (`$stage_rows`, `$reason_rows`: queries/teams.py contract_params;
ch_type binds it as an Array of named Tuples). Duplicate CTE names across composed files need
nothing here either: queries/sql_refs.py prefixes a referenced file's CTEs with its name. Nor
does a list indexed by a computed position (`$keys[$n]`, 1-based on DuckDB and ClickHouse,
0-based on Spark): the last stage is its own parameter ($last_stage_key), a stage's key or
landmark is joined from a list of rows ($stage_rows, $landmark_rows).
"""

from __future__ import annotations

import datetime as dt
import decimal

from sqlglot import exp


def rewrite(
    tree: exp.Expression, params: dict, schema: dict | None = None
) -> tuple[exp.Expression, dict[str, str]]:
    """`tree` (parsed as DuckDB) made ready to be written as ClickHouse, and the values of the
    query parameters it now names; `schema` the store's tables ({table: {column: type}})."""
    if schema:
        tree = expand_stars(tree, schema)
    for transform in TRANSFORMS:
        tree = tree.transform(transform)
    tree = qualify_shadowed_tables(tree)
    tree = name_qualified_columns(tree)
    tree = boolean_results(tree)
    tree, bound = bind_parameters(tree, params)
    return tree, bound


# --- functions and operators ---------------------------------------------------------------------


def _f(name: str, *args: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this=name, expressions=list(args))


def exact_quantiles(node: exp.Expression) -> exp.Expression:
    """DuckDB's exact, interpolating quantiles (quantile_cont(x, q), percentile_cont(q) within
    group (order by x)) as ClickHouse's exact inclusive one, quantileExactInclusive(q)(x);
    SQLGlot writes percentile_cont, which ClickHouse does not parse."""
    if isinstance(node, exp.WithinGroup) and isinstance(node.this, exp.PercentileCont):
        order = node.expression.expressions
        if len(order) == 1 and not order[0].args.get("desc"):
            return exp.ParameterizedAgg(
                this="quantileExactInclusive", expressions=[node.this.this], params=[order[0].this]
            )
    exact = isinstance(node, exp.Quantile | exp.PercentileCont) and node.args.get("expression") is not None
    if exact and node.find_ancestor(exp.WithinGroup) is None:
        return exp.ParameterizedAgg(
            this="quantileExactInclusive", expressions=[node.expression], params=[node.this]
        )
    return node


def functions(node: exp.Expression) -> exp.Expression:
    """Functions SQLGlot passes through by a name ClickHouse lacks: array_position (1-based, 0
    when absent on ClickHouse and Spark, null on DuckDB; the SQL writes nullif(…, 0), which means
    the same on all three) as indexOf, its ClickHouse name; arg_min_null/arg_max_null (a null
    argument kept) as argMin/argMax of a one-element tuple (ClickHouse skips nulls otherwise);
    regexp_replace with the 'g' flag as replaceRegexpAll."""
    if isinstance(node, exp.ArrayPosition):
        return _f("indexOf", node.this, node.expression)
    if isinstance(node, exp.Anonymous) and _fname(node) in ("ARG_MIN_NULL", "ARG_MAX_NULL"):
        arg, by = node.expressions
        name = "argMin" if _fname(node) == "ARG_MIN_NULL" else "argMax"
        return _f("tupleElement", _f(name, _f("tuple", arg), by), exp.Literal.number(1))
    if isinstance(node, exp.RegexpReplace):
        modifiers = node.args.get("modifiers")
        if isinstance(modifiers, exp.Literal) and modifiers.this == "g":
            return _f("replaceRegexpAll", node.this, node.expression, node.args.get("replacement"))
    return node


def _fname(node: exp.Anonymous) -> str:
    return str(node.this).upper()


def booleans(node: exp.Expression) -> exp.Expression:
    """bool_or / bool_and as max / min (true above false, nulls skipped as DuckDB skips them)."""
    if isinstance(node, exp.LogicalOr):
        return exp.Max(this=node.this)
    if isinstance(node, exp.LogicalAnd):
        return exp.Min(this=node.this)
    return node


def structs(node: exp.Expression) -> exp.Expression:
    """A struct literal {'k': v, ...} as a named tuple, tuple(v AS k, ...) (ClickHouse names a
    tuple's elements from their aliases with enable_named_columns_in_function_tuple), so
    `row.s.k` reads the element as on DuckDB."""
    if not isinstance(node, exp.Struct):
        return node
    items = []
    for item in node.expressions:
        if not isinstance(item, exp.PropertyEQ):
            return node
        items.append(exp.alias_(item.expression, item.this.name))
    return _f("tuple", *items)


def offsets(node: exp.Expression) -> exp.Expression:
    """lead()/lag() past the partition's edge: null on DuckDB, the type's default ('' or 0) on
    ClickHouse for a column that is not Nullable; the value made Nullable first."""
    wrapped = isinstance(node.this, exp.Anonymous) and str(node.this.this) == "toNullable"
    if isinstance(node, exp.Lead | exp.Lag) and node.args.get("default") is None and not wrapped:
        node.set("this", _f("toNullable", node.this))
    return node


TRANSFORMS = (
    offsets,
    exact_quantiles,
    functions,
    booleans,
    structs,
)


# --- names ----------------------------------------------------------------------------------


def expand_stars(tree: exp.Expression, schema: dict) -> exp.Expression:
    """Every `t.*` and `*` written out and every column qualified (SQLGlot's qualify_columns,
    over the store's tables and the CTEs): ClickHouse names the columns of `t.*` beside a join
    `t.col` where another table has that column too, DuckDB names them `col`. A statement it
    cannot resolve (a table outside the store, the team's edits) is left as it is."""
    from sqlglot.optimizer.qualify_columns import qualify_columns

    try:
        done = qualify_columns(tree.copy(), schema=schema, dialect="duckdb", expand_alias_refs=False)
    except Exception:  # noqa: BLE001 (any failure: the statement as written)
        return tree
    # The names it gives the later branches of a union (`select 'leads', leads` as `leads`,
    # `leads`) would clash on ClickHouse; a union's names are its first branch's anyway.
    for union in done.find_all(exp.SetOperation):
        later = union.expression
        if isinstance(later, exp.Select):
            later.set(
                "expressions", [p.unalias() if isinstance(p, exp.Alias) else p for p in later.expressions]
            )
    return done


def name_qualified_columns(tree: exp.Expression) -> exp.Expression:
    """`select f.lead_id`: DuckDB names the column lead_id, ClickHouse `f.lead_id` (and a later
    `lead_id` does not find it); each qualified column selected without an alias gets its own
    name as one."""
    for select in tree.find_all(exp.Select):
        for i, projection in enumerate(select.expressions):
            if (
                isinstance(projection, exp.Column)
                and projection.table
                and not isinstance(projection.this, exp.Star)
            ):
                select.expressions[i] = exp.alias_(projection, projection.name, quoted=projection.this.quoted)
    return tree


PREDICATES = (exp.Predicate, exp.Connector, exp.Not, exp.Boolean, exp.Is, exp.In, exp.Between)


def _is_boolean(node: exp.Expression) -> bool:
    """Whether an expression is a truth value on DuckDB: a comparison or connective, or a
    coalesce or case whose values are."""
    node = node.unnest()
    if isinstance(node, PREDICATES):
        return True
    if isinstance(node, exp.Coalesce):
        values = [node.this, *node.expressions]
        return any(_is_boolean(v) for v in values) and all(
            _is_boolean(v) or isinstance(v, exp.Null) for v in values
        )
    if isinstance(node, exp.Case):
        values = [i.args.get("true") for i in node.args.get("ifs") or []] + [node.args.get("default")]
        values = [v for v in values if v is not None]
        return bool(values) and all(_is_boolean(v) or isinstance(v, exp.Null) for v in values)
    return False


def boolean_results(tree: exp.Expression) -> exp.Expression:
    """A comparison is a UInt8 on ClickHouse and a boolean on DuckDB: each named one a select
    returns (in a CTE too, since the statement may return it through `select *`) is made a
    Bool, so the frame's column is a boolean as on DuckDB."""
    for select in tree.find_all(exp.Select):
        for projection in select.expressions:
            if isinstance(projection, exp.Alias) and _is_boolean(projection.this):
                projection.set("this", _f("toBool", projection.this))
    return tree


def qualify_shadowed_tables(tree: exp.Expression) -> exp.Expression:
    """A CTE that reads the store's table of its own name (`leads as (select * from leads)`):
    DuckDB reads the table there, ClickHouse the CTE itself; the table is named store.<t>."""
    for cte in list(tree.find_all(exp.CTE)):
        alias = cte.alias_or_name
        for table in cte.this.find_all(exp.Table):
            if table.name == alias and not table.args.get("db"):
                table.set("db", exp.to_identifier("store"))
    return tree


# --- parameters ------------------------------------------------------------------------------


def _name(node: exp.Placeholder) -> str:
    return node.name


def ch_type(value) -> str:
    """The ClickHouse type of a parameter's Python value."""
    if isinstance(value, bool):
        return "Bool"
    if isinstance(value, int):
        return "Int64"
    if isinstance(value, float):
        return "Float64"
    if isinstance(value, decimal.Decimal):
        return "Decimal(38, 10)"
    if isinstance(value, dt.timedelta):  # an interval: exact microseconds, as DuckDB keeps it
        return "IntervalMicrosecond"
    if isinstance(value, dt.datetime):
        return "DateTime64(6)"
    if isinstance(value, dt.date):
        return "Date"
    if isinstance(value, str):
        return "String"
    if isinstance(value, list | tuple) and value and all(isinstance(v, dict) for v in value):
        return f"Array({_row_type(value)})"
    if isinstance(value, list | tuple):
        return f"Array({_values_type(value, 'String', 'a list parameter')})"
    raise TypeError(f"no ClickHouse type for a parameter of {type(value).__name__}")


def _values_type(values, if_all_null: str, what: str) -> str:
    """The one type of a list's values (or a field's, down a list of rows), Nullable where one
    is null; `if_all_null` when every one is."""
    kinds = {ch_type(v) for v in values if v is not None}
    if len(kinds) > 1:
        raise TypeError(f"{what} of mixed types: {sorted(kinds)}")
    kind = kinds.pop() if kinds else if_all_null
    return f"Nullable({kind})" if any(v is None for v in values) else kind


def _row_type(rows: list[dict]) -> str:
    """The named tuple of a small table bound as a list of rows (dicts with the same keys, in the
    same order; e.g. teams.contract_params' stage_rows): a field null in some rows is Nullable,
    one null in every row Nullable(Nothing), which compares and joins as null as on DuckDB."""
    names = list(rows[0])
    if any(list(row) != names for row in rows):
        raise TypeError(f"rows of a list parameter with different fields: {names}")
    fields = [
        f"{name} {_values_type([row[name] for row in rows], 'Nothing', f'field {name!r} of a list of rows')}"
        for name in names
    ]
    return f"Tuple({', '.join(fields)})"


def ch_text(value, nested: bool = False) -> str:
    """A value in the text format ClickHouse reads query parameters in: a string at the top
    level escaped as that format escapes (a backslash, a tab, a line break; ClickHouse would
    read a backslash-t as a tab and backslash-N as null), inside an array quoted and escaped."""
    if value is None:
        return "NULL" if nested else "\\N"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.timedelta):
        return str(value // dt.timedelta(microseconds=1))
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        text = value.isoformat(sep=" ", timespec="microseconds")
        return f"'{text}'" if nested else text
    if isinstance(value, dt.date):
        return f"'{value.isoformat()}'" if nested else value.isoformat()
    if isinstance(value, str):
        if not nested:
            return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(value, list | tuple):
        return "[" + ",".join(ch_text(v, nested=True) for v in value) + "]"
    if isinstance(value, dict):  # a row of a list of rows: a tuple, its fields in order
        return "(" + ",".join(ch_text(v, nested=True) for v in value.values()) + ")"
    return str(value)


def _ch_kind(name: str) -> exp.DataType:
    """A ClickHouse type as SQLGlot writes it; an interval type (a bound interval, `$window`) is
    one SQLGlot does not know, kept as written and not made nullable."""
    if "Interval" not in name:
        return exp.DataType.build(name, dialect="clickhouse")
    kind = exp.DataType.build(name, dialect="clickhouse", udt=True)
    kind.set("nullable", False)
    return kind


def bind_parameters(tree: exp.Expression, params: dict) -> tuple[exp.Expression, dict[str, str]]:
    """Each `$name` as a ClickHouse query parameter {name:Type} with its value apart; a null
    value as the literal NULL."""
    bound: dict[str, str] = {}

    def place(node):
        if not isinstance(node, exp.Placeholder) or node.args.get("kind") is not None:
            return node
        name = _name(node)
        if name not in params:
            raise KeyError(f"no value for parameter ${name}")
        value = params[name]
        if value is None:
            return exp.Null()
        bound[name] = ch_text(value)
        return exp.Placeholder(this=name, kind=_ch_kind(ch_type(value)))

    return tree.transform(place), bound
