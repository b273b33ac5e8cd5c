"""Settings: defaults here, overridden by ``CONSULT_*`` environment variables.

Flask's ``from_prefixed_env`` reads ``CONSULT_DATABASE_URL``, ``CONSULT_SECRET_KEY`` and so on,
parsing values as JSON where they parse (``CONSULT_SIGNIN_MAX_FAILURES=10`` is an int).
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

DEFAULTS: dict[str, Any] = {
    "DATABASE_URL": None,  # None: SQLite file instance/consult.db
    "SECRET_KEY": None,  # None: generated once into instance/secret_key
    "SQLITE_BUSY_TIMEOUT": 15,  # seconds; 8 concurrent writers still hit "locked" below 5
    "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
    "MAX_FORM_MEMORY_SIZE": 1024 * 1024,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": None,  # None: Secure unless debug/testing
    "SESSION_COOKIE_NAME": "consult_session",
    "PERMANENT_SESSION_LIFETIME": 14 * 24 * 3600,
    "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
    # Sign-in throttling (consult/accounts/throttling.py): failures per account before browsers
    # that never signed in to it wait out the window; failures per address (all accounts) before
    # unknown browsers there wait: a ceiling well above one person's typing, so a NAT is not shut.
    "SIGNIN_WINDOW_SECONDS": 15 * 60,
    "SIGNIN_MAX_FAILURES_PER_ACCOUNT": 5,
    "SIGNIN_MAX_FAILURES_PER_ADDRESS": 100,
    "KNOWN_BROWSER_DAYS": 365,  # how long a browser that signed in to an account is known to it
    # Login sessions end on the server (seconds): at the latest this long after signing in, and
    # after this long without a request for staff (site admins, organisation members) and, when
    # set, for everyone.
    "SESSION_ABSOLUTE_LIFETIME": 14 * 24 * 3600,
    "SESSION_IDLE_LIFETIME_STAFF": 24 * 3600,
    "SESSION_IDLE_LIFETIME": None,
    # Two-factor sign-in (consult/accounts/twofactor.py): site admins and organisation admins
    # must set it up before they can sign in (anyone may); wrong codes allowed per account in
    # the SIGNIN window, and per sign-in (then the password must be given again).
    "TWO_FACTOR_REQUIRED_FOR_STAFF": False,
    "TWO_FACTOR_MAX_FAILURES": 5,
    "MAIL_SERVER": None,  # None: messages are written to instance/outbox/
    "MAIL_PORT": 587,
    "MAIL_USE_TLS": True,
    "MAIL_USERNAME": None,
    "MAIL_PASSWORD": None,
    "MAIL_SENDER": "Consult <no-reply@localhost>",
    "MAIL_TIMEOUT": 10,  # seconds a mail server may take to answer
    "MAIL_MAX_ATTEMPTS": 6,  # then a message is marked failed (shown to the person and to site admins)
    "MAIL_RETRY_DELAY": 60,  # seconds before the second attempt; doubled for each one after
    # Notifications by mail (consult/notifications/delivery.py): at most this many messages of
    # their own per person in 24 hours (the rest go in the next daily digest); the digests' hour
    # (UTC) and the weekly digest's day (0 = Monday ... 6 = Sunday).
    "NOTIFICATIONS_DAILY_CAP": 10,
    "NOTIFICATIONS_DIGEST_HOUR": 7,
    "NOTIFICATIONS_WEEKLY_DAY": 0,
    # Retention (consult/policies/retention.py, run by the worker every hour): accounts whose
    # address was never confirmed are deleted this many days after sign-up (unless something was
    # written with them), and IP addresses are removed from sign-in records after this many days.
    "RETENTION_UNCONFIRMED_DAYS": 7,
    "RETENTION_ADDRESS_DAYS": 30,
    "PROXY_FIX": 0,  # number of trusted proxies in front of the app (X-Forwarded-For, -Proto, -Prefix)
    "PROXY_FIX_HOST": False,  # also trust X-Forwarded-Host: only when the proxy sets it itself, never passing the client's
    "TRUSTED_HOSTS": None,  # Flask's: the Host names the site answers to (others get 400), e.g. ["consult.example.org"]
    "PAGE_SIZE": 20,
    # The IANA time zone every displayed time is shown in, with its abbreviation (stored times
    # stay UTC, and so do <time datetime> values and the record). Checked at start-up
    # (consult/core/templating.py).
    "TIME_ZONE": "UTC",
    # The interface's language when neither the person nor their browser names one the site
    # has (the site's settings page can choose another): en, fr, es or ar (consult/core/i18n.py).
    "DEFAULT_LANGUAGE": "en",
    # Which sites may put the embeds (/c/SLUG/embed and the like) in a frame: * (any), or their
    # origins separated by spaces ("https://council.example https://*.gov.example"). Every other
    # page refuses to be framed whatever this says (consult/core/framing.py).
    "EMBED_FRAME_ANCESTORS": "*",
    # Webhooks go to public addresses only (never this machine or a private network); True lets
    # them reach private ones too, for an intranet install (consult/webhooks/addresses.py).
    "WEBHOOKS_ALLOW_PRIVATE": False,
    # Posting limits per signed-in person (per address otherwise), counted where every worker
    # sees them. None: a SQLite file, instance/ratelimits.db, which all processes of one machine
    # share (consult/core/ratelimit.py); with several app servers set a shared store, e.g.
    # redis://host:6379/1. memory:// counts per process: a person gets N per worker through.
    "RATE_LIMITS": True,  # False turns the posting limits off (benchmarks, tests)
    "RATELIMIT_STORAGE_URI": None,
    # The limits store failing (Redis down, the file locked past its timeout) never fails a
    # request: each process counts in memory meanwhile (a limit per worker, not none) and logs
    # it, going back to the store once it answers; any other error of the limiter is logged and
    # the request let through. The limits brake abuse; refusing everyone's posts for an outage of
    # the store would be the greater harm.
    "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
    "RATELIMIT_SWALLOW_ERRORS": True,
    "RATELIMIT_HEADERS_ENABLED": True,
    "POSTING_RATE_LIMIT": "10 per minute;200 per day",
    "VOTING_RATE_LIMIT": "60 per minute",
    "RECORD_RATE_LIMIT": "10 per minute",  # record.zip downloads per person or address
    "API_RATE_LIMIT": "120 per minute;5000 per day",  # writes per API token (consult/api/write.py), besides the person's posting limits
    "SUGGESTIONS_DIR": None,  # None: instance/suggestions/ (theme suggestions computed by the worker)
    "RECORD_BUNDLE_DIR": None,  # None: instance/bundles/ (record.zip files built by the worker, one per consultation)
    # Attachments and images (issue 21, consult/attachments/, consult/core/storage.py): the largest
    # file an author may attach, and where files are kept: "folder" (UPLOADS_DIR, None:
    # instance/uploads/) or "s3" (an S3-compatible store shared by several servers).
    "ATTACHMENT_MAX_BYTES": 20 * 1024 * 1024,
    "STORAGE_BACKEND": "folder",
    "UPLOADS_DIR": None,
    "S3_BUCKET": None,
    "S3_ENDPOINT_URL": None,  # None: AWS itself; e.g. https://minio.internal:9000
    "S3_REGION": None,
    "S3_ACCESS_KEY_ID": None,  # None: boto3's usual places (environment, instance role)
    "S3_SECRET_ACCESS_KEY": None,
    "S3_PREFIX": "",  # a folder of the bucket, to share one bucket between sites
    # A person's data download (consult/privacy/): built by the worker into DATA_EXPORT_DIR (None:
    # instance/exports/), offered to them for DATA_EXPORT_DAYS, then removed. Deleting an account
    # without a password (signed in through an identity provider) needs a sign-in this recent.
    "DATA_EXPORT_DIR": None,
    "DATA_EXPORT_DAYS": 7,
    "ERASURE_FRESH_SIGNIN_MINUTES": 10,
    "SEARCH_DIR": None,  # None: instance/search-index/ (the Whoosh index; one per machine)
    # Fragments of pages cached (consult/core/cache.py), keyed by what they show, changes included:
    # None an LRU in each process; file:///path a folder the processes of one machine share;
    # redis://host:6379/2 a Redis that several app servers share. CACHE_TTL: seconds at most.
    "CACHE_URL": None,
    "CACHE_TTL": 3600,
    "SEARCH_BACKEND": "whoosh",  # "postgres": PostgreSQL full-text search, for several app servers
    "REPORT_THRESHOLD": 3,  # distinct reporters after whom a contribution is hidden pending review
    # Werkzeug's method for new password hashes. Stored hashes name their own method, so a change
    # applies to new passwords only and old ones still verify. Tests use "pbkdf2:sha256:1" (fast).
    "PASSWORD_HASH_METHOD": "scrypt",
    # Background jobs (consult/core/jobs.py; `consult worker` runs them). None: a queue in
    # instance/jobs.db (one machine); redis://host:6379/0 when several app servers share one.
    "JOBS_URL": None,
    "JOBS_NAME": "consult",  # the queue's name (Redis key prefix): one per site sharing a Redis
    "JOBS_IMMEDIATE": False,  # True: run each job when it is queued, in the caller (tests)
    "JOBS_WORKERS": 2,  # threads of `consult worker`
    "JOBS_RETRY_DELAY": 30,  # seconds between the retries of a failed job
    "JOBS_ONCE_TIMEOUT": 600,  # seconds after which a queued-once job that never started may be queued again
    # Signing in with identity providers (OpenID Connect; consult/accounts/oidc.py): a list of
    # {"name": "gov-id", "issuer": "https://...", "client_id": ..., "client_secret": ...,
    #  "scopes": "openid email profile", "label": "Sign in with GOV ID"}; each provider's redirect
    # URI is https://SITE/signin/oidc/NAME/callback. The seconds a provider may take to answer.
    "OIDC_PROVIDERS": [],
    "OIDC_HTTP_TIMEOUT": 10,
}


def load_config(app, overrides: dict[str, Any] | None) -> None:
    """Defaults, then environment, then explicit overrides (tests pass these)."""
    app.config.update(DEFAULTS)
    app.config.from_prefixed_env("CONSULT")
    if overrides:
        app.config.update(overrides)

    instance = Path(app.instance_path)
    if not app.config["DATABASE_URL"]:
        instance.mkdir(parents=True, exist_ok=True)
        app.config["DATABASE_URL"] = f"sqlite:///{instance / 'consult.db'}"
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(app.config["DATABASE_URL"])
    if not app.config["RATELIMIT_STORAGE_URI"]:
        instance.mkdir(parents=True, exist_ok=True)
        app.config["RATELIMIT_STORAGE_URI"] = f"sqlite:///{(instance / 'ratelimits.db').resolve()}"
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = instance_secret_key(instance)
    if str(app.config["PASSWORD_HASH_METHOD"]).split(":")[0] not in ("scrypt", "pbkdf2"):
        raise RuntimeError(
            f"PASSWORD_HASH_METHOD {app.config['PASSWORD_HASH_METHOD']!r}: use scrypt[:n:r:p] or pbkdf2:sha256[:iterations]."
        )
    check_oidc_providers(app.config["OIDC_PROVIDERS"])
    if app.config["SESSION_COOKIE_SECURE"] is None:
        app.config["SESSION_COOKIE_SECURE"] = not (app.debug or app.testing)


def check_oidc_providers(entries: Any) -> None:
    """Refuse to start with a provider that could not work or would be unsafe: each needs a name
    (used in its redirect URI), an https issuer (http only on this machine) and a client id."""
    if not isinstance(entries, list):
        raise RuntimeError("OIDC_PROVIDERS must be a JSON list of providers.")
    names = set()
    for entry in entries:
        if not isinstance(entry, dict):
            raise RuntimeError("OIDC_PROVIDERS: each provider is a JSON object.")
        name, issuer = entry.get("name"), entry.get("issuer")
        if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", name) or len(name) > 40 or name in names:
            raise RuntimeError(f"OIDC_PROVIDERS: {name!r} is not a name (lowercase letters, digits and hyphens, unique, 40 at most).")
        names.add(name)
        parts = urlsplit(issuer if isinstance(issuer, str) else "")
        local = parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")
        if not parts.hostname or not (parts.scheme == "https" or local) or parts.query or parts.fragment:
            raise RuntimeError(f"OIDC_PROVIDERS: {name}: the issuer must be an https:// address (http:// only on this machine).")
        if not isinstance(entry.get("client_id"), str) or not entry["client_id"]:
            raise RuntimeError(f"OIDC_PROVIDERS: {name}: client_id is missing.")


def normalise_database_url(url: str) -> str:
    """Accept the plain ``postgresql://`` form and use psycopg 3 for it."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def instance_secret_key(instance: Path) -> str:
    """Generate the key once and keep it, so sessions survive restarts and workers agree."""
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / "secret_key"
    if not path.exists():
        key = secrets.token_urlsafe(48)
        try:
            # O_EXCL: two workers starting at once keep one key; 0o600 from the first byte.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(key)
            return key
    key = path.read_text().strip()
    if not key:
        raise RuntimeError(f"{path} is empty: delete it to generate a new key, or set CONSULT_SECRET_KEY.")
    return key
