"""The ceiling the intake and list benchmarks compare against: a bare Django project on the same database, the same
server configuration and the same persistent connections, with views that do the least the real ones must.

- ``POST /insert``: one row into ``bench_bare_insert`` in a transaction, its id answered as JSON;
- ``GET /list``: the 100 newest public cases (the columns the Open311 list shows) as JSON, built straight from the
  rows of one SQL statement.

Served by ``bench/intake.py`` and ``bench/lists.py`` as ``DJANGO_SETTINGS_MODULE=bench.bare_app``; never part of the
platform.
"""

from __future__ import annotations

import json
import os

import dj_database_url
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse
from django.urls import path

SECRET_KEY = "bench-only"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "bench.bare_app"
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
USE_TZ = True
DATABASES = {"default": dj_database_url.parse(os.environ["GONGZHI_DATABASE_URL"], conn_max_age=600)}

TABLE_SQL = ("CREATE TABLE IF NOT EXISTS bench_bare_insert (id bigserial PRIMARY KEY, description text NOT NULL, "
             "lng double precision, lat double precision, created_at timestamptz NOT NULL DEFAULT now())")


def insert(request: HttpRequest) -> HttpResponse:
    post = request.POST
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("INSERT INTO bench_bare_insert (description, lng, lat) VALUES (%s, %s, %s) RETURNING id",
                       [post.get("description", ""), post.get("long"), post.get("lat")])
        (pk,) = cursor.fetchone()
    return HttpResponse(json.dumps([{"service_request_id": str(pk)}]), status=201, content_type="application/json")


LIST_SQL = """
SELECT c.id, c.state, c.title, c.description, c.lng, c.lat, c.address, c.created_at, c.closed_at, k.code
FROM cases_case c LEFT JOIN cases_category k ON k.id = c.category_id
WHERE c.is_public ORDER BY c.created_at DESC, c.id DESC LIMIT 100
"""


def listing(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute(LIST_SQL)
        rows = cursor.fetchall()
    out = [{"service_request_id": str(pk), "status": "closed" if state == "closed" else "open", "title": title,
            "description": description, "long": lng, "lat": lat, "address": address,
            "requested_datetime": created.isoformat(), "updated_datetime": (closed or created).isoformat(),
            "service_code": code or ""}
           for pk, state, title, description, lng, lat, address, created, closed, code in rows]
    return HttpResponse(json.dumps(out, ensure_ascii=False), content_type="application/json")


urlpatterns = [path("insert", insert), path("list", listing)]
