"""API tokens: random secrets stored only as SHA-256 digests, bound to one account.

A request authenticates with `Authorization: Bearer <token>`, or with `X-Auth-Email` and
`X-Auth-Key` where the key is a token created with that email. Tokens are looked up on
every request, so one created by another process is accepted at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Boolean, ForeignKey, String, Uuid, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from email_security.kit.accounts import ACCOUNT_ID_MAX, Account, ensure_account
from email_security.kit.db import Base, Database, utcnow
from email_security.kit.errors import PermissionDenied, RateLimited, Unauthenticated
from email_security.kit.ratelimit import TokenBuckets

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
    ensure_account(session, account_id)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            account_id=account_id,
            token_hash=hash_token(token),
            email=email.lower() if email else None,
            read_only=read_only,
            created_at=utcnow(),
        )
    )
    session.flush()
    return token


def any_token_exists(session: Session) -> bool:
    return session.scalar(select(ApiToken.id).limit(1)) is not None


@dataclass(frozen=True)
class Principal:
    token_hash: str
    account_id: str
    read_only: bool
    # Read with the token, in the same query: lets the engine's cached index be checked
    # for staleness without a query of its own.
    settings_version: int = 0


def _lookup(database: Database, secret: str, email: str | None) -> Principal | None:
    digest = hash_token(secret)
    with database.read() as session:
        row = session.execute(
            select(
                ApiToken.token_hash,
                ApiToken.account_id,
                ApiToken.read_only,
                ApiToken.email,
                Account.settings_version,
            )
            .join(Account, Account.id == ApiToken.account_id)
            .where(ApiToken.token_hash == digest)
        ).first()
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        return None
    if email is not None and (
        row.email is None or not hmac.compare_digest(row.email.encode(), email.encode())
    ):
        return None
    return Principal(
        token_hash=row.token_hash,
        account_id=row.account_id,
        read_only=row.read_only,
        settings_version=row.settings_version,
    )


_bearer = HTTPBearer(auto_error=False, description="API token")
_auth_email = APIKeyHeader(
    name="X-Auth-Email", scheme_name="AuthEmail", auto_error=False, description="Account email"
)
_auth_key = APIKeyHeader(
    name="X-Auth-Key", scheme_name="AuthKey", auto_error=False, description="API key (a token)"
)

AccountId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=ACCOUNT_ID_MAX,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="Account identifier",
    ),
]


def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def authenticate(
    request: Request,
    account_id: AccountId,
    database: Annotated[Database, Depends(get_database)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    auth_email: Annotated[str | None, Depends(_auth_email)],
    auth_key: Annotated[str | None, Depends(_auth_key)],
) -> Principal:
    principal = None
    if bearer is not None:
        principal = _lookup(database, bearer.credentials, None)
    elif auth_email and auth_key:
        principal = _lookup(database, auth_key, auth_email.lower())
    if principal is None:
        raise Unauthenticated(
            "Authentication error: a valid API token is required",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not hmac.compare_digest(principal.account_id.encode(), account_id.encode()):
        raise PermissionDenied("This token is not allowed to access this account")
    limiter: TokenBuckets | None = request.app.state.rate_limiter
    if limiter is not None and (wait := limiter.take(principal.token_hash)):
        raise RateLimited(
            f"Too many requests for this token; retry in {wait} s",
            headers={"Retry-After": str(wait)},
        )
    return principal


def require_edit(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
    if principal.read_only:
        raise PermissionDenied("This token is read-only; the request needs edit permission")
    return principal


ReadAccess = Annotated[Principal, Depends(authenticate)]
EditAccess = Annotated[Principal, Depends(require_edit)]
