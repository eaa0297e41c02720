"""``path__prefix``: the subtree lookup on materialized paths, index-backed on every backend.

Django's ``startswith`` is ``LIKE`` on SQLite, which is case-insensitive there and so cannot use the index. Paths are
ASCII letters and digits only, so a case-sensitive ``GLOB 'P*'`` (SQLite) and ``LIKE 'P%'`` over a
``varchar_pattern_ops`` index (PostgreSQL) both turn into index range scans.
"""

from __future__ import annotations

from typing import Any

from django.db import models


@models.CharField.register_lookup
class PathPrefix(models.Lookup):
    lookup_name = "prefix"

    def get_db_prep_lookup(self, value: Any, connection: Any) -> Any:
        value = str(value)
        if value and not value.isalnum():  # "" is the whole tree
            raise ValueError("path prefixes are alphanumeric")
        wildcard = "*" if connection.vendor == "sqlite" else "%"
        return "%s", [value + wildcard]

    def as_sql(self, compiler: Any, connection: Any) -> Any:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        operator = "GLOB" if connection.vendor == "sqlite" else "LIKE"
        return f"{lhs} {operator} {rhs}", (*lhs_params, *rhs_params)
