"""API tokens: random secrets stored only as SHA-256 digests, each bound to one account."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, Uuid, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from email_security.auth.accounts import ensure_account
from email_security.kit.db import Base, utcnow

TOKEN_PREFIX = "ess_"


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str | None] = mapped_column(String(320))
    read_only: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def hash_token(token: str) -> str:
    # Tokens carry 256 random bits, so a fast digest is enough: there is nothing to guess.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(
    session: Session, account_id: str, *, read_only: bool = False, email: str | None = None
) -> str:
    """Store a new token for the account (created if new) and return the secret, once."""
    return issue_token(session, account_id, read_only=read_only, email=email)[1]


def issue_token(
    session: Session, account_id: str, *, read_only: bool = False, email: str | None = None
) -> tuple[str, str]:
    """`create_token`, also answering the token's public id (what audit records name)."""
    ensure_account(session, account_id)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token_id = uuid.uuid4()
    session.add(
        ApiToken(
            id=token_id,
            account_id=account_id,
            token_hash=hash_token(token),
            email=email.lower() if email else None,
            read_only=read_only,
            created_at=utcnow(),
        )
    )
    session.flush()
    return str(token_id), token


def any_token_exists(session: Session) -> bool:
    return session.scalar(select(ApiToken.id).limit(1)) is not None
