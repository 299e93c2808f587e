"""Test settings: the same settings module, plus the CI switch to the real services.

Under CI=true the suite runs on PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) unless
DATABASE_URL / DOPPEL_TEST_REDIS_URL say otherwise; a missing service is then a failure
(tests/conftest.py), never a skip.
"""
import os

os.environ["DOPPEL_TESTING"] = "1"
# A test-only key (never the built-in one, which production settings refuse without DEBUG);
# set in the environment so the worker and server processes tests start inherit it.
os.environ.setdefault("SECRET_KEY", "doppel-test-only-secret-key-not-for-production-0123456789")
if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/doppel")

from .settings import *  # noqa: E402,F401,F403
from .settings import REST_FRAMEWORK  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# One process's own cache: each test starts with it empty (tests/conftest.py), and no test reads
# another's leftovers from var/cache
if not os.environ.get("CACHE_URL"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Eager by default in tests; the Celery end-to-end tests start a real worker on Redis.
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True  # a failing task is a failing test
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"write": "100000/min"}}
