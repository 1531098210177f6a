"""Settings, read from the environment with safe defaults.

Every setting is documented in README.md ("Settings"). Tests pass a mapping to
create_app() that overrides these.
"""

from __future__ import annotations

import functools
import json
import os
import secrets
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw else default


def load_or_create_secret_key(instance_path: Path) -> str:
    """Return the key kept in the instance folder, creating it on first use.

    O_EXCL makes two workers starting at once agree on one key: the loser of
    the race reads the winner's file.
    """
    key_file = instance_path / "secret_key"
    instance_path.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = key_file.read_text().strip()
        if key:
            return key
        raise RuntimeError(f"{key_file} is empty; delete it to generate a new key") from None
    with os.fdopen(fd, "w") as handle:
        key = secrets.token_urlsafe(48)
        handle.write(key)
    return key


def from_environment_without_key(instance_path: Path) -> dict:
    """All settings but SECRET_KEY (for callers that bring their own key)."""
    return _settings(instance_path, secret_key=None)


def from_environment(instance_path: Path) -> dict:
    return _settings(
        instance_path,
        secret_key=os.environ.get("SECRET_KEY") or load_or_create_secret_key(instance_path),
    )


def _settings(instance_path: Path, secret_key: str | None) -> dict:
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance_path / 'kindred.db'}"
    # Heroku-style URLs name the old driver; we ship psycopg 3.
    if database_url.startswith("postgres://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgres://") :]
    elif database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://") :]

    base_url = os.environ.get("BASE_URL", "http://127.0.0.1:5000").rstrip("/")
    over_https = base_url.startswith("https://")
    return {
        "SECRET_KEY": secret_key,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "BASE_URL": base_url,
        "SITE_NAME": os.environ.get("SITE_NAME", "Kindred"),
        # Mail
        "MAIL_BACKEND": os.environ.get("MAIL_BACKEND", "console"),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "Kindred <no-reply@localhost>"),
        # The mailto of List-Unsubscribe; empty means MAIL_FROM's address.
        "MAIL_UNSUBSCRIBE_ADDRESS": os.environ.get("MAIL_UNSUBSCRIBE_ADDRESS", ""),
        "SMTP_HOST": os.environ.get("SMTP_HOST", "localhost"),
        "SMTP_PORT": _int("SMTP_PORT", 587),
        "SMTP_USERNAME": os.environ.get("SMTP_USERNAME", ""),
        "SMTP_PASSWORD": os.environ.get("SMTP_PASSWORD", ""),
        "SMTP_STARTTLS": _bool("SMTP_STARTTLS", True),
        "SMTP_SSL": _bool("SMTP_SSL", False),
        "SMTP_TIMEOUT": _int("SMTP_TIMEOUT", 20),
        # SMTP sessions a batch (digests, `flask mail send`) sends over side by side.
        "SMTP_CONNECTIONS": _int("SMTP_CONNECTIONS", 4),
        # Rate limits: memory is right for one process; use Redis for several.
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_ENABLED": _bool("RATELIMIT_ENABLED", True),
        # Cookies: Secure whenever the public address is https.
        "SESSION_COOKIE_SECURE": over_https,
        "REMEMBER_COOKIE_SECURE": over_https,
        "PREFERRED_URL_SCHEME": "https" if over_https else "http",
        # Number of reverse proxies in front of the app whose X-Forwarded-* to trust.
        "TRUSTED_PROXIES": _int("TRUSTED_PROXIES", 0),
        "TOPICS_PER_PAGE": _int("TOPICS_PER_PAGE", 30),
        "POSTS_PER_PAGE": _int("POSTS_PER_PAGE", 20),
        # Memory per process for each kind of kept page part (forum.page_cache); 0: none.
        "PAGE_CACHE_MB": _int("PAGE_CACHE_MB", 32),
        # Moderation: a new member's first N posts wait for a moderator; a post that
        # N different trusted members report is hidden until a moderator decides.
        "NEW_MEMBER_REVIEW_POSTS": _int("NEW_MEMBER_REVIEW_POSTS", 3),
        "REPORTS_TO_HIDE": _int("REPORTS_TO_HIDE", 3),
        "REVIEW_ITEMS_PER_PAGE": _int("REVIEW_ITEMS_PER_PAGE", 25),
        # How long the queue's chart and median decision time are reused (0: never).
        "REVIEW_HISTORY_SECONDS": _int("REVIEW_HISTORY_SECONDS", 60),
    }


# Settings that are not meant to vary between installations.
FIXED = {
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "SQLALCHEMY_RECORD_QUERIES": False,
    # Test each pooled connection before use: after a database restart or a network cut
    # the app reconnects by itself instead of failing on a dead connection.
    # JSON columns (the audit log's before and after) hold their text as written, not
    # \u escapes: erasing a member's address finds it there whatever letters it has.
    "SQLALCHEMY_ENGINE_OPTIONS": {
        "pool_pre_ping": True,
        "json_serializer": functools.partial(json.dumps, ensure_ascii=False, sort_keys=True),
    },
    "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
    "MAX_CONTENT_LENGTH": 1 * 1024 * 1024,
    # Safe because templates link static files by fingerprinted URL (asset_url).
    "SEND_FILE_MAX_AGE_DEFAULT": 365 * 24 * 3600,
    "RATELIMIT_HEADERS_ENABLED": True,
    "RATELIMIT_STRATEGY": "moving-window",
    "VERIFY_TOKEN_HOURS": 48,
    "RESET_TOKEN_MINUTES": 60,
}
