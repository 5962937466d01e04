"""GET /accounts/{account_id}/tokens/verify: whether the token may use the account, and how.

Cloudflare's answer (`id`, `status`) with `read_only` added: a client such as the console
learns from it whether to offer edits, without trying one.
"""

# No `from __future__ import annotations`: FastAPI reads these signatures at runtime.

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field
from starlette.responses import Response

from email_security.auth.access import ReadAccess
from email_security.kit.envelope import Envelope, envelope_response
from email_security.kit.openapi import ERROR_RESPONSES
from email_security.kit.requests import StrictRoute


class TokenStatus(BaseModel):
    id: str | None = Field(description="The token's public id (what audit records name)")
    status: Literal["active"]
    read_only: bool = Field(description="true: the token may read the account, not change it")


router = APIRouter(tags=["tokens"], route_class=StrictRoute)


@router.get(
    "/tokens/verify",
    summary="Verify the token against this account",
    response_model=Envelope[TokenStatus],
    responses=ERROR_RESPONSES,
)
async def verify_token(principal: ReadAccess) -> Response:
    return envelope_response(
        {"id": principal.token_id, "status": "active", "read_only": principal.read_only}
    )
