"""Doppel settings: everything that differs between a laptop and production comes from the
environment (12-factor). The embedded default (no variables at all) is SQLite, eager Celery and
local files under ./var, so `make run` needs nothing else running.

Credentials and S3 endpoints live here only, as named storage profiles; the database stores a
profile *name*, never a secret or a user-supplied URL.
"""
import json
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("DOPPEL_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name, default):
    value = os.environ.get(name)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from None


def env_json(name, default):
    value = os.environ.get(name)
    if not value:
        return default
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise ImproperlyConfigured(f"{name} is not valid JSON: {exc}") from exc


TESTING = env_bool("DOPPEL_TESTING")
DEBUG = env_bool("DEBUG", False)
DEFAULT_SECRET_KEY = "doppel-insecure-development-key-change-me"
SECRET_KEY = os.environ.get("SECRET_KEY", DEFAULT_SECRET_KEY)
# No flag lifts this guard: tests get their own key from reviewapp/settings_test.py (and pass it
# on to the processes they start), so DOPPEL_TESTING in a production environment changes nothing.
if not DEBUG and SECRET_KEY == DEFAULT_SECRET_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY is the built-in development key and DEBUG is off: set SECRET_KEY "
        "(or DEBUG=1 for local development)."
    )

ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "axes",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "reviewapp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "reviewapp.middleware.RejectNulCharactersMiddleware",
    "reviewapp.middleware.StyledNotFoundMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # last, as django-axes requires: refuses logins while (IP, user name) is locked out
    "axes.middleware.AxesMiddleware",
]

# --- login throttling (django-axes) ----------------------------------------------------------
# A lock-out holds the pair (client IP, user name) together: someone guessing passwords from one
# address locks only their own attempts at that name, never the curator logging in from another
# address, and one address cannot spray guesses over many names beyond the limit per name.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_LOCKOUT_PARAMETERS = [["ip_address", "username"]]
AXES_FAILURE_LIMIT = env_int("DOPPEL_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("DOPPEL_LOGIN_COOLOFF_MINUTES", 15))
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False  # no start-up banner in every command's output; failures and lock-outs are still logged
AXES_CLIENT_IP_CALLABLE = "reviewapp.middleware.client_ip"
AXES_USERNAME_CALLABLE = "reviewapp.middleware.login_username"
# Proxies in front of Doppel that append to X-Forwarded-For (0: none, use the socket's address).
PROXY_COUNT = env_int("DOPPEL_PROXY_COUNT", 0)

ROOT_URLCONF = "reviewapp.urls"
WSGI_APPLICATION = "reviewapp.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "reviewapp.context_processors.roles",
            ],
            # every template writes byte counts with the app's one function (reviewapp.units)
            "builtins": ["reviewapp.templatetags.doppel_words"],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'doppel.sqlite3'}"),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # In the embedded mode the web server and the background worker write one SQLite file: WAL
    # lets readers go on while a job writes, the busy timeout makes a writer wait for the lock
    # instead of failing, and IMMEDIATE transactions take the write lock at BEGIN, so a
    # read-then-write (a re-check and the action it guards) is never upgraded mid-way.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 30, "init_command": "PRAGMA journal_mode=WAL;", "transaction_mode": "IMMEDIATE"}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
# Development and tests serve static files straight from static/ (no collectstatic needed).
WHITENOISE_USE_FINDERS = DEBUG or TESTING
WHITENOISE_AUTOREFRESH = DEBUG or TESTING

# --- storage for renditions (web-size JPEGs, aligned counterparts, difference images) ---------
RENDITIONS_S3_BUCKET = os.environ.get("DOPPEL_RENDITIONS_S3_BUCKET", "")
RENDITIONS_S3_PROFILE = os.environ.get("DOPPEL_RENDITIONS_S3_PROFILE", "default")
RENDITIONS_DIR = Path(os.environ.get("DOPPEL_RENDITIONS_DIR", VAR_DIR / "renditions"))

# --- named S3 storage profiles -------------------------------------------------------------
# DOPPEL_S3_PROFILES='{"aws": {"region_name": "eu-west-1"},
#                      "minio": {"endpoint_url": "http://minio:9000", "aws_access_key_id": "...",
#                                "aws_secret_access_key": "...", "region_name": "us-east-1"}}'
# A profile without keys uses boto3's default chain (instance role, AWS_* variables).
S3_PROFILES = env_json("DOPPEL_S3_PROFILES", {})
if not isinstance(S3_PROFILES, dict):
    raise ImproperlyConfigured("DOPPEL_S3_PROFILES must be a JSON object of profile name -> options")
_ALLOWED_PROFILE_KEYS = {
    "endpoint_url",
    "region_name",
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "addressing_style",
    "verify",
    # Doppel's own: this profile reaches a different S3 service, so its buckets are distinct from
    # same-named buckets on other profiles (an explicit override; logged when a source uses it).
    "separate_service",
}
for _name, _opts in S3_PROFILES.items():
    _unknown = set(_opts) - _ALLOWED_PROFILE_KEYS
    if _unknown:
        raise ImproperlyConfigured(f"S3 profile {_name!r} has unknown options: {sorted(_unknown)}")

STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(VAR_DIR / "media")},
    },
    "renditions": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(RENDITIONS_DIR)},
    },
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG and not TESTING
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
if RENDITIONS_S3_BUCKET:
    _profile = S3_PROFILES.get(RENDITIONS_S3_PROFILE, {})
    STORAGES["renditions"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": RENDITIONS_S3_BUCKET,
            "location": os.environ.get("DOPPEL_RENDITIONS_S3_PREFIX", "renditions"),
            "endpoint_url": _profile.get("endpoint_url"),
            "region_name": _profile.get("region_name"),
            "access_key": _profile.get("aws_access_key_id"),
            "secret_key": _profile.get("aws_secret_access_key"),
            "querystring_auth": True,
            "querystring_expire": 300,  # short-lived signed URLs
            "default_acl": None,
            "file_overwrite": True,
        },
    }

# --- local sources are confined to these roots (os.pathsep separated) ------------------------
LOCAL_ROOTS = [
    Path(p).resolve()
    for p in os.environ.get("DOPPEL_LOCAL_ROOTS", str(VAR_DIR / "sources")).split(os.pathsep)
    if p
]

# --- engine, review and safety knobs ---------------------------------------------------------
MAX_IMAGE_PIXELS = env_int("DOPPEL_MAX_IMAGE_PIXELS", 200_000_000)
MAX_OBJECT_BYTES = env_int("DOPPEL_MAX_OBJECT_BYTES", 2 * 1024**3)
# What a full decode may hold in memory (width x height x channels x bytes per sample), besides
# the pixel limit: a small file may declare a huge 16-bit canvas. Applied to every decode.
MAX_DECODED_BYTES = env_int("DOPPEL_MAX_DECODED_BYTES", 1024**3)
ID_PATTERNS = env_json("DOPPEL_ID_PATTERNS", None)  # list of regexes, None = engine default
LEASE_SECONDS = env_int("DOPPEL_LEASE_SECONDS", 15 * 60)
QUARANTINE_RETENTION_DAYS = env_int("DOPPEL_QUARANTINE_RETENTION_DAYS", 30)
QUARANTINE_PREFIX = os.environ.get("DOPPEL_QUARANTINE_PREFIX", "doppel-quarantine/")
QUARANTINE_BUCKET = os.environ.get("DOPPEL_QUARANTINE_BUCKET", "")  # empty: same bucket as the source
QUARANTINE_DIR = Path(os.environ.get("DOPPEL_QUARANTINE_DIR", VAR_DIR / "quarantine"))
RESTORE_TIER = os.environ.get("DOPPEL_RESTORE_TIER", "Bulk")
RESTORE_DAYS = env_int("DOPPEL_RESTORE_DAYS", 7)
RESTORE_BATCH = env_int("DOPPEL_RESTORE_BATCH", 500)
ANALYSE_BATCH = env_int("DOPPEL_ANALYSE_BATCH", 50)
# A pair phase is spread over at least this many batches (one per worker process it may keep busy;
# tasks.pipeline.pair_batch_size): a small job pairs on every worker, not on one.
PAIR_SPREAD = env_int("DOPPEL_PAIR_SPREAD", 8)
# Exports with more rows than this are written by a worker (a job with a download link), not
# inside the request: gunicorn gives a request 60 s.
EXPORT_INLINE_ROWS = env_int("DOPPEL_EXPORT_INLINE_ROWS", 20_000)
EXPORT_KEEP_HOURS = env_int("DOPPEL_EXPORT_KEEP_HOURS", 72)  # then the beat task removes the file
# Where reingested copies go: "local:/path" (under an allowed root) or "s3:PROFILE:BUCKET/PREFIX".
INGEST_LOCATION = os.environ.get("DOPPEL_INGEST_LOCATION", f"local:{VAR_DIR / 'ingest'}")
# Where extracts (tar archives of name lists) go: named locations, each "local:/path" (under one of
# DOPPEL_EXTRACT_ROOTS) or "s3:PROFILE:BUCKET/PREFIX". Admins pick a name, never a path or endpoint.
EXTRACT_ROOTS = [
    Path(p).resolve()
    for p in os.environ.get("DOPPEL_EXTRACT_ROOTS", str(VAR_DIR / "extracts")).split(os.pathsep)
    if p
]
EXTRACT_LOCATIONS = env_json("DOPPEL_EXTRACT_LOCATIONS", {"default": f"local:{VAR_DIR / 'extracts'}"})
if not isinstance(EXTRACT_LOCATIONS, dict):
    raise ImproperlyConfigured("DOPPEL_EXTRACT_LOCATIONS must be a JSON object of name -> location")
EXTRACT_MAX_DAYS = env_int("DOPPEL_EXTRACT_MAX_DAYS", 365)

# --- Celery --------------------------------------------------------------------------------
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
# `make run` (manage.py doppel_run) starts a background worker on this broker: kombu's SQLAlchemy
# transport on a SQLite file, so the embedded default runs the same task code as production.
EMBEDDED_BROKER_URL = f"sqla+sqlite:///{VAR_DIR / 'broker.sqlite3'}"
EMBEDDED_WORKER_CONCURRENCY = env_int("DOPPEL_EMBEDDED_WORKER_CONCURRENCY", 2)
# No broker configured (a bare `manage.py doppel_*`) = tasks run in-process, eagerly, to the end.
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not CELERY_BROKER_URL)
# In the embedded (eager) mode a failing task must not turn the request that queued it into a
# 500: like a real worker, it is logged and counted on its Job. Tests set this to True.
CELERY_TASK_EAGER_PROPAGATES = env_bool("CELERY_TASK_EAGER_PROPAGATES", False)
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", None)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("DOPPEL_TASK_SOFT_TIME_LIMIT", 600)
CELERY_TASK_TIME_LIMIT = env_int("DOPPEL_TASK_TIME_LIMIT", 660)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
VISIBILITY_TIMEOUT = env_int("DOPPEL_VISIBILITY_TIMEOUT", 3600)
if CELERY_BROKER_URL.startswith(("sqla+", "sqlalchemy+")):
    # kombu hands these options to SQLAlchemy's create_engine: sqlite3's timeout is the busy
    # timeout (WAL is switched on by reviewapp.celery.sqlite_broker_prepare).
    CELERY_BROKER_TRANSPORT_OPTIONS = {"connect_args": {"timeout": 30}}
else:
    # A task a dead worker held is redelivered once it is visibility_timeout old. kombu looks for such
    # tasks every unacked_restore_interval seconds but, by default, really scans only every 10th time
    # (about every 100 s, whatever the timeout): scan every time, so redelivery follows the timeout
    # (kombu >= 5.7, which celery 5.7 requires, honours the throttle).
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": VISIBILITY_TIMEOUT,
        "unacked_restore_interval": env_int("DOPPEL_RESTORE_SCAN_INTERVAL", 10),
        "unacked_restore_throttle": 1,
    }
CELERY_TASK_DEFAULT_QUEUE = "doppel"
# The pictures a page waits for (services.renditions' tasks) have their own queue, which every worker
# takes as well as the jobs' (WORKER_QUEUES, its -Q): on the one queue a picture waited behind a whole
# analysis batch (114 s behind 225 files for a 15 ms task: a fresh-eyed attack, stop 75). A worker
# consumes its queues in turn, so a picture waits for a free process, not for the backlog; and a process
# takes that queue alone (`make run`'s pictures worker, compose's pictures-worker), so one is always free.
PICTURES_QUEUE = "doppel-pictures"
WORKER_QUEUES = (PICTURES_QUEUE, CELERY_TASK_DEFAULT_QUEUE)
CELERY_TASK_ROUTES = {name: {"queue": PICTURES_QUEUE} for name in ("doppel.asset_renditions", "doppel.candidate_rendition")}
# A running analysis job that has made no progress for this long while the broker's queue is empty
# has lost messages (a worker killed between taking a message and recording that it holds it, or the
# embedded broker's rows a killed worker had taken): beat re-queues what is pending (services/jobs.
# jobs_stalled_requeue). Longer than the visibility timeout, after which Redis hands back what a dead
# worker held, and than the longest time limit of an analysis task (1860 s: tasks.pipeline.pair_batch's,
# tested), so a slow item or a redelivery on its way is not raced.
JOB_STALL_SECONDS = env_int("DOPPEL_JOB_STALL_SECONDS", max(VISIBILITY_TIMEOUT, 1860) + 600)
# Periodic execution work (run `celery -A reviewapp beat` beside the workers).
CELERY_BEAT_SCHEDULE = {
    "quarantine-purge": {"task": "doppel.quarantine_purge", "schedule": env_int("DOPPEL_PURGE_INTERVAL", 3600)},
    "reingest-dispatch": {"task": "doppel.reingest_dispatch", "schedule": env_int("DOPPEL_REINGEST_DISPATCH_INTERVAL", 600)},
    "reingest-check": {"task": "doppel.reingest_check", "schedule": env_int("DOPPEL_REINGEST_CHECK_INTERVAL", 900)},
    "idempotency-expire": {"task": "doppel.idempotency_expire", "schedule": 3600},
    "export-files-expire": {"task": "doppel.export_files_expire", "schedule": 3600},
    "extracts-expire": {"task": "doppel.extracts_expire", "schedule": env_int("DOPPEL_EXTRACT_EXPIRE_INTERVAL", 3600)},
    "jobs-stalled-requeue": {"task": "doppel.jobs_stalled_requeue", "schedule": env_int("DOPPEL_STALL_SWEEP_INTERVAL", 300)},
}
# How long an API Idempotency-Key answer is kept for retries.
IDEMPOTENCY_HOURS = env_int("DOPPEL_IDEMPOTENCY_HOURS", 72)

# --- cache (API rate limits, pictures queued) ----------------------------------------------
# Rate limits are counted in the cache, and a picture queued for a worker is remembered there
# (services.renditions: queued once, forgotten by its task when done): with several gunicorn
# processes or machines they must share one (Redis). Without CACHE_URL the embedded mode's web
# server and worker share files under var/: an in-process cache was one per process, so a picture
# the worker had made and forgotten stayed "queued" for the web server (503, nothing queued, for up
# to 5 minutes once it went again: a fresh-eyed attack, stop 75).
CACHE_URL = os.environ.get("CACHE_URL", "")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
        if CACHE_URL
        else {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": str(VAR_DIR / "cache")}
    )
}

# --- REST API ------------------------------------------------------------------------------
# API tokens (django-rest-knox): only a SHA-512 digest is stored, each token expires, and the
# header stays `Authorization: Token <token>`. Made by `manage.py doppel_token USER`.
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=env_int("DOPPEL_API_TOKEN_DAYS", 90)),
    "AUTH_HEADER_PREFIX": "Token",
    "AUTO_REFRESH": False,
}
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "knox.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.CursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_RATES": {
        "write": os.environ.get("DOPPEL_API_WRITE_RATE", "600/min"),
    },
    "EXCEPTION_HANDLER": "reviewapp.api.exceptions.api_exception_handler",
    # DRF's parsers, with a bound on how deep a JSON body nests (reviewapp/api/parsers.py)
    "DEFAULT_PARSER_CLASSES": [
        "reviewapp.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Doppel API",
    "DESCRIPTION": "Find, prove and clean up duplicate images without losing the last good copy.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",  # served by Django: no CDN needed
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "reviewapp.api.schema.describe_api",
    ],
    "ENUM_NAME_OVERRIDES": {  # one readable name per choice set in the API schema
        "AssetStateEnum": "reviewapp.models.Asset.State",
        "DecodeStatusEnum": "reviewapp.models.Asset.DecodeStatus",
        "JobStateEnum": "reviewapp.models.Job.State",
        "JobKindEnum": "reviewapp.models.Job.Kind",
        "SourceKindEnum": "reviewapp.models.Source.Kind",
        "SourceRoleEnum": "reviewapp.models.Source.Role",
        "DeletionPlanStateEnum": "reviewapp.models.DeletionPlan.State",
        "DeletionItemStateEnum": "reviewapp.models.DeletionItem.State",
        "ReingestStateEnum": "reviewapp.models.ReingestItem.State",
        "CandidateStatusEnum": "reviewapp.models.Candidate.Status",
        "ReviewStatusEnum": "reviewapp.models.ReviewItem.Status",
        "ErrorCategoryEnum": "reviewapp.models.ErrorLogEntry.Category",
        "VerdictEnum": "reviewapp.models.Verdict",
        "DecisionActionEnum": "reviewapp.models.Decision.Action",
        "AuditActionEnum": "reviewapp.models.AuditEntry.Action",
    },
}

# --- security headers (production behind TLS sets DOPPEL_SECURE=1) ----------------------------
if env_bool("DOPPEL_SECURE"):
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = 3600
X_FRAME_OPTIONS = "DENY"

# --- Content-Security-Policy (django-csp) -----------------------------------------------------
# Nothing inline, nothing from elsewhere: templates keep every script and style in static/, the API
# docs use drf-spectacular-sidecar's bundles and reviewapp/api/docs.py (no CDN, no inline script).
# The one way out is images: renditions kept in S3 are shown by short-lived signed URLs, so that
# endpoint's origin (or AWS S3's) may serve images; DOPPEL_CSP_IMG_SRC adds more origins.
from csp.constants import NONE, SELF  # noqa: E402

_csp_img = [SELF, "data:"]  # data: for the icons inside Swagger UI's and Redoc's own CSS
if RENDITIONS_S3_BUCKET:
    _endpoint = S3_PROFILES.get(RENDITIONS_S3_PROFILE, {}).get("endpoint_url")
    if _endpoint:
        from urllib.parse import urlsplit as _urlsplit

        _csp_img.append("{0.scheme}://{0.netloc}".format(_urlsplit(_endpoint)))
    else:
        _csp_img.append("https://*.amazonaws.com")
_csp_img += [o.strip() for o in os.environ.get("DOPPEL_CSP_IMG_SRC", "").split(",") if o.strip()]
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": _csp_img,
        "font-src": [SELF],
        "connect-src": [SELF],
        "worker-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
SESSION_COOKIE_HTTPONLY = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"no_traceback_for_403": {"()": "reviewapp.logfilters.NoTracebackForForbidden"}},
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.request": {"filters": ["no_traceback_for_403"]},
    },
}
