"""Settings shared by every environment, read from the environment (12-factor).

With no environment at all the project runs on SQLite, runs Celery tasks eagerly
and prints e-mail to the console. Setting ``DATABASE_URL`` and
``CELERY_BROKER_URL`` switches to PostgreSQL and a real broker.
"""

from decimal import Decimal
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
# Production secrets have no default: without DEBUG, a missing SECRET_KEY stops start-up.
SECRET_KEY = env("SECRET_KEY", default="django-insecure-local-only" if DEBUG else None)
if not SECRET_KEY:
    raise environ.ImproperlyConfigured("Set SECRET_KEY (or DEBUG=1 for local development).")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "seetf.common",
    "audit",
    "partners",
    "accounts",
    "grants",
    "results",
    "iati",
    "analytics",
    "portability",
    "brokering",
    "documents",
    "collaboration",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # The Content-Security-Policy header on every response (CONTENT_SECURITY_POLICY below).
    "seetf.common.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Early, so that it sees every /api/ response (seetf/common/middleware.py).
    "seetf.common.middleware.APINoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language of the request (README "Languages"): after the session, before
    # CommonMiddleware; the signed-in user's saved preference is applied after
    # authentication (accounts.middleware.UserLanguageMiddleware).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): whether this session gave its second factor.
    "django_otp.middleware.OTPMiddleware",
    # A signed-in user's saved language wins over the cookie and Accept-Language.
    "accounts.middleware.UserLanguageMiddleware",
    # The request's client address for the audit entries its services write.
    "audit.context.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After messages (they say why): a session unused for SEETF_SESSION_IDLE_MINUTES is
    # ended, and no page is served before the second factor (accounts/middleware.py).
    "accounts.middleware.IdleTimeoutMiddleware",
    "accounts.middleware.TwoFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # DEBUG only: the site's own 404 and 500 pages (seetf/common/errorpages.py); after
    # CommonMiddleware, so that APPEND_SLASH still redirects.
    "seetf.common.errorpages.SiteErrorPagesMiddleware",
    # Last, as django-axes requires: turns a locked-out login into a 429.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "seetf.urls"
WSGI_APPLICATION = "seetf.wsgi.application"

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
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
# The application's own PostgreSQL role (seetf/common/dbrole.py): migrations, run as the
# tables' owner, create it and grant it rows but no schema; the servers connect as it
# (DATABASE_URL naming it), given a password here (else it cannot log in: NOLOGIN).
SEETF_DB_APP_ROLE = env("SEETF_DB_APP_ROLE", default="seetf_app")
SEETF_DB_APP_PASSWORD = env("SEETF_DB_APP_PASSWORD", default="")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Concurrent writers wait for each other instead of failing with "database is
    # locked": every transaction takes the write lock when it begins (IMMEDIATE), so
    # no reader has to upgrade to a writer mid-transaction (the case SQLite cannot
    # wait on), and a writer waits up to 20 s for the lock. WAL lets readers go on.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
elif "postgresql" in DATABASES["default"]["ENGINE"]:
    # PostgreSQL's JIT compiles a statement the planner thinks large: the reports'
    # (analytics.cycletimes_sql, flows_sql) spent 600 ms compiling to run in 250 ms.
    # Off for the project's connections (README "Performance", the analytics reports).
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://seetf")}
if CACHES["default"]["BACKEND"].endswith("LocMemCache"):
    # Per process (set CACHE_URL to a Redis to share one): 32 entries, reports of up to a
    # few megabytes each at 20,000 grants.
    CACHES["default"].setdefault("OPTIONS", {}).setdefault("MAX_ENTRIES", 32)
# Reports and dashboards cached until the data under them changes (seetf.common.datacache):
# DATA_CACHE=0 switches it off; an entry lives DATA_CACHE_TIMEOUT seconds at most.
DATA_CACHE = env.bool("DATA_CACHE", default=True)
DATA_CACHE_ALIAS = "default"
DATA_CACHE_TIMEOUT = env.int("DATA_CACHE_TIMEOUT", default=3600)

# --- Auth -----------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    # First: refuses any login from an address with too many failures, whatever the
    # usernames (SEETF_ADDRESS_FAILURE_LIMIT, counted on the login log).
    "accounts.backends.AddressLimitBackend",
    # Then: refuses a login while its username and address are locked out.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

# Login throttling (django-axes): after AXES_FAILURE_LIMIT failed logins for one
# username from one address, further attempts get 429 for AXES_COOLOFF_TIME hours.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]
# The client's address as the audit log takes it: the trusted proxy header's when one is
# configured (below), else REMOTE_ADDR; so behind a TLS proxy each client is its own.
AXES_CLIENT_IP_CALLABLE = "accounts.backends.axes_client_ip"
# Across usernames: this many failed logins from one address within AXES_COOLOFF_TIME
# and every login from it is refused (429) until they are older (0: no such limit).
SEETF_ADDRESS_FAILURE_LIMIT = env.int("SEETF_ADDRESS_FAILURE_LIMIT", default=20)

# Two factors (accounts/policy.py): the roles that must sign in to the web with a TOTP
# code besides their password (superusers too); anyone else may choose to.
SEETF_TWO_FACTOR_ROLES = env.list(
    "SEETF_TWO_FACTOR_ROLES", default=["fund_manager", "window_manager"]
)
# Wrong codes in one session before it is ended (the password again, which axes counts);
# each device also throttles wrong codes itself (django-otp: 1, 2, 4, 8... seconds).
SEETF_OTP_FAILURE_LIMIT = env.int("SEETF_OTP_FAILURE_LIMIT", default=5)
# The name authenticator apps show for the account.
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="SEETF")
# API tokens live this long (then 401; POST /api/v1/auth/token/ gives a new one).
SEETF_TOKEN_LIFETIME_HOURS = env.int("SEETF_TOKEN_LIFETIME_HOURS", default=24 * 30)
# Sessions: at most SESSION_COOKIE_AGE from the last activity (14 days), and ended after
# SEETF_SESSION_IDLE_MINUTES without a request (0: no idle timeout).
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=14 * 24 * 3600)
SEETF_SESSION_IDLE_MINUTES = env.int("SEETF_SESSION_IDLE_MINUTES", default=30)

# Behind a TLS proxy: the header that carries the client's address (for example
# HTTP_X_FORWARDED_FOR) and how many trusted proxies append to it. Unset: REMOTE_ADDR.
# Read by audit.context.client_address (the audit log's addresses).
SEETF_TRUSTED_PROXY_HEADER = env.str("SEETF_TRUSTED_PROXY_HEADER", default="")
SEETF_TRUSTED_PROXY_COUNT = env.int("SEETF_TRUSTED_PROXY_COUNT", default=1)

# --- I18N -----------------------------------------------------------------------
# README "Languages": English by default; the request's language from a signed-in user's
# saved preference (accounts.UserPreference), else the switcher's cookie, else the
# browser's Accept-Language. Each language is named in itself in the switcher.
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", "English"),
    ("es", "Español"),
    ("fr", "Français"),
    ("pt", "Português"),
    ("ru", "Русский"),
    ("zh-hans", "简体中文"),
    ("ar", "العربية"),
]
# The catalogues (locale/<lang>/LC_MESSAGES/django.po, djangojs.po); `make install`
# compiles them to .mo (seetf/common/management/commands/compile_catalogues.py).
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
# Numbers and dates on pages in the language's formats (Django's, with the project's own
# choices in seetf/formats/<lang>/formats.py); CSV, XLSX and the API stay machine formats.
# Money is grouped by the `money` filter (force_grouping, the language's separator); not
# every integer (USE_THOUSAND_SEPARATOR off): ids, years and day counts stay "2026", not
# "2,026" (a page's ids go into links and data attributes).
USE_THOUSAND_SEPARATOR = False
FORMAT_MODULE_PATH = ["seetf.formats"]
USE_TZ = True

# --- Static files -----------------------------------------------------------------
STATIC_URL = "/static/"
# Where `collectstatic` collects to (the Docker image: /app/staticfiles).
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
# The web pages' own stylesheet, script and icon (no CDN: every page works offline).
STATICFILES_DIRS = [BASE_DIR / "seetf" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Hashed names from the manifest of `collectstatic`; plain names where it was not run
    # (seetf/common/staticfiles.py: a page is never a 500 for a missing manifest).
    "staticfiles": {"BACKEND": "seetf.common.staticfiles.ManifestOrPlainStaticFilesStorage"},
}
# --- Documents (documents/) ---------------------------------------------------------
# Uploaded files: never under the static files, never served from a URL of their own
# (downloads go through documents.api.DocumentDownloadView, which checks who asks).
# The local file system under MEDIA_ROOT by default (var/media, ignored by git); any
# S3-compatible store when SEETF_DOCUMENTS_S3_BUCKET is set (django-storages; boto3
# reads AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY from the environment as usual).
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media")))
if env("SEETF_DOCUMENTS_S3_BUCKET", default=""):
    STORAGES["documents"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env("SEETF_DOCUMENTS_S3_BUCKET"),
            "endpoint_url": env("AWS_S3_ENDPOINT_URL", default=None),
            "region_name": env("AWS_S3_REGION_NAME", default=None),
            "location": env("SEETF_DOCUMENTS_S3_PREFIX", default="documents"),
            # Private objects, no public or signed URLs handed out, no overwrite.
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
else:
    STORAGES["documents"] = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT / "documents")},
    }
# The largest document accepted, in bytes (20 MB); uploads larger are refused (a 400).
SEETF_DOCUMENT_MAX_BYTES = env.int("SEETF_DOCUMENT_MAX_BYTES", default=20 * 1024 * 1024)

# Serve straight from the apps' and packages' static folders, so `runserver`, tests and
# gunicorn all work without `collectstatic` (the Docker image still runs it).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- Content-Security-Policy (django-csp) ----------------------------------------------
# Every response: scripts and styles only from the site's own static files (no inline
# <script>, no onclick=, no style= attributes: tests/test_csp.py scans the templates),
# images from the site or data: URIs, no plugins, no framing, forms post to the site only.
# A browser reports each violation to /csp-report/ (seetf/common/csp.py), which logs it in
# one line (logger seetf.csp), at most CSP_REPORTS_LOGGED_PER_MINUTE lines a minute.
from csp.constants import NONE, SELF  # noqa: E402

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "report-uri": "/csp-report/",
    }
}
CSP_REPORTS_LOGGED_PER_MINUTE = env.int("CSP_REPORTS_LOGGED_PER_MINUTE", default=60)

# --- E-mail -----------------------------------------------------------------------
# Console by default; SMTP when EMAIL_URL is set (e.g. smtp+tls://user:pass@host:587).
if env("EMAIL_URL", default=""):
    vars().update(env.email("EMAIL_URL"))
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="seetf@localhost")
# Seconds before a mail server that does not answer counts as down (the jobs retry).
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)

# --- Celery -----------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="")
# No broker configured: tasks run in-process, at once (the embedded default).
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
if CELERY_TASK_ALWAYS_EAGER:
    # No task reaches it (they run at once), but without a host in the URL kombu warns "No
    # hostname was supplied" at every task: its in-memory transport says there is no broker.
    CELERY_BROKER_URL = "memory://localhost"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=None)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE


# --- REST framework -----------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: its WWW-Authenticate header makes "no credentials" a 401.
        # Tokens expire after SEETF_TOKEN_LIFETIME_HOURS; a session counts once its second
        # factor is given (accounts/authentication.py).
        "accounts.authentication.ExpiringTokenAuthentication",
        "accounts.authentication.TwoFactorSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "seetf.common.parsers.StrictJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "seetf.common.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        # django-filter's, building only the filters a request names (seetf/common/filters.py).
        "seetf.common.filters.NamedFiltersBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    # Every operation documents the error responses it can answer (seetf/common/schema.py).
    "DEFAULT_SCHEMA_CLASS": "seetf.common.schema.SchemaWithErrors",
    "EXCEPTION_HANDLER": "seetf.common.exceptions.api_exception_handler",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        # DRF's, with inline styles allowed on its pages (seetf/common/renderers.py).
        "seetf.common.renderers.BrowsableAPIRenderer",
    ],
    "COERCE_DECIMAL_TO_STRING": True,
    "DATETIME_FORMAT": "iso-8601",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "seetf API",
    "DESCRIPTION": (
        "Grant portfolio manager for multi-donor trust funds that finance South-South "
        "knowledge exchanges. Money is USD unless a field says otherwise, a decimal "
        "string with two places. Errors: 400 `{field: [messages]}`; 401 without "
        "credentials; 403 `{detail, code}` for a forbidden action; 404 for what you "
        "may not see; 409 `{detail, code}` for a business rule (`insufficient_funds`, "
        "`invalid_transition`, `over_disbursement`, `duplicate`); 429 when throttled. "
        "POSTs that record money honour an `Idempotency-Key` header."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "CapacityOutcomeEnum": "grants.models.CapacityOutcome",
        "GrantStatusEnum": "grants.models.GrantStatus",
        "InstrumentEnum": "grants.models.Instrument",
        "FollowUpKindEnum": "results.models.FollowUpKind",
        "FollowUpStatusEnum": "results.models.FollowUpStatus",
    },
}

# --- The fund -------------------------------------------------------------------------
FUNDING_ALERT_THRESHOLD_USD = Decimal(env("FUNDING_ALERT_THRESHOLD_USD", default="250000.00"))
# An open funding window whose available money is below this raises its own low-balance
# alert (grants.alerts).
WINDOW_ALERT_THRESHOLD_USD = Decimal(env("WINDOW_ALERT_THRESHOLD_USD", default="25000.00"))
COMPLETION_REPORT_DUE_DAYS = env.int("COMPLETION_REPORT_DUE_DAYS", default=60)
# Brokering (README "Brokering knowledge"): the draft grant a match makes asks for this
# amount (the 2011 review's average grant; the leader edits it) and starts this many
# days after the match.
BROKERING_DRAFT_REQUESTED_USD = env.str("BROKERING_DRAFT_REQUESTED_USD", default="100000.00")
BROKERING_DRAFT_START_DAYS = env.int("BROKERING_DRAFT_START_DAYS", default=30)
# Idempotency keys are kept at least this long (API.md: at least 24 hours).
IDEMPOTENCY_KEY_TTL_HOURS = env.int("IDEMPOTENCY_KEY_TTL_HOURS", default=48)
# Service standards (analytics): how many days each step of a grant should take at most,
# in calendar days of TIME_ZONE. The fund manager's home lists the grants overdue against
# them and the cycle-times report gives the share within them. A step left out has none.
SEETF_SERVICE_STANDARDS = {
    "submit_to_decision": env.int("SERVICE_STANDARD_DECISION_DAYS", default=20),
    "decision_to_first_disbursement": env.int("SERVICE_STANDARD_DISBURSEMENT_DAYS", default=30),
    "decision_to_first_exchange": env.int("SERVICE_STANDARD_EXCHANGE_DAYS", default=120),
    "end_to_report": COMPLETION_REPORT_DUE_DAYS,
    "report_to_acceptance": env.int("SERVICE_STANDARD_ACCEPTANCE_DAYS", default=20),
}
# The cycle-times report's size bands (?group_by=size_band): upper bounds in USD of the
# approved (else requested) amount.
SEETF_SIZE_BANDS_USD = (50000, 100000, 250000)
# Demo mode: `make run` sets it, and only then are demo users created.
SEETF_DEMO = env.bool("SEETF_DEMO", default=False)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"refusals_in_one_line": {"()": "seetf.common.errorpages.RefusalsInOneLine"}},
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # Django's own handlers off (its DEBUG console handler printed every django.*
        # record a second time, beside the root's; ADMINS is not set, so its mail handler
        # sent nothing): django.* goes to the root's handler, at LOG_LEVEL.
        "django": {"handlers": [], "level": "NOTSET", "propagate": True},
        # A 4xx (401, 403, 404, 405...) in one line, without a traceback; a 500 keeps it.
        "django.request": {"filters": ["refusals_in_one_line"]},
    },
}

# --- Jobs -------------------------------------------------------------------------------
# The address of the site, for links in e-mails. Without SITE_URL: where `make run` serves
# (it exports its HOST and PORT), so `make run PORT=8101` sends links to port 8101. A
# wildcard address (0.0.0.0, ::) is not one a browser should be sent to: 127.0.0.1 instead.
_host = env("HOST", default="127.0.0.1")
_host = "127.0.0.1" if _host in ("0.0.0.0", "::", "[::]", "") else _host
SITE_URL = env("SITE_URL", default=f"http://{_host}:{env('PORT', default='8000')}").rstrip("/")
# An `upcoming` completion-report reminder goes this many days before the due date.
REMINDER_UPCOMING_DAYS = env.int("REMINDER_UPCOMING_DAYS", default=14)
# Fund managers are told when a report is this many days overdue.
REMINDER_ESCALATION_DAYS = env.int("REMINDER_ESCALATION_DAYS", default=30)
# The daily jobs, run by `celery -A seetf beat` (times in TIME_ZONE). `run_jobs` runs
# the same two jobs once, for operators catching up and for tests.
from celery.schedules import crontab  # noqa: E402

CELERY_BEAT_SCHEDULE = {
    "completion-report-reminders": {
        "task": "grants.tasks.send_completion_report_reminders",
        "schedule": crontab(hour=6, minute=0),
    },
    "funding-balance-check": {
        # grants/tasks.py, under the name it had in partners (see there).
        "task": "grants.tasks.check_fund_balance",
        "schedule": crontab(hour=6, minute=15),
    },
    "ledger-check": {
        # The ledger reconciled with the records (manage.py check_fund, grants/ledger.py).
        "task": "grants.tasks.check_ledger",
        "schedule": crontab(hour=5, minute=45),
    },
    "purge-idempotency-keys": {
        "task": "partners.tasks.purge_idempotency_keys",
        "schedule": crontab(hour=3, minute=0),
    },
    "compact-data-version": {
        "task": "seetf.common.tasks.compact_data_version",
        "schedule": crontab(hour=3, minute=30),
    },
    # Notifications (collaboration/delivery.py): each e-mail to be sent at once is queued
    # when its transaction commits; this catches up what a lost task or a failed send
    # left pending. The daily digests go after the reminders.
    "notification-emails": {
        "task": "collaboration.tasks.send_notification_emails",
        "schedule": crontab(minute="*/10"),
    },
    "notification-digests": {
        "task": "collaboration.tasks.send_notification_digests",
        "schedule": crontab(hour=6, minute=30),
    },
    # The cycle-times report's facts of the grants changed since (analytics/tasks.py).
    "refresh-cycle-facts": {
        "task": "analytics.tasks.refresh_cycle_facts",
        "schedule": crontab(minute="*/15"),
    },
    "refresh-flow-facts": {
        "task": "analytics.tasks.refresh_flow_facts",
        "schedule": crontab(minute="7-59/15"),
    },
}

# --- IATI publishing (iati/; README "Publishing to IATI") --------------------------------
# The fund as IATI's reporting organisation: its organisation identifier (every activity
# identifier starts with it; the default is the World Bank's, the SEETF's trustee), its
# OrganisationType code, name, the files' default language and currency, and the month
# its fiscal year starts (budgets and expenditure are given per fiscal year; 7: July to
# June, the World Bank's).
IATI_REPORTING_ORG_REF = env("IATI_REPORTING_ORG_REF", default="XM-DAC-44000")
# The fund's own activity is `<IATI_REPORTING_ORG_REF>-<IATI_FUND_ACTIVITY_CODE>`.
IATI_FUND_ACTIVITY_CODE = env("IATI_FUND_ACTIVITY_CODE", default="SEETF")
IATI_REPORTING_ORG_TYPE = env("IATI_REPORTING_ORG_TYPE", default="40")
IATI_REPORTING_ORG_NAME = env(
    "IATI_REPORTING_ORG_NAME", default="South-South Experience Exchange Trust Fund"
)
IATI_DEFAULT_LANGUAGE = env("IATI_DEFAULT_LANGUAGE", default="en")
IATI_DEFAULT_CURRENCY = env("IATI_DEFAULT_CURRENCY", default="USD")
IATI_FISCAL_YEAR_FIRST_MONTH = env.int("IATI_FISCAL_YEAR_FIRST_MONTH", default=7)
# The official IATI 2.03 schemas, codelists and standard ruleset (the folder holding
# 2.03/, codelists/ and rulesets/), for `iati_validate` and the codelist checks. Not set:
# the validator says so and stops; the files are still published.
IATI_SCHEMA_DIR = env("IATI_SCHEMA_DIR", default="")
# Where the published files are kept between data changes (one file per data version).
IATI_CACHE_DIR = env("IATI_CACHE_DIR", default=str(BASE_DIR / "var" / "iati"))

# Portfolio import (portability): the largest file accepted, and the zip-bomb guards of a
# workbook (its parts' total unpacked size, and the ratio of a part's unpacked size to
# its packed size).
PORTFOLIO_IMPORT_MAX_BYTES = env.int("PORTFOLIO_IMPORT_MAX_BYTES", default=20 * 1024 * 1024)
PORTFOLIO_IMPORT_MAX_UNCOMPRESSED_BYTES = 400 * 1024 * 1024
PORTFOLIO_IMPORT_MAX_RATIO = 200

# --- Participant feedback (results: feedback links of exchanges) ---------------------
# A link stays open this many days unless its opener says otherwise; one client address
# may send SEETF_FEEDBACK_RATE_LIMIT answers per SEETF_FEEDBACK_RATE_WINDOW seconds
# (counted in the default cache: set CACHE_URL to a Redis for a count shared by all
# processes).
SEETF_FEEDBACK_LINK_DAYS = env.int("SEETF_FEEDBACK_LINK_DAYS", default=30)
SEETF_FEEDBACK_RATE_LIMIT = env.int("SEETF_FEEDBACK_RATE_LIMIT", default=30)
SEETF_FEEDBACK_RATE_WINDOW = env.int("SEETF_FEEDBACK_RATE_WINDOW", default=3600)
