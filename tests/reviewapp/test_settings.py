"""Settings come from the environment (12-factor). Each case starts a fresh interpreter with a
controlled environment, because settings are read once at import."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, django
from django.conf import settings
django.setup()
db = settings.DATABASES["default"]
print("DOPPEL-SETTINGS " + json.dumps({
    "DEBUG": settings.DEBUG,
    "ENGINE": db["ENGINE"], "NAME": str(db["NAME"]), "HOST": db.get("HOST"), "PORT": db.get("PORT"), "USER": db.get("USER"),
    "BROKER": settings.CELERY_BROKER_URL, "EAGER": settings.CELERY_TASK_ALWAYS_EAGER,
    "S3_PROFILES": settings.S3_PROFILES,
    "LOCAL_ROOTS": [str(p) for p in settings.LOCAL_ROOTS],
    "RENDITIONS": settings.STORAGES["renditions"],
    "STATICFILES": settings.STORAGES["staticfiles"]["BACKEND"],
    "ALLOWED_HOSTS": settings.ALLOWED_HOSTS,
    "LEASE_SECONDS": settings.LEASE_SECONDS,
    "CACHE": settings.CACHES["default"],
    "CSP": settings.CONTENT_SECURITY_POLICY["DIRECTIVES"],
}, default=str))
"""

# Variables that would leak in from the developer's or CI's environment.
SCRUB = {"DEBUG", "SECRET_KEY", "DOPPEL_TESTING", "DATABASE_URL", "CELERY_BROKER_URL", "CELERY_TASK_ALWAYS_EAGER",
         "DOPPEL_S3_PROFILES", "DOPPEL_LOCAL_ROOTS", "DOPPEL_RENDITIONS_S3_BUCKET", "DOPPEL_RENDITIONS_S3_PROFILE",
         "ALLOWED_HOSTS", "DOPPEL_LEASE_SECONDS", "DJANGO_SETTINGS_MODULE", "CACHE_URL", "DOPPEL_CSP_IMG_SRC"}


def run_settings(tmp_path, **env):
    full = {k: v for k, v in os.environ.items() if k not in SCRUB}
    full.update({"DJANGO_SETTINGS_MODULE": "reviewapp.settings", "DOPPEL_VAR_DIR": str(tmp_path / "var"), "PYTHONPATH": str(ROOT)})
    full.update(env)
    proc = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=full, capture_output=True, text=True, timeout=120)
    values = None
    for line in proc.stdout.splitlines():
        if line.startswith("DOPPEL-SETTINGS "):
            values = json.loads(line.split(" ", 1)[1])
    return proc, values


def test_refuses_to_start_with_debug_off_and_the_default_secret_key(tmp_path):
    proc, values = run_settings(tmp_path)
    assert proc.returncode != 0 and values is None
    assert "ImproperlyConfigured" in proc.stderr and "SECRET_KEY" in proc.stderr


def test_the_testing_flag_cannot_lift_the_secret_key_guard(tmp_path):
    proc, values = run_settings(tmp_path, DOPPEL_TESTING="1")
    assert proc.returncode != 0 and values is None
    assert "ImproperlyConfigured" in proc.stderr and "SECRET_KEY" in proc.stderr


def test_starts_in_production_shape_with_a_real_key(tmp_path):
    proc, values = run_settings(tmp_path, SECRET_KEY="a-long-random-production-key-0123456789", ALLOWED_HOSTS="doppel.example.org")
    assert proc.returncode == 0, proc.stderr
    assert values["DEBUG"] is False
    assert values["ALLOWED_HOSTS"] == ["doppel.example.org"]
    assert values["STATICFILES"] == "whitenoise.storage.CompressedManifestStaticFilesStorage"


def test_embedded_defaults_need_nothing_running(tmp_path):
    proc, values = run_settings(tmp_path, DEBUG="1")
    assert proc.returncode == 0, proc.stderr
    assert values["DEBUG"] is True
    assert values["ENGINE"] == "django.db.backends.sqlite3"
    assert values["NAME"] == str(tmp_path / "var" / "doppel.sqlite3")
    assert values["BROKER"] == "" and values["EAGER"] is True
    assert values["S3_PROFILES"] == {}
    assert values["LOCAL_ROOTS"] == [str((tmp_path / "var" / "sources").resolve())]
    assert values["RENDITIONS"]["BACKEND"] == "django.core.files.storage.FileSystemStorage"


def test_database_broker_profiles_and_roots_are_parsed(tmp_path):
    profiles = {"minio": {"endpoint_url": "http://minio:9000", "aws_access_key_id": "k", "aws_secret_access_key": "s",
                          "region_name": "us-east-1"}, "aws": {"region_name": "eu-west-1"}}
    roots = os.pathsep.join([str(tmp_path / "a"), str(tmp_path / "b")])
    proc, values = run_settings(
        tmp_path, DEBUG="1",
        DATABASE_URL="postgres://doppel:secret@db.internal:5433/doppel_prod",
        CELERY_BROKER_URL="redis://redis.internal:6379/2",
        DOPPEL_S3_PROFILES=json.dumps(profiles),
        DOPPEL_LOCAL_ROOTS=roots,
        DOPPEL_RENDITIONS_S3_BUCKET="doppel-renditions", DOPPEL_RENDITIONS_S3_PROFILE="minio",
        DOPPEL_LEASE_SECONDS="120",
    )
    assert proc.returncode == 0, proc.stderr
    assert values["ENGINE"] == "django.db.backends.postgresql"
    assert (values["NAME"], values["HOST"], values["PORT"], values["USER"]) == ("doppel_prod", "db.internal", 5433, "doppel")
    assert values["BROKER"] == "redis://redis.internal:6379/2"
    assert values["EAGER"] is False  # a broker means real workers
    assert values["S3_PROFILES"] == profiles
    assert values["LOCAL_ROOTS"] == [str((tmp_path / "a").resolve()), str((tmp_path / "b").resolve())]
    rend = values["RENDITIONS"]
    assert rend["BACKEND"] == "storages.backends.s3.S3Storage"
    assert rend["OPTIONS"]["bucket_name"] == "doppel-renditions"
    assert rend["OPTIONS"]["endpoint_url"] == "http://minio:9000"
    assert rend["OPTIONS"]["querystring_auth"] is True  # short-lived signed URLs, never public objects
    assert values["LEASE_SECONDS"] == 120


@pytest.mark.parametrize(
    "value, message",
    [
        ('{"minio": {"endpoint_url": "http://minio:9000",}', "DOPPEL_S3_PROFILES is not valid JSON"),
        ('["minio"]', "DOPPEL_S3_PROFILES must be a JSON object"),
        ('{"minio": {"endpoint": "http://minio:9000"}}', "unknown options: ['endpoint']"),
    ],
)
def test_bad_storage_profiles_give_a_clear_error(tmp_path, value, message):
    proc, values = run_settings(tmp_path, DEBUG="1", DOPPEL_S3_PROFILES=value)
    assert proc.returncode != 0 and values is None
    assert "ImproperlyConfigured" in proc.stderr
    assert message in proc.stderr


def test_a_number_that_is_not_a_number_is_named(tmp_path):
    proc, values = run_settings(tmp_path, DEBUG="1", DOPPEL_LEASE_SECONDS="15min")
    assert proc.returncode != 0 and values is None
    assert "DOPPEL_LEASE_SECONDS must be a whole number" in proc.stderr


def test_rate_limits_count_in_a_shared_redis_cache_when_configured(tmp_path):
    # without one, the embedded web server and worker (two processes) share files under var/cache: what the
    # worker forgets (a picture queued, then made), the web server forgets too
    proc, values = run_settings(tmp_path, DEBUG="1")
    assert proc.returncode == 0, proc.stderr
    assert values["CACHE"] == {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                               "LOCATION": str(tmp_path / "var" / "cache")}
    proc, values = run_settings(tmp_path, DEBUG="1", CACHE_URL="redis://127.0.0.1:6379/9")
    assert proc.returncode == 0, proc.stderr
    assert values["CACHE"] == {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:6379/9"}


EMBEDDED_PROBE = """
import json, django
from django.conf import settings
django.setup()
print("DOPPEL-SETTINGS " + json.dumps({
    "EMBEDDED_BROKER": settings.EMBEDDED_BROKER_URL, "EAGER": settings.CELERY_TASK_ALWAYS_EAGER,
    "TRANSPORT": settings.CELERY_BROKER_TRANSPORT_OPTIONS, "DB_OPTIONS": settings.DATABASES["default"].get("OPTIONS", {}),
}, default=str))
"""


# redelivery after a worker dies follows the visibility timeout: kombu really scans at every look
# (celery 5.7 needs kombu >= 5.7, which honours unacked_restore_throttle; by default every 10th look)
REDIS_TRANSPORT = {"visibility_timeout": 3600, "unacked_restore_interval": 10, "unacked_restore_throttle": 1}


@pytest.mark.parametrize("broker, eager, transport", [
    ("sqla+sqlite:////tmp/doppel-broker.sqlite3", False, {"connect_args": {"timeout": 30}}),
    ("redis://127.0.0.1:6379/0", False, REDIS_TRANSPORT),
    ("", True, REDIS_TRANSPORT),
])
def test_the_sqlite_broker_gets_a_busy_timeout_and_redis_its_visibility_timeout(tmp_path, broker, eager, transport):
    """kombu hands SQLAlchemy transport options to create_engine, which refuses visibility_timeout."""
    full = {k: v for k, v in os.environ.items() if k not in SCRUB}
    full.update({"DJANGO_SETTINGS_MODULE": "reviewapp.settings", "DOPPEL_VAR_DIR": str(tmp_path / "var"),
                 "PYTHONPATH": str(ROOT), "DEBUG": "1", "CELERY_BROKER_URL": broker})
    out = subprocess.run([sys.executable, "-c", EMBEDDED_PROBE], env=full, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    values = json.loads(out.stdout.split("DOPPEL-SETTINGS ", 1)[1])
    assert values["EAGER"] is eager and values["TRANSPORT"] == transport
    assert values["EMBEDDED_BROKER"] == f"sqla+sqlite:///{tmp_path / 'var' / 'broker.sqlite3'}"
    assert values["DB_OPTIONS"]["init_command"] == "PRAGMA journal_mode=WAL;"
    assert values["DB_OPTIONS"]["transaction_mode"] == "IMMEDIATE" and values["DB_OPTIONS"]["timeout"] == 30


def test_the_content_security_policy_lets_images_come_only_from_where_renditions_live(tmp_path):
    proc, values = run_settings(tmp_path, DEBUG="1")
    assert proc.returncode == 0, proc.stderr
    csp = values["CSP"]
    assert csp["script-src"] == ["'self'"] and csp["style-src"] == ["'self'"] and csp["default-src"] == ["'self'"]
    assert csp["img-src"] == ["'self'", "data:"] and csp["frame-ancestors"] == ["'none'"]
    proc, values = run_settings(
        tmp_path, DEBUG="1", DOPPEL_RENDITIONS_S3_BUCKET="renditions", DOPPEL_RENDITIONS_S3_PROFILE="minio",
        DOPPEL_S3_PROFILES=json.dumps({"minio": {"endpoint_url": "http://minio:9000/some/path"}}),
        DOPPEL_CSP_IMG_SRC="https://images.example.org, ")
    assert proc.returncode == 0, proc.stderr
    assert values["CSP"]["img-src"] == ["'self'", "data:", "http://minio:9000", "https://images.example.org"]
    proc, values = run_settings(tmp_path, DEBUG="1", DOPPEL_RENDITIONS_S3_BUCKET="renditions",
                                DOPPEL_S3_PROFILES=json.dumps({"default": {"region_name": "eu-west-1"}}))
    assert values["CSP"]["img-src"][-1] == "https://*.amazonaws.com"
