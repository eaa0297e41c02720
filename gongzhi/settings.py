"""Django settings for gongzhi.

Everything that differs between a laptop demo and production is read from the environment through the small
typed helpers below (the healthchecks habit): ``GONGZHI_DATABASE_URL`` chooses the database (embedded SQLite when
unset), ``GONGZHI_SECRET_KEY`` (or ``GONGZHI_SECRET_KEY_FILE``) the signing key, ``GONGZHI_DEBUG`` debug mode.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("GONGZHI_DATA_DIR", BASE_DIR.parent / "var")).resolve()


def envbool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def envint(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def envsecret(name: str) -> str | None:
    """Read a secret from NAME, or from the file named by NAME_FILE (docker/systemd credentials)."""
    if path := os.environ.get(f"{name}_FILE"):
        return Path(path).read_text(encoding="utf-8").strip()
    return os.environ.get(name)


def _secret_key() -> str:
    if key := envsecret("GONGZHI_SECRET_KEY"):
        return key
    # A laptop install keeps a generated key in its data folder so sessions survive restarts.
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50), encoding="utf-8")
    return key_file.read_text(encoding="utf-8").strip()


SECRET_KEY = _secret_key()
DEBUG = envbool("GONGZHI_DEBUG", False)
ALLOWED_HOSTS = [h for h in os.environ.get("GONGZHI_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("GONGZHI_CSRF_TRUSTED_ORIGINS", "").split(",") if o]

# No Django admin: every change goes through the modules' audited services and their pages.
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "treebeard",
    "ninja",
    "axes",
    "gongzhi.core",
    "gongzhi.accounts",
    "gongzhi.registry",
    "gongzhi.cases",
    "gongzhi.councils",
    "gongzhi.patrol",
    "gongzhi.cobuild",
    "gongzhi.dispatch",
    "gongzhi.assessment",
    "gongzhi.points",
    "gongzhi.supervision",
    "gongzhi.govservice",
    "gongzhi.sites",
    "gongzhi.maps",
    "gongzhi.notifications",
    "gongzhi.api",
    "gongzhi.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "gongzhi.api.errors.RejectNulMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "gongzhi.web.middleware.ChineseFirstMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "gongzhi.accounts.middleware.FirstRunMiddleware",
    "gongzhi.accounts.middleware.PasswordChangeMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "gongzhi.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "gongzhi.web.context.navigation",
                "gongzhi.notifications.context.unread",
            ],
        },
    },
]

WSGI_APPLICATION = "gongzhi.wsgi.application"

_sqlite_path = DATA_DIR / "gongzhi.sqlite3"
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("GONGZHI_DATABASE_URL") or f"sqlite:///{_sqlite_path}",
        # Persistent connections: a request must not pay for a new PostgreSQL connection.
        conn_max_age=envint("GONGZHI_CONN_MAX_AGE", 600),
        # Off by default: the check is a `SELECT 1` before every request (12–17% of an intake's time, issue 15).
        # Without it a connection the database dropped fails one request, and Django then replaces it.
        conn_health_checks=envbool("GONGZHI_CONN_HEALTH_CHECKS", False),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            # WAL lets the web server read while a worker writes; IMMEDIATE avoids lock upgrades mid-transaction.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
            "transaction_mode": "IMMEDIATE",
        }
    )
    # SQLite has one writer at a time: a login that writes a session row (and deletes the old one) would queue
    # behind a long import's chunks for each of them. On SQLite sessions are files in the data folder instead —
    # shared by every worker on the host, still ended server-side at logout, expired ones removed by
    # `clearsessions`; PostgreSQL keeps them in the database.
    SESSION_ENGINE = "django.contrib.sessions.backends.file"
    SESSION_FILE_PATH = str(DATA_DIR / "sessions")
    (DATA_DIR / "sessions").mkdir(mode=0o700, parents=True, exist_ok=True)

if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and envbool("GONGZHI_PG_PREPARED", False):
    # Statements sent with their parameters apart and prepared on a connection once used five times: PostgreSQL
    # then plans a case fetch (eight joined tables, ~50 indexes to consider) once per connection — planning was
    # 4.6 ms of its 5.2 ms (issue 15). Off by default: after five runs PostgreSQL may switch to a generic plan,
    # and a generic plan cannot use an index for ``path LIKE $1`` (the scope filter of every list) — at 10M cases a
    # community's ledger went from 16 ms to 2.4 s. Never behind a pooler in transaction mode (PgBouncer < 1.21).
    DATABASES["default"].setdefault("OPTIONS", {}).update({"server_side_binding": True, "prepare_threshold": 5})
if DATABASES["default"]["ENGINE"] == "django.db.backends.mysql":
    # The MySQL family (MariaDB here; TiDB and OceanBase speak the same protocol in 信创 deployments) through PyMySQL,
    # pure Python, so a server needs no C headers to install it; Django talks to it as to mysqlclient.
    import pymysql

    pymysql.install_as_MySQLdb()
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "charset": "utf8mb4",  # four-byte UTF-8: rare characters in names (𠮷) and emoji in residents' messages
            # READ COMMITTED as on PostgreSQL: a row locked for update is read as it is now, not as the snapshot was.
            "isolation_level": "read committed",
            "init_command": "SET sql_mode='STRICT_TRANS_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,"
                            "ERROR_FOR_DIVISION_BY_ZERO'",
        }
    )
    DATABASES["default"]["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"}

# PostgreSQL streaming replicas for lists and figures (gongzhi/core/replicas.py): aliases replica1, replica2…, read
# only by the views marked replica_reads, never by a client that wrote in the last GONGZHI_READ_YOUR_WRITES seconds,
# never from one lagging more than GONGZHI_REPLICA_MAX_LAG seconds. Tests use them as mirrors of the primary.
for _n, _url in enumerate([u.strip() for u in os.environ.get("GONGZHI_REPLICA_URLS", "").split(",") if u.strip()], 1):
    DATABASES[f"replica{_n}"] = {
        **dj_database_url.parse(_url, conn_max_age=envint("GONGZHI_CONN_MAX_AGE", 600)),
        "OPTIONS": dict(DATABASES["default"].get("OPTIONS", {})),
        "TEST": {"MIRROR": "default"},
    }
GONGZHI_REPLICA_MAX_LAG = float(os.environ.get("GONGZHI_REPLICA_MAX_LAG", "5"))
GONGZHI_READ_YOUR_WRITES = envint("GONGZHI_READ_YOUR_WRITES", 15)
DATABASE_ROUTERS = ["gongzhi.core.replicas.ReplicaRouter"] if len(DATABASES) > 1 else []
if DATABASE_ROUTERS:
    MIDDLEWARE.insert(MIDDLEWARE.index("axes.middleware.AxesMiddleware"), "gongzhi.core.replicas.PinWritersMiddleware")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Login throttling and lockout (django-axes): five failures for one user name from one address lock it for
# GONGZHI_LOCKOUT_MINUTES; a successful login resets the count.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = envint("GONGZHI_LOGIN_FAILURES", 5)
AXES_COOLOFF_TIME = envint("GONGZHI_LOCKOUT_MINUTES", 15) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked.html"
AXES_VERBOSE = False
# Sessions end after GONGZHI_SESSION_HOURS without activity (shared office machines).
SESSION_COOKIE_AGE = envint("GONGZHI_SESSION_HOURS", 8) * 3600
SESSION_SAVE_EVERY_REQUEST = False
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:login"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = DATA_DIR / "media"
MEDIA_URL = "/media/"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = envbool("GONGZHI_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# Each module adds its part of the demo city after the registry's (same transaction, same seed).
GONGZHI_DEMO_EXTENSIONS = ["gongzhi.cases.demo.load", "gongzhi.councils.demo.load", "gongzhi.patrol.demo.load",
                           "gongzhi.cobuild.demo.load", "gongzhi.dispatch.demo.load", "gongzhi.assessment.demo.load",
                           "gongzhi.points.demo.load", "gongzhi.supervision.demo.load",
                           "gongzhi.sites.demo.load", "gongzhi.govservice.demo.load"]

# Bounded pagination everywhere (web lists and the API share these numbers).
# Rows per (day, street) in the case figures' rollup (see gongzhi.cases.rollup): about the number of writers that
# report at once from one street. More rows only cost the readers a little more adding up.
GONGZHI_ROLLUP_SHARDS = envint("GONGZHI_ROLLUP_SHARDS", 8)
GONGZHI_PAGE_SIZE = 50
GONGZHI_MAX_PAGE_SIZE = 200
# Largest Excel upload accepted, in bytes.
GONGZHI_MAX_UPLOAD_BYTES = envint("GONGZHI_MAX_UPLOAD_BYTES", 10 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = GONGZHI_MAX_UPLOAD_BYTES

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("GONGZHI_LOG_LEVEL", "WARNING")},
}

# Registry norms flagged on the area pages and in the coverage figures (天长): a grid takes 300–500 households; one
# community worker for about every 350 households.
GONGZHI_GRID_HOUSEHOLDS = (envint("GONGZHI_GRID_HOUSEHOLDS_MIN", 300), envint("GONGZHI_GRID_HOUSEHOLDS_MAX", 500))
GONGZHI_HOUSEHOLDS_PER_COMMUNITY_WORKER = envint("GONGZHI_HOUSEHOLDS_PER_COMMUNITY_WORKER", 350)

# SMS gateway for notifications and one-time codes (gongzhi/notifications/channels.py): each SMS is a POST of
# {"phone", "text"} as JSON to GONGZHI_SMS_URL with "Authorization: Bearer GONGZHI_SMS_TOKEN". Unset: the text is
# written to the server log (logger gongzhi.sms) instead.
GONGZHI_SMS_URL = os.environ.get("GONGZHI_SMS_URL", "")
GONGZHI_SMS_TOKEN = envsecret("GONGZHI_SMS_TOKEN") or ""
GONGZHI_SMS_TIMEOUT = envint("GONGZHI_SMS_TIMEOUT", 5)

# E-mail notifications through Django's mail settings, from the environment. Without EMAIL_HOST mail is written to
# the console (a laptop install sends nothing).
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_BACKEND = os.environ.get("GONGZHI_EMAIL_BACKEND") or (
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.console.EmailBackend")
EMAIL_PORT = envint("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = envsecret("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = envbool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "gongzhi@localhost")
# The address people reach the platform at, for links in e-mail and SMS (e.g. https://gongzhi.example.gov.cn).
GONGZHI_SITE_URL = os.environ.get("GONGZHI_SITE_URL", "").rstrip("/")

# ---------------------------------------------------------------------------------------------- security, transport
# Content-Security-Policy (django-csp 4): scripts only from the app itself and the inline blocks that carry this
# request's nonce (``<script nonce="{{ request.csp_nonce }}">``); no inline event handlers (app.js delegates them:
# ``data-autosubmit``, ``data-confirm``), no eval. Styles keep 'unsafe-inline' for the style attributes of the
# templates (charts size themselves through the CSSOM, which CSP does not restrict).
from typing import Any  # noqa: E402

from csp.constants import NONCE, NONE, SELF  # noqa: E402

INSTALLED_APPS += ["csp"]
MIDDLEWARE.insert(MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1, "csp.middleware.CSPMiddleware")
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:", "blob:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
# 一张图's optional base layer: the city's own tile server (an intranet GIS), e.g.
# ``https://gis.city.local/tiles/{z}/{x}/{y}.png``; without it the map stands on the platform's own boundaries.
GONGZHI_MAP_TILES = os.environ.get("GONGZHI_MAP_TILES", "")
# The coordinate system the city's boundary files come in by default (the import form's first choice): WGS84 (GPS),
# CGCS2000 (the national system of 自然资源 surveys), GCJ02 (web maps) or CGCS2000_3DEG_CM_<meridian>.
GONGZHI_MAP_CRS = os.environ.get("GONGZHI_MAP_CRS", "CGCS2000")
if GONGZHI_MAP_TILES:
    from urllib.parse import urlsplit

    _tiles = urlsplit(GONGZHI_MAP_TILES)
    _directives: dict[str, list[Any]] = CONTENT_SECURITY_POLICY["DIRECTIVES"]  # type: ignore[assignment]
    _directives["img-src"].append(f"{_tiles.scheme}://{_tiles.netloc}")
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# TLS in front (a reverse proxy terminating HTTPS): GONGZHI_TLS=1 (or the older GONGZHI_SECURE_COOKIES=1) makes the
# session and CSRF cookies Secure, sends HSTS for GONGZHI_HSTS_SECONDS (0 turns it off) and trusts the proxy's
# X-Forwarded-Proto header to tell HTTPS requests. No SECURE_SSL_REDIRECT: the proxy redirects plain HTTP itself,
# and the loopback health checks and first-run address keep working on http://127.0.0.1.
GONGZHI_TLS = envbool("GONGZHI_TLS", False) or envbool("GONGZHI_SECURE_COOKIES", False)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = GONGZHI_TLS
LANGUAGE_COOKIE_SECURE = GONGZHI_TLS
SECURE_HSTS_SECONDS = envint("GONGZHI_HSTS_SECONDS", 31_536_000) if GONGZHI_TLS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = GONGZHI_TLS and envbool("GONGZHI_HSTS_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = False
if GONGZHI_TLS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# A cache shared by every worker process (tokens and scopes checked recently, with a generation counter bumped on
# every revocation and grant change: core/scope.py). GONGZHI_CACHE_URL=redis://host:6379/0 uses Redis (Django's
# RedisCache; pip install redis); unset (or "db"), a table in the database, created by the migrations.
_cache_url = os.environ.get("GONGZHI_CACHE_URL", "").strip()
CACHES: dict[str, dict[str, Any]]
if _cache_url.startswith(("redis://", "rediss://", "unix://")):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _cache_url,
                          "KEY_PREFIX": "gongzhi"}}
elif _cache_url.startswith("locmem"):  # one process only (a laptop with one worker)
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "gongzhi_cache",
                          "OPTIONS": {"MAX_ENTRIES": 20_000}}}

# ---------------------------------------------------------------------------------------------- background jobs
# Long work (big imports, their 预检, exports over GONGZHI_EXPORT_JOB_ROWS rows) runs as jobs on Django's tasks
# framework (the django-tasks backport) with its database backend, on SQLite and PostgreSQL alike; `gongzhi up`
# starts the worker (`gongzhi manage db_worker`). Uploads above GONGZHI_IMPORT_JOB_BYTES are imported as jobs,
# smaller ones at once.
INSTALLED_APPS += ["django_tasks", "django_tasks_db", "gongzhi.jobs"]
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
GONGZHI_EXPORT_JOB_ROWS = envint("GONGZHI_EXPORT_JOB_ROWS", 5000)
GONGZHI_IMPORT_JOB_BYTES = envint("GONGZHI_IMPORT_JOB_BYTES", 64 * 1024)
