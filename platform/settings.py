"""Settings, read from the environment (django-environ). Defaults suit a laptop: SQLite in var/,
Redis on localhost, local image files. Every setting is listed in the README's configuration table.

This module only reads values; the rules they must follow are Django system checks in
``platform/checks.py`` (``manage.py check`` lists every problem; commands and the web process
refuse to start on one).
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()

# DJANGO_ENV=production: no development fallbacks (SECRET_KEY and ALLOWED_HOSTS must be set, DEBUG
# must be off: checks imagegen.E001) and the TLS settings default to on, so `manage.py check
# --deploy` is clean.
DJANGO_ENV = env.str("DJANGO_ENV", default="development")
PRODUCTION = DJANGO_ENV == "production"

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY and not PRODUCTION:
    # Development fallback: a random key per checkout, kept in var/ so that signed links survive a
    # restart. Production sets SECRET_KEY.
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    _key_file = VAR_DIR / "secret_key"
    if not _key_file.exists():
        import secrets

        _key_file.write_text(secrets.token_urlsafe(50))
    SECRET_KEY = _key_file.read_text().strip()

# Keys the permutation that turns primary keys into the public project_id / user_id
# (platform/publicids.py). Defaults to SECRET_KEY; set it in a deployment and never change it.
PUBLIC_ID_KEY = env.str("PUBLIC_ID_KEY", default="")

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=[] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]", "testserver"]
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Absolute base for links in responses made outside a request (callbacks, workers).
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="").rstrip("/")

INSTALLED_APPS = [
    # First: its admin/index.html and admin/base_site.html extend Django's to link the dashboard.
    "console",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_rq",
    # Admin login throttling: failed attempts counted in the database (works while Redis is down).
    "axes",
    "accounts",
    "generation",
    "billing",
    "callbacks",
]

MIDDLEWARE = [
    # Outermost: every response is counted by route and status (/metrics), refusals included.
    "imgplatform.middleware.HttpMetricsMiddleware",
    # First: an oversized or chunked body is refused (413) before anything reads it.
    "imgplatform.middleware.RequestBodyLimitMiddleware",
    # Then: more query or form fields than DATA_UPLOAD_MAX_NUMBER_FIELDS is a 400 problem, not a 500.
    "imgplatform.middleware.RequestFieldLimitMiddleware",
    # Django's middleware below: the web process (ASGI) runs each as its subclass in
    # imgplatform.middleware.ON_THE_LOOP, whose hooks stay on the event loop (Django would hand each
    # hook to a thread: a dozen hand-offs per request). Named here as Django's, for its checks.
    "django.middleware.security.SecurityMiddleware",
    "imgplatform.middleware.SecurityHeadersMiddleware",
    # WhiteNoise, async-capable (under ASGI a request that is not for a static file stays on the loop).
    "imgplatform.middleware.StaticFilesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a locked-out admin login into its lockout response.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "imgplatform.urls"
WSGI_APPLICATION = "imgplatform.wsgi.application"

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
            ]
        },
    }
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
_POSTGRESQL = DATABASES["default"]["ENGINE"].endswith("postgresql")
# Connections are reused: a worker keeps its PostgreSQL connection from job to job (and a WSGI
# thread from request to request) for DB_CONN_MAX_AGE seconds instead of opening one per job. The
# ASGI web process pools them instead (below; imgplatform/asgi.py).
DB_CONN_MAX_AGE = env.int("DB_CONN_MAX_AGE", default=60 if _POSTGRESQL else 0)
DATABASES["default"].setdefault("CONN_MAX_AGE", DB_CONN_MAX_AGE)
# A reused connection (persistent, or taken from the pool) is checked first, so one that a
# PostgreSQL restart or failover broke is replaced instead of failing the next query.
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", env.bool("DB_CONN_HEALTH_CHECKS", default=True))
# PostgreSQL connection pool (psycopg_pool, Django's OPTIONS["pool"]) for the web process: its async
# views run ORM code on WEB_SYNC_THREADS threads and close the connection after each call, which
# with the pool hands it back instead of ending a PostgreSQL backend. imgplatform/asgi.py turns it on
# (DB_POOL_MAX_SIZE, default 20 per web process); workers keep one persistent connection each.
DB_POOL_MAX_SIZE = env.int("DB_POOL_MAX_SIZE", default=0)
if _POSTGRESQL:
    # Sessions start in UTC (TIME_ZONE): Django otherwise sends set_config('TimeZone') on every
    # connection it takes from the pool whose server default is spelled otherwise ('Etc/UTC').
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c TimeZone=UTC")
if DB_POOL_MAX_SIZE > 0 and _POSTGRESQL:
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # Django refuses persistent connections with a pool
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": min(2, DB_POOL_MAX_SIZE),
        "max_size": DB_POOL_MAX_SIZE,
        "timeout": env.float("DB_POOL_TIMEOUT", default=30.0),  # a thread waits this long for one
    }
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Web server and worker share the file: wait for the other's write lock instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("timeout", 20)
    # SQLite has no row locks (select_for_update is a no-op): a transaction takes the write lock
    # when it begins, so "lock, count, then write" (limits, retries, finishes) is one at a time and
    # a reader never fails to upgrade to a writer ("database is locked") under concurrent requests.
    DATABASES["default"]["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")
    # A file, not memory, so worker and server processes started by tests share it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test_db.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))

# --- Storage -----------------------------------------------------------------------------------
# IMAGE_STORAGE=local keeps images under MEDIA_ROOT and serves them through signed, expiring links
# of this application. IMAGE_STORAGE=s3 uses django-storages' S3 backend with presigned links; it
# reads the AWS_* settings below (bucket, region, endpoint for S3-compatible stores).
IMAGE_STORAGE = env.str("IMAGE_STORAGE", default="local")
IMAGE_LINK_TTL = env.int("IMAGE_LINK_TTL", default=3600)
IMAGE_STORAGE_BACKENDS = {
    "local": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT), "allow_overwrite": True},
    },
    "s3": {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("AWS_STORAGE_BUCKET_NAME", default=""),
            "region_name": env.str("AWS_S3_REGION_NAME", default=None),
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default=None),
            "default_acl": "private",
            "querystring_auth": True,
            "querystring_expire": IMAGE_LINK_TTL,
            "file_overwrite": True,
            "signature_version": "s3v4",
        },
    },
}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
    # An unknown IMAGE_STORAGE falls back to local here and fails check imagegen.E002.
    "images": IMAGE_STORAGE_BACKENDS.get(IMAGE_STORAGE, IMAGE_STORAGE_BACKENDS["local"]),
}

# --- API -------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.authentication.IsApiClient"],
    "DEFAULT_PARSER_CLASSES": [
        "imgplatform.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_RENDERER_CLASSES": ["imgplatform.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "imgplatform.problems.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Image generation API",
    "DESCRIPTION": (
        "Multi-tenant text-to-image API, compatible with The Hive's v2 image generation API. "
        "Authenticate with `authorization: Token <key>` (or `Bearer <key>`). Errors are "
        "`application/problem+json` with a stable `code`."
    ),
    "VERSION": "2.0.0",
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {"ModerationModeEnum": "generation.models.Task.Moderation"},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        # 429 and the RateLimit headers on every authenticated operation.
        "accounts.ratelimit.postprocess_schema",
    ],
}

# --- Queues and workers ----------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
# How long a generation job may run before rq stops it (seconds).
GENERATION_JOB_TIMEOUT = env.int("GENERATION_JOB_TIMEOUT", default=600)
# Longest a /sync request waits for its task before answering 202 with the task to poll.
SYNC_WAIT_SECONDS = env.float("SYNC_WAIT_SECONDS", default=60.0)
# POST /v1/images/generations waits this long for its task (OpenAI clients wait, they do not poll).
OPENAI_WAIT_SECONDS = env.float("OPENAI_WAIT_SECONDS", default=300.0)
# /sync waits one web process holds at once (each costs a coroutine, not a thread); beyond this, or
# beyond the tenant's TENANT_MAX_SYNC_WAITS, /sync answers 202 with the task at once.
SYNC_MAX_WAITS_PER_PROCESS = env.int("SYNC_MAX_WAITS_PER_PROCESS", default=2000)
# Threads per web process that run synchronous code (ORM, DRF) for the async views
# (imgplatform/offloop.py); each holds at most one database connection while it runs.
WEB_SYNC_THREADS = env.int("WEB_SYNC_THREADS", default=16)
# An event stream (/task/<id>/events) sends a comment line this often so proxies keep it open.
EVENTS_KEEPALIVE_SECONDS = env.float("EVENTS_KEEPALIVE_SECONDS", default=15.0)
# A worker counts as live for /readyz when its rq heartbeat is younger than this.
WORKER_HEARTBEAT_MAX_AGE = env.int("WORKER_HEARTBEAT_MAX_AGE", default=900)
# Redis clients of the web and of job code (imgplatform/redisconn.py): pooled, and failing fast
# when Redis is down (connect) or hung (read), so a submission answers 503 instead of hanging.
REDIS_CONNECT_TIMEOUT = env.float("REDIS_CONNECT_TIMEOUT", default=1.0)
REDIS_SOCKET_TIMEOUT = env.float("REDIS_SOCKET_TIMEOUT", default=2.0)

# --- Reliability (docs/reliability.md) -------------------------------------------------------
# A running task holds a lease on its row for this long; the worker renews it every third of it
# while the job runs, so only a task whose worker stopped renewing (died, hung, lost the database)
# is taken back by the reconciler.
GENERATION_LEASE_SECONDS = env.float("GENERATION_LEASE_SECONDS", default=60.0)
# Runs a task may start before a lost worker fails it with `worker_lost` (the first run included).
GENERATION_MAX_ATTEMPTS = env.int("GENERATION_MAX_ATTEMPTS", default=3)
# The reconciler leaves queued tasks younger than this alone (the web may be enqueueing them now).
RECONCILE_GRACE_SECONDS = env.float("RECONCILE_GRACE_SECONDS", default=30.0)
# A running task's `progress` events (generation/progress.py): at most one per this many seconds
# per task; the last step is always sent. 0 sends every step.
GENERATION_PROGRESS_INTERVAL = env.float("GENERATION_PROGRESS_INTERVAL", default=0.25)
# How often `manage.py run_scheduler` runs the reconciler (seconds).
RECONCILE_INTERVAL = env.int("RECONCILE_INTERVAL", default=60)
# How often the retention job deletes images older than their project's retention_days.
RETENTION_INTERVAL = env.int("RETENTION_INTERVAL", default=3600)
# How often `manage.py run_scheduler` writes the hourly task rollups of the console's pages
# (generation/rollups.py); until an hour is written the pages read its tasks.
ROLLUP_INTERVAL = env.int("ROLLUP_INTERVAL", default=300)

# --- Per-tenant limits -----------------------------------------------------------------------
# Deployment defaults; a tenant's own value (admin, tenant page) replaces each one. See the README,
# "Limits", and docs/reliability.md, "Abuse and bad input".
# Requests per minute per tenant, all its keys together (GCRA in Redis; bursts up to the whole
# minute's quota). A key may also have a smaller limit of its own (admin, create_api_key).
RATE_LIMIT_PER_MINUTE = env.int("RATE_LIMIT_PER_MINUTE", default=600)
# Tasks a tenant may have queued (submitted, not started) at once; a submit beyond is 429.
TENANT_MAX_QUEUED_TASKS = env.int("TENANT_MAX_QUEUED_TASKS", default=100)
# Tasks of one tenant running at once across all workers; the rest wait, queued.
TENANT_MAX_RUNNING_TASKS = env.int("TENANT_MAX_RUNNING_TASKS", default=4)
# /task/sync requests of one tenant waiting at once; beyond, /sync answers 202 at once (poll).
TENANT_MAX_SYNC_WAITS = env.int("TENANT_MAX_SYNC_WAITS", default=10)
# A task over its tenant's running limit goes back to the queue for about this long (seconds).
TENANT_RUNNING_RETRY_SECONDS = env.float("TENANT_RUNNING_RETRY_SECONDS", default=2.0)
# Which queued task a worker starts next: "fair" (tenants in turn by their plan's weight, counted in
# images; generation/scheduling.py) or "fifo" (the oldest job first, whoever's; the baseline of
# bench/fairness.py).
GENERATION_SCHEDULING = env.str("GENERATION_SCHEDULING", default="fair")
# Threads of a generation worker that resize and encode a batch's images while the next batch runs
# (Pillow releases the GIL); 0 encodes them one by one after the last batch. Unset: the engine's
# default (the CPUs, at most 4: generation/engine/runner.py ENCODE_THREADS).
GENERATION_ENCODE_THREADS = env.int("GENERATION_ENCODE_THREADS", default=None)
# Moderation, storage and the finish of a batch's tasks run on a thread while the same job starts
# and generates the next queued tasks (fair order); off: each stage in turn, one batch per job.
GENERATION_OVERLAP_STAGES = env.bool("GENERATION_OVERLAP_STAGES", default=True)

# --- Models ----------------------------------------------------------------------------------
# The registry: see generation/engine/registry.py for the built-in entries. GENERATION_MODELS
# (JSON) adds entries or overrides fields of existing ones, e.g.
# {"sdxl-turbo": {"source": "/models/sdxl-turbo"}}.
DEFAULT_MODEL = env.str("DEFAULT_MODEL", default="tiny")
GENERATION_MODELS = json.loads(env.str("GENERATION_MODELS", default="{}"))
# MODEL_REGISTRY (name -> ModelSpec) is built from GENERATION_MODELS when the generation app starts
# (generation/apps.py; a malformed entry raises there, so a bad GENERATION_MODELS fails the deploy
# rather than a task), which also adds one rq queue per model below: the registry is the engine's,
# and these settings import no app. DEFAULT_MODEL is checked by imagegen.E006.
# rq queues: "callbacks" and "default", plus one per registered model (django-rq's views list them).
RQ_QUEUES = {name: {"URL": REDIS_URL, "DEFAULT_TIMEOUT": GENERATION_JOB_TIMEOUT} for name in ["default", "callbacks"]}
# Enqueue at once: task_submit commits the Task row first and must know whether Redis took the
# job (to answer 503 and fail the task), which django-rq's deferred "on_db_commit" mode hides.
RQ = {"COMMIT_MODE": "auto"}
# django-rq's views are mounted once, at /admin/rq/ (platform/urls.py via console/rq.py, which lets
# staff look and only holders of django_rq.admin act); its own admin registration would mount an
# unguarded copy, so it is off and the admin index links /admin/rq/ instead.
RQ_SHOW_ADMIN_LINK = False

# --- Moderation ------------------------------------------------------------------------------
# Prompt term lists (JSON); point this at your own copy to change them. Empty: the built-in
# moderation/terms.json.
MODERATION_TERMS_FILE = env.str("MODERATION_TERMS_FILE", default="")
# Image labels that block, and from which score (0..1). NudeNet labels and, with a CLIP checker,
# clip:nsfw / clip:gore / clip:violence. A project's policy overrides these per label.
MODERATION_IMAGE_THRESHOLDS = json.loads(
    env.str(
        "MODERATION_IMAGE_THRESHOLDS",
        default=json.dumps(
            {
                "FEMALE_BREAST_EXPOSED": 0.45,
                "FEMALE_GENITALIA_EXPOSED": 0.35,
                "MALE_GENITALIA_EXPOSED": 0.35,
                "ANUS_EXPOSED": 0.35,
                "BUTTOCKS_EXPOSED": 0.5,
                "clip:nsfw": 0.5,
                "clip:gore": 0.5,
                "clip:violence": 0.6,
            }
        ),
    )
)
# Optional: a local directory with a CLIP model (CLIPModel weights + processor) for nsfw/gore/violence.
MODERATION_CLIP_PATH = env.str("MODERATION_CLIP_PATH", default="")
# Optional: a local text classifier (transformers sequence classification) as a second opinion on
# prompts; its scores are recorded. With BLOCK_AT set, a category label scored at or above it blocks.
MODERATION_TEXT_CLASSIFIER_PATH = env.str("MODERATION_TEXT_CLASSIFIER_PATH", default="")
MODERATION_TEXT_CLASSIFIER_BLOCK_AT = env.float("MODERATION_TEXT_CLASSIFIER_BLOCK_AT", default=None)
# Optional: another NudeNet ONNX file (the 320n model inside the nudenet package by default).
MODERATION_NUDENET_PATH = env.str("MODERATION_NUDENET_PATH", default="")
# The thresholds and the terms file are checked at start-up (imagegen.E007), so a bad list or
# threshold fails the deploy rather than a task.

# --- Callbacks --------------------------------------------------------------------------------
# Signed POSTs of finished tasks to their callback_url, from the "callbacks" queue
# (`manage.py run_callback_worker`). See callbacks/ and the README, "Callbacks".
# Private networks that callbacks may reach, for on-premises receivers (comma-separated CIDRs).
# Empty: only public addresses. Unspecified, multicast, broadcast and cloud metadata addresses are
# refused whatever this says.
CALLBACK_ALLOWED_NETWORKS = env.list("CALLBACK_ALLOWED_NETWORKS", default=[])
# Seconds before each attempt (Standard Webhooks: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h,
# 14 h, 20 h, 24 h), each non-zero delay spread by +-CALLBACK_RETRY_JITTER.
CALLBACK_RETRY_SCHEDULE = env.list(
    "CALLBACK_RETRY_SCHEDULE", cast=float, default=[0, 5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400]
)
CALLBACK_RETRY_JITTER = env.float("CALLBACK_RETRY_JITTER", default=0.1)
# The longest wait a receiver's Retry-After can ask for (seconds).
CALLBACK_RETRY_AFTER_MAX = env.float("CALLBACK_RETRY_AFTER_MAX", default=86400.0)
# One deadline for a whole attempt: connect, TLS, request, response (seconds).
CALLBACK_TIMEOUT = env.float("CALLBACK_TIMEOUT", default=15.0)
# Bytes of a receiver's response body that are read (and kept in the attempt log).
CALLBACK_RESPONSE_MAX_BYTES = env.int("CALLBACK_RESPONSE_MAX_BYTES", default=4096)
# How long the previous webhook secret keeps signing after a rotation (seconds).
CALLBACK_SECRET_ROTATION_GRACE = env.int("CALLBACK_SECRET_ROTATION_GRACE", default=86400)
# How often a callback worker sweeps the database for attempts whose job Redis lost (seconds).
# Attempts one callback worker makes at once (threads), and at most this many to one receiver
# (scheme, host, port): a slow receiver holds its own slots, never every tenant's callbacks.
CALLBACK_CONCURRENCY = env.int("CALLBACK_CONCURRENCY", default=16)
CALLBACK_MAX_PER_RECEIVER = env.int("CALLBACK_MAX_PER_RECEIVER", default=2)
CALLBACK_RECOVER_INTERVAL = env.float("CALLBACK_RECOVER_INTERVAL", default=60.0)
# Longest a submission waits for DNS when checking its callback_url (seconds); no answer in time
# means "check again at delivery", never a refused task.
CALLBACK_SUBMIT_DNS_TIMEOUT = env.float("CALLBACK_SUBMIT_DNS_TIMEOUT", default=2.0)

# --- Metrics (imgplatform/metrics.py, docs/deployment.md) ------------------------------------
# /metrics answers loopback, these networks (comma-separated CIDRs) and a Bearer METRICS_TOKEN;
# anyone else gets 404. Behind a proxy, the address is the one BEHIND_TLS_PROXY trusts.
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=[])
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# Where each role process (scripts/serve) keeps its multiprocess metric files, one directory each.
METRICS_DIR = env.str("METRICS_DIR", default=str(VAR_DIR / "prometheus"))

# --- Security --------------------------------------------------------------------------------
# Defaults are on in production (DJANGO_ENV=production) and off in development; each can be set.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Sent on every response (imgplatform.middleware.SecurityHeadersMiddleware). The admin and the
# Swagger UI (served in its "split" form: no inline script) work under it.
CONTENT_SECURITY_POLICY = env.str(
    "CONTENT_SECURITY_POLICY",
    default=(
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
)
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
# The admin's messages live in the session (the database), not in a cookie: a cookie is signed,
# not encrypted, and a message may name something the browser should not carry around.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
# Outside the admin a refused CSRF check is a problem+json 403, like every other API error.
CSRF_FAILURE_VIEW = "imgplatform.problems.csrf_failure"
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=PRODUCTION)
# Load balancers probe over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=PRODUCTION)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=PRODUCTION)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=PRODUCTION)
BEHIND_TLS_PROXY = env.bool("BEHIND_TLS_PROXY", default=False)
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Request bodies: larger ones are 413 payload_too_large (imgplatform.middleware), on every route.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("MAX_REQUEST_BYTES", default=64 * 1024)

# Admin login throttling (django-axes): after ADMIN_LOGIN_FAILURE_LIMIT wrong passwords for one
# user name from one address, logins for that pair are refused (even with the right password)
# until ADMIN_LOGIN_COOLOFF_MINUTES have passed. Attempts are rows in the database.
AXES_FAILURE_LIMIT = env.int("ADMIN_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.float("ADMIN_LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
# No start-up banner in every manage.py command; failures log only the user name and address.
AXES_VERBOSE = False
# The client address: REMOTE_ADDR, or behind a TLS proxy the address that proxy saw.
AXES_CLIENT_IP_CALLABLE = "imgplatform.middleware.client_ip"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # The formatter blanks API key secrets, webhook secrets and Authorization values in anything it
    # writes, tracebacks included: a secret in a log line is a leaked secret.
    "formatters": {
        "plain": {
            "()": "imgplatform.redaction.RedactingFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
        }
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.request": {"level": "ERROR"}},
}
