"""Writing computed fields of many rows at once.

Django's ``bulk_update`` builds one ``CASE WHEN pk = … THEN …`` per field per batch: for 10,000 rows and a dozen
fields the database evaluates ~120,000 branches per batch and the statement text alone is megabytes — 27 s of a
city-wide assessment round on PostgreSQL. :func:`update_rows` writes the same values as one
``UPDATE … FROM unnest(arrays)`` per chunk on PostgreSQL (one index probe per row) and as one prepared ``UPDATE`` run
by ``executemany`` on SQLite (no network round trip there). Values go through each field's own
``get_db_prep_save`` so decimals, JSON and dates are stored exactly as ``save()`` would store them. No signals, no
``auto_now``: callers are services that write their audit entry themselves.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.db import connections, models, router

CHUNK = 10_000


def _array_type(field: models.Field[Any, Any], connection: Any) -> str:
    """The element type of a column's parameter array. Text goes as unbounded ``varchar``: an explicit cast to
    ``varchar(n)`` would silently cut a longer value, where assigning it to the column refuses it as save() does."""
    if isinstance(field, models.CharField):
        return str(connection.ops.cast_char_field_without_max_length)
    return str(field.db_type(connection))


def _execute_bound(connection: Any, sql: str, params: list[Any]) -> None:
    """Run ``sql`` with its parameters bound on the server, on the same connection and so in the same transaction.
    Django's own cursor binds on the client, and writing ten thousand array elements into the statement as literals
    (each string escaped by a regular expression in Python) took 0.7 s of a city-wide round; bound in binary
    (``%b``) nothing is escaped. Errors come out as Django's (a too-long value: ``DataError``)."""
    import psycopg

    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params)


_PLAIN = (int, bool, str, type(None))


def _prep(field: models.Field[Any, Any], connection: Any) -> Any:
    """How a value of ``field`` is sent: as ``save()`` would (``get_db_prep_save``), except that a plain int, bool,
    str or None for an integer, boolean or text column goes as it is — the field's conversion would hand it back
    unchanged, and 120,000 calls of it were a quarter of a city-wide round's write."""
    if isinstance(field, models.IntegerField | models.BooleanField | models.CharField):
        return lambda value: value if type(value) in _PLAIN else field.get_db_prep_save(value, connection)
    if isinstance(field, models.DecimalField) and connection.vendor == "postgresql":
        # psycopg sends a Decimal as numeric itself; the column's precision checks it as save()'s would.
        return lambda value: (value if type(value) in (Decimal, type(None))
                              else field.get_db_prep_save(value, connection))
    if _json_as_text(field, connection):
        return lambda value: None if value is None else json.dumps(value)
    return lambda value: field.get_db_prep_save(value, connection)


def _json_as_text(field: models.Field[Any, Any], connection: Any) -> bool:
    """A JSON column on PostgreSQL goes as its text in a ``text[]`` and is cast to ``jsonb`` by the statement: the
    driver's own JSON adapter is Python per value (0.5 s for 30,000 values), ``json.dumps`` is C. Same text as the
    field writes (``json.dumps`` with its default encoder); a field with its own encoder keeps the field's path."""
    return (connection.vendor == "postgresql" and isinstance(field, models.JSONField)
            and field.encoder is None)


def update_rows(model: type[models.Model], rows: Sequence[Any], fields: Sequence[str]) -> int:
    """Store ``fields`` of every row in ``rows`` (model instances, or any objects with ``pk`` and the fields' attribute
    names), matched by primary key; returns the number of rows."""
    if not rows:
        return 0
    db = router.db_for_write(model)
    connection = connections[db]
    meta = model._meta
    pk = meta.pk
    assert pk is not None
    concrete: list[models.Field[Any, Any]] = []
    for name in fields:
        f = meta.get_field(name)
        assert isinstance(f, models.Field) and f.column, name  # concrete columns only
        concrete.append(f)
    table = connection.ops.quote_name(meta.db_table)
    pk_col = connection.ops.quote_name(str(pk.column))
    columns = [connection.ops.quote_name(str(f.column)) for f in concrete]

    preps = [_prep(f, connection) for f in concrete]
    attnames = [f.attname for f in concrete]

    def values(obj: Any) -> list[Any]:
        out = [prep(getattr(obj, name)) for prep, name in zip(preps, attnames, strict=True)]
        out.append(pk.get_db_prep_save(obj.pk, connection))
        return out

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One array per column, unnested into rows: a dozen parameters whatever the number of rows, so neither
            # the statement text nor the driver's placeholder parsing grows with the rows.
            casts = [("text" if _json_as_text(f, connection) else _array_type(f, connection)) for f in concrete]
            casts.append(str(pk.rel_db_type(connection)))
            names = [f"c{i}" for i in range(len(concrete))] + ["pk"]
            sets = ", ".join(f"{col} = v.{name}" + ("::jsonb" if _json_as_text(f, connection) else "")
                             for col, name, f in zip(columns, names, concrete, strict=False))
            arrays = ", ".join(f"%b::{cast}[]" for cast in casts)
            for start in range(0, len(rows), CHUNK):
                table_of_values = list(zip(*(values(obj) for obj in rows[start:start + CHUNK]), strict=True))
                _execute_bound(connection, f"UPDATE {table} AS t SET {sets} FROM unnest({arrays}) "
                               f"AS v({', '.join(names)}) WHERE t.{pk_col} = v.pk",
                               [list(col) for col in table_of_values])
        else:
            sets = ", ".join(f"{col} = %s" for col in columns)
            cursor.executemany(f"UPDATE {table} SET {sets} WHERE {pk_col} = %s", [values(obj) for obj in rows])
    return len(rows)


def insert_rows(model: type[models.Model], objs: Sequence[models.Model]) -> int:
    """Insert ``objs`` (new rows, primary keys left to the database) in as few statements as possible: one
    ``INSERT … SELECT FROM unnest(arrays)`` per chunk on PostgreSQL, ``executemany`` on SQLite. As
    ``bulk_create`` but without the driver parsing ten thousand placeholders; the objects' ``pk`` stay unset."""
    if not objs:
        return 0
    connection = connections[router.db_for_write(model)]
    meta = model._meta
    concrete = [f for f in meta.concrete_fields if not f.primary_key and not f.generated
                and getattr(f, "db_default", models.NOT_PROVIDED) is models.NOT_PROVIDED]
    table = connection.ops.quote_name(meta.db_table)
    columns = ", ".join(connection.ops.quote_name(str(f.column)) for f in concrete)

    def values(obj: models.Model) -> list[Any]:
        return [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in concrete]

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            arrays = ", ".join(f"%b::{_array_type(f, connection)}[]" for f in concrete)
            for start in range(0, len(objs), CHUNK):
                table_of_values = list(zip(*(values(obj) for obj in objs[start:start + CHUNK]), strict=True))
                _execute_bound(connection, f"INSERT INTO {table} ({columns}) SELECT * FROM unnest({arrays})",
                               [list(col) for col in table_of_values])
        else:
            marks = ", ".join(["%s"] * len(concrete))
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", [values(obj) for obj in objs])
    return len(objs)


_PLANS: dict[tuple[type[models.Model], str], tuple[tuple[models.Field[Any, Any], str, str], ...]] = {}


def _insert_plan(model: type[models.Model], connection: Any) -> tuple[tuple[models.Field[Any, Any], str, str], ...]:
    """Per concrete field of ``model``: the field, its quoted column and a typed placeholder (a ``SELECT`` list gives
    no column type to infer a bare literal's from). Worked out once per model and database: a field's ``db_type``
    is not cheap, and the survey answer path pays for every tenth of a millisecond."""
    key = (model, connection.alias)
    plan = _PLANS.get(key)
    if plan is None:
        plan = _PLANS[key] = tuple((f, connection.ops.quote_name(f.column), f"%s::{_array_type(f, connection)}")
                                   for f in model._meta.concrete_fields)
    return plan


def _columns(obj: models.Model, connection: Any) -> tuple[list[str], list[str], list[Any]]:
    """The columns, placeholders and values (as save() would send them) of ``obj`` but an unset primary key."""
    columns, holders, params = [], [], []
    for f, column, holder in _insert_plan(type(obj), connection):
        value = getattr(obj, f.attname)
        if f.primary_key and value is None:
            continue
        columns.append(column)
        holders.append(holder)
        params.append(f.get_db_prep_save(value, connection))
    return columns, holders, params


def insert_once(obj: models.Model, unique: Sequence[str], entry: models.Model) -> int | None:
    """Insert ``obj`` unless a row with the same ``unique`` columns exists, and with it ``entry`` (its audit entry,
    from :func:`gongzhi.core.audit.pending`); returns the new row's id, or None when the key was taken (nothing
    written). One statement on PostgreSQL — ``INSERT … ON CONFLICT DO NOTHING`` and the audit ``INSERT`` of the same
    data-modifying ``WITH``, so both commit together in one round trip — where a transaction of two ORM inserts takes
    five (a resident's survey answer: 1,000 a second is the target). Elsewhere a transaction of two inserts."""
    from django.db import IntegrityError, transaction

    db = router.db_for_write(type(obj))
    connection = connections[db]
    if connection.vendor != "postgresql":
        try:
            with transaction.atomic(using=db):
                obj.save(force_insert=True, using=db)
                entry.save(force_insert=True, using=db)
        except IntegrityError:
            return None
        return int(obj.pk)
    q = connection.ops.quote_name
    cols, holders, params = _columns(obj, connection)
    entry_cols, entry_holders, entry_params = _columns(entry, connection)
    conflict = ", ".join(q(str(getattr(obj._meta.get_field(name), "column", name))) for name in unique)
    pk = q(str(obj._meta.pk.column)) if obj._meta.pk else "id"
    sql = (f"WITH ins AS (INSERT INTO {q(obj._meta.db_table)} ({', '.join(cols)}) "
           f"VALUES ({', '.join(holders)}) ON CONFLICT ({conflict}) DO NOTHING RETURNING {pk}), "
           f"aud AS (INSERT INTO {q(entry._meta.db_table)} ({', '.join(entry_cols)}) "
           f"SELECT {', '.join(entry_holders)} FROM ins) SELECT {pk} FROM ins")
    with connection.cursor() as cursor:
        cursor.execute(sql, params + entry_params)
        row = cursor.fetchone()
    if row is None:
        return None
    obj.pk = row[0]
    obj._state.adding = False
    return int(row[0])
