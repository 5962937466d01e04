"""Who a request is: its token checked against the account in the path, read or edit.

A request authenticates with `Authorization: Bearer <token>`, or with `X-Auth-Email` and
`X-Auth-Key` where the key is a token created with that email. A token unknown to this
process is looked up in the database, so one created by another process is accepted at
once; a token found there is remembered for a few seconds (`TokenCache`), which spares a
database round trip on most requests.
"""

from __future__ import annotations

import dataclasses
import hmac
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from email_security.audit.records import Actor
from email_security.auth.accounts import ACCOUNT_ID_MAX
from email_security.auth.tokens import ApiToken, hash_token
from email_security.kit.db import Database
from email_security.kit.errors import PermissionDenied, RateLimited, Unauthenticated
from email_security.kit.ratelimit import TokenBuckets


@dataclass(frozen=True)
class Principal:
    token_hash: str
    account_id: str
    read_only: bool
    email: str | None = None
    token_id: str | None = None  # the token's public id: what audit records name
    request_id: str | None = None  # set for edits: ties a request's audit records together

    @property
    def actor(self) -> Actor:
        return Actor("token", self.token_id, self.request_id)


def _lookup(database: Database, digest: str) -> Principal | None:
    with database.read_one() as connection:
        row = connection.execute(
            select(
                ApiToken.token_hash,
                ApiToken.account_id,
                ApiToken.read_only,
                ApiToken.email,
                ApiToken.id,
            ).where(ApiToken.token_hash == digest)
        ).first()
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        return None
    return Principal(
        token_hash=row.token_hash,
        account_id=row.account_id,
        read_only=row.read_only,
        email=row.email,
        token_id=str(row.id),
    )


class TokenCache:
    """Tokens found in the database, kept for `ttl` seconds (at most `size` of them).

    Unknown tokens are never remembered, so a new token works at once; the time to live
    bounds how long a token removed from the database directly could still be honoured.
    """

    def __init__(self, ttl: float, size: int = 10_000) -> None:
        self.ttl = ttl
        self.size = size
        self._entries: OrderedDict[str, tuple[Principal, float]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, digest: str) -> Principal | None:
        with self._lock:
            entry = self._entries.get(digest)
            if entry is None:
                return None
            principal, expires = entry
            if time.monotonic() >= expires:
                del self._entries[digest]
                return None
            return principal

    def put(self, principal: Principal) -> None:
        if self.ttl <= 0:
            return
        with self._lock:
            self._entries[principal.token_hash] = (principal, time.monotonic() + self.ttl)
            self._entries.move_to_end(principal.token_hash)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


async def _principal(request: Request, secret: str) -> Principal | None:
    digest = hash_token(secret)
    cache: TokenCache = request.app.state.token_cache
    principal = cache.get(digest)
    if principal is None:
        principal = await run_in_threadpool(_lookup, request.app.state.database, digest)
        if principal is not None:
            cache.put(principal)
    return principal


# Documented in OpenAPI by the app; read here straight from the headers, since every
# dependency FastAPI resolves costs time on every request.
SECURITY_SCHEMES = {
    "HTTPBearer": {"type": "http", "scheme": "bearer", "description": "API token"},
    "AuthEmail": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Auth-Email",
        "description": "Account email",
    },
    "AuthKey": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Auth-Key",
        "description": "API key (a token)",
    },
}
SECURITY_REQUIREMENT: list[dict[str, list[str]]] = [
    {"HTTPBearer": []},
    {"AuthEmail": [], "AuthKey": []},
]

AccountId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=ACCOUNT_ID_MAX,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="Account identifier",
    ),
]


def _bearer_token(request: Request) -> str | None:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    credentials = credentials.strip()
    return credentials if scheme.lower() == "bearer" and credentials else None


async def authenticate(request: Request, account_id: AccountId) -> Principal:
    # Async with a thread only for a database look-up: most requests are answered from
    # the cache without leaving the event loop.
    principal = None
    headers = request.headers
    if (bearer := _bearer_token(request)) is not None:
        principal = await _principal(request, bearer)
    elif (auth_email := headers.get("x-auth-email")) and (auth_key := headers.get("x-auth-key")):
        principal = await _principal(request, auth_key)
        email = auth_email.lower().encode()
        if principal is not None and (
            principal.email is None or not hmac.compare_digest(principal.email.encode(), email)
        ):
            principal = None
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


async def require_edit(
    request: Request, principal: Annotated[Principal, Depends(authenticate)]
) -> Principal:
    if principal.read_only:
        raise PermissionDenied("This token is read-only; the request needs edit permission")
    # Set by kit.observe for every request (an app without it: a request id of its own).
    request_id = getattr(request.state, "request_id", None) or uuid.uuid4().hex
    return dataclasses.replace(principal, request_id=request_id)


ReadAccess = Annotated[Principal, Depends(authenticate)]
EditAccess = Annotated[Principal, Depends(require_edit)]
