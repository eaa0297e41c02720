"""Settings for the test suite: the production settings with test-only speed-ups (never used by a server)."""

import atexit
import shutil
import tempfile
from pathlib import Path

from .settings import *  # noqa: F403
from .settings import STORAGES

# Tests render templates without running collectstatic first.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
# Password hashing is deliberately slow; tests create many users.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# A file, not SQLite's shared in-memory database: tests that act from several threads at once need real locking
# (WAL + busy timeout) rather than shared-cache table locks.
# A fresh folder per run, so no -wal/-shm files of an earlier run can linger beside a new database.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    _folder = tempfile.mkdtemp(prefix="gongzhi-test-")
    atexit.register(shutil.rmtree, _folder, ignore_errors=True)
    DATABASES["default"]["TEST"] = {"NAME": str(Path(_folder) / "test.sqlite3")}  # noqa: F405
