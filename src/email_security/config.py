"""Runtime settings, read from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from email_security.engine import Thresholds
from email_security.kit.logs import LOG_FORMATS, LogFormat

DEFAULT_SQLITE_PATH = Path("var") / "email-security.db"


def normalise_database_url(url: str) -> str:
    """Let users write plain `postgresql://` URLs; we talk to PostgreSQL through psycopg 3."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class ConfigError(ValueError):
    """An environment variable with a value it cannot have."""


@dataclass(frozen=True)
class Settings:
    database_url: str
    # Larger request bodies are refused with 413 (a batch of 1000 entries fits easily).
    max_body_bytes: int = 4 * 1024 * 1024
    # Requests per second per API token (0: no limit) and the burst allowed above that.
    rate_limit_per_second: float = 0.0
    rate_limit_burst: int = 20
    # Threads running database work in each server process.
    threads: int = 8
    # How long a token found in the database is trusted without asking it again (0: never).
    token_cache_seconds: float = 10.0
    # The policy engine's new-domain thresholds, in days.
    new_domain_malicious_days: int = 7
    new_domain_suspicious_days: int = 30
    # Characters of a message's body text that content policies read (the rest is not).
    body_text_limit: int = 1_048_576
    # Audit records older than this many days are purged by the sweeper.
    audit_retention_days: float = 365.0
    # How often each process's sweeper deletes expired entries and purges old records.
    expiry_sweep_seconds: float = 60.0
    # How often counted hits are written to the database (0: hits are not counted).
    hit_flush_seconds: float = 10.0
    # Every log line as text, or as one JSON object.
    log_format: LogFormat = "text"

    @classmethod
    def from_env(cls) -> Settings:
        url = os.environ.get("EMAIL_SECURITY_DATABASE_URL") or f"sqlite:///{DEFAULT_SQLITE_PATH}"
        env = os.environ.get
        log_format = env("EMAIL_SECURITY_LOG_FORMAT", "text")
        if log_format not in LOG_FORMATS:
            raise ConfigError(f"EMAIL_SECURITY_LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}")
        return cls(
            database_url=normalise_database_url(url),
            max_body_bytes=int(env("EMAIL_SECURITY_MAX_BODY_BYTES", 4 * 1024 * 1024)),
            rate_limit_per_second=float(env("EMAIL_SECURITY_RATE_LIMIT", 0)),
            rate_limit_burst=int(env("EMAIL_SECURITY_RATE_LIMIT_BURST", 20)),
            threads=int(env("EMAIL_SECURITY_THREADS", 8)),
            token_cache_seconds=float(env("EMAIL_SECURITY_TOKEN_CACHE_SECONDS", 10)),
            new_domain_malicious_days=int(env("EMAIL_SECURITY_NEW_DOMAIN_MALICIOUS_DAYS", 7)),
            new_domain_suspicious_days=int(env("EMAIL_SECURITY_NEW_DOMAIN_SUSPICIOUS_DAYS", 30)),
            body_text_limit=int(env("EMAIL_SECURITY_BODY_TEXT_LIMIT", 1_048_576)),
            audit_retention_days=float(env("EMAIL_SECURITY_AUDIT_RETENTION_DAYS", 365)),
            expiry_sweep_seconds=float(env("EMAIL_SECURITY_EXPIRY_SWEEP_SECONDS", 60)),
            hit_flush_seconds=float(env("EMAIL_SECURITY_HIT_FLUSH_SECONDS", 10)),
            log_format=log_format,
        )

    def thresholds(self) -> Thresholds:
        return Thresholds(
            self.new_domain_malicious_days, self.new_domain_suspicious_days, self.body_text_limit
        )
