"""Settings from environment variables (12-factor), with safe embedded defaults.

Nothing here needs a server: with no DATABASE_URL the app uses a SQLite file under
``instance/``; with no REDIS_URL background jobs run in-process (see workers/queues.py).
Secrets that must persist between runs (the session key, the encryption key) are
generated once into ``instance/`` when not given, so a fresh checkout works and a
production deployment sets them explicitly.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _instance_dir() -> Path:
    path = Path(os.environ.get("REALMBILL_INSTANCE", PROJECT_ROOT / "instance"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _persisted_secret(name: str, make) -> str:
    """Read a generated secret from instance/, creating it (mode 0600) on first use."""
    path = _instance_dir() / name
    if path.exists():
        return path.read_text().strip()
    value = make()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


class Config:
    """Production-leaning defaults; every value can come from the environment."""

    TESTING = False

    def __init__(self, **overrides) -> None:
        env = os.environ
        self.SECRET_KEY = env.get("SECRET_KEY") or _persisted_secret(
            "secret_key", lambda: secrets.token_urlsafe(48)
        )
        # Comma-separated AES-256 keys (urlsafe base64); the first encrypts, all decrypt.
        self.ENCRYPTION_KEYS = env.get("REALMBILL_ENCRYPTION_KEYS") or _persisted_secret(
            "encryption_key", lambda: secrets.token_urlsafe(32)
        )
        self.SQLALCHEMY_DATABASE_URI = env.get("DATABASE_URL") or (
            f"sqlite:///{_instance_dir() / 'realmbill.sqlite'}"
        )
        self.SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
        self.REDIS_URL = env.get("REDIS_URL") or None
        # Without Redis, jobs run in a thread pool; JOBS_EAGER runs them in the caller (tests).
        self.JOBS_EAGER = False
        self.BASE_DOMAIN = env.get("REALMBILL_BASE_DOMAIN", "localhost")
        self.DEFAULT_REALM = env.get("REALMBILL_DEFAULT_REALM", "provider")
        self.BABEL_DEFAULT_LOCALE = "en"
        self.LANGUAGES = ["en", "de"]
        self.SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.REMEMBER_COOKIE_SECURE = self.SESSION_COOKIE_SECURE
        self.REMEMBER_COOKIE_HTTPONLY = True
        self.PREFERRED_URL_SCHEME = "https" if self.SESSION_COOKIE_SECURE else "http"
        self.WTF_CSRF_TIME_LIMIT = None  # tied to the session instead of a clock
        self.RATELIMIT_STORAGE_URI = env.get("RATELIMIT_STORAGE_URI") or (
            self.REDIS_URL or "memory://"
        )
        self.RATELIMIT_HEADERS_ENABLED = True
        self.LOGIN_RATE_LIMIT = env.get("REALMBILL_LOGIN_RATE_LIMIT", "10 per minute")
        self.MAX_CONTENT_LENGTH = 64 * 1024 * 1024
        # Outgoing mail (realms may set their own SMTP server); no MAIL_SERVER = mail is held.
        self.MAIL_SERVER = env.get("MAIL_SERVER") or None
        self.MAIL_PORT = int(env.get("MAIL_PORT", "587"))
        self.MAIL_SECURITY = env.get("MAIL_SECURITY", "starttls")  # starttls | ssl | none
        self.MAIL_USERNAME = env.get("MAIL_USERNAME") or None
        self.MAIL_PASSWORD = env.get("MAIL_PASSWORD") or None
        self.MAIL_FROM = env.get("MAIL_FROM", "Realmbill <billing@localhost>")
        self.MAIL_CA_FILE = env.get("MAIL_CA_FILE") or None  # extra CA bundle to verify against
        self.MAIL_TIMEOUT = float(env.get("MAIL_TIMEOUT", "30"))
        for key, value in overrides.items():
            setattr(self, key, value)


class DevelopmentConfig(Config):
    """`make run`: plain http on localhost, so cookies cannot require TLS."""

    def __init__(self, **overrides) -> None:
        overrides.setdefault("SESSION_COOKIE_SECURE", _bool("SESSION_COOKIE_SECURE", False))
        overrides.setdefault("REMEMBER_COOKIE_SECURE", overrides["SESSION_COOKIE_SECURE"])
        overrides.setdefault("PREFERRED_URL_SCHEME", "http")
        super().__init__(**overrides)


def config_from_env() -> Config:
    name = os.environ.get("REALMBILL_ENV", "production")
    return DevelopmentConfig() if name == "development" else Config()
