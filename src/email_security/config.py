"""Runtime settings, read from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_SQLITE_PATH = Path("var") / "email-security.db"


def normalise_database_url(url: str) -> str:
    """Let users write plain `postgresql://` URLs; we talk to PostgreSQL through psycopg 3."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@dataclass(frozen=True)
class Settings:
    database_url: str
    max_body_bytes: int = 1_048_576

    @classmethod
    def from_env(cls) -> Settings:
        url = os.environ.get("EMAIL_SECURITY_DATABASE_URL") or f"sqlite:///{DEFAULT_SQLITE_PATH}"
        return cls(
            database_url=normalise_database_url(url),
            max_body_bytes=int(os.environ.get("EMAIL_SECURITY_MAX_BODY_BYTES", 1_048_576)),
        )
