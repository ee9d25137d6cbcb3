"""The one place where a DataQuery becomes SQL (SQLAlchemy Core): keys, component filters,
periods, first/last N observations, paging and sorting. store/select.py runs what this builds;
the availability service filters its series table with `where` too.

Rules a client can rely on (docs/conformance.md says them too):

- Several keys are alternatives (OR); `c[COMP]` filters must all hold (AND); within one
  filter `,` is OR and `+` is AND.
- Numeric components (a numeric measure, attributes with a numeric text type) compare as
  numbers; every other component compares as text in byte (code point) order, on both
  databases. `co`, `nc`, `sw`, `ew` are case-sensitive text matches (LIKE with escaping on
  PostgreSQL, GLOB on SQLite, whose LIKE ignores case); on numeric components they are a 422.
- `ne` and `nc` hold for a row where the component has no value (an empty attribute is not
  equal to 'A' and does not contain it); every other operator fails there.
- The time dimension compares periods, by their bounds, with the containment rule of
  startPeriod/endPeriod: `ge:P` keeps observations starting at or after P's start (like
  startPeriod=P), `le:P` those ending at or before P's end (like endPeriod=P), `gt:P` those
  starting at or after P's end, `lt:P` those ending at or before P's start, `eq:P` those lying
  within P, `ne:P` the others; `co`, `nc`, `sw`, `ew` match the period's text.
"""

from __future__ import annotations

import re
import threading
from dataclasses import replace
from typing import Callable, Iterable

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement

from sdmx_server.errors import SyntaxError_, Unprocessable
from sdmx_server.query.layout import DataLayout
from sdmx_server.query.model import ComponentFilter, Condition, DataQuery, Region
from sdmx_server.query.periods import PeriodError, epoch_us, parse_query_period
from sdmx_server.registry.shape import DataShape
from sdmx_server.store.tables import PERIOD_END, PERIOD_START, FactTable

NULL_FLAG = "sdmx_null_"
TEXT_OPERATORS = ("co", "nc", "sw", "ew")
_COMPARE = {
    "eq": lambda c, v: c == v, "ne": lambda c, v: c != v,
    "lt": lambda c, v: c < v, "le": lambda c, v: c <= v,
    "gt": lambda c, v: c > v, "ge": lambda c, v: c >= v,
}


# -- case-sensitive text matching on both databases ---------------------------------------------


class TextMatch(ColumnElement):
    """`column` contains / starts with / ends with `value`, case-sensitively."""

    inherit_cache = False
    type = sa.Boolean()

    def __init__(self, column, mode: str, value: str):
        self.column, self.mode, self.value = column, mode, value


def _pattern(mode: str, value: str, escape, many: str) -> str:
    body = escape(value)
    return {"co": f"{many}{body}{many}", "sw": f"{body}{many}", "ew": f"{many}{body}"}[mode]


@compiles(TextMatch)
def _like(element: TextMatch, compiler, **kw):
    # PostgreSQL: LIKE is case-sensitive; '\' escapes % and _ (and itself).
    escape = lambda v: v.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")  # noqa: E731
    pattern = _pattern(element.mode, element.value, escape, "%")
    expr = element.column.like(sa.literal(pattern), escape="\\")
    return compiler.process(expr, **kw)


@compiles(TextMatch, "sqlite")
def _glob(element: TextMatch, compiler, **kw):
    # SQLite's LIKE ignores ASCII case; GLOB does not. In GLOB, [x] matches x literally.
    escape = lambda v: "".join(f"[{ch}]" if ch in "*?[" else ch for ch in v)  # noqa: E731
    pattern = _pattern(element.mode, element.value, escape, "*")
    expr = element.column.op("GLOB")(sa.literal(pattern))
    return compiler.process(expr, **kw)


# -- conditions ----------------------------------------------------------------------------------


def where(fact: FactTable, query: DataQuery) -> list[ColumnElement]:
    """The conditions a row must meet: keys, periods and component filters. Raises
    Unprocessable (422) for a filter the structure cannot answer (an unknown component, a
    number expected), SyntaxError_ (400) for a value that is no period."""
    shape = fact.shape
    table = fact.table
    conditions = dimension_where(fact.column, shape, query)
    if query.start is not None:
        conditions.append(table.c[PERIOD_START] >= epoch_us(query.start.start))
    if query.end is not None:
        conditions.append(table.c[PERIOD_END] <= epoch_us(query.end.end))
    for component_filter in query.filters:
        component = shape.component(component_filter.component)
        if component is None or component.role != "dimension":
            conditions.append(_filter(fact, component_filter, query.reporting_year_start_day))
    return conditions


def dimension_where(column: Callable[[str], ColumnElement], shape: DataShape, query: DataQuery) -> list[ColumnElement]:
    """The conditions on dimensions alone (keys, and `c[]` filters on dimensions other than
    time), on any table that has a column per dimension (`column(dimension_id)`): the fact
    table, or the availability service's series table."""
    conditions: list[ColumnElement] = []
    if query.keys is not None:
        alternatives = []
        for key in query.keys:
            parts = [column(d).in_(codes) for d, codes in zip(shape.dimension_ids, key) if codes is not None]
            alternatives.append(sa.and_(sa.true(), *parts))
        conditions.append(sa.or_(*alternatives))
    for f in query.filters:
        component = shape.component(f.component)
        if component is not None and component.role == "dimension":
            conditions.append(sa.or_(*[sa.and_(*[_text_condition(column(component.id), component, c) for c in conj])
                                       for conj in f.alternatives]))
    if query.region is not None:
        conditions.append(region_condition(column, shape, query.region))
    return conditions


def region_condition(column: Callable[[str], ColumnElement], shape: DataShape, region: Region) -> ColumnElement:
    """The rows inside the cube regions an asker may read (DataQuery.region): an OR of the
    regions, each an AND of IN lists. A region that names a component which is not a dimension
    of this structure holds no row: a grant narrowed to provinces never opens the whole of a
    dataflow without them."""
    dimensions = set(shape.dimension_ids)
    alternatives = []
    for part in region:
        if any(d not in dimensions for d, _ in part):
            continue
        alternatives.append(sa.and_(sa.true(), *[column(d).in_(sorted(codes)) for d, codes in part]))
    return sa.or_(sa.false(), *alternatives)


def _filter(fact: FactTable, f: ComponentFilter, start_day: str) -> ColumnElement:
    component = fact.shape.component(f.component)
    if component is None:
        known = ", ".join(c.id for c in fact.shape.components)
        raise Unprocessable(f"c[{f.component}]: {fact.shape.dsd_ref} has no component {f.component} ({known})")
    alternatives = [sa.and_(*[_condition(fact, component, c, start_day) for c in conj]) for conj in f.alternatives]
    return sa.or_(*alternatives)


def _condition(fact: FactTable, component, condition: Condition, start_day: str) -> ColumnElement:
    if component.role == "time" and condition.operator not in TEXT_OPERATORS:
        return _period_condition(fact, component.id, condition.operator, condition.value, start_day)
    return _text_condition(fact.column(component.id), component, condition)


def _text_condition(column, component, condition: Condition) -> ColumnElement:
    """A condition on one column: as text, or as a number for numeric components."""
    op, value = condition.operator, condition.value
    if op in TEXT_OPERATORS:
        if component.numeric:
            raise Unprocessable(f"c[{component.id}]={op}:{value}: {component.id} is numeric; "
                                f"{', '.join(TEXT_OPERATORS)} apply to text components only")
        match = TextMatch(column, "co" if op == "nc" else op, value)
        return sa.or_(sa.not_(match), column.is_(None)) if op == "nc" else match
    operand: object = value
    if component.numeric:
        try:
            operand = float(value)
        except ValueError:
            raise Unprocessable(f"c[{component.id}]={op}:{value}: {component.id} is numeric; "
                                f"{value!r} is not a number") from None
        if operand != operand or operand in (float("inf"), float("-inf")):
            raise Unprocessable(f"c[{component.id}]={op}:{value}: compare with a finite number")
    expr = _COMPARE[op](column, operand)
    return sa.or_(expr, column.is_(None)) if op == "ne" else expr


def _period_condition(fact: FactTable, time_id: str, op: str, value: str, start_day: str) -> ColumnElement:
    try:
        period = parse_query_period(value, start_day)
    except PeriodError as exc:
        raise SyntaxError_(f"c[{time_id}]={op}:{value}: {exc}") from None
    start, end = fact.table.c[PERIOD_START], fact.table.c[PERIOD_END]
    p_start, p_end = epoch_us(period.start), epoch_us(period.end)
    within = sa.and_(start >= p_start, end <= p_end)
    return {
        "ge": start >= p_start, "le": end <= p_end,
        "gt": start >= p_end, "lt": end <= p_start,
        "eq": within, "ne": sa.not_(within),
    }[op]


# -- the statement -------------------------------------------------------------------------------


def build_select(fact: FactTable, query: DataQuery, layout: DataLayout, typed_for_sqlite: bool = False) -> sa.Select:
    """The rows of the answer, in the order the writers need (or the query's `sort`)."""
    shape = fact.shape
    conditions = where(fact, query)

    def output(ids, source):
        return [c for i in ids for c in _output(fact, i, source(i), typed_for_sqlite)]

    if layout.detail == "serieskeysonly":
        ids = list(layout.series_dims)
        statement = (
            sa.select(*[fact.column(i).label(i) for i in ids])
            .where(*conditions)
            .distinct()
            .order_by(*_order(fact, query, layout, fact.column, series_only=True))
        )
        return _page(statement, query)

    ids = list(shape.all_dimension_ids)
    if layout.with_observations:
        ids.append(shape.measure.id)
    ids += [a for a in layout.dataset_attrs + layout.series_attrs + layout.obs_attrs]

    if query.first_n is None and query.last_n is None:
        statement = (
            sa.select(*output(ids, fact.column))
            .where(*conditions)
            .order_by(*_order(fact, query, layout, fact.column))
        )
        return _page(statement, query)

    # first/lastNObservations: number the observations of each series in time order.
    time_id = shape.time.id if shape.time is not None else layout.sort_columns()[-1]
    series = [fact.column(d) for d in shape.dimension_ids]
    time_order = _time_order(fact, time_id)
    sorted_needs = _sort_ids(fact, query, layout)
    inner_ids = list(dict.fromkeys(ids + sorted_needs))
    inner_cols = [fact.column(i).label(i) for i in inner_ids]
    if shape.time is not None and query.sort:
        inner_cols.append(fact.table.c[PERIOD_START].label(PERIOD_START))
    ranks = []
    if query.first_n is not None:
        ranks.append(sa.func.row_number().over(partition_by=series, order_by=[c.asc() for c in time_order])
                     .label("sdmx_first"))
    if query.last_n is not None:
        ranks.append(sa.func.row_number().over(partition_by=series, order_by=[c.desc() for c in time_order])
                     .label("sdmx_last"))
    inner = sa.select(*inner_cols, *ranks).where(*conditions).subquery("numbered")
    if query.first_n is not None and query.last_n is not None:
        keep = sa.or_(inner.c.sdmx_first <= query.first_n, inner.c.sdmx_last <= query.last_n)
    elif query.first_n is not None:
        keep = inner.c.sdmx_first <= query.first_n
    else:
        keep = inner.c.sdmx_last <= query.last_n
    statement = (
        sa.select(*output(ids, lambda i: inner.c[i]))
        .where(keep)
        .order_by(*_order(fact, query, layout, lambda i: inner.c[i], period_start=lambda: inner.c[PERIOD_START]))
    )
    return _page(statement, query)


def _time_order(fact: FactTable, time_id: str) -> list:
    """Chronological order of periods: by start, then by end, then as text."""
    if fact.shape.time is None or time_id != fact.shape.time.id:
        return [fact.column(time_id)]
    return [fact.table.c[PERIOD_START], fact.table.c[PERIOD_END], fact.column(time_id)]


def _sort_ids(fact: FactTable, query: DataQuery, layout: DataLayout) -> list[str]:
    ids: list[str] = []
    for component, _ in query.sort or ():
        if component == "*":
            ids += list(fact.shape.all_dimension_ids)
        elif component == "series_key":
            ids += list(layout.series_dims)
        else:
            ids.append(component)
    return ids


def _order(fact: FactTable, query: DataQuery, layout: DataLayout, column, *, series_only: bool = False,
           period_start=None) -> list:
    """ORDER BY: the query's sort (time chronologically), then the layout's order, which is
    also the primary key's, so that ties come out the same on every run."""
    base = list(layout.series_dims) if series_only else list(layout.sort_columns())
    if not query.sort:
        return [column(i) for i in base]
    shape = fact.shape
    clauses, seen = [], set()
    for component, descending in query.sort:
        if component == "*":
            ids: Iterable[str] = shape.all_dimension_ids
        elif component == "series_key":
            ids = layout.series_dims
        else:
            if shape.component(component) is None:
                raise Unprocessable(f"sort={component}: {shape.dsd_ref} has no component {component}")
            ids = (component,)
        for i in ids:
            if i in seen or (series_only and i not in base):
                continue
            seen.add(i)
            cols = [column(i)]
            if shape.time is not None and i == shape.time.id and not series_only:
                start = period_start() if period_start else fact.table.c[PERIOD_START]
                cols = [start, column(i)]
            clauses += [c.desc() if descending else c.asc() for c in cols]
    clauses += [column(i) for i in base if i not in seen]
    return clauses


# -- rendering, with templates kept per query shape ---------------------------------------------

#: (fact table, layout, query with markers for its codes, dialect, typed) -> (SQL with marker
#: literals, literal renderer of each marker's column). Building and compiling the statement
#: costs ~1 ms of CPU, as much as a small slice's whole read and write; requests for small
#: slices differ mostly in their codes, so one template serves them all.
_TEMPLATES: dict[tuple, tuple[str, dict[int, Callable[[str], str]]]] = {}
_TEMPLATES_LOCK = threading.Lock()
_TEMPLATES_MAX = 2048
#: A key code's stand-in in a template: the unit separator cannot come through the query parser
#: in a code, and a query whose other values hold it is rendered without a template.
_MARK = "\x1fsdmx{}\x1f"
_MARKED = re.compile("'\x1fsdmx(\\d+)\x1f'")


def render_select(fact: FactTable, query: DataQuery, layout: DataLayout, dialect: sa.Dialect,
                  typed_for_sqlite: bool = False) -> str:
    """render_sql(build_select(...)), the same text, from a template kept per query shape."""
    if query.keys is None or "\\x1f" in repr(replace(query, keys=None)):
        return render_sql(build_select(fact, query, layout, typed_for_sqlite), dialect)
    codes: list[str] = []
    marked_keys = []
    for key in query.keys:
        marked = []
        for part in key:
            if part is None:
                marked.append(None)
                continue
            marked.append(tuple(_MARK.format(len(codes) + i) for i in range(len(part))))
            codes += part
        marked_keys.append(tuple(marked))
    template_query = replace(query, keys=tuple(marked_keys))
    cache_key = (fact, layout, template_query, dialect.name, typed_for_sqlite)
    with _TEMPLATES_LOCK:
        template = _TEMPLATES.get(cache_key)
    if template is None:
        sql = render_sql(build_select(fact, template_query, layout, typed_for_sqlite), dialect)
        literals = {}
        position = 0
        for key in query.keys:
            for dimension, part in zip(fact.shape.dimension_ids, key):
                if part is None:
                    continue
                column_type = fact.column(dimension).type
                render = column_type.dialect_impl(dialect).literal_processor(dialect)
                for _ in part:
                    literals[position] = render
                    position += 1
        template = (sql, literals)
        with _TEMPLATES_LOCK:
            if len(_TEMPLATES) >= _TEMPLATES_MAX:
                _TEMPLATES.clear()
            _TEMPLATES[cache_key] = template
    sql, literals = template
    return _MARKED.sub(lambda m: literals[int(m.group(1))](codes[int(m.group(1))]), sql)


def render_sql(statement: sa.Select, dialect: sa.Dialect) -> str:
    """The statement as SQL text with its values inlined, for ADBC (which takes no %-style
    parameters: the dialect must be one that does not double '%', as Database.dialect is)."""
    return str(statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


def _page(statement: sa.Select, query: DataQuery) -> sa.Select:
    if query.offset:
        # SQLite has no OFFSET without LIMIT (SQLAlchemy would leave a bound parameter, which
        # literal rendering for ADBC cannot fill): a limit beyond any table stands for none.
        statement = statement.offset(query.offset).limit(query.limit if query.limit is not None else 2**62)
    elif query.limit is not None:
        statement = statement.limit(query.limit)
    return statement


def _output(fact: FactTable, component_id: str, column, typed_for_sqlite: bool) -> list:
    component = fact.shape.component(component_id)
    if not typed_for_sqlite or component.role in ("dimension", "time"):
        return [column.label(component_id)]
    if component.role == "measure" and component.numeric:
        # A NaN is stored as the text 'NaN' on SQLite (store/special.py): 0.0 here, flag 2.
        nan = column == sa.literal_column("'NaN'")
        value = sa.case((nan, 0.0), else_=sa.func.coalesce(column, 0.0))
        flag = sa.case((column.is_(None), 1), (nan, 2), else_=0)
        return [value.label(component_id), flag.label(NULL_FLAG + component_id)]
    return [sa.func.coalesce(column, "").label(component_id)]


# -- checks the data service runs before writing (fault 7) --------------------------------------


def several_values(fact: FactTable, query: DataQuery, attribute_ids: Iterable[str],
                   group_by: Iterable[str] = ()) -> sa.Select:
    """One row: per attribute, 1 when it holds more than one value (an empty value counts as
    one) among the selected rows, within any group of `group_by` (e.g. a series), else 0."""
    group = [fact.column(i) for i in group_by]
    flags = []
    for attribute_id in attribute_ids:
        column = fact.column(attribute_id)
        distinct = sa.func.count(sa.distinct(column))
        has_null = sa.func.max(sa.case((column.is_(None), 1), else_=0))
        flags.append(sa.case((distinct + has_null > 1, 1), else_=0).label(attribute_id))
    inner = sa.select(*flags).where(*where(fact, query))
    if group:
        inner = inner.group_by(*group)
    sub = inner.subquery("per_group")
    return sa.select(*[sa.func.coalesce(sa.func.max(sub.c[a]), 0).label(a) for a in sub.c.keys()])
